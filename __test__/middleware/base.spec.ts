import test from 'ava';
import type { ASGIApp, Receive, Scope, Send, SendMessage } from '../../src/asgi.ts';
import { Starling } from '../../src/applications.ts';
import { BackgroundTask } from '../../src/background.ts';
import { HTTPException } from '../../src/exceptions.ts';
import { BaseHTTPMiddleware, type CallNext } from '../../src/middleware/base.ts';
import { Middleware } from '../../src/middleware/index.ts';
import type { Request } from '../../src/requests.ts';
import { PlainTextResponse, StreamingResponse, type Response } from '../../src/responses.ts';
import { Route, WebSocketRoute } from '../../src/routing.ts';
import { serve } from '../../src/server/index.ts';
import { TestClient } from '../../src/testclient.ts';
import type { WebSocket } from '../../src/websockets.ts';

class CustomHeader extends BaseHTTPMiddleware {
  override async dispatch(request: Request, callNext: CallNext): Promise<Response> {
    const response = await callNext(request);
    response.headers.set('Custom-Header', 'Example');
    return response;
  }
}

const appWith = (routes: (Route | WebSocketRoute)[], ...middleware: Middleware[]) =>
  new Starling({ routes, middleware });

test('dispatch can change the response of the app', async (t) => {
  const app = appWith(
    [new Route('/', async () => new PlainTextResponse('Homepage'))],
    new Middleware(CustomHeader),
  );
  const res = await new TestClient(app).get('/');
  t.is(res.text, 'Homepage');
  t.is(res.headers.get('custom-header'), 'Example');
  t.is(res.headers.get('content-length'), '8');
});

test('a dispatch function can be passed as an option', async (t) => {
  const dispatch = async (request: Request, callNext: CallNext) => {
    if (request.url.path === '/blocked') return new PlainTextResponse('blocked', { status: 403 });
    return callNext(request);
  };
  const app = appWith(
    [new Route('/', async () => new PlainTextResponse('ok'))],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  const client = new TestClient(app);
  t.is((await client.get('/')).text, 'ok');
  t.is((await client.get('/blocked')).status, 403);
});

test('a middleware without dispatch is an error', async (t) => {
  const app = appWith(
    [new Route('/', async () => new PlainTextResponse('ok'))],
    new Middleware(BaseHTTPMiddleware),
  );
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: /Override dispatch/ });
});

test('app errors raised before the response reach dispatch through callNext', async (t) => {
  const caught: string[] = [];
  const dispatch = async (request: Request, callNext: CallNext) => {
    try {
      return await callNext(request);
    } catch (error) {
      caught.push((error as Error).message);
      return new PlainTextResponse('recovered', { status: 502 });
    }
  };
  const app = appWith(
    [
      new Route('/', async () => {
        throw new Error('downstream');
      }),
    ],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  const res = await new TestClient(app).get('/');
  t.is(res.status, 502);
  t.deepEqual(caught, ['downstream']);
});

test('handled HTTP errors arrive as responses and unhandled ones propagate to the error middleware', async (t) => {
  const app = appWith(
    [
      new Route('/403', async () => {
        throw new HTTPException(403);
      }),
      new Route('/500', async () => {
        throw new Error('unhandled');
      }),
    ],
    new Middleware(CustomHeader),
  );
  const client = new TestClient(app, { raiseServerExceptions: false });
  const res = await client.get('/403');
  t.is(res.status, 403);
  t.is(res.headers.get('custom-header'), 'Example');
  t.is((await client.get('/500')).status, 500);
  await t.throwsAsync(() => new TestClient(app).get('/500'), { message: 'unhandled' });
});

test('an app that returns without responding is an error', async (t) => {
  const app = new CustomHeader(async () => {});
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: 'No response returned.' });
});

test('streaming responses stay streaming, chunk by chunk', async (t) => {
  const produced: number[] = [];
  async function* numbers() {
    for (let i = 0; i < 3; i++) {
      produced.push(i);
      yield `${i};`;
    }
  }
  const app = appWith(
    [new Route('/', async () => new StreamingResponse(numbers(), { mediaType: 'text/plain' }))],
    new Middleware(CustomHeader),
  );
  const res = await new TestClient(app).get('/');
  t.is(res.text, '0;1;2;');
  t.is(res.headers.get('custom-header'), 'Example');
  t.deepEqual(produced, [0, 1, 2]);
});

test('the endpoint can still read the body that dispatch read', async (t) => {
  const dispatch = async (request: Request, callNext: CallNext) => {
    const body = await request.text();
    const response = await callNext(request);
    response.headers.set('x-seen', body);
    return response;
  };
  const app = appWith(
    [
      new Route('/', async (r: Request) => new PlainTextResponse(`endpoint got ${await r.text()}`), {
        methods: ['POST'],
      }),
    ],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  const res = await new TestClient(app).post('/', { content: 'payload' });
  t.is(res.text, 'endpoint got payload');
  t.is(res.headers.get('x-seen'), 'payload');
  const streamed = await new TestClient(app).post('/', { content: ['a', 'b'] });
  t.is(streamed.text, 'endpoint got ab');
});

test('the endpoint reads the body itself when dispatch did not', async (t) => {
  const app = appWith(
    [new Route('/', async (r: Request) => new PlainTextResponse(await r.text()), { methods: ['POST'] })],
    new Middleware(CustomHeader),
  );
  t.is((await new TestClient(app).post('/', { json: { a: 1 } })).text, '{"a":1}');
});

test('request.state set in dispatch is visible to the endpoint', async (t) => {
  const dispatch = async (request: Request, callNext: CallNext) => {
    request.state.user = 'alice';
    return callNext(request);
  };
  const app = appWith(
    [new Route('/', async (r: Request) => new PlainTextResponse(String(r.state.user)))],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  t.is((await new TestClient(app).get('/')).text, 'alice');
});

test('background tasks run after the response and before the request finishes', async (t) => {
  const events: string[] = [];
  const app = appWith(
    [
      new Route(
        '/',
        async () =>
          new PlainTextResponse('ok', {
            background: new BackgroundTask(async () => void events.push('task')),
          }),
      ),
      new Route(
        '/fail',
        async () =>
          new PlainTextResponse('ok', {
            background: new BackgroundTask(async () => {
              throw new Error('task failed');
            }),
          }),
      ),
    ],
    new Middleware(CustomHeader),
  );
  const res = await new TestClient(app).get('/');
  t.is(res.text, 'ok');
  t.deepEqual(events, ['task']);
  await t.throwsAsync(() => new TestClient(app).get('/fail'), { message: 'task failed' });
});

test('an error in the middle of a stream propagates', async (t) => {
  async function* broken() {
    yield 'a';
    throw new Error('stream broke');
  }
  const app = appWith(
    [new Route('/', async () => new StreamingResponse(broken()))],
    new Middleware(CustomHeader),
  );
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: 'stream broke' });
});

test('replacing the app response lets the app finish instead of hanging', async (t) => {
  let started = false;
  async function* slow() {
    started = true;
    yield 'a';
    yield 'b';
  }
  const dispatch = async (request: Request, callNext: CallNext) => {
    await callNext(request);
    return new PlainTextResponse('replaced');
  };
  const app = appWith(
    [new Route('/', async () => new StreamingResponse(slow()))],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  t.is((await new TestClient(app).get('/')).text, 'replaced');
  t.true(started);
});

test('websocket and lifespan scopes pass straight through', async (t) => {
  const events: string[] = [];
  const app = new Starling({
    routes: [
      new WebSocketRoute('/ws', async (ws: WebSocket) => {
        await ws.accept();
        await ws.sendText('through');
        await ws.close();
      }),
    ],
    middleware: [new Middleware(CustomHeader)],
    onStartup: [() => events.push('up')],
  });
  await TestClient.run(app, async (client) => {
    const ws = await client.websocketConnect('/ws');
    t.is(await ws.receiveText(), 'through');
  });
  t.deepEqual(events, ['up']);
});

const raw: ASGIApp = async (_s: Scope, _r: Receive, send: Send) => {
  await send({ type: 'http.response.start', status: 201, headers: [['x-raw', '1']] });
  await send({ type: 'http.response.body', body: 'raw', more_body: true });
  await send({ type: 'http.response.body', body: '' });
};

test('it works around a raw ASGI app and with the app as an object', async (t) => {
  const res = await new TestClient(new CustomHeader({ asgi: raw })).get('/');
  t.is(res.status, 201);
  t.is(res.text, 'raw');
  t.is(res.headers.get('x-raw'), '1');
  t.is(res.headers.get('custom-header'), 'Example');
});

test('the response from callNext ends its body after the app returns, through the native core', async (t) => {
  const sent: SendMessage[] = [];
  const middleware = new CustomHeader({ asgi: raw });
  const recorded: ASGIApp = (scope, receive, send) =>
    middleware.asgi(scope, receive, (message) => {
      sent.push(message);
      return send(message);
    });
  const client = new TestClient(recorded, { transport: 'native' });
  for (let i = 0; i < 5; i++) {
    sent.length = 0;
    const res = await client.get('/');
    t.is(res.text, 'raw');
    t.deepEqual(
      sent.map((m) => (m.type === 'http.response.body' ? [m.more_body ?? false] : m.type)),
      ['http.response.start', [true], [false]],
    );
  }
});

test('the response from callNext is complete over a real socket', async (t) => {
  async function* numbers() {
    for (let i = 0; i < 3; i++) yield `${i};`;
  }
  const app = appWith(
    [
      new Route('/raw', raw),
      new Route('/stream', async () => new StreamingResponse(numbers())),
      new Route('/plain', async () => new PlainTextResponse('plain')),
    ],
    new Middleware(CustomHeader),
  );
  for (const served of [new CustomHeader({ asgi: raw }), app]) {
    const server = await serve(served, { port: 0, accessLog: false, lifespan: 'off' });
    const cases =
      served === app
        ? ([
            ['/raw', 'raw'],
            ['/stream', '0;1;2;'],
            ['/plain', 'plain'],
          ] as const)
        : ([['/', 'raw']] as const);
    try {
      for (let i = 0; i < 5; i++) {
        for (const [path, body] of cases) {
          const res = await fetch(server.url + path);
          t.is(await res.text(), body);
          t.is(res.headers.get('custom-header'), 'Example');
        }
      }
    } finally {
      await server.close();
    }
  }
});

test('a client that leaves still stops an endless stream behind callNext', async (t) => {
  let stopped!: () => void;
  const finished = new Promise<void>((resolve) => (stopped = resolve));
  async function* endless() {
    try {
      for (;;) {
        yield 'tick\n';
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      stopped();
    }
  }
  const app = appWith(
    [new Route('/', async () => new StreamingResponse(endless()))],
    new Middleware(CustomHeader),
  );
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    const controller = new AbortController();
    const res = await fetch(server.url, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await finished;
    t.pass();
  } finally {
    await server.close();
  }
});
