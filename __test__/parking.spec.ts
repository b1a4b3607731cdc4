/**
 * Parked connections: an HTTP/1.1 keep-alive connection on a plain socket that stays idle past its
 * park delay (1 s, or half the keep-alive limit if shorter: 0.5 s here) gives up hyper's session and
 * its buffers, and gets a new one when the client speaks again. To the client nothing changes: the
 * same socket serves on, a head begun before the park is finished after it, the keep-alive limit and
 * shutdown still close it.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ASGIFunction, Receive } from '../src/asgi.ts';
import { serve, type Server } from '../src/server/index.ts';
import { readAll, readUntil, sleep } from './_net.ts';

/** Past the park delay of a connection whose keep-alive limit is 1 s, short of the limit itself. */
const PARKED = 700;

async function bodyOf(receive: Receive): Promise<string> {
  let body = '';
  for (;;) {
    const message = await receive();
    if (message.type !== 'http.request') return body;
    body += Buffer.from(message.body ?? new Uint8Array()).toString();
    if (!message.more_body) return body;
  }
}

/** Answers `METHOD path body x-test` over HTTP, accepts and closes WebSockets. */
const app: ASGIFunction = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  if (scope.type !== 'http') return;
  const tag = scope.headers.find(([name]) => Buffer.from(name).toString() === 'x-test')?.[1];
  const text = `${scope.method} ${scope.path} ${await bodyOf(receive)} ${tag ? Buffer.from(tag).toString() : '-'}`;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: text });
};

async function withServer(
  uds: string | undefined,
  run: (open: () => Promise<net.Socket>, server: Server) => Promise<void>,
) {
  const server = await serve(app, {
    port: 0,
    uds,
    accessLog: false,
    logLevel: 'critical',
    lifespan: 'off',
    timeoutKeepAlive: 1,
  });
  const open = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = uds ? net.connect(uds) : net.connect({ port: server.port!, host: '127.0.0.1' });
      socket.once('connect', () => resolve(socket)).once('error', reject);
    });
  try {
    await run(open, server);
  } finally {
    await server.close();
  }
}

/** Sends `request` and reads until `count` responses ending in their bodies have come. */
async function ask(socket: net.Socket, request: string, bodies: string[]): Promise<string> {
  const reply = readUntil(socket, (text) => bodies.every((body) => text.includes(body)));
  socket.write(request);
  return reply;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

for (const uds of [false, true]) {
  const kind = uds ? 'Unix socket' : 'TCP';
  test(`an idle connection parks and serves on, on the same socket, one request or a pipelined burst (${kind})`, async (t) => {
    const dir = uds ? mkdtempSync(join(tmpdir(), 'starling-park-')) : undefined;
    try {
      await withServer(dir && join(dir, 's'), async (open, server) => {
        const socket = await open();
        let closed = false;
        socket.once('close', () => (closed = true));
        t.regex(await ask(socket, get('/one'), ['GET /one  -']), /^HTTP\/1\.1 200/);
        t.deepEqual([server.connections, server.parkedConnections], [1, 0]);
        await sleep(PARKED);
        // Parked now, and no longer once it speaks again.
        t.deepEqual([server.connections, server.parkedConnections], [1, 1]);
        t.regex(await ask(socket, get('/two', 'X-Test: after\r\n'), ['GET /two  after']), /^HTTP\/1\.1 200/);
        t.is(server.parkedConnections, 0);
        await sleep(PARKED);
        const post = 'POST /three HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
        const burst = await ask(socket, get('/a') + post + get('/b'), [
          'GET /a  -',
          'POST /three hello -',
          'GET /b  -',
        ]);
        t.is(burst.match(/HTTP\/1\.1 200/g)?.length, 3);
        t.true(
          burst.indexOf('GET /a') < burst.indexOf('POST /three') &&
            burst.indexOf('POST /three') < burst.indexOf('GET /b'),
        );
        t.false(closed);
        socket.destroy();
      });
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a head begun before the park is finished after it: hyper hands back what it had read', async (t) => {
  await withServer(undefined, async (open) => {
    const socket = await open();
    const reply = readUntil(socket, (text) => text.includes('GET /split  halves'));
    socket.write('GET /split HTTP/1.1\r\nHost: x\r\nX-Te');
    await sleep(PARKED);
    socket.write('st: halves\r\n\r\n');
    t.regex(await reply, /^HTTP\/1\.1 200/);
    // And it serves on afterwards.
    t.regex(await ask(socket, get('/next'), ['GET /next  -']), /^HTTP\/1\.1 200/);
    socket.destroy();
  });
});

test('a parked connection still closes at its keep-alive limit, and a new one is served', async (t) => {
  await withServer(undefined, async (open) => {
    const socket = await open();
    await ask(socket, get('/one'), ['GET /one  -']);
    const since = Date.now();
    const rest = await readAll(socket, 3000);
    const waited = Date.now() - since;
    t.is(rest, '');
    t.true(socket.readableEnded || socket.destroyed, 'the server closed it');
    t.true(waited >= 800 && waited < 2500, `closed after ${waited} ms`);
    const again = await open();
    t.regex(await ask(again, get('/again'), ['GET /again  -']), /^HTTP\/1\.1 200/);
    again.destroy();
  });
});

test('a client closing its parked connection, and shutdown with parked connections, end cleanly and at once', async (t) => {
  let server!: Server;
  let parked!: net.Socket;
  await withServer(undefined, async (open, s) => {
    server = s;
    const gone = await open();
    await ask(gone, get('/gone'), ['GET /gone  -']);
    parked = await open();
    await ask(parked, get('/parked'), ['GET /parked  -']);
    await sleep(PARKED);
    gone.destroy();
    await sleep(50);
    const ended = readAll(parked, 3000);
    const since = Date.now();
    await server.close();
    t.true(Date.now() - since < 500, 'close() did not wait for the parked connection');
    t.is(await ended, '');
  });
  t.true(parked.readableEnded || parked.destroyed);
});

test('a WebSocket handshake on a parked connection is upgraded', async (t) => {
  await withServer(undefined, async (open) => {
    const socket = await open();
    await ask(socket, get('/first'), ['GET /first  -']);
    await sleep(PARKED);
    const upgrade = get(
      '/ws',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n',
    );
    const reply = await ask(socket, upgrade, ['\r\n\r\n']);
    t.regex(reply, /^HTTP\/1\.1 101/);
    t.regex(reply, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    socket.destroy();
  });
});

test('an HTTP/2 connection does not park: its session stays, idle or not', async (t) => {
  await withServer(undefined, async (_open, server) => {
    const http2 = await import('node:http2');
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    const fetchH2 = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': path });
        let body = '';
        stream.on('data', (d: Buffer) => (body += d.toString()));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
        stream.end();
      });
    try {
      t.is(await fetchH2('/one'), 'GET /one  -');
      await sleep(PARKED);
      t.deepEqual([server.connections, server.parkedConnections], [1, 0]);
      t.is(await fetchH2('/two'), 'GET /two  -');
    } finally {
      session.close();
    }
  });
});
