import test from 'ava';
import { gzipSync } from 'node:zlib';
import type { HTTPScope, Receive, Scope, Send, WebSocketScope } from '../src/asgi.ts';
import { TestClient, WebSocketDenialResponse } from '../src/testclient.ts';
import { WebSocketDisconnect } from '../src/websockets.ts';
import { Request } from '../src/requests.ts';
import { PlainTextResponse } from '../src/responses.ts';

const text =
  (body: string, status = 200, headers: [string, string][] = []) =>
  async (_scope: Scope, _receive: Receive, send: Send) => {
    await send({
      type: 'http.response.start',
      status,
      headers: [['content-type', 'text/plain'], ...headers],
    });
    await send({ type: 'http.response.body', body });
  };

/** An app that answers with the JSON of what it saw. */
const echo = async (scope: Scope, receive: Receive, send: Send) => {
  if (scope.type !== 'http') return;
  const chunks: Uint8Array[] = [];
  let more = true;
  while (more) {
    const message = await receive();
    if (message.type !== 'http.request') break;
    chunks.push(message.body);
    more = message.more_body;
  }
  const dec = new TextDecoder();
  const body = JSON.stringify({
    method: scope.method,
    path: scope.path,
    rawPath: dec.decode(scope.raw_path),
    query: dec.decode(scope.query_string),
    rootPath: scope.root_path,
    headers: scope.headers.map(([k, v]) => [dec.decode(k), dec.decode(v)]),
    body: dec.decode(Buffer.concat(chunks)),
    chunks: chunks.length,
    client: scope.client,
    server: scope.server,
    scheme: scope.scheme,
    asgi: scope.asgi,
    state: scope.state,
  });
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body });
};

test('a GET builds an ASGI 3 http scope like a real client would send', async (t) => {
  const res = await new TestClient(echo).get('/a%20b/c?x=1');
  const seen = res.json();
  t.is(seen.method, 'GET');
  t.is(seen.path, '/a b/c');
  t.is(seen.rawPath, '/a%20b/c');
  t.is(seen.query, 'x=1');
  t.deepEqual(seen.client, ['testclient', 50000]);
  t.deepEqual(seen.server, ['testserver', 80]);
  t.is(seen.scheme, 'http');
  t.deepEqual(seen.asgi, { version: '3.0', spec_version: '2.4' });
  t.deepEqual(seen.headers, [
    ['host', 'testserver'],
    ['accept', '*/*'],
    ['accept-encoding', 'gzip, deflate'],
    ['connection', 'keep-alive'],
    ['user-agent', 'testclient'],
  ]);
});

test('params, headers and per-request cookies reach the app', async (t) => {
  const client = new TestClient(echo, { headers: { 'x-default': '1' } });
  const seen = (
    await client.get('/?a=0', {
      params: { a: ['1', '2'], b: 3 },
      headers: { 'User-Agent': 'me' },
      cookies: { c: 'd' },
    })
  ).json();
  t.is(seen.query, 'a=0&a=1&a=2&b=3');
  const headers = Object.fromEntries(seen.headers);
  t.is(headers['user-agent'], 'me');
  t.is(headers['x-default'], '1');
  t.is(headers.cookie, 'c=d');
});

test('json, form data, files and raw content are encoded with the right content type', async (t) => {
  const client = new TestClient(echo);
  let seen = (await client.post('/', { json: { a: 1 } })).json();
  t.is(seen.body, '{"a":1}');
  t.deepEqual(seen.headers.slice(-2), [
    ['content-length', '7'],
    ['content-type', 'application/json'],
  ]);
  seen = (await client.post('/', { data: { a: 'x y', b: ['1', '2'] } })).json();
  t.is(seen.body, 'a=x+y&b=1&b=2');
  t.deepEqual(seen.headers.at(-1), ['content-type', 'application/x-www-form-urlencoded']);
  seen = (await client.put('/', { content: 'raw' })).json();
  t.is(seen.body, 'raw');
  for (const data of ['as text', new TextEncoder().encode('as text')]) {
    seen = (await client.post('/', { data })).json();
    t.is(seen.body, 'as text');
    t.false(seen.headers.some(([name]: [string, string]) => name === 'content-type'));
  }
  seen = (
    await client.post('/', {
      files: {
        f: [
          ['a.txt', 'one'],
          ['b.txt', 'two'],
        ],
      },
    })
  ).json();
  t.true(seen.body.includes('filename="a.txt"') && seen.body.includes('filename="b.txt"'));
  seen = (await client.patch('/', { files: { f: ['a.txt', 'hello'] }, data: { k: 'v' } })).json();
  const type = Object.fromEntries(seen.headers)['content-type'] as string;
  t.regex(type, /^multipart\/form-data; boundary=/);
  t.true(seen.body.includes('name="k"\r\n\r\nv\r\n'));
  t.true(seen.body.includes('name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n'));
});

test('a POST without a body sends content-length 0', async (t) => {
  const seen = (await new TestClient(echo).post('/')).json();
  t.deepEqual(seen.headers.at(-1), ['content-length', '0']);
});

test('an iterable body arrives in several http.request messages', async (t) => {
  const seen = (await new TestClient(echo).post('/', { content: ['a', 'b', new Uint8Array([99])] })).json();
  t.is(seen.body, 'abc');
  t.is(seen.chunks, 4);
  t.deepEqual(seen.headers.at(-1), ['transfer-encoding', 'chunked']);
});

test('the response exposes status, case-insensitive headers, text, json and bytes', async (t) => {
  const res = await new TestClient(
    text('{"x":1}', 201, [
      ['X-A', '1'],
      ['x-a', '2'],
    ]),
  ).delete('/');
  t.is(res.status, 201);
  t.is(res.statusCode, 201);
  t.is(res.reasonPhrase, 'Created');
  t.is((await new TestClient(text('', 404)).get('/')).reasonPhrase, 'Not Found');
  t.is((await new TestClient(text('', 599)).get('/')).reasonPhrase, '');
  t.true(res.ok);
  t.is(res.headers.get('X-A'), '1, 2');
  t.deepEqual(res.headers.getAll('x-a'), ['1', '2']);
  t.is(res.headers.get('missing'), null);
  t.deepEqual(res.json(), { x: 1 });
  t.deepEqual([...res.content], [...Buffer.from('{"x":1}')]);
  t.is(res.url, 'http://testserver/');
  t.is(res.request.method, 'DELETE');
});

test('a HEAD response has no body and gzip bodies are decoded', async (t) => {
  const gz = async (_s: Scope, _r: Receive, send: Send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-encoding', 'gzip']] });
    await send({ type: 'http.response.body', body: gzipSync('hello'), more_body: true });
    await send({ type: 'http.response.body', body: new Uint8Array(0) });
  };
  t.is((await new TestClient(gz).get('/')).text, 'hello');
  t.is((await new TestClient(gz).head('/')).content.length, 0);
  t.is((await new TestClient(gz).options('/')).text, 'hello');
});

test('redirects are followed unless disabled, with 303 turning into GET', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type !== 'http') return;
    if (scope.path === '/old') {
      await send({ type: 'http.response.start', status: 303, headers: [['location', '/new?x=1']] });
      await send({ type: 'http.response.body' });
      return;
    }
    await echo(scope, receive, send);
  };
  const client = new TestClient(app);
  const res = await client.post('/old', { json: {} });
  t.is(res.json().method, 'GET');
  t.is(res.json().query, 'x=1');
  t.is(res.history.length, 1);
  t.is(res.history[0]?.status, 303);
  t.is(res.url, 'http://testserver/new?x=1');
  t.is((await client.post('/old', { followRedirects: false })).status, 303);
  t.is(
    (await new TestClient(app, { followRedirects: false }).get('/old')).headers.get('location'),
    '/new?x=1',
  );
});

test('cookies set by the app are kept and sent back, honouring path, max-age and secure', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type !== 'http') return;
    if (scope.path === '/set') {
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [
          ['set-cookie', 'a=1; Path=/'],
          ['set-cookie', 'b="2"; Path=/sub'],
          ['set-cookie', 's=3; Path=/; Secure'],
          ['set-cookie', 'gone=1; Path=/; Max-Age=0'],
        ],
      });
      await send({ type: 'http.response.body' });
      return;
    }
    if (scope.path === '/del') {
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [['set-cookie', 'a=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/']],
      });
      await send({ type: 'http.response.body' });
      return;
    }
    await echo(scope, receive, send);
  };
  const client = new TestClient(app);
  const set = await client.get('/set');
  t.deepEqual(set.cookies, { a: '1', b: '"2"', s: '3', gone: '1' });
  const cookieOf = (res: { json(): { headers: [string, string][] } }) =>
    Object.fromEntries(res.json().headers).cookie;
  t.is(cookieOf(await client.get('/')), 'a=1');
  t.is(cookieOf(await client.get('/sub/x')), 'b="2"; a=1');
  t.is(client.cookies.get('a'), '1');
  await client.get('/del');
  t.is(client.cookies.get('a'), undefined);
  const https = new TestClient(app, { baseUrl: 'https://testserver' });
  await https.get('/set');
  t.is(cookieOf(await https.get('/')), 'a=1; s=3');

  // The jar by hand: set (for a path, or every path), has, entries, delete, clear.
  const jar = new TestClient(app).cookies;
  jar.set('x', '1');
  jar.set('y', '2', { path: '/only' });
  t.true(jar.has('x'));
  t.false(jar.has('z'));
  t.deepEqual(jar.entries(), [
    ['x', '1'],
    ['y', '2'],
  ]);
  jar.delete('x');
  t.deepEqual(jar.entries(), [['y', '2']]);
  jar.clear();
  t.deepEqual(jar.entries(), []);
});

test('a quoted cookie value goes back exactly as set, so the app reads what it stored', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    const request = new Request(scope, receive);
    const stored = request.cookies.mycookie;
    const response = new PlainTextResponse(stored ?? 'Hello, world!');
    if (stored === undefined) response.setCookie('mycookie', 'Hello, cookies!');
    await response.asgi(scope, receive, send);
  };
  const client = new TestClient(app);
  const first = await client.get('/');
  t.is(first.text, 'Hello, world!');
  t.is(first.cookies.mycookie, '"Hello\\054 cookies!"');
  t.is(client.cookies.get('mycookie'), '"Hello\\054 cookies!"');
  const second = await client.get('/');
  t.is(second.request.headers.get('cookie'), 'mycookie="Hello\\054 cookies!"');
  t.is(second.text, 'Hello, cookies!');
});

test('app errors are rethrown by default and become a 500 when raiseServerExceptions is false', async (t) => {
  const boom = async () => {
    throw new Error('boom');
  };
  await t.throwsAsync(() => new TestClient(boom).get('/'), { message: 'boom' });
  t.is((await new TestClient(boom, { raiseServerExceptions: false }).get('/')).status, 500);
  const late = async (s: Scope, r: Receive, send: Send) => {
    await text('partial', 503)(s, r, send);
    throw new Error('after');
  };
  t.is((await new TestClient(late, { raiseServerExceptions: false }).get('/')).status, 503);
  const silent = async () => {};
  await t.throwsAsync(() => new TestClient(silent).get('/'), { message: /did not receive any response/ });
  t.is((await new TestClient(silent, { raiseServerExceptions: false }).get('/')).status, 500);
});

test('the app sees rootPath and receives http.disconnect once the response is complete', async (t) => {
  let after: string | undefined;
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    await receive();
    await text((scope as HTTPScope).root_path)(scope, receive, send);
    after = (await receive()).type;
  };
  t.is((await new TestClient(app, { rootPath: '/api' }).get('/x')).text, '/api');
  t.is(after, 'http.disconnect');
});

test('a body the app left unread is not delivered after the response: receive() gives http.disconnect', async (t) => {
  for (const transport of ['in-process', 'native'] as const) {
    let after: unknown;
    const app = async (scope: Scope, receive: Receive, send: Send) => {
      await text('early')(scope, receive, send);
      after = await receive();
    };
    const res = await new TestClient(app, { transport }).post('/', { content: 'unread' });
    t.is(res.text, 'early', transport);
    t.deepEqual(after, { type: 'http.disconnect' }, transport);
  }
});

test('ASGI objects with an asgi method work as apps', async (t) => {
  const res = await new TestClient({ asgi: text('obj') }).get('/');
  t.is(res.text, 'obj');
});

test('lifespan runs with start/stop and its state is copied into each request', async (t) => {
  const events: string[] = [];
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const message = await receive();
        events.push(message.type);
        if (message.type === 'lifespan.startup') {
          (scope.state as Record<string, unknown>).db = 'ok';
          await send({ type: 'lifespan.startup.complete' });
        } else {
          await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    await echo(scope, receive, send);
  };
  const seen = await TestClient.run(app, async (client) => (await client.get('/')).json());
  t.deepEqual(seen.state, { db: 'ok' });
  t.deepEqual(events, ['lifespan.startup', 'lifespan.shutdown']);
});

test('a failing lifespan startup rejects start with the app error', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type !== 'lifespan') return;
    await receive();
    await send({ type: 'lifespan.startup.failed', message: 'no db' });
    throw new Error('no db');
  };
  await t.throwsAsync(() => new TestClient(app).start(), { message: 'no db' });
  const quiet = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type !== 'lifespan') return;
    await receive();
    await send({ type: 'lifespan.startup.failed', message: 'reported' });
    await new Promise(() => {});
  };
  await t.throwsAsync(() => new TestClient(quiet).start(), { message: 'reported' });
});

test('an app without lifespan support starts and stops quietly', async (t) => {
  const client = new TestClient(async () => {});
  await client.start();
  await client.stop();
  await client.stop();
  t.pass();
});

const wsEcho = async (scope: Scope, receive: Receive, send: Send) => {
  if (scope.type !== 'websocket') return;
  await receive();
  await send({
    type: 'websocket.accept',
    subprotocol: scope.subprotocols[0] ?? null,
    headers: [['x-ws', 'yes']],
  });
  for (;;) {
    const message = await receive();
    if (message.type === 'websocket.disconnect') return;
    if (message.type !== 'websocket.receive') continue;
    if (message.text === 'close') {
      await send({ type: 'websocket.close', code: 1001, reason: 'bye' });
      return;
    }
    if (message.text === 'fail') throw new Error('ws failed');
    await send({ type: 'websocket.send', text: message.text ?? null, bytes: message.bytes ?? null });
  }
};

test('a websocket session sends and receives text, bytes and json', async (t) => {
  const ws = await new TestClient(wsEcho).websocketConnect('/ws', { subprotocols: ['chat', 'x'] });
  t.is(ws.acceptedSubprotocol, 'chat');
  t.deepEqual(ws.extraHeaders, [['x-ws', 'yes']]);
  await ws.sendText('hi');
  t.is(await ws.receiveText(), 'hi');
  await ws.sendBytes(new Uint8Array([1, 2]));
  t.deepEqual([...(await ws.receiveBytes())], [1, 2]);
  await ws.sendJson({ a: 1 });
  t.deepEqual(await ws.receiveJson(), { a: 1 });
  await ws.sendJson({ b: 2 }, 'binary');
  t.deepEqual(await ws.receiveJson('binary'), { b: 2 });
  await ws.send({ type: 'websocket.receive', text: 'raw' });
  t.deepEqual(await ws.receive(), { type: 'websocket.send', text: 'raw' });
  await ws.close();
});

test('the websocket scope carries subprotocols, the upgrade headers and the denial extension', async (t) => {
  let seen: WebSocketScope | undefined;
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    seen = scope as WebSocketScope;
    await wsEcho(scope, receive, send);
  };
  const ws = await new TestClient(app).websocketConnect('/ws?x=1', {
    subprotocols: ['a', 'b'],
    headers: { 'x-h': 'v' },
  });
  await ws.send({ type: 'websocket.disconnect', code: 1000 });
  t.is(seen?.scheme, 'ws');
  t.is(seen?.path, '/ws');
  t.deepEqual(seen?.subprotocols, ['a', 'b']);
  t.deepEqual(seen?.extensions, { 'websocket.http.response': {} });
  const headers = Object.fromEntries(
    seen!.headers.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]),
  );
  t.is(headers['sec-websocket-protocol'], 'a, b');
  t.is(headers.connection, 'upgrade');
  t.is(headers['x-h'], 'v');
});

test('the app closing the websocket raises WebSocketDisconnect with its code and reason', async (t) => {
  const ws = await new TestClient(wsEcho).websocketConnect('/');
  await ws.sendText('close');
  const error = await t.throwsAsync(() => ws.receiveText(), { instanceOf: WebSocketDisconnect });
  t.is(error?.code, 1001);
  t.is(error?.reason, 'bye');
  await t.throwsAsync(() => ws.receive());
});

test('an app error during a websocket session surfaces in the test', async (t) => {
  const ws = await new TestClient(wsEcho).websocketConnect('/');
  await ws.sendText('fail');
  await t.throwsAsync(() => ws.receiveText(), { message: 'ws failed' });
  await t.throwsAsync(() => ws.receiveText(), { message: 'ws failed' });
  const other = await new TestClient(wsEcho).websocketConnect('/');
  await other.sendText('fail');
  await t.throwsAsync(() => other.close(), { message: 'ws failed' });
});

test('closing before accept is a 403 denial carrying the close code', async (t) => {
  const app = async (_s: Scope, receive: Receive, send: Send) => {
    await receive();
    await send({ type: 'websocket.close', code: 1008 });
  };
  const error = await t.throwsAsync(() => new TestClient(app).websocketConnect('/'), {
    instanceOf: WebSocketDenialResponse,
  });
  t.is(error?.status, 403);
  t.is(error?.code, 1008);
  t.true(error instanceof WebSocketDisconnect);
});

test('a websocket.http.response denial is returned as an HTTP response', async (t) => {
  const app = async (_s: Scope, receive: Receive, send: Send) => {
    await receive();
    await send({
      type: 'websocket.http.response.start',
      status: 401,
      headers: [['content-type', 'application/json']],
    });
    await send({ type: 'websocket.http.response.body', body: '{"err":', more_body: true });
    await send({ type: 'websocket.http.response.body', body: '1}' });
  };
  const error = await t.throwsAsync<WebSocketDenialResponse>(() => new TestClient(app).websocketConnect('/'));
  t.is(error?.statusCode, 401);
  t.is(error?.headers.get('content-type'), 'application/json');
  t.deepEqual(error?.json(), { err: 1 });
  t.is(error?.text, '{"err":1}');
  t.is(error?.content.length, 9);
});

test('an app that fails before accepting rejects the connect, or gives a 500 denial', async (t) => {
  const app = async () => {
    throw new Error('early');
  };
  await t.throwsAsync(() => new TestClient(app).websocketConnect('/'), { message: 'early' });
  const error = await t.throwsAsync<WebSocketDenialResponse>(() =>
    new TestClient(app, { raiseServerExceptions: false }).websocketConnect('/'),
  );
  t.is(error?.status, 500);
  const quiet = await t.throwsAsync<WebSocketDenialResponse>(() =>
    new TestClient(async () => {}).websocketConnect('/'),
  );
  t.is(quiet?.status, 500);
});

test('a session ends with a normal close when the app returns after accepting', async (t) => {
  const app = async (_s: Scope, receive: Receive, send: Send) => {
    await receive();
    await send({ type: 'websocket.accept' });
  };
  const ws = await new TestClient(app).websocketConnect('/');
  t.deepEqual(await ws.receive(), { type: 'websocket.close', code: 1000, reason: '' });
});
