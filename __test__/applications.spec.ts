import test from 'ava';
import type { ASGIApp, Receive, ReceiveMessage, Scope, Send, SendMessage } from '../src/asgi.ts';
import { RESOLVED } from '../src/_utils.ts';
import { Starling } from '../src/applications.ts';
import { HTTPException, WebSocketException } from '../src/exceptions.ts';
import { Middleware } from '../src/middleware/index.ts';
import type { Request } from '../src/requests.ts';
import { JSONResponse, PlainTextResponse, Response } from '../src/responses.ts';
import { Host, Mount, Route, Router, WebSocketRoute } from '../src/routing.ts';
import { serve } from '../src/server/index.ts';
import { TestClient } from '../src/testclient.ts';
import type { WebSocket } from '../src/websockets.ts';

const ok =
  (body = 'ok') =>
  async () =>
    new PlainTextResponse(body);
const call = (app: ASGIApp): ((s: Scope, r: Receive, w: Send) => Promise<void>) =>
  typeof app === 'function' ? app : app.asgi;

/** A pure-ASGI middleware appending its name to an `x-order` header. */
class Order {
  constructor(
    readonly app: ASGIApp,
    readonly options: { name: string },
  ) {}
  asgi = async (scope: Scope, receive: Receive, send: Send) => {
    await call(this.app)(scope, receive, async (message) => {
      if (message.type === 'http.response.start')
        message = { ...message, headers: [...(message.headers ?? []), ['x-order', this.options.name]] };
      await send(message);
    });
  };
}

test('an app routes requests and exposes routes, router and state', async (t) => {
  const app = new Starling({ routes: [new Route('/', ok('home'), { name: 'home' })] });
  app.state.version = 1;
  t.is((await new TestClient(app).get('/')).text, 'home');
  t.is(app.routes, app.router.routes);
  t.is(String(app.urlPathFor('home')), '/');
  t.is(app.state.version, 1);
});

test('request.app is the application', async (t) => {
  const app: Starling = new Starling({
    routes: [new Route('/', async (r: Request) => new PlainTextResponse(String(r.app === app)))],
  });
  t.is((await new TestClient(app).get('/')).text, 'true');
});

test('app.route, mount, host and websocketRoute add routes', async (t) => {
  const app = new Starling();
  app.route('/r', ok('r'), { methods: ['POST'] });
  app.addRoute('/a', ok('a'));
  app.mount('/m', new Router({ routes: [new Route('/x', ok('mx'))] }), { name: 'm' });
  app.host('api.example.org', new PlainTextResponse('api'), { name: 'api' });
  app.websocketRoute('/ws', async (ws: WebSocket) => {
    await ws.accept();
    await ws.sendText('ws');
    await ws.close();
  });
  app.addWebSocketRoute('/ws2', async (ws: WebSocket) => ws.close(1001));
  const client = new TestClient(app);
  t.is((await client.post('/r')).text, 'r');
  t.is((await client.get('/a')).text, 'a');
  t.is((await client.get('/m/x')).text, 'mx');
  t.is((await new TestClient(app, { baseUrl: 'http://api.example.org' }).get('/zzz')).text, 'api');
  const ws = await client.websocketConnect('/ws');
  t.is(await ws.receiveText(), 'ws');
  t.true(app.routes.some((r) => r instanceof Mount) && app.routes.some((r) => r instanceof Host));
});

test('a miss inside an app is a 404 from HTTPException, which a 404 handler can replace', async (t) => {
  t.is((await new TestClient(new Starling()).get('/x')).text, 'Not Found');
  const app = new Starling({
    exceptionHandlers: {
      404: async (r: Request) => new JSONResponse({ missing: r.url.path }, { status: 404 }),
    },
  });
  const res = await new TestClient(app).get('/x');
  t.is(res.status, 404);
  t.deepEqual(res.json(), { missing: '/x' });
});

test('HTTPException becomes a plain response with its status, detail and headers', async (t) => {
  const app = new Starling({
    routes: [
      new Route('/teapot', async () => {
        throw new HTTPException(418, { detail: 'short and stout', headers: { 'x-tea': 'earl grey' } });
      }),
      new Route('/empty', async () => {
        throw new HTTPException(204);
      }),
      new Route('/notmod', async () => {
        throw new HTTPException(304);
      }),
    ],
  });
  const client = new TestClient(app);
  const res = await client.get('/teapot');
  t.is(res.status, 418);
  t.is(res.text, 'short and stout');
  t.is(res.headers.get('x-tea'), 'earl grey');
  const empty = await client.get('/empty');
  t.is(empty.status, 204);
  t.is(empty.text, '');
  t.is(empty.headers.get('content-length'), null);
  t.is((await client.get('/notmod')).status, 304);
});

test('exception handlers can be keyed by error class, nearest class first, as a Map or pairs', async (t) => {
  class AppError extends Error {}
  class NotAllowed extends AppError {}
  const route = (error: Error) => async () => {
    throw error;
  };
  const routes = [
    new Route('/base', route(new AppError('a'))),
    new Route('/sub', route(new NotAllowed('n'))),
    new Route('/type', route(new TypeError('t'))),
  ];
  const handler = (name: string) => async (_r: Request, exc: Error) =>
    new PlainTextResponse(`${name}:${exc.message}`, { status: 400 });
  const app = new Starling({
    routes,
    exceptionHandlers: new Map<number | typeof AppError, any>([
      [AppError, handler('app')],
      [NotAllowed, handler('sub')],
    ]),
  });
  const client = new TestClient(app);
  t.is((await client.get('/base')).text, 'app:a');
  t.is((await client.get('/sub')).text, 'sub:n');
  await t.throwsAsync(() => client.get('/type'), { instanceOf: TypeError });
  const pairs = new Starling({ routes, exceptionHandlers: [[AppError, handler('pair')]] });
  t.is((await new TestClient(pairs).get('/sub')).text, 'pair:n');
});

test('a handler receives the same request object the endpoint used', async (t) => {
  const app = new Starling({
    routes: [
      new Route('/', async (request: Request) => {
        request.state.marker = 'set by endpoint';
        throw new HTTPException(400);
      }),
    ],
    exceptionHandlers: {
      400: async (request: Request) => new PlainTextResponse(String(request.state.marker), { status: 400 }),
    },
  });
  t.is((await new TestClient(app).get('/')).text, 'set by endpoint');
});

test('unhandled errors give a plain 500 and are rethrown to the client', async (t) => {
  const app = new Starling({
    routes: [
      new Route('/', async () => {
        throw new Error('kaboom');
      }),
    ],
  });
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: 'kaboom' });
  const res = await new TestClient(app, { raiseServerExceptions: false }).get('/');
  t.is(res.status, 500);
  t.is(res.text, 'Internal Server Error');
});

test('a 500 or Error handler answers unhandled errors, and also HTTPException(500)', async (t) => {
  const routes = [
    new Route('/crash', async () => {
      throw new Error('crash');
    }),
    new Route('/http500', async () => {
      throw new HTTPException(500, { detail: 'explicit' });
    }),
  ];
  const handler = async (_r: Request, exc: Error) =>
    new JSONResponse({ error: exc.message }, { status: 500 });
  for (const exceptionHandlers of [
    { 500: handler },
    [[Error, handler]] as [typeof Error, typeof handler][],
  ]) {
    const client = new TestClient(new Starling({ routes, exceptionHandlers }), {
      raiseServerExceptions: false,
    });
    t.deepEqual((await client.get('/crash')).json(), { error: 'crash' });
    const res = await client.get('/http500');
    t.is(res.status, 500);
    t.deepEqual(res.json(), { error: '500: explicit' });
  }
});

test('debug shows the stack as HTML for browsers and as text otherwise', async (t) => {
  const app = new Starling({
    debug: true,
    routes: [
      new Route('/', async () => {
        throw new Error('debug me');
      }),
    ],
  });
  const client = new TestClient(app, { raiseServerExceptions: false });
  const html = await client.get('/', { headers: { accept: 'text/html' } });
  t.is(html.status, 500);
  t.regex(html.headers.get('content-type') ?? '', /text\/html/);
  t.true(html.text.includes('<h1>500 Server Error</h1>'));
  t.true(html.text.includes('debug me'));
  const plain = await client.get('/');
  t.regex(plain.headers.get('content-type') ?? '', /text\/plain/);
  t.true(plain.text.startsWith('Error: debug me'));
});

test('an error after the response started is not handled again', async (t) => {
  const app = new Starling({
    routes: [
      new Route('/', async (_scope: Scope, _receive: Receive, send: Send) => {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        throw new HTTPException(400);
      }),
    ],
  });
  await t.throwsAsync(() => new TestClient(app).get('/'), {
    message: 'Caught handled exception, but response already started.',
  });
});

test('middleware runs outermost first, and addMiddleware adds a new outermost one', async (t) => {
  const app = new Starling({
    routes: [new Route('/', ok())],
    middleware: [new Middleware(Order, { name: 'first' }), new Middleware(Order, { name: 'second' })],
  });
  app.addMiddleware(Order, { name: 'added' });
  const res = await new TestClient(app).get('/');
  t.deepEqual(res.headers.getAll('x-order'), ['second', 'first', 'added']);
  t.throws(() => app.addMiddleware(Order, { name: 'late' }), {
    message: 'Cannot add middleware after an application has started',
  });
});

test('user middleware sees handled HTTP errors as responses but not unhandled errors', async (t) => {
  const app = new Starling({
    routes: [
      new Route('/403', async () => {
        throw new HTTPException(403);
      }),
      new Route('/500', async () => {
        throw new Error('x');
      }),
    ],
    middleware: [new Middleware(Order, { name: 'mw' })],
  });
  const client = new TestClient(app, { raiseServerExceptions: false });
  t.is((await client.get('/403')).headers.get('x-order'), 'mw');
  const res = await client.get('/500');
  t.is(res.status, 500);
  t.is(res.headers.get('x-order'), null);
});

test('addExceptionHandler registers handlers before the app starts', async (t) => {
  const app = new Starling();
  app.addExceptionHandler(404, async () => new PlainTextResponse('custom', { status: 404 }));
  t.is((await new TestClient(app).get('/nope')).text, 'custom');
});

test('a WebSocketException closes the socket with its code and reason', async (t) => {
  const app = new Starling({
    routes: [
      new WebSocketRoute('/ws', async (ws: WebSocket) => {
        await ws.accept();
        throw new WebSocketException(1008, 'policy');
      }),
    ],
  });
  const ws = await new TestClient(app).websocketConnect('/ws');
  const error = await t.throwsAsync(() => ws.receiveText());
  t.like(error, { code: 1008, reason: 'policy' });
});

test('an HTTPException before accept denies the handshake with an HTTP response', async (t) => {
  const app = new Starling({
    routes: [
      new WebSocketRoute('/ws', async () => {
        throw new HTTPException(401, { detail: 'who are you' });
      }),
    ],
  });
  const error = await t.throwsAsync(() => new TestClient(app).websocketConnect('/ws'));
  t.like(error, { status: 401, text: 'who are you' });
});

test('the lifespan generator runs around the app and its yielded state reaches requests', async (t) => {
  const events: string[] = [];
  const app = new Starling({
    lifespan: async function* (application) {
      events.push(`startup:${application instanceof Starling}`);
      yield { db: 'connected' };
      events.push('shutdown');
    },
    routes: [new Route('/', async (r: Request) => new PlainTextResponse(String(r.state.db)))],
  });
  await TestClient.run(app, async (client) => {
    t.is((await client.get('/')).text, 'connected');
    t.deepEqual(events, ['startup:true']);
  });
  t.deepEqual(events, ['startup:true', 'shutdown']);
});

test('per-request state is a copy: changes do not leak between requests', async (t) => {
  const app = new Starling({
    lifespan: async function* () {
      yield { count: 0 };
    },
    routes: [
      new Route('/', async (r: Request) => {
        r.state.count = (r.state.count as number) + 1;
        return new PlainTextResponse(String(r.state.count));
      }),
    ],
  });
  await TestClient.run(app, async (client) => {
    t.is((await client.get('/')).text, '1');
    t.is((await client.get('/')).text, '1');
  });
});

test('onStartup and onShutdown hooks run, in order', async (t) => {
  const events: string[] = [];
  const app = new Starling({
    onStartup: [() => events.push('a'), async () => events.push('b')],
    onShutdown: [() => events.push('z')],
  });
  const client = new TestClient(app);
  await client.start();
  t.deepEqual(events, ['a', 'b']);
  await client.stop();
  t.deepEqual(events, ['a', 'b', 'z']);
});

// Serial (ava runs serial tests before the others) because the warning is emitted once per process.
test.serial('a lifespan replaces onStartup and onShutdown, with one warning as in Starlette', async (t) => {
  const warnings: unknown[] = [];
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: unknown) => void warnings.push(warning)) as typeof process.emitWarning;
  const events: string[] = [];
  const options = {
    lifespan: async function* () {
      events.push('lifespan up');
      yield;
      events.push('lifespan down');
    },
    onStartup: [() => events.push('hook up')],
    onShutdown: [() => events.push('hook down')],
  };
  try {
    await TestClient.run(new Starling(options), async () => {});
    new Router(options);
  } finally {
    process.emitWarning = emitWarning;
  }
  t.deepEqual(events, ['lifespan up', 'lifespan down']);
  t.deepEqual(warnings, [
    'The `lifespan` option cannot be used with `onStartup` or `onShutdown`. Both `onStartup` and `onShutdown` will be ignored.',
  ]);
});

test('a failing startup reports lifespan.startup.failed and rejects', async (t) => {
  const app = new Starling({
    lifespan: async function* () {
      throw new Error('db down');
    },
  });
  await t.throwsAsync(() => new TestClient(app).start(), { message: 'db down' });
});

test('a failing shutdown rejects stop', async (t) => {
  const app = new Starling({
    onShutdown: [
      () => {
        throw new Error('cannot close');
      },
    ],
  });
  const client = new TestClient(app);
  await client.start();
  await t.throwsAsync(() => client.stop(), { message: 'cannot close' });
});

test('a lifespan that yields twice is an error at shutdown', async (t) => {
  const app = new Starling({
    lifespan: async function* () {
      yield;
      yield;
    },
  });
  const client = new TestClient(app);
  await client.start();
  await t.throwsAsync(() => client.stop(), { message: /yield only once/ });
});

test('sync generator lifespans work too', async (t) => {
  const events: string[] = [];
  const app = new Starling({
    lifespan: function* () {
      events.push('up');
      yield { mode: 'sync' };
      events.push('down');
    },
  });
  await TestClient.run(app, async () => {});
  t.deepEqual(events, ['up', 'down']);
});

test('lifespans of mounted and hosted sub-apps run too, and their state is shared', async (t) => {
  const events: string[] = [];
  const sub = new Starling({
    lifespan: async function* () {
      events.push('sub up');
      yield { sub: 'ready' };
      events.push('sub down');
    },
    routes: [new Route('/', async (r: Request) => new PlainTextResponse(`${r.state.main}/${r.state.sub}`))],
  });
  const hosted = new Router({
    onStartup: [() => events.push('host up')],
    onShutdown: [() => events.push('host down')],
  });
  const app = new Starling({
    lifespan: async function* () {
      events.push('main up');
      yield { main: 'ok' };
      events.push('main down');
    },
    routes: [
      new Mount('/sub', { app: sub }),
      new Mount('/static', {
        app: async (scope: Scope) => {
          if (scope.type !== 'http') throw new Error('http only');
        },
      }),
      new Host('h.example.org', hosted),
    ],
  });
  await TestClient.run(app, async (client) => {
    t.is((await client.get('/sub/')).text, 'ok/ready');
  });
  t.deepEqual(events, ['main up', 'sub up', 'host up', 'host down', 'sub down', 'main down']);
});

test('a failing sub-app startup fails the whole startup', async (t) => {
  const sub = new Starling({
    onStartup: [
      () => {
        throw new Error('sub failed');
      },
    ],
  });
  const app = new Starling({ routes: [new Mount('/sub', { app: sub })] });
  await t.throwsAsync(() => new TestClient(app).start(), { message: 'sub failed' });
});

test('a failing sub-app shutdown fails the shutdown', async (t) => {
  const sub = new Starling({
    onShutdown: [
      () => {
        throw new Error('sub stop failed');
      },
    ],
  });
  const client = new TestClient(new Starling({ routes: [new Mount('/sub', { app: sub })] }));
  await client.start();
  await t.throwsAsync(() => client.stop(), { message: 'sub stop failed' });
});

test('lifespan state needs a server that supports it', async (t) => {
  const router = new Router({
    lifespan: async function* () {
      yield { x: 1 };
    },
  });
  const sent: string[] = [];
  const messages = [{ type: 'lifespan.startup' as const }, { type: 'lifespan.shutdown' as const }];
  await t.throwsAsync(
    () =>
      router.asgi(
        { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } },
        async () => messages.shift()!,
        async (m) => void sent.push(m.type),
      ),
    { message: 'The server does not support "state" in the lifespan scope.' },
  );
  t.deepEqual(sent, ['lifespan.startup.failed']);
});

test('app.asgi works detached, as a plain function', async (t) => {
  const app = new Starling({ routes: [new Route('/', ok('detached'))] });
  const fn = app.asgi;
  t.is((await new TestClient(fn).get('/')).text, 'detached');
});

test('a Response subclass endpoint result is sent as is', async (t) => {
  const app = new Starling({
    routes: [new Route('/', async () => new Response('raw', { status: 201, mediaType: 'text/x' }))],
  });
  const res = await new TestClient(app).get('/');
  t.is(res.status, 201);
  t.is(res.text, 'raw');
});

// maxBodySize: per app, per mount, per route; the innermost limit wins.

/** Sends `body` as a chunked request (no content-length), in chunks of `size` bytes. */
async function* chunked(body: string, size = 4): AsyncGenerator<string> {
  for (let i = 0; i < body.length; i += size) yield body.slice(i, i + size);
}

const readers: Record<string, (request: Request) => Promise<unknown>> = {
  body: (request) => request.body(),
  text: (request) => request.text(),
  json: (request) => request.json(),
  form: (request) => request.form(),
  stream: async (request) => {
    for await (const chunk of request.stream()) void chunk;
  },
};

function limitedApp(calls: string[], options: { app?: number; route?: number } = {}) {
  const endpoint = (name: string) => async (request: Request) => {
    calls.push(name);
    await readers[request.queryParams.get('read') ?? 'body']!(request);
    return new PlainTextResponse(`${name} ok`);
  };
  return new Starling({
    maxBodySize: options.app ?? null,
    routes: [
      new Route('/', endpoint('app'), { methods: ['POST'] }),
      new Route('/big', endpoint('big'), { methods: ['POST'], maxBodySize: options.route ?? null }),
    ],
  });
}

test('maxBodySize: a declared content-length over the app limit gets 413 before the endpoint runs', async (t) => {
  const calls: string[] = [];
  const client = new TestClient(limitedApp(calls, { app: 10 }));
  const res = await client.post('/', { content: 'x'.repeat(11) });
  t.is(res.status, 413);
  t.is(res.text, 'Content Too Large');
  t.deepEqual(calls, []);
  const fits = await client.post('/', { content: 'x'.repeat(10) });
  t.is(fits.status, 200);
  t.deepEqual(calls, ['app']);
});

for (const read of Object.keys(readers)) {
  test(`maxBodySize: a chunked body growing past the limit makes request.${read}() answer 413`, async (t) => {
    const calls: string[] = [];
    const client = new TestClient(limitedApp(calls, { app: 10 }));
    const res = await client.post(`/?read=${read}`, {
      content: chunked('a=' + 'x'.repeat(20)),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.is(res.status, 413);
    t.deepEqual(calls, ['app']);
    const fits = await client.post(`/?read=${read}`, {
      content: chunked('{"a":1}'),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.is(fits.status, 200);
  });
}

test('maxBodySize: a route limit replaces the app limit, larger or smaller', async (t) => {
  const calls: string[] = [];
  const larger = new TestClient(limitedApp(calls, { app: 10, route: 100 }));
  t.is((await larger.post('/big', { content: 'x'.repeat(100) })).status, 200);
  t.is((await larger.post('/big', { content: chunked('x'.repeat(100)) })).status, 200);
  t.is((await larger.post('/big', { content: 'x'.repeat(101) })).status, 413);
  t.is((await larger.post('/big', { content: chunked('x'.repeat(101)) })).status, 413);
  t.is((await larger.post('/', { content: 'x'.repeat(11) })).status, 413);

  const smaller = new TestClient(limitedApp(calls, { app: 100, route: 5 }));
  t.is((await smaller.post('/big', { content: 'x'.repeat(6) })).status, 413);
  t.is((await smaller.post('/big', { content: chunked('x'.repeat(6)) })).status, 413);
  t.is((await smaller.post('/', { content: 'x'.repeat(6) })).status, 200);
});

test('maxBodySize: a route limit works without an app limit, and an empty body always fits', async (t) => {
  const calls: string[] = [];
  const client = new TestClient(limitedApp(calls, { route: 0 }));
  t.is((await client.post('/big')).status, 200);
  t.is((await client.post('/big', { content: 'x' })).status, 413);
  t.is((await client.post('/', { content: 'x'.repeat(10_000) })).status, 200);
});

test('maxBodySize: a mount limit covers its routes and mounted apps; a route inside may override it', async (t) => {
  let rawRan = false;
  const raw = async (_scope: Scope, receive: Receive, send: Send) => {
    rawRan = true;
    await receive();
    await new PlainTextResponse('raw').asgi(_scope, receive, send);
  };
  const echo = async (request: Request) => new Response(await request.body());
  const app = new Starling({
    routes: [
      new Mount('/m', {
        maxBodySize: 5,
        routes: [
          new Route('/echo', echo, { methods: ['POST'] }),
          new Route('/wide', echo, { methods: ['POST'], maxBodySize: 50 }),
        ],
      }),
      new Mount('/raw', { app: raw, maxBodySize: 5 }),
    ],
  });
  const client = new TestClient(app);
  t.is((await client.post('/m/echo', { content: '12345' })).text, '12345');
  t.is((await client.post('/m/echo', { content: '123456' })).status, 413);
  t.is((await client.post('/m/echo', { content: chunked('123456', 2) })).status, 413);
  t.is((await client.post('/m/wide', { content: 'x'.repeat(50) })).status, 200);
  t.is((await client.post('/raw', { content: '123456' })).status, 413);
  t.false(rawRan);
  t.is((await client.post('/raw', { content: '12345' })).text, 'raw');
});

test('maxBodySize: a 413 goes through the app exception handlers', async (t) => {
  const app = new Starling({
    maxBodySize: 3,
    routes: [new Route('/', async (request) => new Response(await request.body()), { methods: ['POST'] })],
    exceptionHandlers: { 413: () => new JSONResponse({ error: 'too big' }, { status: 413 }) },
  });
  const client = new TestClient(app);
  for (const content of ['1234', chunked('1234', 1)]) {
    const res = await client.post('/', { content });
    t.is(res.status, 413);
    t.deepEqual(res.json(), { error: 'too big' });
  }
});

test('maxBodySize: a route outside an app answers 413 itself; bad limits are refused', async (t) => {
  const route = new Route('/', async (request) => new Response(await request.body()), {
    methods: ['POST'],
    maxBodySize: 2,
  });
  const client = new TestClient(new Router({ routes: [route] }));
  t.is((await client.post('/', { content: 'abc' })).status, 413);
  t.is((await client.post('/', { content: 'ab' })).text, 'ab');
  t.throws(() => new Starling({ maxBodySize: -1 }), { instanceOf: TypeError });
  t.throws(() => new Route('/', ok(), { maxBodySize: 1.5 }), { instanceOf: TypeError });
});

test('maxBodySize: over a real socket, declared and streamed bodies past the limit get 413', async (t) => {
  const app = new Starling({
    maxBodySize: 10,
    routes: [
      new Route('/', async (request) => new Response(await request.body()), { methods: ['POST'] }),
      new Route('/wide', async (request) => new Response(await request.body()), {
        methods: ['POST'],
        maxBodySize: 1000,
      }),
    ],
  });
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    const post = (path: string, body: string | ReadableStream<Uint8Array>) =>
      fetch(`${server.url.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        body,
        duplex: 'half',
      } as RequestInit);
    const stream = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < text.length; i += 3)
            controller.enqueue(new TextEncoder().encode(text.slice(i, i + 3)));
          controller.close();
        },
      });
    const ok = await post('/', '0123456789');
    t.is(ok.status, 200);
    t.is(await ok.text(), '0123456789');
    const declared = await post('/', 'x'.repeat(11));
    t.is(declared.status, 413);
    t.is(await declared.text(), 'Content Too Large');
    const streamed = await post('/', stream('x'.repeat(40)));
    t.is(streamed.status, 413);
    await streamed.arrayBuffer();
    const wide = await post('/wide', stream('y'.repeat(500)));
    t.is(wide.status, 200);
    t.is((await wide.text()).length, 500);
  } finally {
    await server.close();
  }
});

test('a synchronous endpoint under a send that takes messages at once runs without a microtask, errors as before', async (t) => {
  const app = new Starling({
    routes: [
      new Route('/', () => new PlainTextResponse('sync')),
      new Route('/teapot', () => {
        throw new HTTPException(418);
      }),
      new Route('/boom', () => {
        throw new Error('boom');
      }),
    ],
  });
  const run = (path: string) => {
    const sent: SendMessage[] = [];
    const scope = {
      type: 'http',
      asgi: { version: '3.0', spec_version: '2.4' },
      http_version: '1.1',
      method: 'GET',
      scheme: 'http',
      path,
      raw_path: Buffer.from(path),
      query_string: Buffer.alloc(0),
      root_path: '',
      headers: [],
      client: null,
      server: null,
    } as Scope;
    const receive = async () => ({ type: 'http.disconnect' }) as ReceiveMessage;
    const result = app.asgi(scope, receive, (m) => {
      sent.push(m);
      return RESOLVED;
    });
    return { result, sent };
  };
  // The first request builds the middleware stack (asynchronously); the ones after run straight.
  await run('/').result;
  const ok = run('/');
  t.is(ok.result, RESOLVED);
  t.is((ok.sent[0] as { status: number }).status, 200);
  const teapot = run('/teapot');
  await teapot.result;
  t.is((teapot.sent[0] as { status: number }).status, 418);
  const boom = run('/boom');
  await t.throwsAsync(boom.result, { message: 'boom' });
  t.is((boom.sent[0] as { status: number }).status, 500);
  const missing = run('/missing');
  await missing.result;
  t.is((missing.sent[0] as { status: number }).status, 404);
});
