import test from 'ava';
import type { Receive, ReceiveMessage, Scope, Send, SendMessage } from '../src/asgi.ts';
import { JSONResponse, PlainTextResponse } from '../src/responses.ts';
import { TestClient } from '../src/testclient.ts';
import { WebSocket, WebSocketClose, WebSocketDisconnect, WebSocketState } from '../src/websockets.ts';

/** A raw app running `fn` with a WebSocket. */
const wsApp =
  (fn: (ws: WebSocket) => Promise<void>) => async (scope: Scope, receive: Receive, send: Send) => {
    await fn(new WebSocket(scope, receive, send));
  };

test('a websocket exposes url, headers, query params, cookies and path params', async (t) => {
  const app = wsApp(async (ws) => {
    await ws.accept();
    await ws.sendJson({
      url: String(ws.url),
      q: ws.queryParams.get('q'),
      h: ws.headers.get('x-h'),
      c: ws.cookies.c,
      p: ws.pathParams,
    });
    await ws.close();
  });
  const ws = await new TestClient(app).websocketConnect('/chat?q=1', {
    headers: { 'x-h': 'v' },
    cookies: { c: 'cookie' },
  });
  t.deepEqual(await ws.receiveJson(), {
    url: 'ws://testserver/chat?q=1',
    q: '1',
    h: 'v',
    c: 'cookie',
    p: {},
  });
});

test('text, bytes and json travel both ways', async (t) => {
  const app = wsApp(async (ws) => {
    await ws.accept();
    await ws.sendText(await ws.receiveText());
    await ws.sendBytes(await ws.receiveBytes());
    await ws.sendJson(await ws.receiveJson());
    await ws.sendJson(await ws.receiveJson('binary'), 'binary');
    await ws.close();
  });
  const ws = await new TestClient(app).websocketConnect('/');
  await ws.sendText('t');
  t.is(await ws.receiveText(), 't');
  await ws.sendBytes(new Uint8Array([1]));
  t.deepEqual([...(await ws.receiveBytes())], [1]);
  await ws.sendJson({ é: 'ü' });
  t.deepEqual(await ws.receiveJson(), { é: 'ü' });
  await ws.sendJson([1], 'binary');
  t.deepEqual(await ws.receiveJson('binary'), [1]);
});

test('iterators yield messages until the client disconnects', async (t) => {
  const seen: unknown[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const app = wsApp(async (ws) => {
    await ws.accept();
    for await (const text of ws.iterText()) seen.push(text);
    done();
  });
  const ws = await new TestClient(app).websocketConnect('/');
  await ws.sendText('a');
  await ws.sendText('b');
  await ws.close();
  await finished;
  t.deepEqual(seen, ['a', 'b']);
});

test('iterBytes and iterJson end quietly on disconnect', async (t) => {
  const seen: unknown[] = [];
  const app = wsApp(async (ws) => {
    await ws.accept();
    for await (const data of ws.iterBytes()) {
      seen.push(data.length);
      break;
    }
    for await (const data of ws.iterJson()) seen.push(data);
  });
  const ws = await new TestClient(app).websocketConnect('/');
  await ws.sendBytes(new Uint8Array(3));
  await ws.sendJson({ x: 1 });
  await ws.close();
  t.deepEqual(seen, [3, { x: 1 }]);
});

test('receiving after a disconnect raises WebSocketDisconnect, then a state error', async (t) => {
  const errors: unknown[] = [];
  const app = wsApp(async (ws) => {
    await ws.accept();
    try {
      await ws.receiveText();
    } catch (e) {
      errors.push(e);
    }
    t.is(ws.clientState, WebSocketState.DISCONNECTED);
    await t.throwsAsync(() => ws.receive(), {
      message: 'Cannot call "receive" once a disconnect message has been received.',
    });
  });
  const ws = await new TestClient(app).websocketConnect('/');
  await ws.close(1001, 'away');
  t.true(errors[0] instanceof WebSocketDisconnect);
  t.like(errors[0], { code: 1001, reason: 'away' });
});

test('accept carries a subprotocol and extra headers', async (t) => {
  const app = wsApp(async (ws) => {
    await ws.accept({ subprotocol: 'wamp', headers: { 'x-extra': 'yes' } });
    await ws.close();
  });
  const ws = await new TestClient(app).websocketConnect('/', { subprotocols: ['wamp', 'soap'] });
  t.is(ws.acceptedSubprotocol, 'wamp');
  t.deepEqual(ws.extraHeaders, [['x-extra', 'yes']]);
});

test('reading before accept and sending after close are errors', async (t) => {
  const app = wsApp(async (ws) => {
    await t.throwsAsync(() => ws.receiveText(), {
      message: 'WebSocket is not connected. Need to call "accept" first.',
    });
    await ws.accept();
    await t.throwsAsync(() => ws.send({ type: 'websocket.accept' }), {
      message: /Expected ASGI message "websocket.send" or "websocket.close"/,
    });
    await ws.close(1000, 'done');
    t.is(ws.applicationState, WebSocketState.DISCONNECTED);
    await t.throwsAsync(() => ws.sendText('late'), {
      message: 'Cannot call "send" once a close message has been sent.',
    });
  });
  const ws = await new TestClient(app).websocketConnect('/');
  t.like(await ws.receive(), { type: 'websocket.close', code: 1000, reason: 'done' });
  await ws.close();
});

test('the first message must be websocket.connect, and only accept, close or a response may come first', async (t) => {
  const app = wsApp(async (ws) => {
    await t.throwsAsync(() => ws.send({ type: 'websocket.send', text: 'x' }), {
      message: /Expected ASGI message "websocket.accept"/,
    });
    await ws.close();
  });
  await t.throwsAsync(() => new TestClient(app).websocketConnect('/'));
  const bad = new WebSocket(
    { type: 'websocket' } as Scope,
    async () => ({ type: 'websocket.receive', text: 'x' }),
    async () => {},
  );
  await t.throwsAsync(() => bad.receive(), { message: /Expected ASGI message "websocket.connect"/ });
  const mid = new WebSocket(
    { type: 'websocket' } as Scope,
    async () => ({ type: 'websocket.connect' }),
    async () => {},
  );
  await mid.receive();
  await t.throwsAsync(() => mid.receive(), { message: /"websocket.receive" or "websocket.disconnect"/ });
  t.throws(() => new WebSocket({ type: 'http' } as Scope, mid.receive.bind(mid), async () => {}));
});

test('wrong json mode and wrong frame types are errors', async (t) => {
  const app = wsApp(async (ws) => {
    await ws.accept();
    await t.throwsAsync(() => ws.receiveJson('xml' as 'text'), { message: /"mode" argument/ });
    await t.throwsAsync(() => ws.sendJson({}, 'xml' as 'text'), { message: /"mode" argument/ });
    await t.throwsAsync(() => ws.receiveText(), { instanceOf: TypeError });
    await t.throwsAsync(() => ws.receiveBytes(), { instanceOf: TypeError });
    await t.throwsAsync(() => ws.receiveJson('binary'), { instanceOf: TypeError });
    await ws.close();
  });
  const ws = await new TestClient(app).websocketConnect('/');
  await ws.sendBytes(new Uint8Array([1]));
  await ws.sendText('text');
  await ws.sendText('text');
  t.like(await ws.receive(), { type: 'websocket.close' });
});

test('sendDenialResponse refuses the handshake with any response', async (t) => {
  const app = wsApp(async (ws) => {
    await ws.sendDenialResponse(new JSONResponse({ denied: true }, { status: 401 }));
  });
  const error = await t.throwsAsync(() => new TestClient(app).websocketConnect('/'));
  t.like(error, { status: 401 });
  t.deepEqual((error as unknown as { json(): unknown }).json(), { denied: true });
});

test('sendDenialResponse needs the server extension', async (t) => {
  const ws = new WebSocket(
    { type: 'websocket', extensions: {} } as unknown as Scope,
    async () => ({ type: 'websocket.connect' }),
    async () => {},
  );
  await t.throwsAsync(() => ws.sendDenialResponse(new PlainTextResponse('x')), {
    message: "The server doesn't support the Websocket Denial Response extension.",
  });
});

test('a response body after the denial start must be a response body', async (t) => {
  const sent: string[] = [];
  const ws = new WebSocket(
    { type: 'websocket' } as Scope,
    async () => ({ type: 'websocket.connect' }),
    async (m) => void sent.push(m.type),
  );
  await ws.send({ type: 'websocket.http.response.start', status: 400 });
  await t.throwsAsync(() => ws.send({ type: 'websocket.send', text: 'x' }), {
    message: /"websocket.http.response.body"/,
  });
  await ws.send({ type: 'websocket.http.response.body', body: 'x' });
  t.is(ws.applicationState, WebSocketState.DISCONNECTED);
  t.deepEqual(sent, ['websocket.http.response.start', 'websocket.http.response.body']);
});

test('a failing server send becomes WebSocketDisconnect(1006)', async (t) => {
  const ws = new WebSocket(
    { type: 'websocket' } as Scope,
    async () => ({ type: 'websocket.connect' }),
    async (m) => {
      if (m.type === 'websocket.send') throw new Error('broken pipe');
    },
  );
  await ws.accept();
  const error = await t.throwsAsync(() => ws.sendText('x'), { instanceOf: WebSocketDisconnect });
  t.is(error?.code, 1006);
});

test('WebSocketClose closes with its code and reason, and WebSocketDisconnect defaults to 1000', async (t) => {
  const ws = await t.throwsAsync(() =>
    new TestClient(new WebSocketClose(1008, 'go away')).websocketConnect('/'),
  );
  t.like(ws, { code: 1008, reason: 'go away' });
  const d = new WebSocketDisconnect();
  t.is(d.code, 1000);
  t.is(d.reason, '');
});

test('receive and send take a receive and send that answer without promises, as await does', async (t) => {
  const inbox: ReceiveMessage[] = [{ type: 'websocket.connect' }, { type: 'websocket.receive', text: 'hi' }];
  const sent: SendMessage[] = [];
  const ws = new WebSocket(
    { type: 'websocket' } as Scope,
    (() => inbox.shift()) as unknown as Receive,
    ((m: SendMessage) => void sent.push(m)) as unknown as Send,
  );
  await ws.accept();
  t.is(await ws.receiveText(), 'hi');
  const sending = ws.sendText('back');
  t.true(sending instanceof Promise);
  await sending;
  t.deepEqual(
    sent.map((m) => m.type),
    ['websocket.accept', 'websocket.send'],
  );
  // A send that throws at once is a disconnect, reported through the promise.
  const failing = new WebSocket(
    { type: 'websocket' } as Scope,
    async () => ({ type: 'websocket.connect' }),
    async (m) => {
      if (m.type === 'websocket.send') throw new Error('gone');
    },
  );
  await failing.accept();
  const thrower = new WebSocket(
    { type: 'websocket' } as Scope,
    async () => ({ type: 'websocket.connect' }),
    ((m: SendMessage) => {
      if (m.type === 'websocket.send') throw new Error('gone at once');
    }) as unknown as Send,
  );
  await thrower.accept();
  await t.throwsAsync(() => failing.sendText('x'), {
    instanceOf: WebSocketDisconnect,
    message: '1006: gone',
  });
  const late = thrower.sendText('x');
  await t.throwsAsync(() => late, { instanceOf: WebSocketDisconnect, message: '1006: gone at once' });
  t.is(thrower.applicationState, WebSocketState.DISCONNECTED);
});
