/**
 * The package as a user installs it: every `exports` entry resolves (the built files and their types),
 * `import 'starlingjs'` loads no optional peer, and each subpath imports without its peers installed.
 * Runs against dist/, which `npm install` builds (`npm run build:ts` after changing src/).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types?: string; import?: string }>;
  peerDependencies: Record<string, string>;
};
const entries = Object.entries(pkg.exports)
  .filter((entry): entry is [string, { types: string; import: string }] => typeof entry[1] === 'object')
  .map(([subpath, target]) => ({ specifier: join(pkg.name, subpath).replace(/\/\.$/, ''), ...target }));
const peers = Object.keys(pkg.peerDependencies);
const run = promisify(execFile);

test('every exports entry points at a built module and its types', (t) => {
  t.true(entries.length >= 5);
  for (const entry of entries) {
    t.true(existsSync(join(root, entry.import)), `${entry.specifier}: ${entry.import}`);
    t.true(existsSync(join(root, entry.types)), `${entry.specifier}: ${entry.types}`);
  }
});

test('importing each entry loads none of the optional peers, and none is needed to import it', async (t) => {
  // A resolve hook that records every bare specifier and makes the peers unfindable.
  const hook = `
    const peers = ${JSON.stringify(peers)};
    export async function resolve(specifier, context, next) {
      const bare = specifier.split('/')[0].startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      if (peers.includes(bare)) {
        process.send?.({ peer: bare });
        console.log('PEER ' + bare);
        const error = new Error('hidden peer ' + bare);
        error.code = 'ERR_MODULE_NOT_FOUND';
        throw error;
      }
      return next(specifier, context);
    }`;
  const dir = mkdtempSync(join(tmpdir(), 'starling-package-'));
  try {
    writeFileSync(join(dir, 'hook.mjs'), hook);
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(new URL('hook.mjs', `file://${dir}/`).href)});\n`,
    );
    for (const entry of entries) {
      const script = `await import(${JSON.stringify(join(root, entry.import))}); console.log('LOADED');`;
      const { stdout } = await run(process.execPath, [
        '--import',
        join(dir, 'register.mjs'),
        '--input-type=module',
        '-e',
        script,
      ]);
      t.regex(stdout, /LOADED/, entry.specifier);
      t.notRegex(stdout, /PEER /, `${entry.specifier} loaded a peer at import: ${stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a project importing every entry by name type-checks against the published types', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    // The package as installed (its own node_modules give the peers' types, as in a real project).
    symlinkSync(root, join(dir, 'node_modules', pkg.name), 'junction');
    for (const name of ['@types', 'graphql', 'graphql-ws', 'pg', 'redis', 'better-sqlite3', 'nunjucks']) {
      const from = join(root, 'node_modules', name);
      if (existsSync(from)) symlinkSync(from, join(dir, 'node_modules', name), 'junction');
    }
    writeFileSync(
      join(dir, 'main.ts'),
      entries.map((e, i) => `import * as m${i} from '${e.specifier}';\nvoid m${i};\n`).join(''),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['main.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout, failed: true }),
    );
    t.false('failed' in result, result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
