import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isMissingModule, loadPeer, missingPeerError } from '../../src/database/driver.ts';

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

test('only the peer itself missing counts: a peer that fails to load for another reason passes its error on', async (t) => {
  const missing = Object.assign(new Error("Cannot find module 'pg' imported from /app"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
  const cjsMissing = Object.assign(new Error("Cannot find module 'better-sqlite3'"), {
    code: 'MODULE_NOT_FOUND',
  });
  const itsOwnDependency = Object.assign(new Error("Cannot find package 'pg-types'"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
  t.true(isMissingModule(missing, 'pg'));
  t.true(isMissingModule(cjsMissing, 'better-sqlite3'));
  t.false(isMissingModule(itsOwnDependency, 'pg'));
  t.false(isMissingModule(new Error("'pg'"), 'pg'));
  t.false(isMissingModule(undefined, 'pg'));

  const error = await t.throwsAsync(loadPeer('pg', 'PostgreSQL', () => Promise.reject(missing)));
  t.is(error.message, missingPeerError('pg', 'PostgreSQL', missing).message);
  t.is(error.cause, missing);
  const abi = new Error('The module was compiled against a different Node.js version');
  t.is(await t.throwsAsync(loadPeer('better-sqlite3', 'SQLite', () => Promise.reject(abi))), abi);
  t.is(await loadPeer('pg', 'PostgreSQL', async () => 'module'), 'module');
});
