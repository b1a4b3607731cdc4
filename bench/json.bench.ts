// JSON response micro-benchmark: `node --import tsx bench/json.bench.ts`.
//
// What building a JSON response costs on the JS thread — serializing the content, encoding it to UTF-8,
// building the headers — for JSONResponse and UJSONResponse, beside the parts on their own:
//
//   stringify      JSON.stringify(content) alone: the floor no response class can go below
//   json           new JSONResponse(content)
//   ujson          new UJSONResponse(content)
//   textencoder    TextEncoder#encode of the serialized text (JSONResponse's encoder past 64 chars)
//   buffer-utf8    Buffer.from(text, 'utf8')
//   buffer-latin1  Buffer.from(text, 'latin1') when Buffer.byteLength says the text is ASCII, else utf8
//
// over four payloads: `small` ({ message: 'Hello, World!' }), `10KB` and `1MB` (arrays of 50 and 5 000
// user records, ASCII), and `1MB-utf8` (the same with a non-ASCII letter in every name). Each
// (case, payload) pair runs in its own process, so that one cannot shape another's type feedback or
// heap; it does a warm-up round, then times ROUNDS rounds in CPU time of the process (user + system, GC
// threads included) per operation, and counts minor page faults. The whole set runs REPEAT times,
// alternating; the table gives the median of the medians, the fastest round of all, the median faults.
// Env: ROUNDS (7), REPEAT (3), BENCH_CASE / BENCH_PAYLOAD (run one), JSON=1 (machine output),
// BENCH_FROM=dist (the compiled package, after `npm run build:ts`, instead of the sources under tsx).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FROM = process.env.BENCH_FROM === 'dist' ? '../dist/index.js' : '../src/index.ts';
const { JSONResponse, UJSONResponse } = (await import(FROM)) as typeof import('../src/index.ts');

const CASES = ['stringify', 'json', 'ujson', 'textencoder', 'buffer-utf8', 'buffer-latin1'] as const;
const PAYLOADS = ['small', '10KB', '1MB', '1MB-utf8'] as const;
type Case = (typeof CASES)[number];
type Payload = (typeof PAYLOADS)[number];

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const REPEAT = Number(process.env.REPEAT ?? 3);

function records(count: number, first: string) {
  return Array.from({ length: count }, (_, i) => ({
    id: i,
    name: `${first} ${i}`,
    email: `user${i}@example.com`,
    active: i % 2 === 0,
    score: i * 1.5,
    tags: ['alpha', 'beta', 'gamma'],
    address: { street: `${i} Main Street`, city: 'Springfield', zip: '12345' },
  }));
}

function payload(name: Payload): unknown {
  switch (name) {
    case 'small':
      return { message: 'Hello, World!' };
    case '10KB':
      return records(50, 'User');
    case '1MB':
      return records(5000, 'User');
    case '1MB-utf8':
      return records(5000, 'Zoë');
  }
}

const encoder = new TextEncoder();

/** The operation a case times, over `content` (whose serialized text is `text`). */
function operation(name: Case, content: unknown, text: string): () => unknown {
  switch (name) {
    case 'stringify':
      return () => JSON.stringify(content);
    case 'json':
      return () => new JSONResponse(content);
    case 'ujson':
      return () => new UJSONResponse(content);
    case 'textencoder':
      return () => encoder.encode(text);
    case 'buffer-utf8':
      return () => Buffer.from(text, 'utf8');
    case 'buffer-latin1':
      return () =>
        Buffer.byteLength(text) === text.length ? Buffer.from(text, 'latin1') : Buffer.from(text);
  }
}

interface Timing {
  /** CPU µs per operation, median and fastest round. */
  median: number;
  min: number;
  /** Minor page faults per operation over all rounds. */
  faults: number;
}

function runCase(name: Case, payloadName: Payload): Timing {
  const content = payload(payloadName);
  const text = JSON.stringify(content);
  const bytes = Buffer.byteLength(text);
  // The answers must be the same before their speed means anything.
  const reference = Buffer.from(text);
  for (const response of [new JSONResponse(content), new UJSONResponse(content)]) {
    if (!reference.equals(response.body)) throw new Error(`${response.constructor.name} differs`);
  }
  // About 40 MB of output per round: 40 operations on 1 MB, a few hundred thousand on small ones.
  const ops = Math.min(400_000, Math.max(40, Math.round(4e7 / bytes)));
  const run = operation(name, content, text);
  let sink: unknown;
  const round = (): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < ops; i++) sink = run();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / ops;
  };
  round();
  const faultsBefore = process.resourceUsage().minorPageFault;
  const samples = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
  const faults = (process.resourceUsage().minorPageFault - faultsBefore) / (ops * ROUNDS);
  if (sink === undefined) throw new Error('nothing ran');
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]!, faults };
}

const onlyCase = process.env.BENCH_CASE as Case | undefined;
const onlyPayload = process.env.BENCH_PAYLOAD as Payload | undefined;
if (process.env.BENCH_CHILD) {
  console.log(JSON.stringify(runCase(onlyCase!, onlyPayload!)));
} else {
  // Repeats alternate the cases, so that a slow spell of the machine falls on all of them alike.
  const runs: Record<string, Record<string, Timing[]>> = {};
  for (let repeat = 0; repeat < REPEAT; repeat++) {
    for (const payloadName of onlyPayload ? [onlyPayload] : PAYLOADS) {
      for (const name of onlyCase ? [onlyCase] : CASES) {
        const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
          env: { ...process.env, BENCH_CHILD: '1', BENCH_CASE: name, BENCH_PAYLOAD: payloadName },
          encoding: 'utf8',
        });
        if (child.status !== 0) throw new Error(`${name} ${payloadName} failed:\n${child.stderr}`);
        ((runs[payloadName] ??= {})[name] ??= []).push(JSON.parse(child.stdout) as Timing);
      }
    }
  }
  const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const results: Record<string, Record<string, Timing>> = {};
  for (const [payloadName, cases] of Object.entries(runs)) {
    results[payloadName] = {};
    for (const [name, timings] of Object.entries(cases)) {
      results[payloadName][name] = {
        median: middle(timings.map((t) => t.median)),
        min: Math.min(...timings.map((t) => t.min)),
        faults: middle(timings.map((t) => t.faults)),
      };
    }
  }
  if (process.env.JSON) console.log(JSON.stringify(results));
  else {
    const lines = [
      '| payload | case | median µs | fastest round µs | × json (median) | page faults / op |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
    ];
    for (const [payloadName, cases] of Object.entries(results)) {
      const base = cases.json?.median;
      for (const [name, { median, min, faults }] of Object.entries(cases)) {
        const ratio = base ? (median / base).toFixed(2) : '';
        lines.push(
          `| ${payloadName} | ${name} | ${median.toFixed(2)} | ${min.toFixed(2)} | ${ratio} | ${faults.toFixed(0)} |`,
        );
      }
    }
    console.log(lines.join('\n'));
  }
}
