/**
 * The tarballs as npm would publish them: `npm pack` of this package and of this platform's binary
 * package (npm/<triple> with the addon this checkout loads), installed offline into an empty project.
 * They hold only what a user needs, install without building anything, import without any optional peer
 * and serve a request; without the binary package, serving fails with one message saying what to do.
 * Skipped, and said so, where the `npm` command is missing or no platform package fits this machine.
 */
import test from 'ava';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { platformTriple } from '../src/server/native.ts';
import { entries, pkg, root, run, typeCheckEntries, type Manifest } from './_package.ts';

const windows = process.platform === 'win32';
const npmCommand = windows ? 'npm.cmd' : 'npm';
const triple = platformTriple();
const binary = `starling.${triple}.node`;
const platformPackage = `@${pkg.name}/${triple}`;

const npmVersion = await run(npmCommand, ['--version'], { shell: windows, timeout: 30_000 }).then(
  ({ stdout }) => stdout.trim(),
  () => undefined,
);
const skip = !npmVersion
  ? 'the npm command is not available'
  : !existsSync(join(root, 'npm', triple))
    ? `there is no platform package for ${triple} under npm/`
    : undefined;
if (skip) console.log(`pack.spec: ${skip}; the tarball tests are skipped`);
const packTest = skip ? test.skip : test;

const tmp = mkdtempSync(join(tmpdir(), 'starling-pack-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

// The environment of the npm and node children: none of the npm_* variables of an `npm test` around us
// (npm would read npm_config_local_prefix and the like as its own settings), no STARLING_NATIVE_PATH,
// and a `cargo` first on the PATH that only records that something ran it.
const pathKey = Object.keys(process.env).find((key) => key.toUpperCase() === 'PATH') ?? 'PATH';
const cargoRan = join(tmp, 'cargo-ran');
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'STARLING_NATIVE_PATH'),
);
env[pathKey] = `${join(tmp, 'bin')}${delimiter}${process.env[pathKey] ?? ''}`;
env.npm_config_update_notifier = 'false';

/** Runs npm in `cwd` (on Windows a .cmd, so through the shell, its arguments quoted). */
function npm(args: string[], cwd: string) {
  return run(npmCommand, windows ? args.map((arg) => `"${arg}"`) : args, {
    cwd,
    env,
    shell: windows,
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
}

/** Where this checkout's addon is: its own build, else the platform package it installed. */
function builtAddon(): string {
  const local = join(root, binary);
  return existsSync(local) ? local : createRequire(join(root, 'package.json')).resolve(platformPackage);
}

interface Packed {
  main: string;
  platform: string;
  files: string[];
}

let packing: Promise<Packed> | undefined;
/** Packs both tarballs once (without scripts: dist/ is what `npm install` built). */
function pack(): Promise<Packed> {
  packing ??= (async () => {
    const out = join(tmp, 'tarballs');
    const platformDir = join(tmp, 'platform');
    mkdirSync(out);
    cpSync(join(root, 'npm', triple), platformDir, { recursive: true });
    cpSync(builtAddon(), join(platformDir, binary));
    const packed = async (dir: string) => {
      const { stdout } = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', out], dir);
      const [{ filename, files }] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
      return { tarball: join(out, filename), files: files.map((file) => file.path) };
    };
    const main = await packed(root);
    const platform = await packed(platformDir);
    return { main: main.tarball, platform: platform.tarball, files: main.files };
  })();
  return packing;
}

let installing: Promise<string> | undefined;
/** An empty project with both tarballs installed offline, npm's scripts on, `cargo` a tripwire. */
function install(): Promise<string> {
  installing ??= (async () => {
    const { main, platform } = await pack();
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    if (windows) writeFileSync(join(bin, 'cargo.cmd'), `@echo ran> "${cargoRan}"\r\n@exit /b 1\r\n`);
    else {
      writeFileSync(join(bin, 'cargo'), `#!/bin/sh\necho ran > '${cargoRan}'\nexit 1\n`);
      chmodSync(join(bin, 'cargo'), 0o755);
    }
    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await npm(
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts=false',
        '--cache',
        join(tmp, 'cache'),
        main,
        platform,
      ],
      app,
    );
    return app;
  })();
  return installing;
}

// Imports every entry (no optional peer is installed here), then serves one route and fetches it.
const serveScript = `
for (const specifier of ${JSON.stringify(entries.map((entry) => entry.specifier))}) await import(specifier);
const { Starling, Route, PlainTextResponse, serve } = await import(${JSON.stringify(pkg.name)});
const app = new Starling({ routes: [new Route('/', async () => new PlainTextResponse('served from the tarball'))] });
let server;
try {
  server = await serve(app, { host: '127.0.0.1', port: 0, accessLog: false });
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
  process.exit(0);
}
const response = await fetch(server.url + '/', { signal: AbortSignal.timeout(10_000) });
console.log(JSON.stringify({ status: response.status, body: await response.text() }));
await server.close();
`;

/** Runs the serve script in `dir` and returns what it printed. */
async function serveIn(dir: string): Promise<{ status?: number; body?: string; error?: string }> {
  writeFileSync(join(dir, 'serve.mjs'), serveScript);
  const { stdout } = await run(process.execPath, ['serve.mjs'], { cwd: dir, env, timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { status?: number; body?: string; error?: string };
}

packTest(
  'the tarball holds dist/ without source maps, README, LICENSE and CHANGELOG, and nothing else',
  async (t) => {
    const { files } = await pack();
    const extra = files.filter(
      (file) =>
        !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(file) &&
        !(file.startsWith('dist/') && !file.endsWith('.map')),
    );
    t.deepEqual(extra, []);
    for (const file of [
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      ...Object.values(pkg.bin).map((bin) => bin.replace(/^\.\//, '')),
    ])
      t.true(files.includes(file), file);
    for (const entry of entries)
      for (const file of [entry.import, entry.types])
        t.true(files.includes(file.replace(/^\.\//, '')), `${entry.specifier}: ${file}`);
  },
);

packTest(
  'both tarballs install offline into an empty project, run no install script nor cargo, and serve a request',
  async (t) => {
    const app = await install();
    const installed = JSON.parse(
      readFileSync(join(app, 'node_modules', pkg.name, 'package.json'), 'utf8'),
    ) as Manifest;
    for (const script of ['preinstall', 'install', 'postinstall'])
      t.is(installed.scripts?.[script], undefined, script);
    t.false(existsSync(cargoRan), 'cargo was started during the install');
    t.true(existsSync(join(app, 'node_modules', platformPackage, binary)));
    t.deepEqual(await serveIn(app), { status: 200, body: 'served from the tarball' });
  },
);

packTest("the installed package's starling command (npm's .bin symlink) runs", async (t) => {
  // On Windows npm writes a .cmd shim, not a symlink: nothing of this to check there.
  if (windows) return t.pass();
  const app = await install();
  const bin = join(app, 'node_modules', '.bin', 'starling');
  const { stdout, stderr } = await run(process.execPath, [bin, '--help'], {
    cwd: app,
    env,
    timeout: 30_000,
  }).catch((error: { stdout?: string; stderr?: string }) => ({
    stdout: error.stdout ?? '',
    stderr: error.stderr ?? '',
  }));
  t.regex(stdout + stderr, /Usage: starling MODULE:ATTR/);
});

packTest('a project that installed the tarballs type-checks against every entry', async (t) => {
  t.is(await typeCheckEntries(await install()), '');
});

packTest(
  'without the platform package, serve() fails with one message naming it and how to build from source',
  async (t) => {
    const app = await install();
    const bare = join(tmp, 'bare');
    cpSync(join(app, 'package.json'), join(bare, 'package.json'));
    cpSync(join(app, 'node_modules', pkg.name), join(bare, 'node_modules', pkg.name), { recursive: true });
    const { error = '' } = await serveIn(bare);
    t.true(error.startsWith(`${pkg.name}: the native addon for ${triple} is not installed. `), error);
    t.true(error.includes(`run \`npm install ${platformPackage}@${pkg.version}\`.`), error);
    t.true(error.includes('Or build it from source (needs Rust'), error);
    t.notRegex(error, /\n|Require stack|dlopen/);
  },
);
