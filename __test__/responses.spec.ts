import test from 'ava';
import { mkdtempSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileResponse,
  HTMLResponse,
  JSONResponse,
  PlainTextResponse,
  RedirectResponse,
  Response,
  StreamingResponse,
  UJSONResponse,
} from '../src/responses.ts';
import { BackgroundTask } from '../src/background.ts';
import { Headers, URL } from '../src/datastructures.ts';
import { TestClient } from '../src/testclient.ts';
import type { ASGIFunction, HTTPScope, RawHeader, ReceiveMessage, Scope, SendMessage } from '../src/asgi.ts';
import { RESOLVED } from '../src/_utils.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-responses-'));
const text = (b: unknown) => Buffer.from(b as Uint8Array).toString();

/** Wraps a response (or a function building one from the scope) as an app. */
function serve(make: Response | ((scope: Scope) => Response)): ASGIFunction {
  return (scope, receive, send) =>
    (typeof make === 'function' ? make(scope) : make).asgi(scope, receive, send);
}

function httpScope(extra: Partial<HTTPScope> = {}): HTTPScope {
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
  };
}

/** Runs an app with a hand-made scope and collects what it sends. */
async function drive(app: ASGIFunction, scope: Scope, receive?: () => Promise<ReceiveMessage>) {
  const messages: SendMessage[] = [];
  await app(
    scope,
    receive ?? (async () => ({ type: 'http.request', body: new Uint8Array(0), more_body: false })),
    async (m) => {
      messages.push(m);
    },
  );
  return messages;
}

test('Response sends bytes or text with content-length and a media type', async (t) => {
  const client = new TestClient(serve(new Response('hello, world', { mediaType: 'text/plain' })));
  const res = await client.get('/');
  t.is(res.status, 200);
  t.is(res.text, 'hello, world');
  t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(res.headers.get('content-length'), '12');
  const bytes = await new TestClient(
    serve(new Response(new Uint8Array([0, 1, 2]), { mediaType: 'image/png' })),
  ).get('/');
  t.deepEqual([...bytes.content], [0, 1, 2]);
  t.is(bytes.headers.get('content-type'), 'image/png');
});

test('content-length and content-type are right at every size, their bytes shared between responses', (t) => {
  for (const n of [0, 1, 511, 512, 100_000]) {
    const r = new Response('x'.repeat(n), { mediaType: 'text/plain' });
    t.is(r.headers.get('content-length'), String(n));
    t.is(r.headers.get('content-type'), 'text/plain; charset=utf-8');
  }
  const [a, b] = [new PlainTextResponse('one'), new PlainTextResponse('two')];
  t.is(a.rawHeaders[1]![1], b.rawHeaders[1]![1]);
  t.deepEqual(
    a.rawHeaders.map(([k, v]) => [text(k), text(v)]),
    [
      ['content-length', '3'],
      ['content-type', 'text/plain; charset=utf-8'],
    ],
  );
});

test('a response sent through a send that takes each message at once finishes without a microtask', async (t) => {
  const messages: SendMessage[] = [];
  const send = (m: SendMessage) => {
    messages.push(m);
    return RESOLVED;
  };
  const scope = httpScope();
  const receive = async () => ({ type: 'http.disconnect' }) as ReceiveMessage;
  t.is(new PlainTextResponse('hi').asgi(scope, receive, send), RESOLVED);
  t.deepEqual(
    messages.map((m) => m.type),
    ['http.response.start', 'http.response.body'],
  );
  // A background task still runs, after the body.
  const order: string[] = [];
  const task = new BackgroundTask(() => void order.push('task'));
  const sent = new Response('x', { background: task }).asgi(scope, receive, (m) => {
    order.push(m.type);
    return RESOLVED;
  });
  t.not(sent, RESOLVED);
  await sent;
  t.deepEqual(order, ['http.response.start', 'http.response.body', 'task']);
  // A send that throws rejects the response's promise instead of throwing.
  const failing = new Response('x').asgi(scope, receive, () => {
    throw new Error('gone');
  });
  await t.throwsAsync(failing, { message: 'gone' });
});

test('Response render accepts nothing, array buffers and typed views, and rejects other values', (t) => {
  t.is(new Response().body.length, 0);
  t.is(new Response(new ArrayBuffer(3)).body.length, 3);
  t.deepEqual([...new Response(new Uint16Array([1])).body], [1, 0]);
  t.throws(() => new Response(42), { instanceOf: TypeError });
  t.is(new Response().headers.get('content-type'), null);
  t.is(new Response().headers.get('content-length'), '0');
});

test('a subclass may change the media type and charset', (t) => {
  class Latin1Text extends Response {
    static override mediaType: string | null = 'text/csv';
    static override charset = 'latin-1';
  }
  const r = new Latin1Text('é');
  t.deepEqual([...r.body], [0xe9]);
  t.is(r.headers.get('content-type'), 'text/csv; charset=latin-1');
  t.is(r.charset, 'latin-1');
});

test('given headers win over the automatic ones and names are lower-cased', (t) => {
  const r = new Response('abc', {
    headers: { 'Content-Length': '99', 'Content-Type': 'x/y', 'X-A': '1' },
    mediaType: 'text/plain',
  });
  t.deepEqual(r.headers.items(), [
    ['content-length', '99'],
    ['content-type', 'x/y'],
    ['x-a', '1'],
  ]);
  const pairs = new Response('a', { headers: [['X-B', '2']] });
  t.is(pairs.headers.get('x-b'), '2');
  const fromHeaders = new Response('a', { headers: new Headers({ 'x-c': '3' }) });
  t.is(fromHeaders.headers.get('x-c'), '3');
});

test('a charset already in the media type is not added twice', (t) => {
  const r = new Response('x', { mediaType: 'text/plain; charset=latin-1' });
  t.is(r.headers.get('content-type'), 'text/plain; charset=latin-1');
});

test('1xx, 204 and 304 responses have no content-length', (t) => {
  t.false(new Response(null, { status: 204 }).headers.has('content-length'));
  t.false(new Response(null, { status: 304 }).headers.has('content-length'));
  t.false(new Response(null, { status: 101 }).headers.has('content-length'));
  t.is(new Response(null, { status: 205 }).headers.get('content-length'), '0');
});

test('status and statusCode are the same value', (t) => {
  const r = new Response('x', { status: 201 });
  t.is(r.statusCode, 201);
  t.is(new Response('x', { statusCode: 203 }).status, 203);
  t.is(new RedirectResponse('/', { statusCode: 302 }).status, 302);
  r.statusCode = 202;
  t.is(r.status, 202);
});

test('response headers can be edited before sending', async (t) => {
  const r = new PlainTextResponse('x');
  r.headers.set('x-custom', 'yes');
  r.headers.append('x-multi', '1');
  r.headers.append('x-multi', '2');
  const res = await new TestClient(serve(r)).get('/');
  t.is(res.headers.get('x-custom'), 'yes');
  t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
});

test('HTMLResponse and PlainTextResponse set text media types with utf-8', async (t) => {
  const html = await new TestClient(serve(new HTMLResponse('<h1>Hi</h1>'))).get('/');
  t.is(html.headers.get('content-type'), 'text/html; charset=utf-8');
  t.is(html.text, '<h1>Hi</h1>');
  const plain = await new TestClient(serve(new PlainTextResponse('héllo'))).get('/');
  t.is(plain.headers.get('content-length'), '6');
  t.is(plain.text, 'héllo');
});

test('JSONResponse is compact and keeps non-ASCII characters', async (t) => {
  const res = await new TestClient(serve(new JSONResponse({ hello: 'wörld', list: [1, 2], n: null }))).get(
    '/',
  );
  t.is(res.headers.get('content-type'), 'application/json');
  t.is(res.text, '{"hello":"wörld","list":[1,2],"n":null}');
  t.deepEqual(res.json(), { hello: 'wörld', list: [1, 2], n: null });
  t.is(text(new JSONResponse(null).body), 'null');
  t.is(text(new JSONResponse(undefined).body), 'null');
  t.is(new JSONResponse({}, { status: 201 }).status, 201);
});

test('JSONResponse render can be overridden', (t) => {
  class Pretty extends JSONResponse {
    override render(content: unknown) {
      return Buffer.from(JSON.stringify(content, null, 2));
    }
  }
  t.is(text(new Pretty({ a: 1 }).body), '{\n  "a": 1\n}');
});

test('UJSONResponse answers exactly as JSONResponse does, from its own class', async (t) => {
  const content = { hello: 'wörld', list: [1, 2], n: null, skipped: undefined };
  const options = { status: 201, headers: { 'x-a': '1' } };
  const [ujson, json] = await Promise.all(
    [new UJSONResponse(content, options), new JSONResponse(content, options)].map((response) =>
      new TestClient(serve(response)).get('/'),
    ),
  );
  t.is(ujson!.status, 201);
  t.is(ujson!.text, json!.text);
  t.deepEqual([...ujson!.headers.entries()], [...json!.headers.entries()]);
  t.is(text(new UJSONResponse(undefined).body), 'null');
  t.true(new UJSONResponse({}) instanceof JSONResponse);
  t.not(UJSONResponse, JSONResponse);
  t.is(UJSONResponse.mediaType, 'application/json');
});

test('RedirectResponse answers 307 with a quoted location and an empty body', async (t) => {
  const client = new TestClient(serve(new RedirectResponse('/caf\u00e9 x?q=a b#frag')));
  const res = await client.get('/', { followRedirects: false });
  t.is(res.status, 307);
  t.is(res.headers.get('location'), '/caf%C3%A9%20x?q=a%20b#frag');
  t.is(res.headers.get('content-length'), '0');
  t.is(res.text, '');
  const other = new RedirectResponse(new URL('https://example.org/a'), {
    status: 301,
    headers: { 'x-a': '1' },
  });
  t.is(other.status, 301);
  t.is(other.headers.get('location'), 'https://example.org/a');
  t.is(other.headers.get('x-a'), '1');
});

test('a redirect is followed by the client', async (t) => {
  const app: ASGIFunction = (scope, receive, send) => {
    const path = (scope as HTTPScope).path;
    const r = path === '/' ? new RedirectResponse('/target') : new PlainTextResponse(`at ${path}`);
    return r.asgi(scope, receive, send);
  };
  const res = await new TestClient(app).get('/');
  t.is(res.text, 'at /target');
});

test('setCookie writes every attribute in Starlette’s order', async (t) => {
  const r = new Response('x');
  r.setCookie('mycookie', 'myvalue', {
    maxAge: 10,
    expires: new Date(Date.UTC(2037, 0, 22, 12, 0, 10)),
    path: '/',
    domain: 'localhost',
    secure: true,
    httponly: true,
    samesite: 'none',
    partitioned: true,
  });
  t.is(
    r.headers.get('set-cookie'),
    'mycookie=myvalue; Domain=localhost; expires=Thu, 22 Jan 2037 12:00:10 GMT; HttpOnly; Max-Age=10; Partitioned; Path=/; SameSite=none; Secure',
  );
  const res = await new TestClient(serve(r)).get('/');
  t.is(res.headers.get('set-cookie')?.startsWith('mycookie=myvalue'), true);
});

test('setCookie defaults to Path=/ and SameSite=lax and quotes unusual values', (t) => {
  const r = new Response();
  r.setCookie('a', 'b');
  r.setCookie('empty');
  r.setCookie('q', 'a b;c"\\é');
  r.setCookie('n', 'v', { path: null, samesite: null, expires: 'Thu, 01 Jan 2037 00:00:00 GMT' });
  t.deepEqual(r.headers.getAll('set-cookie'), [
    'a=b; Path=/; SameSite=lax',
    'empty=""; Path=/; SameSite=lax',
    'q="a b\\073c\\"\\\\\\351"; Path=/; SameSite=lax',
    'n=v; expires=Thu, 01 Jan 2037 00:00:00 GMT',
  ]);
});

test('setCookie with expires in seconds counts from now', (t) => {
  const r = new Response();
  const before = Date.now();
  r.setCookie('a', 'b', { expires: 3600 });
  const expires = Date.parse(/expires=([^;]+)/.exec(r.headers.get('set-cookie')!)![1]!);
  t.true(Math.abs(expires - (before + 3600_000)) < 2000);
});

test('setCookie rejects an unknown samesite value', (t) => {
  t.throws(() => new Response().setCookie('a', 'b', { samesite: 'bogus' as never }), { message: /samesite/ });
});

test('deleteCookie expires the cookie now', async (t) => {
  const r = new Response();
  r.deleteCookie('mycookie', { domain: 'example.org', secure: true, httponly: true, samesite: 'strict' });
  const header = r.headers.get('set-cookie')!;
  t.regex(
    header,
    /^mycookie=""; Domain=example.org; expires=[^;]+ GMT; HttpOnly; Max-Age=0; Path=\/; SameSite=strict; Secure$/,
  );
  const expires = Date.parse(/expires=([^;]+)/.exec(header)![1]!);
  t.true(Math.abs(expires - Date.now()) < 2000);
  const res = await new TestClient(
    serve(() => {
      const x = new Response('ok');
      x.deleteCookie('c');
      return x;
    }),
  ).get('/', { cookies: { c: '1' } });
  t.true(res.headers.get('set-cookie')!.includes('Max-Age=0'));
});

test('a response sent on a websocket scope becomes a denial response', async (t) => {
  const scope = { ...httpScope(), type: 'websocket', subprotocols: [] } as unknown as Scope;
  const messages = await drive(serve(new PlainTextResponse('denied', { status: 403 })), scope);
  t.deepEqual(
    messages.map((m) => m.type),
    ['websocket.http.response.start', 'websocket.http.response.body'],
  );
  t.is((messages[0] as { status: number }).status, 403);
});

test('StreamingResponse sends each chunk of an async iterable, then ends', async (t) => {
  async function* numbers() {
    for (let i = 1; i <= 3; i++) {
      await new Promise((r) => setTimeout(r, 1));
      yield `${i}, `;
    }
    yield new Uint8Array([33]);
  }
  let ran = false;
  const background = new BackgroundTask(() => {
    ran = true;
  });
  const res = await new TestClient(
    serve(() => new StreamingResponse(numbers(), { mediaType: 'text/plain', background })),
  ).get('/');
  t.is(res.text, '1, 2, 3, !');
  t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.false(res.headers.has('content-length'));
  t.true(ran);
});

test('StreamingResponse accepts a sync iterable and a given content-length', async (t) => {
  const res = await new TestClient(
    serve(() => new StreamingResponse(['a', 'b', 'c'], { headers: { 'content-length': '3' } })),
  ).get('/');
  t.is(res.text, 'abc');
  t.is(res.headers.get('content-length'), '3');
  const messages = await drive(serve(new StreamingResponse(['x'])), httpScope(), () => new Promise(() => {}));
  t.deepEqual(
    messages.map((m) => [m.type, (m as { more_body?: boolean }).more_body]),
    [
      ['http.response.start', undefined],
      ['http.response.body', true],
      ['http.response.body', false],
    ],
  );
});

test('StreamingResponse stops when the client disconnects', async (t) => {
  let cleanedUp = false;
  let produced = 0;
  async function* forever() {
    try {
      for (;;) {
        produced++;
        yield 'tick';
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      cleanedUp = true;
    }
  }
  let disconnect!: () => void;
  const gone = new Promise<void>((r) => (disconnect = r));
  const receive = async (): Promise<ReceiveMessage> => {
    await gone;
    return { type: 'http.disconnect' };
  };
  const messages: SendMessage[] = [];
  const response = new StreamingResponse(forever());
  await response.asgi(httpScope(), receive, async (m) => {
    messages.push(m);
    if (messages.length === 4) disconnect();
  });
  await new Promise((r) => setTimeout(r, 10));
  t.true(cleanedUp);
  t.true(produced < 10);
  t.false(messages.some((m) => m.type === 'http.response.body' && m.more_body === false));
});

test('StreamingResponse ignores request body messages while listening for the disconnect', async (t) => {
  let calls = 0;
  const receive = async (): Promise<ReceiveMessage> =>
    calls++ < 2 ? { type: 'http.request', body: new Uint8Array(1), more_body: true } : new Promise(() => {});
  const messages = await drive(serve(new StreamingResponse(['a', 'b'])), httpScope(), receive);
  t.is(messages.length, 4);
});

test('StreamingResponse survives a receive that fails, and rethrows a failing iterator', async (t) => {
  const failing = async (): Promise<ReceiveMessage> => {
    throw new Error('no receive');
  };
  const ok = await drive(serve(new StreamingResponse(['a'])), httpScope(), failing);
  t.is(ok.length, 3);
  async function* broken(): AsyncGenerator<string> {
    yield 'a';
    throw new Error('boom');
  }
  await t.throwsAsync(
    drive(serve(new StreamingResponse(broken())), httpScope(), () => new Promise(() => {})),
    { message: 'boom' },
  );
});

test('StreamingResponse on a websocket scope streams a denial response', async (t) => {
  const scope = { ...httpScope(), type: 'websocket', subprotocols: [] } as unknown as Scope;
  const messages = await drive(serve(new StreamingResponse(['no'], { status: 403 })), scope);
  t.deepEqual(
    messages.map((m) => m.type),
    ['websocket.http.response.start', 'websocket.http.response.body', 'websocket.http.response.body'],
  );
});

// ---- FileResponse ----

const content = 'Hello, world!\n'.repeat(1000); // 14000 bytes
const file = join(dir, 'example.txt');
writeFileSync(file, content);

test('FileResponse sends the file with stat headers', async (t) => {
  const res = await new TestClient(serve(() => new FileResponse(file, { filename: 'example.txt' }))).get('/');
  t.is(res.status, 200);
  t.is(res.text, content);
  t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(res.headers.get('content-length'), '14000');
  t.is(res.headers.get('accept-ranges'), 'bytes');
  t.is(res.headers.get('content-disposition'), 'attachment; filename="example.txt"');
  const st = statSync(file);
  t.is(res.headers.get('etag'), `"${Math.floor(st.mtimeMs).toString(16)}-${st.size.toString(16)}"`);
  t.is(
    res.headers.get('last-modified'),
    new Date(Math.floor(statSync(file).mtimeMs / 1000) * 1000).toUTCString(),
  );
});

test('FileResponse streams large files in 64 KiB chunks', async (t) => {
  const big = join(dir, 'big.bin');
  const data = Buffer.alloc(200_000, 7);
  writeFileSync(big, data);
  const messages = await drive(serve(new FileResponse(big)), httpScope());
  const bodies = messages.filter((m) => m.type === 'http.response.body') as {
    body: Uint8Array;
    more_body: boolean;
  }[];
  t.deepEqual(
    bodies.map((b) => b.body.length),
    [65536, 65536, 65536, 200_000 - 3 * 65536],
  );
  t.deepEqual(
    bodies.map((b) => b.more_body),
    [true, true, true, false],
  );
  const start = messages[0] as unknown as { headers: [Uint8Array, Uint8Array][] };
  t.true(new Headers({ raw: start.headers }).get('content-type') === 'application/octet-stream');
});

test('FileResponse names non-ASCII downloads with filename*', (t) => {
  const r = new FileResponse(file, { filename: 'résumé 1.txt', contentDispositionType: 'inline' });
  t.is(r.headers.get('content-disposition'), "inline; filename*=utf-8''r%C3%A9sum%C3%A9%201.txt");
});

test('FileResponse uses a given media type and stat result', async (t) => {
  const stat = statSync(file);
  const r = new FileResponse(file, { mediaType: 'image/png', stat });
  t.is(r.headers.get('content-type'), 'image/png');
  t.is(r.headers.get('content-length'), String(stat.size));
  const res = await new TestClient(serve(r)).get('/');
  t.is(res.text.length, 14000);
});

test('FileResponse sends an empty file', async (t) => {
  const empty = join(dir, 'empty.json');
  writeFileSync(empty, '');
  const res = await new TestClient(serve(() => new FileResponse(empty))).get('/');
  t.is(res.text, '');
  t.is(res.headers.get('content-type'), 'application/json');
  t.is(res.headers.get('content-length'), '0');
});

test('FileResponse fails for a missing path or a directory', async (t) => {
  const client = new TestClient(
    serve((scope) => new FileResponse((scope as HTTPScope).path === '/dir' ? dir : join(dir, 'nope'))),
  );
  await t.throwsAsync(client.get('/missing'), { message: /does not exist/ });
  await t.throwsAsync(client.get('/dir'), { message: /is not a file/ });
  const noAccess = join(dir, 'sub');
  mkdirSync(noAccess);
  await t.throwsAsync(drive(serve(new FileResponse(join(noAccess, 'x', '\0bad'))), httpScope()));
});

test('FileResponse answers HEAD with headers only', async (t) => {
  const res = await new TestClient(serve(() => new FileResponse(file))).head('/');
  t.is(res.status, 200);
  t.is(res.content.length, 0);
  t.is(res.headers.get('content-length'), '14000');
  const messages = await drive(serve(new FileResponse(file)), httpScope({ method: 'HEAD' }));
  t.deepEqual((messages[1] as { body: Uint8Array }).body.length, 0);
});

test('FileResponse hands the file to the server with pathsend when it can', async (t) => {
  const ext = { 'http.response.pathsend': {} };
  const messages = await drive(serve(new FileResponse(file)), httpScope({ extensions: ext }));
  t.deepEqual(messages[1], { type: 'http.response.pathsend', path: file });
  const ranged = await drive(
    serve(new FileResponse(file)),
    httpScope({ extensions: ext, headers: [[Buffer.from('range'), Buffer.from('bytes=0-1')]] }),
  );
  t.is((ranged[0] as { status: number }).status, 206);
  t.is(ranged[1]!.type, 'http.response.body');
  const head = await drive(serve(new FileResponse(file)), httpScope({ extensions: ext, method: 'HEAD' }));
  t.is(head[1]!.type, 'http.response.body');
});

test('FileResponse answers 304 to a matching If-None-Match or a fresh If-Modified-Since', async (t) => {
  const client = new TestClient(
    serve(() => new FileResponse(file, { headers: { 'cache-control': 'no-cache' } })),
  );
  const first = await client.get('/');
  const etag = first.headers.get('etag')!;
  const lastModified = first.headers.get('last-modified')!;
  const byTag = await client.get('/', { headers: { 'if-none-match': `"other", W/${etag}` } });
  t.is(byTag.status, 304);
  t.is(byTag.text, '');
  t.is(byTag.headers.get('etag'), etag);
  t.is(byTag.headers.get('cache-control'), 'no-cache');
  t.false(byTag.headers.has('content-length'));
  t.is((await client.get('/', { headers: { 'if-none-match': '*' } })).status, 304);
  t.is((await client.get('/', { headers: { 'if-none-match': '"other"' } })).status, 200);
  t.is((await client.get('/', { headers: { 'if-modified-since': lastModified } })).status, 304);
  t.is(
    (await client.get('/', { headers: { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).status,
    200,
  );
  t.is((await client.get('/', { headers: { 'if-modified-since': 'garbage' } })).status, 200);
  // If-None-Match takes precedence over If-Modified-Since.
  t.is(
    (await client.get('/', { headers: { 'if-none-match': '"other"', 'if-modified-since': lastModified } }))
      .status,
    200,
  );
  t.is((await client.post('/', { headers: { 'if-none-match': '*' } })).status, 200);
});

test('FileResponse answers a single range with 206 and Content-Range', async (t) => {
  const client = new TestClient(serve(() => new FileResponse(file)));
  const res = await client.get('/', { headers: { range: 'bytes=0-4' } });
  t.is(res.status, 206);
  t.is(res.text, 'Hello');
  t.is(res.headers.get('content-range'), 'bytes 0-4/14000');
  t.is(res.headers.get('content-length'), '5');
  const suffix = await client.get('/', { headers: { range: 'bytes=-6' } });
  t.is(suffix.text, 'world!\n'.slice(1));
  t.is(suffix.headers.get('content-range'), 'bytes 13994-13999/14000');
  const open = await client.get('/', { headers: { range: 'bytes=13990-' } });
  t.is(open.headers.get('content-range'), 'bytes 13990-13999/14000');
  const clamped = await client.get('/', { headers: { range: 'bytes=13998-99999' } });
  t.is(clamped.text, '!\n');
  const hugeSuffix = await client.get('/', { headers: { range: 'bytes=-99999' } });
  t.is(hugeSuffix.headers.get('content-range'), 'bytes 0-13999/14000');
  const head = await client.head('/', { headers: { range: 'bytes=0-4' } });
  t.is(head.status, 206);
  t.is(head.content.length, 0);
  const big = await client.get('/', { headers: { range: 'bytes=0-99999, 5-10' } });
  t.is(big.status, 206);
  t.is(big.headers.get('content-range'), 'bytes 0-13999/14000');
});

test('FileResponse sends several ranges as multipart/byteranges with an exact length', async (t) => {
  const client = new TestClient(serve(() => new FileResponse(file)));
  const res = await client.get('/', { headers: { range: 'bytes=0-4, 20-24, 2-3' } });
  t.is(res.status, 206);
  const boundary = /^multipart\/byteranges; boundary=([0-9a-f]{26})$/.exec(
    res.headers.get('content-type')!,
  )![1];
  t.is(res.content.length, Number(res.headers.get('content-length')));
  t.false(res.headers.has('content-range'));
  t.is(
    res.text,
    `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/14000\r\n\r\nHello\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 20-24/14000\r\n\r\n worl\r\n` +
      `--${boundary}--`,
  );
  const head = await client.head('/', { headers: { range: 'bytes=0-1,5-6' } });
  t.is(head.status, 206);
  t.is(head.content.length, 0);
});

test('FileResponse rejects bad ranges with 400 or 416', async (t) => {
  const client = new TestClient(serve(() => new FileResponse(file)));
  const cases: [string, number, string][] = [
    ['bytes=20000-', 416, ''],
    ['items=0-1', 400, 'Only support bytes range'],
    ['bytes', 400, 'Malformed range header.'],
    ['bytes=', 400, 'Range header: range must be requested'],
    ['bytes=-, x-y, 5', 400, 'Range header: range must be requested'],
    ['bytes=10-5', 400, 'Range header: start must be less than end'],
  ];
  for (const [range, status, body] of cases) {
    const res = await client.get('/', { headers: { range } });
    t.is(res.status, status, range);
    t.is(res.text, body, range);
  }
  const unsatisfiable = await client.get('/', { headers: { range: 'bytes=20000-' } });
  t.is(unsatisfiable.headers.get('content-range'), 'bytes */14000');
});

test('FileResponse ignores Range for other methods, other statuses, stale If-Range and too many ranges', async (t) => {
  const client = new TestClient(serve(() => new FileResponse(file)));
  const first = await client.get('/');
  const etag = first.headers.get('etag')!;
  const range = 'bytes=0-4';
  t.is((await client.get('/', { headers: { range, 'if-range': etag } })).status, 206);
  t.is(
    (await client.get('/', { headers: { range, 'if-range': first.headers.get('last-modified')! } })).status,
    206,
  );
  t.is((await client.get('/', { headers: { range, 'if-range': '"stale"' } })).status, 200);
  t.is((await client.get('/', { headers: { range, 'if-range': `W/${etag}` } })).status, 200);
  t.is((await client.post('/', { headers: { range } })).status, 200);
  const many = Array.from({ length: 101 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
  t.is((await client.get('/', { headers: { range: `bytes=${many}` } })).status, 200);
  const notOk = await new TestClient(serve(() => new FileResponse(file, { status: 404 }))).get('/', {
    headers: { range },
  });
  t.is(notOk.status, 404);
});

test('FileResponse on a websocket scope is a denial response, and runs its background task', async (t) => {
  let ran = false;
  const r = new FileResponse(file, { background: new BackgroundTask(() => (ran = true)) });
  const scope = { ...httpScope(), type: 'websocket', subprotocols: [] } as unknown as Scope;
  const messages = await drive(serve(r), scope);
  t.is(messages[0]!.type, 'websocket.http.response.start');
  t.true(ran);
});

test('FileResponse fails when the file shrinks while being sent', async (t) => {
  const shrinking = join(dir, 'shrink.txt');
  writeFileSync(shrinking, 'abcdef');
  const stat = { size: 100, mtimeMs: 0, isFile: () => true };
  await t.throwsAsync(drive(serve(new FileResponse(shrinking, { stat })), httpScope()), {
    message: /shorter than expected/,
  });
});

test('StreamingResponse stops an endless stream even when chunks never wait, on a bare scope', async (t) => {
  let streamed = 0;
  let disconnect!: () => void;
  const gone = new Promise<void>((r) => (disconnect = r));
  async function* endless() {
    for (;;) yield 'chunk ';
  }
  const response = new StreamingResponse(endless());
  const run = response.asgi(
    {} as Scope,
    async () => {
      await gone;
      return { type: 'http.disconnect' };
    },
    async (m) => {
      if (m.type === 'http.response.body') streamed += (m.body as Uint8Array).length;
      if (streamed > 1024) disconnect();
    },
  );
  const timeout = new Promise((r) => setTimeout(r, 1000, 'timeout'));
  t.not(await Promise.race([run, timeout]), 'timeout');
  t.true(streamed > 1024 && streamed < 1100);
});

test('StreamingResponse turns a send failing on a gone peer into ClientDisconnect', async (t) => {
  let sent = 0;
  async function* endless() {
    for (;;) yield 'chunk';
  }
  const failing = (error: Error) => async (m: SendMessage) => {
    if (m.type === 'http.response.body' && sent++ > 0) throw error;
  };
  const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
  const response = new StreamingResponse(endless());
  await t.throwsAsync(
    response.asgi(httpScope(), () => new Promise(() => {}), failing(reset)),
    { name: 'ClientDisconnect' },
  );
  sent = 0;
  const other = new StreamingResponse(endless());
  await t.throwsAsync(
    other.asgi(httpScope(), () => new Promise(() => {}), failing(new Error('bug'))),
    { message: 'bug' },
  );
});

test('responses without given headers share their header pairs, and changing one response leaves the others alone', (t) => {
  const text = (raw: RawHeader[]) => raw.map(([k, v]) => `${Buffer.from(k)}: ${Buffer.from(v)}`);
  const a = new PlainTextResponse('same');
  const b = new PlainTextResponse('same');
  t.not(a.rawHeaders, b.rawHeaders);
  t.is(a.rawHeaders[0], b.rawHeaders[0]);
  t.deepEqual(text(a.rawHeaders), ['content-length: 4', 'content-type: text/plain; charset=utf-8']);
  a.headers.set('content-type', 'text/csv');
  a.headers.append('x-extra', '1');
  a.setCookie('k', 'v');
  t.deepEqual(text(b.rawHeaders), ['content-length: 4', 'content-type: text/plain; charset=utf-8']);
  t.deepEqual(text(new PlainTextResponse('same').rawHeaders), text(b.rawHeaders));
  t.deepEqual(text(a.rawHeaders).slice(0, 3), ['content-length: 4', 'content-type: text/csv', 'x-extra: 1']);
  // No body, no media type, a status without a length: the other shapes of the list.
  t.deepEqual(text(new Response(null, { status: 204 }).rawHeaders), []);
  t.deepEqual(text(new Response('x').rawHeaders), ['content-length: 1']);
  t.deepEqual(text(new HTMLResponse(null, { status: 304 }).rawHeaders), [
    'content-type: text/html; charset=utf-8',
  ]);
  t.deepEqual(text(new Response('x'.repeat(600)).rawHeaders), ['content-length: 600']);
});
