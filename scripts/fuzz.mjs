// `npm run fuzz [-- <runs>] [files...]`: the property tests of __test__/fuzz/ with many runs each.
// `npm test` runs the same properties a few hundred times each; this sets FUZZ_RUNS, the runs per
// property (default 10000; properties that do I/O per run take a tenth). A failure prints its seed and
// path: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx ava <file> replays it.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const runs = /^\d+$/.test(args[0] ?? '') ? args.shift() : (process.env.FUZZ_RUNS ?? '10000');
const files = args.length > 0 ? args : ['__test__/fuzz/'];

console.log(`fuzz: ${runs} runs per property, ${files.join(' ')}`);
const started = Date.now();
const result = spawnSync('npx', ['ava', '--timeout=2h', ...files], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs },
});
console.log(`fuzz: ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = result.status ?? 1;
