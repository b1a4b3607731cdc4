import test from 'ava';
import type { Socket } from 'node:net';
import WebSocketClient from 'ws';
import type { ASGIFunction, WebSocketScope } from '../src/asgi.ts';
import { serve, type ServeOptions, type Server } from '../src/server/index.ts';
import { Starling } from '../src/applications.ts';
import { WebSocketRoute } from '../src/routing.ts';
import { connect, readUntil } from './_net.ts';
import type { WebSocket } from '../src/websockets.ts';

const quiet: ServeOptions = { port: 0, accessLog: false, logLevel: 'critical', lifespan: 'off' };

async function withServer(
  app: ASGIFunction | Starling,
  options: ServeOptions,
  run: (s: Server) => Promise<void>,
) {
  const server = await serve(app, { ...quiet, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

function open(url: string, protocols?: string[]): Promise<WebSocketClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(url, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocketClient): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) =>
    ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })),
  );
}

function closed(ws: WebSocketClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

const echoApp = () =>
  new Starling({
    routes: [
      new WebSocketRoute('/ws', async (ws: WebSocket) => {
        await ws.accept();
        for (;;) {
          const message = await ws.receive();
          if (message.type === 'websocket.disconnect') return;
          if ('text' in message && message.text != null) await ws.sendText(message.text);
          else if (message.type === 'websocket.receive' && message.bytes) await ws.sendBytes(message.bytes);
        }
      }),
    ],
  });

test('echoes text and binary messages over a real ws client', async (t) => {
  await withServer(echoApp(), {}, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
    ws.send('hello');
    const text = await nextMessage(ws);
    t.false(text.binary);
    t.is(text.data.toString(), 'hello');
    ws.send(Buffer.from([1, 2, 3]));
    const bin = await nextMessage(ws);
    t.true(bin.binary);
    t.deepEqual([...bin.data], [1, 2, 3]);
    const done = closed(ws);
    ws.close(1000, 'bye');
    t.is((await done).code, 1000);
  });
});

test('echoes a 16 MiB binary message and a fragmented text message', async (t) => {
  await withServer(echoApp(), {}, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
    const big = Buffer.alloc(16 * 1024 * 1024 - 64, 7);
    ws.send(big);
    const back = await nextMessage(ws);
    t.is(back.data.length, big.length);
    ws.send('frag-', { fin: false });
    ws.send('ment', { fin: true });
    t.is((await nextMessage(ws)).data.toString(), 'frag-ment');
    ws.close();
  });
});

test('the app chooses a subprotocol and sees the offered ones in the scope', async (t) => {
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    await send({ type: 'websocket.accept', subprotocol: scope.subprotocols[1] ?? null });
    await send({ type: 'websocket.send', text: scope.subprotocols.join(',') });
    await send({ type: 'websocket.close', code: 1000 });
  };
  await withServer(app, {}, async (server) => {
    const ws = new WebSocketClient(`${server.url.replace('http', 'ws')}/`, ['chat', 'superchat']);
    // The message may arrive in the same read as the handshake: listen before `open`.
    const first = nextMessage(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    t.is(ws.protocol, 'superchat');
    t.is((await first).data.toString(), 'chat,superchat');
  });
});

test('closing before accept denies the handshake with 403; a denial response is sent as is', async (t) => {
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    if (scope.path === '/close') return send({ type: 'websocket.close' });
    await send({ type: 'websocket.http.response.start', status: 401, headers: [['x-why', 'token']] });
    await send({ type: 'websocket.http.response.body', body: 'no token' });
  };
  await withServer(app, {}, async (server) => {
    const base = server.url.replace('http', 'ws');
    const status = (path: string) =>
      new Promise<{ status: number; why?: string }>((resolve) => {
        const ws = new WebSocketClient(base + path);
        ws.on('unexpected-response', (_req, res) =>
          resolve({ status: res.statusCode ?? 0, why: res.headers['x-why'] as string }),
        );
        ws.on('error', () => undefined);
      });
    t.is((await status('/close')).status, 403);
    t.deepEqual(await status('/deny'), { status: 401, why: 'token' });
  });
});

/** Accepts, then closes; records the scope of each handshake. */
function scopeRecorder(seen: WebSocketScope[]): ASGIFunction {
  return async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    seen.push(scope);
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.close', code: 1000 });
  };
}

/** Opens a WebSocket with `headers` and waits for its close. */
async function handshake(server: Server, headers: Record<string, string>): Promise<void> {
  const ws = new WebSocketClient(server.url.replace('http', 'ws') + '/', { headers });
  await closed(ws);
}

const behindProxy: ServeOptions = { proxyHeaders: true, forwardedAllowIps: '127.0.0.1' };

test('behind a trusted proxy, X-Forwarded-Proto makes a WebSocket scope wss (https, wss) or ws (http)', async (t) => {
  const seen: WebSocketScope[] = [];
  await withServer(scopeRecorder(seen), behindProxy, async (server) => {
    for (const proto of ['https', 'wss', 'HTTPS', 'http', 'bogus']) {
      await handshake(server, { 'x-forwarded-proto': proto });
    }
  });
  t.deepEqual(
    seen.map((s) => s.scheme),
    ['wss', 'wss', 'wss', 'ws', 'ws'],
  );
  t.is(seen[0]!.client?.[0], '127.0.0.1');
});

test('behind a trusted proxy, X-Forwarded-For gives a WebSocket scope its client', async (t) => {
  const seen: WebSocketScope[] = [];
  await withServer(scopeRecorder(seen), behindProxy, async (server) => {
    await handshake(server, { 'x-forwarded-for': '1.2.3.4' });
    // The last hop that is not a trusted proxy, with its port when it has one.
    await handshake(server, { 'x-forwarded-for': '9.9.9.9, 5.6.7.8:4321, 127.0.0.1' });
  });
  t.deepEqual(seen[0]!.client, ['1.2.3.4', 0]);
  t.deepEqual(seen[1]!.client, ['5.6.7.8', 4321]);
  t.is(seen[0]!.scheme, 'ws');
});

test("an untrusted peer's X-Forwarded-* headers leave a WebSocket scope as it is", async (t) => {
  const seen: WebSocketScope[] = [];
  await withServer(
    scopeRecorder(seen),
    { proxyHeaders: true, forwardedAllowIps: '10.0.0.1' },
    async (server) => {
      await handshake(server, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '1.2.3.4' });
    },
  );
  t.is(seen[0]!.scheme, 'ws');
  t.is(seen[0]!.client?.[0], '127.0.0.1');
});

test('each WebSocket scope has extensions of its own, which a middleware may add to', async (t) => {
  const seen: WebSocketScope[] = [];
  const recorder = scopeRecorder(seen);
  const app: ASGIFunction = async (scope, receive, send) => {
    if (seen.length === 0) (scope as WebSocketScope).extensions!['websocket.example'] = {};
    return recorder(scope, receive, send);
  };
  await withServer(app, {}, async (server) => {
    await handshake(server, {});
    await handshake(server, {});
  });
  t.deepEqual(Object.keys(seen[0]!.extensions!), ['websocket.http.response', 'websocket.example']);
  t.deepEqual(Object.keys(seen[1]!.extensions!), ['websocket.http.response']);
});

test("an invalid accept header throws in send() and the handshake is still the app's to answer", async (t) => {
  const errors: string[] = [];
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    try {
      await send({ type: 'websocket.accept', headers: [['x-header', 'a\r\nx-injected: yes']] });
    } catch (error) {
      errors.push((error as Error).message);
    }
    await send({ type: 'websocket.accept', headers: [['x-header', 'fine']] });
    await send({ type: 'websocket.close', code: 1000 });
  };
  await withServer(app, {}, async (server) => {
    const ws = new WebSocketClient(server.url.replace('http', 'ws') + '/');
    const response = new Promise<Record<string, unknown>>((resolve) =>
      ws.once('upgrade', (res) => resolve(res.headers)),
    );
    const headers = await response;
    t.is(headers['x-header'], 'fine');
    t.is(headers['x-injected'], undefined);
    t.is((await closed(ws)).code, 1000);
  });
  t.is(errors.length, 1);
  t.regex(errors[0]!, /Invalid HTTP header value/);
});

test('the app closing sends its code and reason; the client closing reaches the app', async (t) => {
  let seen: { code?: number; reason?: string | null } = {};
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    await send({ type: 'websocket.accept' });
    if (scope.path === '/server-closes')
      return send({ type: 'websocket.close', code: 4001, reason: 'policy' });
    for (;;) {
      const m = await receive();
      if (m.type === 'websocket.disconnect') {
        seen = { code: m.code, reason: m.reason };
        return;
      }
    }
  };
  await withServer(app, {}, async (server) => {
    const base = server.url.replace('http', 'ws');
    const a = await open(`${base}/server-closes`);
    t.deepEqual(await closed(a), { code: 4001, reason: 'policy' });
    const b = await open(`${base}/client-closes`);
    const done = closed(b);
    b.close(4002, 'leaving');
    await done;
    for (let i = 0; i < 50 && seen.code === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(seen, { code: 4002, reason: 'leaving' });
  });
});

test('a peer that vanishes without a close frame (FIN or RST) reaches the app as websocket.disconnect 1006', async (t) => {
  let told: (message: { code?: number; at: number }) => void = () => {};
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    await send({ type: 'websocket.accept' });
    for (;;) {
      const m = await receive();
      if (m.type === 'websocket.disconnect') return told({ code: m.code, at: performance.now() });
    }
  };
  await withServer(app, {}, async (server) => {
    for (const how of ['fin', 'rst'] as const) {
      const seen = new Promise<{ code?: number; at: number }>((resolve) => (told = resolve));
      const ws = await open(server.url.replace('http', 'ws'));
      const socket = (ws as unknown as { _socket: Socket })._socket;
      const gone = performance.now();
      if (how === 'rst') socket.resetAndDestroy();
      else socket.end();
      const { code, at } = await seen;
      t.is(code, 1006, how);
      t.log(`${how}: told after ${(at - gone).toFixed(1)} ms`);
      t.true(at - gone < 2000, how);
    }
  });
});

test('messages out of order throw in send(); a send after the peer left throws ClientDisconnected', async (t) => {
  const errors: Record<string, string[]> = {};
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    const caught = (errors[scope.path] = [] as string[]);
    const attempt = (message: object) =>
      Promise.resolve()
        .then(() => send(message as never))
        .catch(
          (error: Error & { code?: string }) =>
            void caught.push(`${error.name}: ${error.code ?? error.message}`),
        );
    await receive();
    if (scope.path === '/order') {
      await attempt({ type: 'websocket.send', text: 'too early' });
      await attempt({ type: 'websocket.bogus' });
      await send({ type: 'websocket.accept' });
      await attempt({ type: 'websocket.accept' });
      await send({ type: 'websocket.close', code: 1000 });
      await attempt({ type: 'websocket.close', code: 1000 });
    } else {
      await send({ type: 'websocket.accept' });
      while ((await receive()).type !== 'websocket.disconnect');
      await attempt({ type: 'websocket.send', text: 'too late' });
    }
    finished();
  };
  await withServer(app, {}, async (server) => {
    const base = server.url.replace('http', 'ws');
    t.is((await closed(await open(`${base}/order`))).code, 1000);
    const ws = await open(`${base}/gone`);
    await done;
    const left = new Promise<void>((resolve) => (finished = resolve));
    ws.close(1000);
    await left;
  });
  t.deepEqual(errors['/order'], [
    "RuntimeError: Unexpected ASGI message 'websocket.send' sent in this WebSocket state.",
    "RuntimeError: Unexpected ASGI message 'websocket.bogus' sent for a WebSocket.",
    "RuntimeError: Unexpected ASGI message 'websocket.accept' sent in this WebSocket state.",
    "RuntimeError: Unexpected ASGI message 'websocket.close', after sending 'websocket.close' or response already completed.",
  ]);
  t.deepEqual(errors['/gone'], ['ClientDisconnected: ECONNRESET']);
});

test('a client that leaves before the handshake is answered reaches receive() as websocket.disconnect 1006', async (t) => {
  let connected: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (connected = resolve));
  let told: (message: unknown) => void = () => {};
  const seen = new Promise((resolve) => (told = resolve));
  const app: ASGIFunction = async (scope, receive) => {
    if (scope.type !== 'websocket') return;
    await receive(); // websocket.connect
    connected();
    told(await receive()); // never accepted: the next message is the client leaving
  };
  await withServer(app, {}, async (server) => {
    const socket = await connect(server.port);
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await arrived;
    socket.destroy();
    t.like(await seen, { type: 'websocket.disconnect', code: 1006 });
  });
});

test('oversized messages close with 1009, invalid UTF-8 with 1007', async (t) => {
  await withServer(echoApp(), { wsMaxSize: 1024 }, async (server) => {
    const base = `${server.url.replace('http', 'ws')}/ws`;
    const a = await open(base);
    const aClosed = closed(a);
    a.send(Buffer.alloc(4096));
    t.is((await aClosed).code, 1009);
    const b = await open(base);
    const bClosed = closed(b);
    // A text frame with bytes that are not UTF-8, written raw under the ws client's framing.
    (b as unknown as { _sender: { sendFrame(list: Buffer[], cb?: () => void): void } })._sender.sendFrame([
      Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]),
    ]);
    t.is((await bClosed).code, 1007);
  });
});

test('pings are answered by the core', async (t) => {
  await withServer(echoApp(), {}, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
    const pong = new Promise<string>((resolve) => ws.once('pong', (d) => resolve(d.toString())));
    ws.ping('are you there');
    t.is(await pong, 'are you there');
    ws.close();
  });
});

test('with wsPingInterval the core pings; a client that answers stays, one that does not is closed with 1011', async (t) => {
  // The timeout is loose so that the answering client keeps up on a busy machine.
  await withServer(echoApp(), { wsPingInterval: 0.1, wsPingTimeout: 2 }, async (server) => {
    const url = `${server.url.replace('http', 'ws')}/ws`;
    const alive = await open(url);
    let pings = 0;
    alive.on('ping', () => pings++);
    const silent = new WebSocketClient(url, { autoPong: false });
    await new Promise((resolve, reject) => silent.once('open', resolve).once('error', reject));
    const silentClosed = closed(silent);
    const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000));
    t.deepEqual(await Promise.race([silentClosed, timer]), { code: 1011, reason: 'keepalive ping timeout' });
    t.true(pings >= 2, `${pings} pings answered`);
    t.is(alive.readyState, WebSocketClient.OPEN);
    const echoed = nextMessage(alive);
    alive.send('still here');
    t.is((await echoed).data.toString(), 'still here');
    alive.close();
  });
});

test('a character split between two fragments of a text message is put back together', async (t) => {
  await withServer(echoApp(), { wsPerMessageDeflate: false }, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
    const echoed = nextMessage(ws);
    // "hé" as two masked frames (zero mask): "h" and the first byte of "é", then its second byte.
    const sender = (ws as unknown as { _sender: { sendFrame(list: Buffer[]): void } })._sender;
    sender.sendFrame([Buffer.from([0x01, 0x82, 0, 0, 0, 0, 0x68, 0xc3])]);
    sender.sendFrame([Buffer.from([0x80, 0x81, 0, 0, 0, 0, 0xa9])]);
    const { data, binary } = await echoed;
    t.false(binary);
    t.is(data.toString(), 'hé');
    ws.close();
  });
});

test('shutdown closes open sockets with 1001 (going away)', async (t) => {
  const server = await serve(echoApp(), quiet);
  const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
  const done = closed(ws);
  await server.close();
  t.is((await done).code, 1001);
});

test('many concurrent connections are served and all closed cleanly on shutdown', async (t) => {
  const server = await serve(echoApp(), quiet);
  const url = `${server.url.replace('http', 'ws')}/ws`;
  const clients = await Promise.all(Array.from({ length: 200 }, () => open(url)));
  const replies = await Promise.all(
    clients.map((ws, i) => {
      const reply = nextMessage(ws);
      ws.send(`n${i}`);
      return reply;
    }),
  );
  t.true(replies.every((r, i) => r.data.toString() === `n${i}`));
  const codes = Promise.all(clients.map(closed));
  await server.close();
  t.true((await codes).every((c) => c.code === 1001));
});

test('permessage-deflate is negotiated by default and can be turned off', async (t) => {
  const text = 'compress me '.repeat(5000);
  await withServer(echoApp(), {}, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
    t.regex(ws.extensions, /permessage-deflate/);
    ws.send(text);
    t.is((await nextMessage(ws)).data.toString(), text);
    ws.close();
  });
  await withServer(echoApp(), { wsPerMessageDeflate: false }, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/ws`);
    t.is(ws.extensions, '');
    ws.send(text);
    t.is((await nextMessage(ws)).data.toString(), text);
    ws.close();
  });
});

test('of several offered extensions only permessage-deflate is answered; without it none is', async (t) => {
  await withServer(echoApp(), {}, async (server) => {
    const handshake = async (extensions: string) => {
      const socket = await connect(server.port);
      const head = readUntil(socket, (text) => text.includes('\r\n\r\n'), 5000);
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Extensions: ${extensions}\r\n\r\n`,
      );
      const text = await head;
      socket.destroy();
      t.regex(text, /^HTTP\/1\.1 101/);
      return /sec-websocket-extensions: ([^\r]*)/i.exec(text)?.[1];
    };
    t.is(
      await handshake(
        'x-webkit-deflate-frame, permessage-deflate, permessage-deflate; client_max_window_bits',
      ),
      'permessage-deflate',
    );
    t.is(await handshake('x-webkit-deflate-frame'), undefined);
  });
});

test('a slow app loses no messages: the core holds them back by credit and delivers all in order', async (t) => {
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    await send({ type: 'websocket.accept' });
    await new Promise((r) => setTimeout(r, 200)); // fall behind while the client sends
    let expected = 0;
    for (;;) {
      const m = await receive();
      if (m.type !== 'websocket.receive') return;
      if (m.text !== String(expected))
        return send({ type: 'websocket.close', code: 4000, reason: `got ${m.text}` });
      if (++expected === 1000) return send({ type: 'websocket.send', text: 'all 1000' });
    }
  };
  await withServer(app, {}, async (server) => {
    const ws = await open(`${server.url.replace('http', 'ws')}/`);
    const reply = nextMessage(ws);
    for (let i = 0; i < 1000; i++) ws.send(String(i));
    t.is((await reply).data.toString(), 'all 1000');
    ws.close();
  });
});
