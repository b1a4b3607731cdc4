import test from 'ava';
import { ClientDisconnect, cookieParser, HTTPConnection, Request } from '../src/requests.ts';
import { JSONResponse, PlainTextResponse, Response } from '../src/responses.ts';
import { State, UploadFile, URLPath } from '../src/datastructures.ts';
import { HTTPException } from '../src/exceptions.ts';
import { TestClient } from '../src/testclient.ts';
import type { ASGIFunction, HTTPScope, ReceiveMessage, Scope } from '../src/asgi.ts';
import { disconnectLatency, latencies, metBound } from './_disconnect.ts';

/** An app whose handler gets a Request and returns a Response. */
function app(handler: (request: Request) => Promise<Response> | Response): ASGIFunction {
  return async (scope, receive, send) => {
    const request = new Request(scope, receive, send);
    const response = await handler(request);
    await response.asgi(scope, receive, send);
  };
}

function httpScope(extra: Record<string, unknown> = {}): HTTPScope {
  return {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.4' },
    http_version: '1.1',
    method: 'GET',
    scheme: 'http',
    path: '/',
    raw_path: Buffer.from('/'),
    query_string: Buffer.alloc(0),
    root_path: '',
    headers: [],
    client: null,
    server: null,
    ...extra,
  } as HTTPScope;
}

/** A receive that hands out the given messages, then never resolves. */
function messages(...list: ReceiveMessage[]) {
  return async (): Promise<ReceiveMessage> => list.shift() ?? new Promise(() => {});
}
const chunk = (s: string, more = true): ReceiveMessage => ({
  type: 'http.request',
  body: Buffer.from(s),
  more_body: more,
});

test('request exposes method, url, headers and query params', async (t) => {
  const client = new TestClient(
    app(
      async (request) =>
        new JSONResponse({
          method: request.method,
          url: String(request.url),
          path: request.url.path,
          header: request.headers.get('x-token'),
          q: request.queryParams.getAll('q'),
        }),
    ),
  );
  const res = await client.get('/items?q=a&q=b', { headers: { 'X-Token': 'abc' } });
  t.deepEqual(res.json(), {
    method: 'GET',
    url: 'http://testserver/items?q=a&q=b',
    path: '/items',
    header: 'abc',
    q: ['a', 'b'],
  });
});

test('request.client is the address of the peer, or null', (t) => {
  const request = new Request(httpScope({ client: ['10.0.0.1', 4000] }));
  t.is(request.client!.host, '10.0.0.1');
  t.is(request.client!.port, 4000);
  t.is(new Request(httpScope()).client, null);
});

test('request.body() reads every chunk once and caches it', async (t) => {
  const request = new Request(httpScope(), messages(chunk('ab'), chunk(''), chunk('cd', false)));
  t.is(Buffer.from(await request.body()).toString(), 'abcd');
  t.is(Buffer.from(await request.body()).toString(), 'abcd');
  t.is(await request.text(), 'abcd');
  const chunks: string[] = [];
  for await (const c of request.stream()) chunks.push(Buffer.from(c).toString());
  t.deepEqual(chunks, ['abcd', '']);
});

test('request.body() of an empty request is empty', async (t) => {
  const request = new Request(
    httpScope(),
    messages({ type: 'http.request', body: new Uint8Array(0), more_body: false }),
  );
  t.is((await request.body()).length, 0);
});

test('request.stream() yields chunks then an empty one, and cannot be read twice', async (t) => {
  const request = new Request(httpScope(), messages(chunk('a'), chunk('b', false)));
  const chunks: string[] = [];
  for await (const c of request.stream()) chunks.push(Buffer.from(c).toString());
  t.deepEqual(chunks, ['a', 'b', '']);
  await t.throwsAsync(request.body(), { message: 'Stream consumed' });
});

test('request.stream() throws ClientDisconnect when the client leaves', async (t) => {
  const request = new Request(httpScope(), messages(chunk('a'), { type: 'http.disconnect' }));
  const error = await t.throwsAsync(request.body(), { instanceOf: ClientDisconnect });
  t.is(error?.name, 'ClientDisconnect');
  t.true(await request.isDisconnected());
});

test('request.json() parses and caches the body', async (t) => {
  const client = new TestClient(
    app(async (request) => new JSONResponse({ got: await request.json(), again: await request.json() })),
  );
  const res = await client.post('/', { json: { a: 1, b: 'é' } });
  t.deepEqual(res.json(), { got: { a: 1, b: 'é' }, again: { a: 1, b: 'é' } });
});

test('request.cookies reads every Cookie header leniently', async (t) => {
  const client = new TestClient(app((request) => new JSONResponse(request.cookies)));
  const res = await client.get('/', { headers: { cookie: 'a=1; b="x y"; c' } });
  t.deepEqual(res.json(), { a: '1', b: 'x y', '': 'c' });
  const request = new Request(
    httpScope({
      headers: [
        [Buffer.from('cookie'), Buffer.from('a=1')],
        [Buffer.from('cookie'), Buffer.from('b=2; a=3')],
      ],
    }),
  );
  t.deepEqual(request.cookies, { a: '3', b: '2' });
  t.is(request.cookies, request.cookies);
});

test('cookieParser follows browsers rather than the RFC', (t) => {
  t.deepEqual(cookieParser(''), {});
  t.deepEqual(cookieParser('keebler=E=mc2; L="Loves"; fudge=\\012;'), {
    keebler: 'E=mc2',
    L: 'Loves',
    fudge: '\\012',
  });
  t.deepEqual(cookieParser('a=b; a=c'), { a: 'c' });
  t.deepEqual(cookieParser('  =  ; x= ;'), { x: '' });
  t.deepEqual(cookieParser('q="a\\073b\\"c"'), { q: 'a;b"c' });
  t.deepEqual(cookieParser('key:term=value:term'), { 'key:term': 'value:term' });
});

test('request.state is shared with scope.state', (t) => {
  const scope = httpScope({ state: { db: 'conn' } });
  const request = new Request(scope);
  t.true(request.state instanceof State);
  t.is(request.state.db, 'conn');
  request.state.user = 'alice';
  t.is((scope.state as Record<string, unknown>).user, 'alice');
  const bare = httpScope();
  new Request(bare).state.x = 1;
  t.deepEqual(bare.state, { x: 1 });
});

test('request.pathParams, app and scope come from the scope', (t) => {
  const theApp = {};
  const request = new Request(httpScope({ path_params: { id: 3 }, app: theApp }));
  t.deepEqual(request.pathParams, { id: 3 });
  t.is(request.app, theApp);
  t.deepEqual(new Request(httpScope()).pathParams, {});
  t.is(request.scope.type, 'http');
});

test('session, auth and user need their middleware', (t) => {
  const request = new Request(httpScope());
  t.throws(() => request.session, {
    message: 'SessionMiddleware must be installed to access request.session',
  });
  t.throws(() => request.auth, {
    message: 'AuthenticationMiddleware must be installed to access request.auth',
  });
  t.throws(() => request.user, {
    message: 'AuthenticationMiddleware must be installed to access request.user',
  });
  let accessed = false;
  const session = { a: 1, markAccessed: () => (accessed = true) };
  const ok = new Request(httpScope({ session, auth: 'creds', user: 'alice' }));
  t.is(ok.session.a, 1);
  t.true(accessed);
  t.is(new Request(httpScope({ session: { b: 2 } })).session.b, 2);
  t.is(ok.auth, 'creds');
  t.is(ok.user, 'alice');
});

test('url and baseUrl honour root_path', async (t) => {
  const client = new TestClient(
    app((request) => new JSONResponse({ url: String(request.url), base: String(request.baseUrl) })),
    { rootPath: '/api' },
  );
  const res = await client.get('/api/users?x=1');
  t.deepEqual(res.json(), { url: 'http://testserver/api/users?x=1', base: 'http://testserver/api/' });
  const mounted = new Request(
    httpScope({
      root_path: '/api/sub',
      app_root_path: '/api',
      headers: [[Buffer.from('host'), Buffer.from('h')]],
    }),
  );
  t.is(String(mounted.baseUrl), 'http://h/api/');
  t.is(mounted.baseUrl, mounted.baseUrl);
  t.is(String(new Request(httpScope({ root_path: '/x/', server: ['s', 80] })).baseUrl), 'http://s/x/');
});

test('urlFor builds an absolute URL through the router or app', (t) => {
  const router = {
    urlPathFor: (name: string, params: Record<string, unknown>) =>
      new URLPath(`/${name}/${params.id}`, 'http'),
  };
  const request = new Request(httpScope({ router, scheme: 'https', server: ['example.org', 443] }));
  t.is(String(request.urlFor('user', { id: 1 })), 'https://example.org/user/1');
  const viaApp = new Request(httpScope({ app: { urlPathFor: () => '/plain' }, server: ['example.org', 80] }));
  t.is(String(viaApp.urlFor('x')), 'http://example.org/plain');
  t.throws(() => new Request(httpScope()).urlFor('x'), { message: /only be used inside/ });
});

test('Request needs an http scope and HTTPConnection an http or websocket one', (t) => {
  t.throws(() => new Request({ ...httpScope(), type: 'websocket', subprotocols: [] } as Scope), {
    instanceOf: TypeError,
  });
  t.throws(() => new HTTPConnection({ type: 'lifespan', asgi: { version: '3.0', spec_version: '2.0' } }), {
    instanceOf: TypeError,
  });
  const ws = new HTTPConnection({
    ...httpScope({ query_string: Buffer.from('a=1') }),
    type: 'websocket',
    subprotocols: [],
  } as Scope);
  t.is(ws.queryParams.get('a'), '1');
});

test('a Request without receive or send fails clearly when used', async (t) => {
  const request = new Request(httpScope());
  await t.throwsAsync(request.body(), { message: 'Receive channel has not been made available' });
  await t.throwsAsync(request.send({ type: 'http.response.start', status: 200 }), {
    message: 'Send channel has not been made available',
  });
  t.is(typeof request.receive, 'function');
});

test('isDisconnected is false while the client is there and never loses a body chunk', async (t) => {
  let release!: () => void;
  const later = new Promise<void>((r) => (release = r));
  const queue: ReceiveMessage[] = [chunk('ab', false)];
  const receive = async (): Promise<ReceiveMessage> => {
    const next = queue.shift();
    if (next) return next;
    await later;
    return { type: 'http.disconnect' };
  };
  const request = new Request(httpScope(), receive);
  t.false(await request.isDisconnected()); // consumed the body chunk, kept it aside
  t.false(await request.isDisconnected()); // looks again at the same chunk
  t.is(await request.text(), 'ab');
  t.false(await request.isDisconnected()); // the pending receive is kept, not lost
  release();
  await new Promise((r) => setTimeout(r, 1));
  t.true(await request.isDisconnected());
  t.true(await request.isDisconnected());
});

test('isDisconnected hands a pending receive to the body reader', async (t) => {
  let release!: () => void;
  const later = new Promise<void>((r) => (release = r));
  const request = new Request(httpScope(), async () => {
    await later;
    return chunk('late', false);
  });
  t.false(await request.isDisconnected());
  release();
  t.is(await request.text(), 'late');
});

test('request.form() parses urlencoded bodies', async (t) => {
  const client = new TestClient(
    app(async (request) => {
      const form = await request.form();
      t.is(form, await request.form());
      return new JSONResponse({ a: form.getAll('a'), b: form.get('b') });
    }),
  );
  const res = await client.post('/', { data: { a: ['1', '2'], b: 'x y' } });
  t.deepEqual(res.json(), { a: ['1', '2'], b: 'x y' });
});

test('request.form() parses multipart bodies with files, and close() closes them', async (t) => {
  let upload: UploadFile | undefined;
  const client = new TestClient(
    app(async (request) => {
      const form = await request.form();
      upload = form.get('file') as UploadFile;
      const content = Buffer.from(await upload.read()).toString();
      await request.close();
      return new JSONResponse({
        name: form.get('name'),
        filename: upload.filename,
        type: upload.contentType,
        content,
        size: upload.size,
      });
    }),
  );
  const res = await client.post('/', {
    data: { name: 'n' },
    files: { file: ['a.txt', 'hello', 'text/plain'] },
  });
  t.deepEqual(res.json(), { name: 'n', filename: 'a.txt', type: 'text/plain', content: 'hello', size: 5 });
  t.true(upload!.file.closed);
});

test('request.form() of another content type is empty, and close() without a form does nothing', async (t) => {
  const client = new TestClient(
    app(async (request) => {
      await request.close();
      return new JSONResponse({ size: (await request.form()).size });
    }),
  );
  t.deepEqual((await client.post('/', { content: 'x' })).json(), { size: 0 });
});

test('form limits become HTTP 400 inside an app, and a MultiPartException outside', async (t) => {
  const inApp = (scope: Scope) =>
    new Request({ ...scope, app: {} } as Scope, messages(chunk('a=1&b=2', false)));
  const headers: [Buffer, Buffer][] = [
    [Buffer.from('content-type'), Buffer.from('application/x-www-form-urlencoded')],
  ];
  const error = await t.throwsAsync(inApp(httpScope({ headers })).form({ maxFields: 1 }), {
    instanceOf: HTTPException,
  });
  t.is(error?.statusCode, 400);
  t.is(error?.detail, 'Too many fields. Maximum number of fields is 1.');
  const bare = new Request(httpScope({ headers }), messages(chunk('a=1&b=2', false)));
  await t.throwsAsync(bare.form({ maxFields: 1 }), { name: 'MultiPartException' });
  const multipart = new Request(
    httpScope({ app: {}, headers: [[Buffer.from('content-type'), Buffer.from('multipart/form-data')]] }),
    messages(chunk('', false)),
  );
  await t.throwsAsync(multipart.form(), {
    instanceOf: HTTPException,
    message: '400: Missing boundary in multipart.',
  });
  const failing = new Request(httpScope({ app: {}, headers }), async () => {
    throw new Error('network');
  });
  await t.throwsAsync(failing.form(), { message: 'network' });
});

test('sendPushPromise sends the path with copied headers only when the server supports it', async (t) => {
  const sent: unknown[] = [];
  const headers: [Buffer, Buffer][] = [
    [Buffer.from('accept'), Buffer.from('*/*')],
    [Buffer.from('x-other'), Buffer.from('no')],
  ];
  const push = new Request(
    httpScope({ headers, extensions: { 'http.response.push': {} } }),
    undefined,
    async (m) => void sent.push(m),
  );
  await push.sendPushPromise('/style.css');
  t.deepEqual(sent, [{ type: 'http.response.push', path: '/style.css', headers: [['accept', '*/*']] }]);
  const none = new Request(httpScope(), undefined, async (m) => void sent.push(m));
  await none.sendPushPromise('/x');
  t.is(sent.length, 1);
});

test('a handler can stream the request body', async (t) => {
  const client = new TestClient(
    app(async (request) => {
      let total = 0;
      for await (const c of request.stream()) total += c.length;
      return new PlainTextResponse(String(total));
    }),
  );
  t.is((await client.post('/', { content: 'x'.repeat(1000) })).text, '1000');
});

test('isDisconnected is false during the request and true once the response is done', async (t) => {
  let after: boolean | undefined;
  const client = new TestClient(async (scope, receive, send) => {
    const request = new Request(scope, receive);
    const body = await request.text();
    const disconnected = await request.isDisconnected();
    await new JSONResponse({ body, disconnected }).asgi(scope, receive, send);
    after = await request.isDisconnected();
  });
  const res = await client.post('/', { content: 'foo' });
  t.deepEqual(res.json(), { body: 'foo', disconnected: false });
  t.true(after);
});

test('isDisconnected looks past a body that has arrived, and keeps the body for a later read', async (t) => {
  const request = new Request(
    httpScope(),
    messages(chunk('a'), chunk('b', false), { type: 'http.disconnect' }),
  );
  t.true(await request.isDisconnected());
  t.true(await request.isDisconnected());
  t.is(await request.text(), 'ab');
  const empty = new Request(httpScope(), messages(chunk('', false), { type: 'http.disconnect' }));
  t.true(await empty.isDisconnected());
  t.is((await empty.body()).length, 0);
  // A receive that repeats the body forever (not ASGI, but seen in tests) does not keep it looking.
  const repeating = new Request(httpScope(), async () => chunk('x', false));
  t.false(await repeating.isDisconnected());
  t.is(await repeating.text(), 'x');
});

test('a handler polling isDisconnected learns promptly that a client closed or reset its socket', async (t) => {
  const bodies = [
    'GET / HTTP/1.1\r\nhost: x\r\n\r\n',
    'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi',
  ];
  for (const head of bodies) {
    for (const how of ['fin', 'rst'] as const) {
      const seen = await latencies(() => disconnectLatency((app) => app, how, head));
      t.log(`${head.split(' ')[0]} ${how}: ${seen.map((ms) => ms.toFixed(1)).join(', ')} ms`);
      t.true(metBound(seen), `${how} seen after ${seen.join(', ')} ms`);
    }
  }
});
