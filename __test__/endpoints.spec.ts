import test from 'ava';
import { Starling } from '../src/applications.ts';
import { HTTPEndpoint, WebSocketEndpoint } from '../src/endpoints.ts';
import { HTTPException } from '../src/exceptions.ts';
import type { Request } from '../src/requests.ts';
import { PlainTextResponse } from '../src/responses.ts';
import { Route, Router, WebSocketRoute } from '../src/routing.ts';
import { TestClient } from '../src/testclient.ts';
import type { WebSocket } from '../src/websockets.ts';

class Users extends HTTPEndpoint {
  async get(request: Request) {
    return new PlainTextResponse(`user ${request.pathParams.name ?? 'all'}`);
  }
  async post() {
    return new PlainTextResponse('created', { status: 201 });
  }
}

test('an HTTPEndpoint dispatches on the request method', async (t) => {
  const client = new TestClient(new Router({ routes: [new Route('/', Users), new Route('/{name}', Users)] }));
  t.is((await client.get('/')).text, 'user all');
  t.is((await client.get('/tom')).text, 'user tom');
  t.is((await client.post('/')).status, 201);
});

test('HEAD falls back to get unless head is defined', async (t) => {
  class WithHead extends Users {
    async head() {
      return new PlainTextResponse('', { headers: { 'x-head': '1' } });
    }
  }
  const client = new TestClient(new Router({ routes: [new Route('/', Users), new Route('/h', WithHead)] }));
  const res = await client.head('/');
  t.is(res.status, 200);
  t.is(res.headers.get('content-length'), '8');
  t.is((await client.head('/h')).headers.get('x-head'), '1');
});

test('an undefined method is a 405 whose Allow lists the defined methods in a fixed order', async (t) => {
  const client = new TestClient(new Router({ routes: [new Route('/', Users)] }));
  const res = await client.delete('/');
  t.is(res.status, 405);
  t.is(res.text, 'Method Not Allowed');
  t.is(res.headers.get('allow'), 'GET, POST');
  t.is((await client.request('BREW', '/')).status, 405);
});

test('inside an app a 405 goes through the exception handlers', async (t) => {
  const app = new Starling({
    routes: [new Route('/', Users)],
    exceptionHandlers: {
      405: async (_r: Request, exc: HTTPException) =>
        new PlainTextResponse(`no; allow ${exc.headers?.Allow}`, { status: 405 }),
    },
  });
  t.is((await new TestClient(app).put('/')).text, 'no; allow GET, POST');
});

test('errors in an endpoint method reach handlers with the same request', async (t) => {
  class Fails extends HTTPEndpoint {
    async get(request: Request) {
      request.state.seen = 'yes';
      throw new HTTPException(409);
    }
  }
  const app = new Starling({
    routes: [new Route('/', Fails)],
    exceptionHandlers: {
      409: async (r: Request) => new PlainTextResponse(String(r.state.seen), { status: 409 }),
    },
  });
  t.is((await new TestClient(app).get('/')).text, 'yes');
});

test('endpoint classes need the matching scope type', (t) => {
  const noop = async () => ({ type: 'http.disconnect' }) as const;
  t.throws(() => new Users({ type: 'websocket' } as never, noop, async () => {}), { instanceOf: TypeError });
  t.throws(() => new WebSocketEndpoint({ type: 'http' } as never, noop, async () => {}), {
    instanceOf: TypeError,
  });
});

const events: string[] = [];
class Echo extends WebSocketEndpoint {
  override encoding = 'text' as const;
  override async onReceive(ws: WebSocket, data: string) {
    await ws.sendText(`echo ${data}`);
  }
  override async onDisconnect(_ws: WebSocket, code: number) {
    events.push(`closed ${code}`);
  }
}

test('a WebSocketEndpoint accepts, feeds messages to onReceive and reports the close code', async (t) => {
  const ws = await new TestClient(new Router({ routes: [new WebSocketRoute('/', Echo)] })).websocketConnect(
    '/',
  );
  await ws.sendText('hi');
  t.is(await ws.receiveText(), 'echo hi');
  await ws.close(1001);
  t.true(events.includes('closed 1001'));
});

test('each encoding decodes its frames, and a wrong frame closes with 1003', async (t) => {
  class Bytes extends WebSocketEndpoint {
    override encoding = 'bytes' as const;
    override async onReceive(ws: WebSocket, data: Uint8Array) {
      await ws.sendBytes(data);
    }
  }
  class Json extends WebSocketEndpoint {
    override encoding = 'json' as const;
    override async onReceive(ws: WebSocket, data: unknown) {
      await ws.sendJson({ got: data });
    }
  }
  class Any extends WebSocketEndpoint {
    override async onReceive(ws: WebSocket, data: string | Uint8Array) {
      await ws.sendText(typeof data === 'string' ? `text ${data}` : `bytes ${data.length}`);
    }
  }
  const client = new TestClient(
    new Router({
      routes: [
        new WebSocketRoute('/text', Echo),
        new WebSocketRoute('/bytes', Bytes),
        new WebSocketRoute('/json', Json),
        new WebSocketRoute('/any', Any),
      ],
    }),
  );
  const b = await client.websocketConnect('/bytes');
  await b.sendBytes(new Uint8Array([7]));
  t.deepEqual([...(await b.receiveBytes())], [7]);
  await b.sendText('wrong');
  t.like(await b.receive(), { type: 'websocket.close', code: 1003 });
  await t.throwsAsync(() => b.close(), { message: 'Expected bytes websocket messages, but got text' });

  const j = await client.websocketConnect('/json');
  await j.sendJson({ a: 1 });
  t.deepEqual(await j.receiveJson(), { got: { a: 1 } });
  await j.sendJson([2], 'binary');
  t.deepEqual(await j.receiveJson(), { got: [2] });
  await j.sendText('{bad');
  t.like(await j.receive(), { type: 'websocket.close', code: 1003 });

  const text = await client.websocketConnect('/text');
  await text.sendBytes(new Uint8Array([1]));
  t.like(await text.receive(), { type: 'websocket.close', code: 1003 });
  await t.throwsAsync(() => text.close(), { message: 'Expected text websocket messages, but got bytes' });
  t.true(events.includes('closed 1011'));

  const any = await client.websocketConnect('/any');
  await any.sendText('x');
  t.is(await any.receiveText(), 'text x');
  await any.sendBytes(new Uint8Array([1, 2]));
  t.is(await any.receiveText(), 'bytes 2');
  await any.close();
});

test('onConnect can refuse the connection', async (t) => {
  class Refuse extends WebSocketEndpoint {
    override async onConnect(ws: WebSocket) {
      await ws.close(1008);
    }
  }
  const error = await t.throwsAsync(() =>
    new TestClient(new Router({ routes: [new WebSocketRoute('/', Refuse)] })).websocketConnect('/'),
  );
  t.like(error, { code: 1008, status: 403 });
});
