import test from 'ava';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import http from 'node:http';
import { Starling } from '../src/applications.ts';
import { Route } from '../src/routing.ts';
import { PlainTextResponse, StreamingResponse } from '../src/responses.ts';
import { Middleware } from '../src/middleware/index.ts';
import { GZipMiddleware, type GZipOptions } from '../src/middleware/gzip.ts';
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
