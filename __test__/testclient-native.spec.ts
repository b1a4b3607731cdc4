import test from 'ava';
import { gzipSync } from 'node:zlib';
import type { Receive, Scope, Send } from '../src/asgi.ts';
import { TestClient, WebSocketDenialResponse, type TestClientOptions } from '../src/testclient.ts';

/** Answers with the JSON of the scope and body it saw. */
const echo = async (scope: Scope, receive: Receive, send: Send) => {
  if (scope.type !== 'http') return;
  const chunks: Uint8Array[] = [];
  for (let more = true; more;) {
    const message = await receive();
    if (message.type !== 'http.request') break;
    chunks.push(message.body);
    more = message.more_body;
  }
  const dec = new TextDecoder();
  const { method, path, scheme, client, server, root_path, state } = scope;
  const body = JSON.stringify({
    method,
    path,
    scheme,
    client,
    server,
    root_path,
    state,
    rawPath: dec.decode(scope.raw_path),
    query: dec.decode(scope.query_string),
    headers: scope.headers.map(([k, v]) => [dec.decode(k), dec.decode(v)]),
    body: dec.decode(Buffer.concat(chunks)),
  });
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body });
};

const both = (options: TestClientOptions = {}) =>
  [new TestClient(echo, options), new TestClient(echo, { ...options, transport: 'native' })] as const;

test('the app sees the same scope through the native core as in-process', async (t) => {
  for (const options of [
    {},
    { baseUrl: 'https://example.org:8443', rootPath: '/api', client: ['1.2.3.4', 9] },
  ]) {
    const [inProcess, native] = both(options as TestClientOptions);
    const request = { params: { q: 'a b' }, headers: { 'x-a': '1' }, cookies: { c: 'd' }, json: { n: 1 } };
    const want = (await inProcess.post('/p%20q/r', request)).json();
    t.deepEqual((await native.post('/p%20q/r', request)).json(), want);
  }
});

test('a streamed body goes out chunked and a gzipped answer comes back as sent, then decoded', async (t) => {
  const [, native] = both();
  const seen = (
    await native.post('/', {
      content: (async function* () {
        yield 'a';
        yield 'b';
      })(),
    })
  ).json();
  t.is(seen.body, 'ab');
  t.true(seen.headers.some(([k, v]: string[]) => k === 'transfer-encoding' && v === 'chunked'));
  const gz = async (_s: Scope, _r: Receive, send: Send) => {
    const headers: [string, string][] = [['content-encoding', 'gzip']];
    await send({ type: 'http.response.start', status: 200, headers });
    await send({ type: 'http.response.body', body: gzipSync('hello') });
  };
  t.is((await new TestClient(gz, { transport: 'native' }).get('/')).text, 'hello');
});

test('app errors are rethrown after the response, or give the core 500', async (t) => {
  const late = async (_s: Scope, _r: Receive, send: Send) => {
    await send({ type: 'http.response.start', status: 204, headers: [] });
    await send({ type: 'http.response.body', body: '' });
    throw new Error('after the response');
  };
  await t.throwsAsync(() => new TestClient(late, { transport: 'native' }).get('/'), {
    message: 'after the response',
  });
  const early = async () => {
    throw new Error('early');
  };
  const quiet = new TestClient(early, { transport: 'native', raiseServerExceptions: false });
  t.is((await quiet.get('/')).status, 500);
});

test('lifespan state reaches requests, and the server lives from start to stop', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'lifespan') {
      await receive();
      scope.state!.ready = true;
      await send({ type: 'lifespan.startup.complete' });
      await receive();
      await send({ type: 'lifespan.shutdown.complete' });
    } else await echo(scope, receive, send);
  };
  await TestClient.run(
    app,
    async (client) => {
      t.deepEqual((await client.get('/')).json().state, { ready: true });
      t.deepEqual((await client.get('/')).json().state, { ready: true });
    },
    { transport: 'native' },
  );
});

test('websockets: frames, subprotocols, a close before accept and an app error', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    if (scope.path === '/deny') return send({ type: 'websocket.close', code: 1008 });
    await send({ type: 'websocket.accept', subprotocol: scope.subprotocols[1] ?? null });
    for (;;) {
      const message = await receive();
      if (message.type === 'websocket.disconnect') return;
      if (message.type !== 'websocket.receive') continue;
      if (message.text === 'fail') throw new Error('ws failed');
      await send({ type: 'websocket.send', text: message.text ?? null, bytes: message.bytes ?? null });
    }
  };
  const client = new TestClient(app, { transport: 'native' });
  const ws = await client.websocketConnect('/', { subprotocols: ['a', 'b'] });
  t.is(ws.acceptedSubprotocol, 'b');
  await ws.sendJson({ x: 1 });
  t.deepEqual(await ws.receiveJson(), { x: 1 });
  await ws.sendBytes(new Uint8Array([1, 2]));
  t.deepEqual([...(await ws.receiveBytes())], [1, 2]);
  await ws.sendText('fail');
  await t.throwsAsync(() => ws.receiveText(), { message: 'ws failed' });
  const denial = await t.throwsAsync<WebSocketDenialResponse>(() => client.websocketConnect('/deny'));
  t.is(denial?.status, 403);
  t.is(denial?.code, 1008);
});
