// `npm test`: everything CI checks, in order, with one closing line of totals.
// Rust: cargo test + clippy (warnings are errors). TypeScript: typecheck, then ava under c8 coverage.
import { spawnSync } from 'node:child_process';
import {
  buildInstrumentedAddon,
  coverageEnv,
  instrumentedAddon,
  llvmTools,
  report,
  resetProfiles,
  targetArgs,
} from './rust-coverage.mjs';

const steps = [];
// The failing tests' own lines, repeated under the summary: CI keeps only the tail of a long output.
const failures = [];
let lastOutput = '';
let passed = 0;
let failed = 0;

function run(name, cmd, args, count, env = {}) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const res = spawnSync(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, ...env },
  });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  process.stdout.write(out);
  const ok = res.status === 0;
  const counted = count?.(out) ?? { passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
  if (!ok && counted.failed === 0) counted.failed = 1;
  passed += counted.passed;
  failed += counted.failed;
  steps.push(`${ok ? 'ok  ' : 'FAIL'} ${name} (${counted.passed} passed, ${counted.failed} failed)`);
  lastOutput = out;
  if (!ok) {
    const marked = out.split('\n').filter((line) => /^\s*(✘|test .* \.\.\. FAILED|error(\[|:))/.test(line));
    failures.push(
      `--- ${name}`,
      ...(marked.length > 0 ? marked.slice(0, 40) : out.trimEnd().split('\n').slice(-15)),
    );
  }
  return ok;
}

const cargoCount = (out) => {
  let p = 0;
  let f = 0;
  for (const m of out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    p += Number(m[1]);
    f += Number(m[2]);
  }
  return { passed: p, failed: f };
};
// ava prints "N tests passed" only when nothing failed, so count the per-test marks.
const avaCount = (out) => ({
  passed: (out.match(/^\s*✔/gm) ?? []).length,
  failed: (out.match(/^\s*✘/gm) ?? []).length + Number(/(\d+) uncaught exceptions?/.exec(out)?.[1] ?? 0),
});

// Rust coverage counts the core's own tests and the TypeScript suite run through an instrumented addon.
const llvm = llvmTools();
if (llvm) resetProfiles();
if (llvm) {
  run(
    'rust tests',
    'cargo',
    ['test', '--workspace', '--locked', ...targetArgs],
    cargoCount,
    coverageEnv('rust'),
  );
} else {
  run('rust tests', 'cargo', ['test', '--workspace', '--locked'], cargoCount);
}
run('rust lint', 'cargo', ['clippy', '--workspace', '--all-targets', '--locked', '--', '-D', 'warnings']);
run('typescript typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']);
run('format (prettier, rustfmt)', 'sh', [
  '-c',
  'npx prettier --check src __test__ && cargo fmt --all --check',
]);
run(
  'typescript tests + coverage (TestClient on the native core)',
  'npx',
  ['c8', '--reporter=text-summary', 'ava'],
  avaCount,
);
const tsLines = /^Lines\s*:\s*([\d.]+%)/m.exec(lastOutput)?.[1] ?? 'not measured';
// The same suite with the in-process TestClient (Starlette's model): both transports must agree. Where
// the LLVM tools are, this pass runs on the instrumented addon, which records the Rust lines it runs.
const instrumented =
  llvm !== null &&
  buildInstrumentedAddon((name, cmd, args) => run(name, cmd, args, undefined, coverageEnv('build')));
run('typescript tests (TestClient in-process)', 'npx', ['ava'], avaCount, {
  STARLING_TESTCLIENT: 'in-process',
  ...(instrumented ? { ...coverageEnv('node'), STARLING_NATIVE_PATH: instrumentedAddon } : {}),
});
let rustLines = 'not measured';
if (llvm === null) {
  console.log('\n=== rust coverage: the LLVM tools are missing (rustup component add llvm-tools)');
} else {
  console.log('\n=== rust coverage (Rust tests + TypeScript suite through the addon): llvm-cov report');
  rustLines = report(llvm) ?? 'not measured';
}

console.log('\n=== summary');
for (const s of steps) console.log(s);
console.log(`coverage: TypeScript ${tsLines} of lines (c8), Rust ${rustLines} of lines (llvm-cov)`);
if (failures.length > 0) console.log(['\n=== what failed', ...failures].join('\n'));
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
