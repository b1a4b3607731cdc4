import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ASGIApp, Receive, ReceiveMessage, Scope, Send, SendMessage } from '../../src/asgi.ts';
import { Starling } from '../../src/applications.ts';
import { BackgroundTask } from '../../src/background.ts';
import { HTTPException } from '../../src/exceptions.ts';
import { BaseHTTPMiddleware, type CallNext } from '../../src/middleware/base.ts';
import { GZipMiddleware } from '../../src/middleware/gzip.ts';
import { Middleware } from '../../src/middleware/index.ts';
import { ClientDisconnect, type Request } from '../../src/requests.ts';
import { FileResponse, PlainTextResponse, Response, StreamingResponse } from '../../src/responses.ts';
import { Mount, Route, WebSocketRoute } from '../../src/routing.ts';
import { serve } from '../../src/server/index.ts';
import { StaticFiles } from '../../src/staticfiles.ts';
import { TestClient } from '../../src/testclient.ts';
import type { WebSocket } from '../../src/websockets.ts';
import { makeScope } from '../_asgi.ts';
import { disconnectLatency, latencies, metBound } from '../_disconnect.ts';

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

test('a malformed response start rejects in the app, which can still answer with a start of its own', async (t) => {
  const caught: string[] = [];
  const raw: ASGIApp = async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [null] } as never).catch((e: Error) => {
      caught.push(e.name);
    });
    await send({ type: 'http.response.start', status: 500 });
    await send({ type: 'http.response.body', body: 'fallback' });
  };
  const app = new BaseHTTPMiddleware(raw, { dispatch: (request, callNext) => callNext(request) });
  const res = await new TestClient(app).get('/');
  t.is(res.status, 500);
  t.is(res.text, 'fallback');
  t.deepEqual(caught, ['TypeError']);
});

test("a response of dispatch's own that reads receive gets the body the app left unread", async (t) => {
  class Echo extends Response {
    override async asgi(_scope: Scope, receive: Receive, send: Send): Promise<void> {
      const message = await receive();
      const body = message.type === 'http.request' ? message.body : new Uint8Array();
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body });
    }
  }
  const dispatch = async (request: Request, callNext: CallNext) => {
    // The app answers without reading the body, and its response is thrown away unread: the app waits
    // for its body to be taken, which never happens, so it is not reading the request.
    await callNext(request);
    return new Echo();
  };
  const app = appWith(
    [new Route('/', async () => new PlainTextResponse('ignored'), { methods: ['POST'] })],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  t.is((await new TestClient(app).post('/', { content: 'echoed' })).text, 'echoed');
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

const passthrough = (request: Request, callNext: CallNext) => callNext(request);

test('a file behind the middleware is sent whole over a real socket (pathsend passes through)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-base-'));
  const content = 'file content\n'.repeat(100);
  writeFileSync(join(dir, 'example.txt'), content);
  const routes = [
    new Route('/file', async () => new FileResponse(join(dir, 'example.txt'))),
    new Mount('/static', { app: new StaticFiles({ directory: dir }) }),
  ];
  const stack = [new Middleware(CustomHeader), new Middleware(BaseHTTPMiddleware, { dispatch: passthrough })];
  const plain = new Starling({ routes, middleware: stack });
  const zipped = new Starling({ routes, middleware: [new Middleware(GZipMiddleware), ...stack] });
  try {
    for (const app of [plain, zipped]) {
      const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
      try {
        for (const path of ['/file', '/static/example.txt']) {
          const res = await fetch(server.url + path, { headers: { 'accept-encoding': 'gzip' } });
          t.is(res.status, 200);
          t.is(res.headers.get('custom-header'), 'Example');
          if (app === plain) t.is(res.headers.get('content-length'), String(content.length));
          else t.is(res.headers.get('content-encoding'), 'gzip');
          t.is(await res.text(), content); // fetch undoes the gzip
        }
      } finally {
        await server.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pathsend goes out as it came, and a dispatch reading the body gets the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-base-'));
  const path = join(dir, 'example.txt');
  writeFileSync(path, '<file content>');
  const scope = makeScope('/', { extensions: { 'http.response.pathsend': {} } });
  const file = new FileResponse(path);
  const events: SendMessage[] = [];
  const receive: Receive = async () => {
    throw new Error('Should not be called!');
  };
  try {
    await new BaseHTTPMiddleware(file, { dispatch: passthrough }).asgi(scope, receive, async (m) => {
      events.push(m);
    });
    t.deepEqual(
      events.map((m) => m.type),
      ['http.response.start', 'http.response.pathsend'],
    );
    const reading = new BaseHTTPMiddleware(file, {
      dispatch: async (request, callNext) => {
        const response = (await callNext(request)) as StreamingResponse;
        const chunks: Uint8Array[] = [];
        for await (const chunk of response.bodyIterator as AsyncIterable<Uint8Array>) chunks.push(chunk);
        return new PlainTextResponse(`read ${Buffer.concat(chunks).toString()}`);
      },
    });
    const res = await new TestClient(reading).get('/');
    t.is(res.text, 'read <file content>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reading the stream in dispatch after the app read the body is an error, not a hang', async (t) => {
  for (const read of ['body', 'stream'] as const) {
    const errors: string[] = [];
    const dispatch = async (request: Request, callNext: CallNext) => {
      const response = await callNext(request);
      await t.throwsAsync(
        async () => {
          for await (const _ of request.stream()) t.fail('should not be called');
        },
        { message: 'Stream consumed' },
      );
      errors.push(read);
      return response;
    };
    const endpoint = async (r: Request) => {
      let body = '';
      if (read === 'body') body = await r.text();
      else for await (const chunk of r.stream()) body += Buffer.from(chunk).toString();
      return new PlainTextResponse(body);
    };
    const app = appWith(
      [new Route('/', endpoint, { methods: ['POST'] })],
      new Middleware(BaseHTTPMiddleware, { dispatch }),
    );
    t.is((await new TestClient(app).post('/', { content: 'a' })).text, 'a');
    t.deepEqual(errors, [read]);
  }
});

test('dispatch can read the body again after the app read the body dispatch read first', async (t) => {
  const dispatch = async (request: Request, callNext: CallNext) => {
    t.is(await request.text(), 'a');
    const response = await callNext(request);
    t.is(await request.text(), 'a');
    const chunks: string[] = [];
    for await (const chunk of request.stream()) chunks.push(Buffer.from(chunk).toString());
    t.deepEqual(chunks, ['a', '']);
    return response;
  };
  const app = appWith(
    [new Route('/', async (r: Request) => new PlainTextResponse(await r.text()), { methods: ['POST'] })],
    new Middleware(BaseHTTPMiddleware, { dispatch }),
  );
  t.is((await new TestClient(app).post('/', { content: 'a' })).text, 'a');
});

/** A receive that hands out `messages` once each, then throws: reading past them would hang a server. */
function once(...messages: ReceiveMessage[]): Receive {
  return async () => {
    const next = messages.shift();
    if (!next) throw new Error('Should not be called, would hang');
    return next;
  };
}

const collect = () => {
  const sent: SendMessage[] = [];
  const send: Send = async (message) => void sent.push(message);
  return { sent, send };
};

test('a disconnect the app read is given to dispatch without reading receive again', async (t) => {
  const endpoint: ASGIApp = async (scope, receive, send) => {
    t.is((await receive()).type, 'http.disconnect');
    await new Response().asgi(scope, receive, send);
  };
  const middleware = new BaseHTTPMiddleware(endpoint, {
    dispatch: async (request, callNext) => {
      const response = await callNext(request);
      t.true(await request.isDisconnected());
      t.true(await request.isDisconnected());
      return response;
    },
  });
  const { sent, send } = collect();
  await middleware.asgi(makeScope('/', { method: 'POST' }), once({ type: 'http.disconnect' }), send);
  t.is(sent[0]?.type, 'http.response.start');
});

test('a disconnect dispatch read after the body reaches the app after the replayed body', async (t) => {
  const endpoint: ASGIApp = async (scope, receive, send) => {
    t.deepEqual(await receive(), { type: 'http.request', body: Buffer.from('hi'), more_body: false });
    t.deepEqual(await receive(), { type: 'http.disconnect' });
    await new Response().asgi(scope, receive, send);
  };
  const middleware = new BaseHTTPMiddleware(endpoint, {
    dispatch: async (request, callNext) => {
      await request.body();
      t.true(await request.isDisconnected());
      return callNext(request);
    },
  });
  const receive = once(
    { type: 'http.request', body: Buffer.from('hi'), more_body: false },
    { type: 'http.disconnect' },
  );
  await middleware.asgi(makeScope('/', { method: 'POST' }), receive, collect().send);
  t.pass();
});

test('an app polling for the disconnect twice hears it twice from one message', async (t) => {
  const pollTwice: ASGIApp = async (scope, receive, send) => {
    for (let i = 0; i < 2; i++) {
      let message = await receive();
      while (message.type === 'http.request') message = await receive();
      t.is(message.type, 'http.disconnect');
    }
    await new Response('good!').asgi(scope, receive, send);
  };
  for (const withBody of [true, false]) {
    const body: ReceiveMessage[] = withBody
      ? [
          { type: 'http.request', body: Buffer.from('hello'), more_body: true },
          { type: 'http.request', body: Buffer.alloc(0), more_body: false },
        ]
      : [];
    const { sent, send } = collect();
    await new BaseHTTPMiddleware(pollTwice, { dispatch: passthrough }).asgi(
      makeScope('/'),
      once(...body, { type: 'http.disconnect' }),
      send,
    );
    t.deepEqual(
      sent.map((m) => m.type),
      ['http.response.start', 'http.response.body'],
    );
  }
});

test('background tasks of the app start only after its last body message was forwarded', async (t) => {
  const events: string[] = [];
  const app = appWith(
    [
      new Route(
        '/',
        async () =>
          new PlainTextResponse('Hello', {
            background: new BackgroundTask(async () => {
              events.push('task started');
              await new Promise((resolve) => setTimeout(resolve, 20));
              events.push('task finished');
            }),
          }),
      ),
    ],
    new Middleware(BaseHTTPMiddleware, { dispatch: passthrough }),
  );
  const send: Send = async (message) => {
    if (message.type === 'http.response.body') {
      await new Promise((resolve) => setTimeout(resolve, 10));
      events.push(`body ${Buffer.from(message.body ?? '').toString()} ${message.more_body ?? false}`);
    }
  };
  await app.asgi(makeScope('/'), once(), send);
  t.deepEqual(events, ['body Hello false', 'task started', 'task finished']);
});

test('stacked middlewares with a client that left still end the response after its start', async (t) => {
  const events: string[] = [];
  class Versioned extends BaseHTTPMiddleware {
    constructor(
      app: ASGIApp,
      readonly options: { version: number },
    ) {
      super(app);
    }
    override async dispatch(request: Request, callNext: CallNext): Promise<Response> {
      events.push(`${this.options.version}:started`);
      const response = await callNext(request);
      events.push(`${this.options.version}:completed`);
      t.is(response.background, null);
      response.background = new BackgroundTask(() => void events.push(`${this.options.version}:background`));
      return response;
    }
  }
  const versions = Array.from({ length: 10 }, (_, i) => i + 1);
  const app = appWith(
    [
      new Route('/', async (request: Request) => {
        await t.throwsAsync(request.body(), { instanceOf: ClientDisconnect });
        return new Response('');
      }),
    ],
    ...versions.map((version) => new Middleware(Versioned, { version })),
  );
  const { sent, send } = collect();
  await app.asgi(makeScope('/'), once({ type: 'http.disconnect' }), send);
  t.deepEqual(events.slice(0, 20), [
    ...versions.map((v) => `${v}:started`),
    ...versions.map((v) => `${11 - v}:completed`),
  ]);
  t.deepEqual(events.slice(20).sort(), versions.map((v) => `${v}:background`).sort());
  t.deepEqual(
    sent.map((m) =>
      m.type === 'http.response.body' ? [m.type, m.body?.length ?? 0, m.more_body ?? false] : m.type,
    ),
    ['http.response.start', ['http.response.body', 0, false]],
  );
});

test('an app whose response dispatch replaced hears a disconnect once the response is sent', async (t) => {
  const downstream: ASGIApp = async (_scope, receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: 'first chunk, ', more_body: true });
    await send({ type: 'http.response.body', body: 'second chunk', more_body: true });
    t.is((await receive()).type, 'http.disconnect');
  };
  const middleware = new BaseHTTPMiddleware(downstream, {
    dispatch: async (request, callNext) => {
      await callNext(request);
      return new PlainTextResponse('Custom');
    },
  });
  t.is((await new TestClient(middleware).get('/')).text, 'Custom');
});

test('a handler behind the middleware learns promptly that a client closed or reset its socket', async (t) => {
  for (const how of ['fin', 'rst'] as const) {
    const seen = await latencies(() => disconnectLatency((app) => new CustomHeader(app), how));
    t.log(`${how}: ${seen.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    t.true(metBound(seen), `${how} seen after ${seen.join(', ')} ms`);
  }
});
