import test from 'ava';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import http from 'node:http';
import { Starling } from '../src/applications.ts';
import { Route } from '../src/routing.ts';
import { PlainTextResponse, StreamingResponse } from '../src/responses.ts';
import { Middleware } from '../src/middleware/index.ts';
import { COMPRESSION_HINT_HEADER, GZipMiddleware, type GZipOptions } from '../src/middleware/gzip.ts';
import type { ASGIFunction } from '../src/asgi.ts';
import { serve, type Server } from '../src/server/index.ts';

const big = 'The quick brown fox jumps over the lazy dog. '.repeat(200);

function app(options: GZipOptions = {}) {
  return new Starling({
    routes: [
      new Route('/big', async () => new PlainTextResponse(big)),
      new Route('/small', async () => new PlainTextResponse('tiny')),
      new Route(
        '/stream',
        async () =>
          new StreamingResponse(
            (async function* () {
              for (let i = 0; i < 5; i++) yield `chunk ${i} ${big.slice(0, 300)}\n`;
            })(),
            { mediaType: 'text/plain' },
          ),
      ),
      new Route(
        '/events',
        async () => new StreamingResponse(['data: 1\n\n'], { mediaType: 'text/event-stream' }),
      ),
    ],
    middleware: [new Middleware(GZipMiddleware, { minimumSize: 500, ...options })],
  });
}

/** A raw GET that does not decode, so the test sees the wire bytes. */
function rawGet(server: Server, path: string, acceptEncoding?: string) {
  return new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const headers: Record<string, string> = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
    http
      .get(`${server.url}${path}`, { headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
      })
      .on('error', reject);
  });
}

async function withServer(options: GZipOptions, run: (s: Server) => Promise<void>) {
  const server = await serve(app(options), { port: 0, accessLog: false, lifespan: 'off' });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

test('the core gzips large bodies for clients that accept it, with Vary and the right length', async (t) => {
  await withServer({}, async (server) => {
    const res = await rawGet(server, '/big', 'gzip, deflate');
    t.is(res.headers['content-encoding'], 'gzip');
    t.regex(String(res.headers.vary), /Accept-Encoding/i);
    t.is(Number(res.headers['content-length']), res.body.length);
    t.true(res.body.length < big.length / 5);
    t.is(gunzipSync(res.body).toString(), big);
    // fetch (undici) decodes it transparently.
    t.is(await (await fetch(`${server.url}/big`)).text(), big);
  });
});

test('small bodies and clients without gzip get the identity body', async (t) => {
  await withServer({}, async (server) => {
    const small = await rawGet(server, '/small', 'gzip');
    t.is(small.headers['content-encoding'], undefined);
    t.is(small.headers.vary, undefined);
    t.is(small.body.toString(), 'tiny');
    const plain = await rawGet(server, '/big');
    t.is(plain.headers['content-encoding'], undefined);
    t.regex(String(plain.headers.vary), /Accept-Encoding/i);
    t.is(plain.body.toString(), big);
  });
});

test('streams are compressed chunk by chunk without a content-length; event streams are not', async (t) => {
  await withServer({}, async (server) => {
    const res = await rawGet(server, '/stream', 'gzip');
    t.is(res.headers['content-encoding'], 'gzip');
    t.is(res.headers['content-length'], undefined);
    t.regex(gunzipSync(res.body).toString(), /chunk 4/);
    const events = await rawGet(server, '/events', 'gzip');
    t.is(events.headers['content-encoding'], undefined);
    t.is(events.body.toString(), 'data: 1\n\n');
  });
});

test('brotli is used when the app offers it and the client prefers it', async (t) => {
  await withServer({ encodings: ['gzip', 'br'] }, async (server) => {
    const res = await rawGet(server, '/big', 'gzip;q=0.8, br');
    t.is(res.headers['content-encoding'], 'br');
    t.is(brotliDecompressSync(res.body).toString(), big);
    const gz = await rawGet(server, '/big', 'gzip');
    t.is(gz.headers['content-encoding'], 'gzip');
  });
});

test('brotli streams chunk by chunk too', async (t) => {
  await withServer({ encodings: ['br'] }, async (server) => {
    const res = await rawGet(server, '/stream', 'br');
    t.is(res.headers['content-encoding'], 'br');
    t.is(res.headers['content-length'], undefined);
    t.regex(brotliDecompressSync(res.body).toString(), /^chunk 0 [\s\S]*chunk 4 /);
  });
});

test('a body past 32 KiB is compressed whole too, off the connection thread, with its length', async (t) => {
  const huge = Array.from({ length: 4000 }, (_, i) => `line ${i} of a long report\n`).join('');
  t.true(huge.length > 32 * 1024);
  const server = await serve(
    new Starling({
      routes: [new Route('/huge', async () => new PlainTextResponse(huge))],
      middleware: [new Middleware(GZipMiddleware, { encodings: ['gzip', 'br'] })],
    }),
    { port: 0, accessLog: false, lifespan: 'off' },
  );
  try {
    for (const coding of ['gzip', 'br']) {
      const res = await rawGet(server, '/huge', coding);
      t.is(res.headers['content-encoding'], coding);
      t.is(Number(res.headers['content-length']), res.body.length);
      const plain = coding === 'gzip' ? gunzipSync(res.body) : brotliDecompressSync(res.body);
      t.is(plain.toString(), huge);
    }
  } finally {
    await server.close();
  }
});

test('the core reads the hint strictly: unknown codings are skipped, a malformed hint or an encoded body is left alone', async (t) => {
  // The hint is what GZipMiddleware sends the core; an app may set it itself.
  const app: ASGIFunction = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    const [hint, encoding] = decodeURIComponent(scope.path.slice(1)).split('|');
    const headers: [string, string][] = [
      ['content-type', 'text/plain'],
      [COMPRESSION_HINT_HEADER, hint!],
    ];
    if (encoding) headers.push(['content-encoding', encoding]);
    await send({ type: 'http.response.start', status: 200, headers });
    await send({ type: 'http.response.body', body: big });
  };
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    const get = (hint: string, accept: string) => rawGet(server, `/${encodeURIComponent(hint)}`, accept);
    // A coding the core does not make is skipped; an unknown parameter is ignored.
    const skipped = await get('zstd, gzip; minimum-size=10; window=5', 'zstd, gzip');
    t.is(skipped.headers['content-encoding'], 'gzip');
    t.is(gunzipSync(skipped.body).toString(), big);
    for (const hint of ['zstd', 'gzip; level=high', 'gzip; minimum-size']) {
      const untouched = await get(hint, 'gzip');
      t.is(untouched.headers['content-encoding'], undefined, hint);
      t.is(untouched.headers[COMPRESSION_HINT_HEADER], undefined, 'the hint never reaches the client');
      t.is(untouched.body.toString(), big);
    }
    const encoded = await get('gzip|identity', 'gzip');
    t.is(encoded.headers['content-encoding'], 'identity');
    t.is(encoded.body.toString(), big);
    // A client that refuses every coding (q=0) gets the identity body, with Vary.
    const refused = await get('gzip, br', 'gzip;q=0, br;q=0');
    t.is(refused.headers['content-encoding'], undefined);
    t.regex(String(refused.headers.vary), /Accept-Encoding/i);
    t.is(refused.body.toString(), big);
  } finally {
    await server.close();
  }
});
