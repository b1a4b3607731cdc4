import test from 'ava';
import { constants, gunzipSync } from 'node:zlib';
import type { ASGIFunction, SendMessage } from '../../src/asgi.ts';
import { COMPRESSION_EXTENSION, COMPRESSION_HINT_HEADER, GZipMiddleware } from '../../src/middleware/gzip.ts';
import { call, makeScope, textApp } from '../_asgi.ts';

const gzipHeaders = { 'accept-encoding': 'gzip, deflate' };
const big = 'x'.repeat(4000);

/** An app streaming the given chunks, with optional extra response headers. */
function streamApp(chunks: string[], headers: [string, string][] = []): ASGIFunction {
  return async (_scope, _receive, send) => {
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [...headers, ['content-type', 'text/plain'], ['content-length', '9999']],
    });
    for (const chunk of chunks) await send({ type: 'http.response.body', body: chunk, more_body: true });
    await send({ type: 'http.response.body', body: '', more_body: false });
  };
}

test('a large body is compressed for clients that accept gzip', async (t) => {
  const res = await call(new GZipMiddleware(textApp(big)), '/', { headers: gzipHeaders });
  t.is(res.status, 200);
  t.is(res.header('content-encoding'), 'gzip');
  t.is(res.header('vary'), 'Accept-Encoding');
  t.is(res.header('content-length'), String(res.body.length));
  t.true(res.body.length < 100);
  t.is(gunzipSync(res.body).toString(), big);
});

test('clients that do not accept gzip get the body as is, with Vary', async (t) => {
  for (const accept of [undefined, 'identity', 'gzip;q=0, br']) {
    const res = await call(new GZipMiddleware(textApp(big)), '/', {
      headers: accept ? { 'accept-encoding': accept } : {},
    });
    t.is(res.header('content-encoding'), undefined);
    t.is(res.header('vary'), 'Accept-Encoding');
    t.is(res.text, big);
  }
  const star = await call(new GZipMiddleware(textApp(big)), '/', { headers: { 'accept-encoding': '*' } });
  t.is(star.header('content-encoding'), 'gzip');
});

test('a body under minimumSize is not compressed and gets no Vary', async (t) => {
  const res = await call(new GZipMiddleware(textApp('small')), '/', { headers: gzipHeaders });
  t.is(res.header('content-encoding'), undefined);
  t.is(res.header('vary'), undefined);
  t.is(res.text, 'small');
  const lower = await call(
    new GZipMiddleware(textApp('small but enough'), { minimumSize: 10, compressLevel: 1 }),
    '/',
    { headers: gzipHeaders },
  );
  t.is(gunzipSync(lower.body).toString(), 'small but enough');
});

test('a streaming response is compressed chunk by chunk and loses Content-Length', async (t) => {
  const res = await call(
    new GZipMiddleware(streamApp(['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(1000)])),
    '/',
    { headers: gzipHeaders },
  );
  t.is(res.header('content-encoding'), 'gzip');
  t.is(res.header('content-length'), undefined);
  t.is(res.header('vary'), 'Accept-Encoding');
  t.is(gunzipSync(res.body).toString(), 'a'.repeat(10) + 'b'.repeat(10) + 'c'.repeat(1000));
  const last = res.messages.at(-1) as { more_body?: boolean };
  t.false(last.more_body);
});

test('each streamed chunk can be decoded as soon as it is sent', async (t) => {
  const seen: string[] = [];
  const received: Buffer[] = [];
  const app = new GZipMiddleware(async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    for (const chunk of ['first ', 'second ', 'third']) {
      await send({ type: 'http.response.body', body: chunk, more_body: true });
      await new Promise((r) => setTimeout(r, 5));
      seen.push(gunzipSync(Buffer.concat(received), { finishFlush: constants.Z_SYNC_FLUSH }).toString());
    }
    await send({ type: 'http.response.body', more_body: false });
  });
  const send = async (m: SendMessage) => {
    if (m.type === 'http.response.body' && m.body) received.push(Buffer.from(m.body as Uint8Array));
  };
  await app.asgi(makeScope('/', { headers: gzipHeaders }), async () => ({ type: 'http.disconnect' }), send);
  t.deepEqual(seen, ['first ', 'first second ', 'first second third']);
});

test('already-encoded, partial and excluded responses pass untouched', async (t) => {
  const cases: [string, [string, string][], number][] = [
    ['encoded', [['content-encoding', 'br']], 200],
    ['partial', [], 206],
    ['sse', [['content-type', 'text/event-stream']], 200],
    ['image', [['content-type', 'image/png']], 200],
    ['video', [['content-type', 'video/mp4; codecs=x']], 200],
    ['grpc', [['content-type', 'application/grpc+proto']], 200],
  ];
  for (const [name, headers, status] of cases) {
    const app = new GZipMiddleware(async (_s, _r, send) => {
      await send({
        type: 'http.response.start',
        status,
        headers: [['content-type', 'text/plain'], ...headers].reverse() as [string, string][],
      });
      await send({ type: 'http.response.body', body: big });
    });
    const res = await call(app, '/', { headers: gzipHeaders });
    t.is(res.text, big, name);
    t.is(res.header('vary'), undefined, name);
  }
  const custom = await call(new GZipMiddleware(textApp(big), { excludeContentTypes: ['text/plain'] }), '/', {
    headers: gzipHeaders,
  });
  t.is(custom.text, big);
});

test('server-sent events stream through without being buffered', async (t) => {
  const res = await call(
    new GZipMiddleware(streamApp(['data: 1\n\n', 'data: 2\n\n'], [['content-type', 'text/event-stream']])),
    '/',
    { headers: gzipHeaders },
  );
  t.is(res.text, 'data: 1\n\ndata: 2\n\n');
  t.is(res.header('content-encoding'), undefined);
});

test('pathsend responses are left for the server to send uncompressed', async (t) => {
  const app = new GZipMiddleware(async (_s, _r, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.pathsend', path: '/tmp/file.txt' });
  });
  const res = await call(app, '/', { headers: gzipHeaders });
  t.deepEqual(
    res.messages.map((m) => m.type),
    ['http.response.start', 'http.response.pathsend'],
  );
  t.is(res.header('content-encoding'), undefined);
});

test('trailers follow the compressed body and a whole body with trailers drops Content-Length', async (t) => {
  const app = new GZipMiddleware(async (_s, _r, send) => {
    await send({
      type: 'http.response.start',
      status: 200,
      trailers: true,
      headers: [
        ['content-type', 'text/plain'],
        ['content-length', '4000'],
      ],
    });
    await send({ type: 'http.response.body', body: big });
    await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
  });
  const res = await call(app, '/', { headers: gzipHeaders });
  t.is(res.header('content-length'), undefined);
  t.is(gunzipSync(res.body).toString(), big);
  t.is(res.messages.at(-1)!.type, 'http.response.trailers');

  const streamed = new GZipMiddleware(async (_s, _r, send) => {
    await send({
      type: 'http.response.start',
      status: 200,
      trailers: true,
      headers: [['content-type', 'text/plain']],
    });
    await send({ type: 'http.response.body', body: big, more_body: true });
    await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
  });
  const res2 = await call(streamed, '/', { headers: gzipHeaders });
  t.is(gunzipSync(res2.body).toString(), big);
  t.is(res2.messages.at(-1)!.type, 'http.response.trailers');
});

test('a client that leaves mid-stream makes the app see the error instead of hanging', async (t) => {
  const app = new GZipMiddleware(async (_s, _r, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    for (let i = 0; i < 100; i++)
      await send({ type: 'http.response.body', body: Buffer.alloc(100_000, i), more_body: true });
    await send({ type: 'http.response.body', more_body: false });
  });
  let bodies = 0;
  const send = async (m: SendMessage) => {
    if (m.type === 'http.response.body' && ++bodies > 1) throw new Error('client disconnected');
  };
  await t.throwsAsync(
    app.asgi(makeScope('/', { headers: gzipHeaders }), async () => ({ type: 'http.disconnect' }), send),
    { message: 'client disconnected' },
  );
});

test('with a native compression extension, only a hint header is added', async (t) => {
  const extensions = { [COMPRESSION_EXTENSION]: {} };
  const res = await call(new GZipMiddleware(textApp(big), { minimumSize: 100, compressLevel: 6 }), '/', {
    headers: gzipHeaders,
    extensions,
  });
  t.is(res.text, big);
  t.is(res.header(COMPRESSION_HINT_HEADER), 'gzip; minimum-size=100; level=6');
  t.is(res.header('content-encoding'), undefined);
  const sse = await call(new GZipMiddleware(streamApp(['x'], [['content-type', 'text/event-stream']])), '/', {
    extensions,
  });
  t.is(sse.header(COMPRESSION_HINT_HEADER), undefined);
});

test('non-http scopes and responses without a start pass through', async (t) => {
  let seen = '';
  const app = new GZipMiddleware(async (scope) => void (seen = scope.type));
  await app.asgi(
    { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } },
    async () => ({ type: 'lifespan.startup' }),
    async () => {},
  );
  t.is(seen, 'lifespan');
  const odd = await call(
    new GZipMiddleware(async (_s, _r, send) => send({ type: 'http.response.body', body: 'x' })),
    '/',
    { headers: gzipHeaders },
  );
  t.is(odd.text, 'x');
});
