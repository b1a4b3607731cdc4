// Type-level tests: this file must compile under the strict tsconfig (`npx tsc -p tsconfig.json` includes
// __test__). The first test also compiles it with the TypeScript API, so `npx ava` catches a regression
// even though tsx strips types without checking them.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  HTTPEndpoint,
  JSONResponse,
  Mount,
  PlainTextResponse,
  Route,
  Router,
  Starling,
  TestClient,
  WebSocketEndpoint,
  WebSocketRoute,
  type CallNext,
  type DispatchFunction,
  type ExceptionHandler,
  type Lifespan,
  type Receive,
  type Request,
  type RequestHandler,
  type Scope,
  type Send,
  type WebSocket,
  type WebSocketHandler,
} from '../src/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T) => {};

// Inline endpoints: the parameter is inferred (no TS7006 "implicitly has an 'any' type").
const route = new Route('/', async (request) => new JSONResponse({ p: request.url.path }));
const syncRoute = new Route('/sync', (request) => new PlainTextResponse(request.method));
const wsRoute = new WebSocketRoute('/ws', async (ws) => {
  await ws.accept();
  await ws.sendText(ws.url.path);
  await ws.close();
});
new Route('/typed', async (request) => {
  expectType<Equal<typeof request, Request>>(true);
  return new PlainTextResponse('ok');
});
new WebSocketRoute('/typed', async (ws) => {
  expectType<Equal<typeof ws, WebSocket>>(true);
});

// The other endpoint forms stay accepted: raw ASGI functions (annotated: with the handler overload first,
// TypeScript cannot infer a three-argument arrow), ASGI objects, classes.
const rawApp = async (scope: Scope, receive: Receive, send: Send) => {
  await new PlainTextResponse('raw').asgi(scope, receive, send);
};
new Route('/raw', rawApp);
new Route('/raw-inline', async (scope: Scope, receive: Receive, send: Send) => {
  await new PlainTextResponse('raw').asgi(scope, receive, send);
});
new Route('/object', new PlainTextResponse('an ASGI object'));
new Route('/class', class extends HTTPEndpoint {});
new WebSocketRoute('/ws-raw', rawApp);
new WebSocketRoute('/ws-class', class extends WebSocketEndpoint {});
new Route('/named', namedHandler, { methods: ['GET', 'POST'], name: 'named' });
async function namedHandler(request: Request) {
  return new PlainTextResponse(request.method);
}

// @ts-expect-error: the request is a Request, not any
new Route('/wrong', async (request) => new PlainTextResponse(request.noSuchMember));
// @ts-expect-error: an endpoint must return a response
new Route('/wrong', async (request) => request.method);

// App and router helpers.
const app = new Starling({ routes: [route, syncRoute, wsRoute] });
app.route('/route', async (request) => new JSONResponse({ p: request.url.path }), { methods: ['GET'] });
app.addRoute('/add', async (request) => new JSONResponse({ q: request.queryParams.get('q') }));
app.websocketRoute('/ws2', async (ws) => {
  await ws.accept();
  await ws.sendText('two');
  await ws.close();
});
app.addWebSocketRoute('/ws3', async (ws) => {
  await ws.accept();
  await ws.close();
});
app.route('/raw', rawApp);
app.route('/class', class extends HTTPEndpoint {});

const router = new Router();
router.addRoute('/r', async (request) => new PlainTextResponse(request.url.path));
router.addWebSocketRoute('/ws', async (ws) => {
  await ws.accept();
  await ws.close();
});
app.mount('/sub', router);
const mount = new Mount('/m', {
  routes: [new Route('/', async (request) => new PlainTextResponse(`m ${request.url.path}`))],
});
app.router.routes.push(mount);

// Public types users need, importable from 'starlingjs'.
const handler: RequestHandler = async (request) => new PlainTextResponse(request.method);
const wsHandler: WebSocketHandler = async (ws) => ws.close();
const onError: ExceptionHandler = async () => new PlainTextResponse('oops', { status: 500 });
const lifespan: Lifespan = async function* () {
  yield { ready: true };
};
const dispatch: DispatchFunction = async (request, callNext) => callNext(request);
const callNext: CallNext = async () => new PlainTextResponse('next');
void [handler, wsHandler, onError, lifespan, dispatch, callNext];

test('this file type-checks under the strict tsconfig', (t) => {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const configPath = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.json') as string;
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const program = ts.createProgram([fileURLToPath(import.meta.url)], options);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  t.deepEqual(errors, []);
});

test('inline endpoints run with the inferred request and websocket', async (t) => {
  const client = new TestClient(app);
  t.deepEqual((await client.get('/')).json(), { p: '/' });
  t.is((await client.get('/sync')).text, 'GET');
  t.deepEqual((await client.get('/route')).json(), { p: '/route' });
  t.deepEqual((await client.get('/add', { params: { q: 'x' } })).json(), { q: 'x' });
  t.is((await client.get('/raw')).text, 'raw');
  t.is((await client.get('/sub/r')).text, '/sub/r');
  t.is((await client.get('/m/')).text, 'm /m/');
  const ws = await client.websocketConnect('/ws');
  t.is(await ws.receiveText(), '/ws');
  await ws.close();
  const ws2 = await client.websocketConnect('/ws2');
  t.is(await ws2.receiveText(), 'two');
  await ws2.close();
});
