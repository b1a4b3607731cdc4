/**
 * The package as a user installs it: every `exports` entry resolves (the built files and their types),
 * `import 'starlingjs'` loads no optional peer, each subpath imports without its peers installed, and the
 * platform packages under npm/ fit the platforms they are named after. Runs against dist/, which
 * `npm install` builds (`npm run build:ts` after changing src/). The tarballs themselves: pack.spec.ts.
 */
import test from 'ava';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { entries, peers, pkg, root, run, typeCheckEntries } from './_package.ts';

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
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`,
    );
    for (const entry of entries) {
      const script = `await import(${JSON.stringify(pathToFileURL(join(root, entry.import)).href)}); console.log('LOADED');`;
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
    // The package as installed: a link to this checkout.
    symlinkSync(root, join(dir, 'node_modules', pkg.name), 'junction');
    t.is(await typeCheckEntries(dir), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The napi target each package directory under npm/ is built for, and where npm may install it.
const platforms: Record<string, { target: string; os: string; cpu: string; libc?: string }> = {
  'linux-x64-gnu': { target: 'x86_64-unknown-linux-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-arm64-gnu': { target: 'aarch64-unknown-linux-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-x64-musl': { target: 'x86_64-unknown-linux-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  'darwin-x64': { target: 'x86_64-apple-darwin', os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { target: 'aarch64-apple-darwin', os: 'darwin', cpu: 'arm64' },
  'win32-x64-msvc': { target: 'x86_64-pc-windows-msvc', os: 'win32', cpu: 'x64' },
};

test('one platform package per napi target, at our version, fitting only its platform', (t) => {
  const dirs = readdirSync(join(root, 'npm')).sort();
  t.deepEqual(dirs, Object.keys(platforms).sort());
  t.deepEqual(dirs.map((dir) => platforms[dir]!.target).sort(), [...pkg.napi.targets].sort());
  t.deepEqual(
    pkg.optionalDependencies,
    Object.fromEntries(dirs.map((dir) => [`@${pkg.name}/${dir}`, pkg.version])),
    'optionalDependencies pins every platform package at our version',
  );
  for (const dir of dirs) {
    const { os, cpu, libc } = platforms[dir]!;
    const binary = `starling.${dir}.node`;
    const manifest = JSON.parse(readFileSync(join(root, 'npm', dir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    t.like(
      manifest,
      { name: `@${pkg.name}/${dir}`, version: pkg.version, main: binary, os: [os], cpu: [cpu] },
      dir,
    );
    t.deepEqual(manifest.libc, libc && [libc], `${dir}: libc`);
    t.deepEqual(manifest.files, [binary], `${dir}: files`);
    t.like(manifest, { publishConfig: { access: 'public' } }, `${dir}: a scoped package is published public`);
  }
});
