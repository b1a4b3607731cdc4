// `npm test`: everything CI checks, in order, with one closing line of totals.
// Rust: cargo test + clippy (warnings are errors). TypeScript: typecheck, then ava under c8 coverage.
import { spawnSync } from 'node:child_process';

const steps = [];
// The failing tests' own lines, repeated under the summary: CI keeps only the tail of a long output.
const failures = [];
let passed = 0;
let failed = 0;

function run(name, cmd, args, count) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const res = spawnSync(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  process.stdout.write(out);
  const ok = res.status === 0;
  const counted = count?.(out) ?? { passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
  if (!ok && counted.failed === 0) counted.failed = 1;
  passed += counted.passed;
  failed += counted.failed;
  steps.push(`${ok ? 'ok  ' : 'FAIL'} ${name} (${counted.passed} passed, ${counted.failed} failed)`);
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

run('rust tests', 'cargo', ['test', '--workspace', '--locked'], cargoCount);
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
// The same suite with the in-process TestClient (Starlette's model): both transports must agree.
process.env.STARLING_TESTCLIENT = 'in-process';
run('typescript tests (TestClient in-process)', 'npx', ['ava'], avaCount);
delete process.env.STARLING_TESTCLIENT;
// Rust line coverage of the core's own tests (cargo-tarpaulin, when installed).
if (spawnSync('cargo', ['tarpaulin', '--version']).status === 0) {
  run(
    'rust coverage (core tests)',
    'cargo',
    ['tarpaulin', '-p', 'starling-core', '--skip-clean', '--out', 'Stdout', '--engine', 'ptrace'],
    () => ({ passed: 0, failed: 0 }),
  );
} else {
  console.log('\n=== rust coverage: cargo-tarpaulin is not installed (cargo install cargo-tarpaulin)');
}

console.log('\n=== summary');
for (const s of steps) console.log(s);
if (failures.length > 0) console.log(['\n=== what failed', ...failures].join('\n'));
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
