// Routing micro-benchmark: `npm run bench:routing` (node --import tsx bench/routing.bench.ts).
//
// 1. A Router with 50 routes shaped `/r{i}/{id:int}/items/{name}`, called in-process through its ASGI
//    entry point with a minimal scope and a no-op send: the cost of matching (a linear scan, on average
//    half the table) plus, for function endpoints, building the Request and sending the response.
// 2. The app layer: hello world through `Starling` (error + exception middleware, router, route, request)
//    against a bare ASGI function sending the same two messages.
// No sockets are involved; numbers are per request on the JS thread.
import type { ASGIFunction, HTTPScope, Receive, Scope, Send } from '../src/asgi.ts';
import { PlainTextResponse, Route, Router, Starling, type Request } from '../src/index.ts';

const ROUTES = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const ITERATIONS = Number(process.env.ITERATIONS ?? 100_000);

const EMPTY = new Uint8Array(0);
const receive: Receive = async () => ({ type: 'http.request', body: EMPTY, more_body: false });
const send: Send = async () => {};

/** A fresh minimal scope per request (the router writes `path_params` and `router` into it). */
function scope(path: string): HTTPScope {
  return {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.4' },
    http_version: '1.1',
    method: 'GET',
    scheme: 'http',
    path,
    raw_path: EMPTY,
    query_string: EMPTY,
    root_path: '',
    headers: [],
    client: ['127.0.0.1', 50000],
    server: ['127.0.0.1', 8000],
  };
}

/** Median ns per call of `app` over `paths` (cycled), after a warm-up round. */
async function measure(app: ASGIFunction, paths: string[]): Promise<number> {
  const run = async (n: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await app(scope(paths[i % paths.length]!), receive, send);
    return Number(process.hrtime.bigint() - started) / n;
  };
  await run(ITERATIONS);
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(await run(ITERATIONS));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const hello = new PlainTextResponse('Hello, world!');
const paths = Array.from({ length: ROUTES }, (_, i) => `/r${i}/${1000 + i}/items/widget-${i}`);

// Function endpoints: what apps write. The response is built once, so this measures the framework.
const handlerRouter = new Router({
  routes: Array.from(
    { length: ROUTES },
    (_, i) =>
      new Route(`/r${i}/{id:int}/items/{name}`, async (request: Request) => {
        if (request.pathParams.id !== 1000 + i) throw new Error('wrong params');
        return hello;
      }),
  ),
});

// Raw ASGI endpoints: routing alone, with no Request object.
const rawRouter = new Router({
  routes: Array.from(
    { length: ROUTES },
    (_, i) =>
      new Route(`/r${i}/{id:int}/items/{name}`, async (_scope: Scope, _receive: Receive, send: Send) => {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.body', body: 'ok' });
      }),
  ),
});

const starling = new Starling({ routes: [new Route('/', async () => hello)] });
const HEADERS: [string, string][] = [
  ['content-length', '13'],
  ['content-type', 'text/plain; charset=utf-8'],
];
const bare: ASGIFunction = async (_scope, _receive, send) => {
  await send({ type: 'http.response.start', status: 200, headers: HEADERS });
  await send({ type: 'http.response.body', body: 'Hello, world!' });
};

const ns = {
  handler: await measure(handlerRouter.asgi, paths),
  raw: await measure(rawRouter.asgi, paths),
  lastRoute: await measure(rawRouter.asgi, [paths[ROUTES - 1]!]),
  starling: await measure(starling.asgi, ['/']),
  bare: await measure(bare, ['/']),
};

const us = (n: number) => `${(n / 1000).toFixed(2)} µs`;
const lines = [
  `node ${process.version}, ${ROUNDS} rounds × ${ITERATIONS} requests, median per request`,
  ``,
  `| case | per request |`,
  `|---|---|`,
  `| Router, ${ROUTES} routes, function endpoints (routing + Request + response) | ${us(ns.handler)} |`,
  `| Router, ${ROUTES} routes, raw ASGI endpoints (routing only) | ${us(ns.raw)} |`,
  `| Router, raw ASGI endpoint, always the last of ${ROUTES} routes (worst case) | ${us(ns.lastRoute)} |`,
  `| hello world through \`Starling\` | ${us(ns.starling)} |`,
  `| hello world as a bare ASGI function | ${us(ns.bare)} |`,
  ``,
  `App layer overhead: Starling / bare = ${(ns.starling / ns.bare).toFixed(1)}× ` +
    `(+${us(ns.starling - ns.bare)} per request). Routing target < 2 µs: ` +
    `${ns.handler < 2000 ? 'met' : 'NOT met'} (${us(ns.handler)}).`,
];
console.log(lines.join('\n'));
