import test from 'ava';
import type { Scope } from '../../src/asgi.ts';
import { HTTPException, WebSocketException } from '../../src/exceptions.ts';
import { callHandlingExceptions, handlerEntries } from '../../src/_exception_handler.ts';
import { ExceptionMiddleware } from '../../src/middleware/exceptions.ts';
import type { Request } from '../../src/requests.ts';
import { PlainTextResponse } from '../../src/responses.ts';
import { TestClient } from '../../src/testclient.ts';

const raise = (error: unknown) => async (scope: Scope) => {
  if (scope.type === 'lifespan') return;
  throw error;
};

test('HTTPException becomes a plain response with detail, status and headers', async (t) => {
  const res = await new TestClient(
    new ExceptionMiddleware(raise(new HTTPException(401, { headers: { 'www-authenticate': 'Bearer' } }))),
  ).get('/');
  t.is(res.status, 401);
  t.is(res.text, 'Unauthorized');
  t.is(res.headers.get('www-authenticate'), 'Bearer');
});

test('204 and 304 have no body', async (t) => {
  for (const status of [204, 304]) {
    const res = await new TestClient(new ExceptionMiddleware(raise(new HTTPException(status)))).get('/');
    t.is(res.status, status);
    t.is(res.content.length, 0);
  }
});

test('status handlers come before class handlers, and unknown errors propagate', async (t) => {
  const app = new ExceptionMiddleware(raise(new HTTPException(418)), {
    handlers: [
      [418, async () => new PlainTextResponse('by status', { status: 418 })],
      [HTTPException, async () => new PlainTextResponse('by class', { status: 400 })],
    ],
  });
  t.is((await new TestClient(app).get('/')).text, 'by status');
  await t.throwsAsync(() => new TestClient(new ExceptionMiddleware(raise(new RangeError('r')))).get('/'), {
    instanceOf: RangeError,
  });
  await t.throwsAsync(() => new TestClient(new ExceptionMiddleware(raise('a string'))).get('/'), {
    any: true,
  });
});

test('a handler that returns nothing sends nothing', async (t) => {
  const app = new ExceptionMiddleware(raise(new TypeError('x')), {
    handlers: new Map([[TypeError, () => undefined]]),
  });
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: /did not receive any response/ });
});

test('WebSocketException closes with its code and reason', async (t) => {
  const app = new ExceptionMiddleware(async (scope, receive, send) => {
    await receive();
    await send({ type: 'websocket.accept' });
    if (scope.type === 'websocket') throw new WebSocketException(1013, 'later');
  });
  const ws = await new TestClient(app).websocketConnect('/');
  t.like(await ws.receive(), { type: 'websocket.close', code: 1013, reason: 'later' });
});

test('lifespan passes through', async (t) => {
  const client = new TestClient(new ExceptionMiddleware(raise(new Error('never'))));
  await client.start();
  await client.stop();
  t.pass();
});

test('handlers can be given as an object keyed by status', (t) => {
  const h = () => null;
  t.deepEqual(handlerEntries({ 404: h }), [[404, h]]);
  t.deepEqual(handlerEntries(null), []);
});

test('without handler tables in the scope errors just propagate', async (t) => {
  const conn = { scope: { type: 'http' } as Scope } as Request;
  await t.throwsAsync(
    () =>
      callHandlingExceptions(
        raise(new HTTPException(400)),
        conn,
        conn.scope,
        async () => ({ type: 'http.disconnect' }),
        async () => {},
      ),
    { instanceOf: HTTPException },
  );
});

test('a handled error after the response started is an error of its own', async (t) => {
  const app = new ExceptionMiddleware(async (scope, _receive, send) => {
    if (scope.type === 'lifespan') return;
    await send({ type: 'http.response.start', status: 200, headers: [] });
    throw new HTTPException(400);
  });
  await t.throwsAsync(() => new TestClient(app).get('/'), {
    message: 'Caught handled exception, but response already started.',
  });
});

test('an app that throws synchronously is handled as one that rejects', async (t) => {
  const syncRaise = (error: unknown) => (scope: Scope) => {
    if (scope.type === 'lifespan') return Promise.resolve();
    throw error;
  };
  const res = await new TestClient(new ExceptionMiddleware(syncRaise(new HTTPException(404)))).get('/');
  t.is(res.status, 404);
  t.is(res.text, 'Not Found');
  await t.throwsAsync(
    () => new TestClient(new ExceptionMiddleware(syncRaise(new RangeError('r')))).get('/'),
    {
      instanceOf: RangeError,
    },
  );
});
