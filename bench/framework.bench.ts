// Framework micro-benchmark: `npm run bench:framework` (node --import tsx bench/framework.bench.ts).
//
// What the JS thread spends per request between the core handing over a request and the app's answer
// reaching the addon, with the addon replaced by a no-op stub. The real `Bridge` decodes a real
// request record (src/server/wire.ts layout), builds the scope as the server does (lazy headers
// Proxy included), and runs the app with a real `HTTPExchange`: `receive` resolves the empty body,
// `send` packs the headers and hands the body to the stub. Cases:
//
//   asgi         a bare ASGI function (bench/servers/starling-asgi.mjs): the bridge alone
//   plaintext    the two-route Starling app (bench/servers/starling-app.mjs), GET /plaintext
//   json         the same app, GET /json
//   async        the same app with `async` endpoints (what most apps write), GET /plaintext
//   basehttp     the same app under one pass-through BaseHTTPMiddleware, GET /plaintext
//   asgimw       the same app under one pass-through pure ASGI middleware, GET /plaintext
//
// Each case runs in its own process (so one case's type feedback cannot slow another), does a
// warm-up round, checks the answer, then reports the median of ROUNDS rounds of ITERATIONS requests,
// in CPU time of the process (user + system, GC threads included), which other load on the machine
// disturbs less than wall time does.
// `BENCH_CASE=plaintext node --cpu-prof --import tsx bench/framework.bench.ts` profiles one case.
// Env: ROUNDS (7), ITERATIONS (200000), BATCH (requests per event batch, 1), JSON=1 (machine output),
// BENCH_FROM=src (the TypeScript sources under tsx instead of dist/; `npm run build:ts` refreshes dist),
// or BENCH_FROM=<directory>: another build to compare run after run, inside this package so that its
// .js files load as ESM (`npx tsc -p tsconfig.build.json --outDir bench/out/a`; bench/out is ignored).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../src/asgi.ts';
import type { CallNext, Middleware as MiddlewareT, Request } from '../src/index.ts';
import type { NativeServer } from '../src/server/native.ts';
import { Kind, Request as Rec, RequestFlag } from '../src/server/wire.ts';

// The compiled package by default, as production runs it (tsx's `keepNames` adds a `__name` call for
// every arrow-function field built per request, which tsc's output does not have).
const from = process.env.BENCH_FROM;
const FROM = from === 'src' ? '../src/' : from ? pathToFileURL(resolve(from)).href + '/' : '../dist/';
const load = <T>(module: string): Promise<T> =>
  import(FROM + module + (FROM === '../src/' ? '.ts' : '.js')) as Promise<T>;
const { BaseHTTPMiddleware, JSONResponse, Middleware, PlainTextResponse, Route, Starling } =
  await load<typeof import('../src/index.ts')>('index');
const { toASGIFunction } = await load<typeof import('../src/_utils.ts')>('_utils');
const { Bridge } = await load<typeof import('../src/server/bridge.ts')>('server/bridge');
const { LoopRef } = await load<typeof import('../src/server/loop.ts')>('server/loop');

const CASES = ['asgi', 'plaintext', 'json', 'async', 'basehttp', 'asgimw'] as const;
type Case = (typeof CASES)[number];

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const ITERATIONS = Number(process.env.ITERATIONS ?? 200_000);
const BATCH = Number(process.env.BATCH ?? 1);

// ---- The apps ----

const TEXT_HEADERS = [['content-type', 'text/plain']] as [string, string][];
const JSON_HEADERS = [['content-type', 'application/json']] as [string, string][];
/** bench/servers/starling-asgi.mjs, as written there. */
async function asgiApp(scope: Scope, _receive: Receive, send: Send): Promise<void> {
  if (scope.type !== 'http') return;
  const json = scope.path === '/json';
  await send({ type: 'http.response.start', status: 200, headers: json ? JSON_HEADERS : TEXT_HEADERS });
  await send({
    type: 'http.response.body',
    body: json ? JSON.stringify({ message: 'Hello, World!' }) : 'Hello, World!',
  });
}

class PassThrough extends BaseHTTPMiddleware {
  override async dispatch(request: Request, callNext: CallNext) {
    return callNext(request);
  }
}

class PureASGI {
  readonly #app: ASGIFunction;
  constructor(app: ASGIFunction) {
    this.#app = app;
  }
  asgi = (scope: Scope, receive: Receive, send: Send): Promise<void> => this.#app(scope, receive, send);
}

/** bench/servers/starling-app.mjs, with optional middleware. */
function starlingApp(middleware: MiddlewareT[] = []): ASGIApp {
  return new Starling({
    routes: [
      new Route('/plaintext', () => new PlainTextResponse('Hello, World!')),
      new Route('/json', () => new JSONResponse({ message: 'Hello, World!' })),
    ],
    middleware,
  });
}

/** The same with `async` endpoints. */
function asyncApp(): ASGIApp {
  return new Starling({
    routes: [
      new Route('/plaintext', async () => new PlainTextResponse('Hello, World!')),
      new Route('/json', async () => new JSONResponse({ message: 'Hello, World!' })),
    ],
  });
}

function appFor(name: Case): ASGIApp {
  switch (name) {
    case 'asgi':
      return asgiApp;
    case 'plaintext':
    case 'json':
      return starlingApp();
    case 'async':
      return asyncApp();
    case 'basehttp':
      return starlingApp([new Middleware(PassThrough)]);
    case 'asgimw':
      return starlingApp([new Middleware(PureASGI)]);
  }
}

const PLAIN = {
  path: '/plaintext',
  headers: 'content-length\x0013\x00content-type\x00text/plain; charset=utf-8\x00',
  body: 'Hello, World!',
};
const JSON_ANSWER = {
  path: '/json',
  headers: 'content-length\x0027\x00content-type\x00application/json\x00',
  body: '{"message":"Hello, World!"}',
};
/** What each case must answer (the bare function sends its own headers). */
function expected(name: Case): typeof PLAIN {
  if (name === 'json') return JSON_ANSWER;
  if (name === 'asgi') return { ...PLAIN, headers: 'content-type\x00text/plain\x00' };
  return PLAIN;
}

// ---- A request record as the core writes it ----

const REQUEST_HEADERS = [
  ['host', 'localhost:8000'],
  ['user-agent', 'wrk/4.2.0'],
  ['accept', 'text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'],
  ['connection', 'keep-alive'],
];
const ADDRS = '127.0.0.1\x0050432\x00127.0.0.1\x008000\x00http';

/** `BATCH` request records for `path` in one event batch; ids are rewritten per batch. */
function batch(path: string): { meta: Uint32Array; strs: string } {
  let strs = '';
  const span = (s: string): [number, number] => {
    const at = strs.length;
    strs += s;
    return [at, s.length];
  };
  const method = span('GET');
  const target = span(path);
  const query = span('');
  const headers = span(REQUEST_HEADERS.map(([k, v]) => `${k}\0${v}\0`).join(''));
  const addrs = span(ADDRS);
  const meta = new Uint32Array(Rec.length * BATCH);
  for (let b = 0; b < BATCH; b++) {
    const r = b * Rec.length;
    meta[r] = Kind.Request;
    meta[r + Rec.flags] = 1 << RequestFlag.versionShift; // HTTP/1.1, no body
    [meta[r + Rec.methodAt], meta[r + Rec.methodLen]] = method;
    [meta[r + Rec.pathAt], meta[r + Rec.pathLen]] = target;
    [meta[r + Rec.queryAt], meta[r + Rec.queryLen]] = query;
    [meta[r + Rec.headersAt], meta[r + Rec.headersLen]] = headers;
    [meta[r + Rec.addrsAt], meta[r + Rec.addrsLen]] = addrs;
  }
  return { meta, strs };
}

// ---- The stub addon: what the bridge calls, doing nothing ----

let last = { status: 0, headers: null as string | null, body: '' as string | Uint8Array };
const nativeStub = {
  respondText(_id: number, status: number, headers: string | null, body: string) {
    last.status = status;
    last.headers = headers;
    last.body = body;
    return true;
  },
  respondBytes(_id: number, status: number, headers: string | null, body: Uint8Array) {
    last.status = status;
    last.headers = headers;
    last.body = body;
    // The addon reads the bytes through N-API, which gives a small typed array that lives on V8's
    // heap memory of its own (allocation, copy, a backing store to sweep); reading `.buffer` does the same.
    void body.buffer;
    return true;
  },
  respondStatus(_id: number, status: number) {
    last = { status, headers: null, body: '' };
    return true;
  },
  // A streamed answer (BaseHTTPMiddleware's): the check looks at its last chunk.
  start(_id: number, status: number, headers: string | null) {
    last.status = status;
    last.headers = headers;
    return true;
  },
  write(_id: number, chunk: Uint8Array) {
    last.body = chunk;
    return 1;
  },
  writeText(_id: number, chunk: string) {
    last.body = chunk;
    return 1;
  },
  end: () => true,
  readMore: () => true,
  abort: () => true,
} as Partial<NativeServer> as NativeServer;

// ---- One case ----

/** Median and fastest round, ns per request. */
interface Timing {
  median: number;
  min: number;
}

async function runCase(name: Case): Promise<Timing> {
  const want = expected(name);
  const { meta, strs } = batch(want.path);
  let done = 0;
  let target = 0;
  let wake: (() => void) | null = null;
  const bridge = new Bridge(toASGIFunction(appFor(name)), {
    rootPath: '',
    state: {},
    loop: new LoopRef(),
    onError: (error) => {
      console.error(error);
      process.exit(1);
    },
    onRequestDone: () => {
      if (++done === target && wake) {
        // Each waiter once: resolving a settled promise again costs a call into Node's rejection tracking.
        const resolve = wake;
        wake = null;
        resolve();
      }
    },
    onClosed: () => {},
  });
  bridge.native = nativeStub;
  let nextId = 1;

  const run = async (n: number): Promise<number> => {
    const started = process.cpuUsage();
    for (let sent = 0; sent < n; sent += BATCH) {
      for (let r = 0; r < meta.length; r += Rec.length) meta[r + Rec.id] = nextId++;
      target = done + BATCH;
      bridge.onEvents(meta, strs, null);
      if (done < target) await new Promise<void>((resolve) => (wake = resolve));
    }
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / n;
  };

  await run(ITERATIONS);
  const body = typeof last.body === 'string' ? last.body : Buffer.from(last.body).toString();
  if (last.status !== 200 || last.headers !== want.headers || body !== want.body) {
    throw new Error(`${name}: unexpected answer ${JSON.stringify({ ...last, body })}`);
  }
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(await run(ITERATIONS));
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]! };
}

// ---- Driver: one child process per case ----

const only = process.env.BENCH_CASE as Case | undefined;
if (only) {
  if (!CASES.includes(only)) throw new Error(`BENCH_CASE must be one of ${CASES.join(', ')}`);
  const timing = await runCase(only);
  if (process.env.BENCH_CHILD) console.log(JSON.stringify(timing));
  else
    console.log(
      `${only}: ${timing.median.toFixed(0)} ns per request (fastest round ${timing.min.toFixed(0)})`,
    );
} else {
  const results = {} as Record<Case, Timing>;
  for (const name of CASES) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_CASE: name, BENCH_CHILD: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`case ${name} failed`);
    results[name] = JSON.parse(child.stdout.trim().split('\n').pop()!) as Timing;
  }
  if (process.env.JSON) console.log(JSON.stringify(results));
  else {
    const base = results.asgi;
    const over = (name: Case, key: keyof Timing) =>
      name === 'asgi' ? '' : `+${(results[name][key] - base[key]).toFixed(0)}`;
    const lines = [
      `node ${process.version}, ${ROUNDS} rounds × ${ITERATIONS} requests (batches of ${BATCH}), CPU time per request`,
      '',
      '| case | median ns | over bare ASGI | fastest round ns | over bare ASGI |',
      '|---|---:|---:|---:|---:|',
      ...CASES.map((name) => {
        const { median, min } = results[name];
        return `| ${name} | ${median.toFixed(0)} | ${over(name, 'median')} | ${min.toFixed(0)} | ${over(name, 'min')} |`;
      }),
    ];
    console.log(lines.join('\n'));
  }
}
