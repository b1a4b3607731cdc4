import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

test('without its peers installed, starlingjs and starlingjs/database import, and connecting names the package', async (t) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--import', fixture('hide-database-peers.mjs'), fixture('database-without-peers.ts')],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
  );
  t.deepEqual(JSON.parse(stdout), {
    starling: 'imported',
    database: 'imported',
    'sqlite://:memory:': {
      code: 'ERR_STARLING_PEER_MISSING',
      message:
        "starlingjs/database: the SQLite backend needs the 'better-sqlite3' package, which is not installed. Install it with: npm install better-sqlite3",
    },
    'postgresql://localhost:1/app': {
      code: 'ERR_STARLING_PEER_MISSING',
      message:
        "starlingjs/database: the PostgreSQL backend needs the 'pg' package, which is not installed. Install it with: npm install pg",
    },
  });
});
