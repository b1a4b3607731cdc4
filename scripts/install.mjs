// A source checkout's `prepare` (npm runs it after `npm install` there, never when installing the
// published package, which ships no Rust): makes the native addon available, from the prebuilt
// platform package when one fits, otherwise built with cargo; then compiles the TypeScript to dist/.
// Before `npm pack` and `npm publish` it only compiles: the tarball carries no addon.
// Flags: --force rebuilds the addon; STARLING_PROFILE=debug builds without optimisation.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const packing = ['pack', 'publish'].includes(process.env.npm_command ?? '');
const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const require = createRequire(import.meta.url);

function libc() {
  if (process.platform !== 'linux') return '';
  const report = process.report?.getReport?.();
  return report?.header?.glibcVersionRuntime ? '-gnu' : '-musl';
}
const abi = process.platform === 'win32' ? '-msvc' : libc();
const triple = `${process.platform}-${process.arch}${abi}`;
const local = join(root, `starling.${triple}.node`);

// A platform package is trusted only at exactly our version (it is published with us).
function prebuilt() {
  try {
    return require(`@${ours.name}/${triple}/package.json`).version === ours.version;
  } catch {
    return false;
  }
}

function buildNative() {
  const profile = process.env.STARLING_PROFILE === 'debug' ? 'debug' : 'release';
  const args = ['build', '-p', 'starling-node', '--locked'];
  if (profile === 'release') args.push('--release');
  console.error(`starling: building the native addon from source (cargo ${args.join(' ')})`);
  try {
    execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });
  } catch (error) {
    console.error('starling: cargo build failed. Install Rust (https://rustup.rs) or a prebuilt package.');
    throw error;
  }
  const file = { linux: 'libstarling_node.so', darwin: 'libstarling_node.dylib', win32: 'starling_node.dll' }[
    process.platform
  ];
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  copyFileSync(join(target, profile, file ?? 'libstarling_node.so'), local);
  console.error(`starling: wrote ${local}`);
}

if (force || (!packing && !existsSync(local) && !prebuilt())) buildNative();

// Compiles the TypeScript so that `import 'starlingjs'` resolves; a tarball's dist/ is compiled afresh,
// so that no module deleted from src/ ships.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (existsSync(join(root, 'src', 'index.ts')) && existsSync(tsc) && !process.argv.includes('--native-only')) {
  if (packing) rmSync(join(root, 'dist'), { recursive: true, force: true });
  console.error(`starling: compiling ${ours.name} TypeScript to dist/`);
  // Source maps would point into src/, which the tarball leaves out.
  const maps = packing ? ['--sourceMap', 'false'] : [];
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), ...maps], { cwd: root, stdio: 'inherit' });
}
