// `npm run fuzz [-- <runs>] [files...]`: the property tests of __test__/fuzz/ with many runs each.
// `npm test` runs the same properties a few hundred times each; this sets FUZZ_RUNS, the runs per
// property (default 10000; properties that do I/O per run take a tenth). A failure prints its seed and
// path: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx ava <file> replays it. The core's randomized Rust tests
// run too, FUZZ_RUNS cases each (FUZZ_SEED, a number, starts them on another sequence).
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const runs = /^\d+$/.test(args[0] ?? '') ? args.shift() : (process.env.FUZZ_RUNS ?? '10000');
const files = args.length > 0 ? args : ['__test__/fuzz/'];

console.log(`fuzz: ${runs} runs per property, ${files.join(' ')}`);
const started = Date.now();
const env = { ...process.env, FUZZ_RUNS: runs };
const ts = spawnSync('npx', ['ava', '--timeout=2h', ...files], { stdio: 'inherit', env });
// The core's randomized tests (WebSocket frame checks, header blocks) read FUZZ_RUNS too.
console.log(`fuzz: the core's randomized tests, ${runs} cases each`);
const rust = spawnSync(
  'cargo',
  ['test', '-p', 'starling-core', '--lib', '--release', '--', 'random', 'any_bytes'],
  {
    stdio: 'inherit',
    env,
  },
);
console.log(`fuzz: ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = ts.status === 0 && rust.status === 0 ? 0 : 1;
