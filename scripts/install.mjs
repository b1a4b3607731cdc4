// Makes the native addon available: a prebuilt platform package when one fits, otherwise a build
// from source with cargo. In a source checkout it also compiles the TypeScript to dist/.
// Flags: --force rebuilds the addon; STARLING_PROFILE=debug builds without optimisation.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
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
    const pkg = require(`starling-${triple}/package.json`);
    const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    return pkg.version === ours.version;
  } catch {
    return false;
  }
}

function buildNative() {
  const profile = process.env.STARLING_PROFILE === 'debug' ? 'debug' : 'release';
  const args = ['build', '-p', 'starling-node', '--locked'];
  if (profile === 'release') args.push('--release');
  console.log(`starling: building the native addon from source (cargo ${args.join(' ')})`);
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
  console.log(`starling: wrote ${local}`);
}

if (force || (!existsSync(local) && !prebuilt())) buildNative();

// A source checkout (src/ present) compiles its TypeScript so that `import 'starling'` resolves.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (existsSync(join(root, 'src', 'index.ts')) && existsSync(tsc) && !process.argv.includes('--native-only')) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  console.log(`starling: compiling ${pkg.name} TypeScript to dist/`);
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
}
