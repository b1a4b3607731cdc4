// Rust line coverage for `npm test`, counting what both the core's own Rust tests and the TypeScript
// suite (through the addon) run. Source-based coverage (`-C instrument-coverage`) with the LLVM tools
// of the toolchain itself (rustup's `llvm-tools` component): a profile reader of another LLVM version
// cannot read rustc's profiles.
//
// The instrumented builds go to target/coverage so that they never replace the addon `npm install`
// built; each instrumented process writes its counters to target/coverage/profiles when it exits.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const coverageDir = join(root, 'target', 'coverage');
const profiles = join(coverageDir, 'profiles');
/** The instrumented addon, named `.node` so that Node loads it as an addon. */
export const instrumentedAddon = join(coverageDir, 'starling.node');

function output(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : null;
}

/**
 * This machine's target triple. Named to cargo, it keeps RUSTFLAGS off build scripts and proc macros,
 * which would otherwise be instrumented too and leave profiles wherever rustc runs them.
 */
const host = /host: (\S+)/.exec(output('rustc', ['-vV']) ?? '')?.[1] ?? null;

/** The cargo arguments that build for `host` (so that only our code and its dependencies count). */
export const targetArgs = host ? ['--target', host] : [];

/** The toolchain's llvm-profdata and llvm-cov directory, installing the component once if rustup can. */
export function llvmTools() {
  const sysroot = output('rustc', ['--print', 'sysroot']);
  if (!sysroot || !host) return null;
  const bin = join(sysroot, 'lib', 'rustlib', host, 'bin');
  const present = () => existsSync(join(bin, 'llvm-profdata')) && existsSync(join(bin, 'llvm-cov'));
  if (!present()) spawnSync('rustup', ['component', 'add', 'llvm-tools'], { stdio: 'ignore' });
  return present() ? bin : null;
}

/** Environment for a process whose instrumented code should record its counters. */
export function coverageEnv(label) {
  return {
    RUSTFLAGS: `${process.env.RUSTFLAGS ?? ''} -C instrument-coverage`.trim(),
    CARGO_TARGET_DIR: coverageDir,
    // %p: one file per process; %m: processes of the same binary merge into a pool of files.
    LLVM_PROFILE_FILE: join(profiles, `${label}-%p-%m.profraw`),
  };
}

/** Starts a measurement: old profiles go. */
export function resetProfiles() {
  rmSync(profiles, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
}

/** Builds the instrumented addon (release, as the suite normally runs it). True when it built. */
export function buildInstrumentedAddon(run) {
  const ok = run('rust coverage: instrumented addon build', 'cargo', [
    'build',
    '-p',
    'starling-node',
    '--release',
    '--locked',
    ...targetArgs,
  ]);
  if (ok) copyFileSync(join(coverageDir, host ?? '', 'release', 'libstarling_node.so'), instrumentedAddon);
  return ok;
}

/** The instrumented test executables `cargo test` built (their coverage maps are needed to report). */
function testExecutables() {
  const args = ['test', '--workspace', '--locked', ...targetArgs, '--no-run', '--message-format=json'];
  const res = spawnSync('cargo', args, {
    encoding: 'utf8',
    env: { ...process.env, ...coverageEnv('unused') },
    maxBuffer: 1 << 26,
  });
  const found = [];
  for (const line of res.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const message = JSON.parse(line);
    if (message.reason === 'compiler-artifact' && message.executable) found.push(message.executable);
  }
  return found;
}

/**
 * Merges the profiles and prints llvm-cov's per-file table for crates/ and one line of totals.
 * Returns the line percentage, or null when there was nothing to report.
 */
export function report(bin) {
  const raw = existsSync(profiles) ? readdirSync(profiles).filter((f) => f.endsWith('.profraw')) : [];
  if (raw.length === 0) return null;
  const merged = join(coverageDir, 'merged.profdata');
  const merge = spawnSync(
    join(bin, 'llvm-profdata'),
    ['merge', '-sparse', ...raw.map((f) => join(profiles, f)), '-o', merged],
    { encoding: 'utf8' },
  );
  if (merge.status !== 0) {
    console.log(merge.stderr);
    return null;
  }
  const objects = [instrumentedAddon, ...testExecutables()].filter(existsSync);
  const [first, ...rest] = objects;
  const cov = spawnSync(
    join(bin, 'llvm-cov'),
    [
      'report',
      '--instr-profile',
      merged,
      first,
      ...rest.flatMap((o) => ['-object', o]),
      // Only our crates' code: dependencies, the standard library and the test files themselves do not count.
      '--ignore-filename-regex',
      '(\\.cargo|\\.rustup|/rustc/|/crates/[^/]+/tests/)',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (cov.status !== 0) {
    console.log(cov.stderr);
    return null;
  }
  console.log(cov.stdout);
  const total = cov.stdout.split('\n').find((l) => l.startsWith('TOTAL'));
  // Columns: regions, missed, cover, functions, missed, executed, lines, missed lines, cover, ...
  const cells = total?.trim().split(/\s+/) ?? [];
  return cells[9] ?? null;
}
