/**
 * What the package specs share: the manifest, its `exports` entries by specifier, and a type-check of a
 * project that imports every entry by name.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const run = promisify(execFile);

export interface Manifest {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, string | { types?: string; import?: string }>;
  files: string[];
  scripts?: Record<string, string>;
  napi: { targets: string[] };
  optionalDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

export const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

/** Each `exports` entry with a module: its bare specifier (`starlingjs/graphql`) and its two files. */
export const entries = Object.entries(pkg.exports)
  .filter((entry): entry is [string, { types: string; import: string }] => typeof entry[1] === 'object')
  .map(([subpath, target]) => ({ specifier: posix.join(pkg.name, subpath).replace(/\/\.$/, ''), ...target }));

export const peers = Object.keys(pkg.peerDependencies);

/**
 * Type-checks, strictly and without skipLibCheck, a module of `dir` importing every entry by name; `dir`
 * has the package in its node_modules. The peers' types come from this project's node_modules, as they
 * would from a user's. Resolves to tsc's report, empty when it passed.
 */
export async function typeCheckEntries(dir: string): Promise<string> {
  for (const name of ['@types', 'graphql', 'graphql-ws', 'pg', 'redis', 'better-sqlite3', 'nunjucks']) {
    const from = join(root, 'node_modules', name);
    const to = join(dir, 'node_modules', name);
    if (existsSync(from) && !existsSync(to)) symlinkSync(from, to, 'junction');
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
  return run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, timeout: 120_000 }).then(
    () => '',
    (error: { stdout?: string; message: string }) => error.stdout || error.message,
  );
}
