/**
 * RFC 6455 over a raw socket: what a client's bad frames get, byte for byte, as Autobahn's fuzzing
 * client checks it (bench/conformance runs the whole suite).
 */
import test from 'ava';
import type { ASGIFunction } from '../src/asgi.ts';
import { serve } from '../src/server/index.ts';
import { connect, readAll, readUntil } from './_net.ts';

const echo: ASGIFunction = async (scope, receive, send) => {
  if (scope.type !== 'websocket') return;
  await receive();
  await send({ type: 'websocket.accept' });
  for (;;) {
    const message = await receive();
    if (message.type !== 'websocket.receive') return;
    await send(
      message.text !== undefined && message.text !== null
        ? { type: 'websocket.send', text: message.text }
        : { type: 'websocket.send', bytes: message.bytes ?? new Uint8Array(0) },
    );
  }
};

/** A masked client frame. */
function frame(first: number, payload: Buffer | string): Buffer {
  const body = Buffer.from(payload);
  const mask = Buffer.from([9, 8, 7, 6]);
  const masked = body.map((b, i) => b ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([first, 0x80 | body.length]), mask, masked]);
}

/** Server frames as [opcode, payload] (unmasked, short payloads only). */
function serverFrames(bytes: Buffer): [number, Buffer][] {
  const frames: [number, Buffer][] = [];
  for (let i = 0; i + 2 <= bytes.length;) {
    const len = bytes[i + 1]! & 0x7f;
    frames.push([bytes[i]! & 0x0f, bytes.subarray(i + 2, i + 2 + len)]);
    i += 2 + len;
  }
  return frames;
}

async function session(send: Buffer[]): Promise<[number, Buffer][]> {
  const server = await serve(echo, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    const socket = await connect(server.port);
    const head = readUntil(socket, (s) => s.includes('\r\n\r\n'));
    socket.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const handshake = await head;
    if (!handshake.startsWith('HTTP/1.1 101')) throw new Error(handshake);
    const rest = readAll(socket, 3000);
    for (const bytes of send) socket.write(bytes);
    const answer = Buffer.from(await rest, 'latin1');
    socket.destroy();
    // What came after the 101's head, if it arrived in the same read.
    const extra = Buffer.from(handshake.slice(handshake.indexOf('\r\n\r\n') + 4), 'latin1');
    return serverFrames(Buffer.concat([extra, answer]));
  } finally {
    await server.close();
  }
}

const closeCode = (frames: [number, Buffer][]) => {
  const close = frames.find(([op]) => op === 8);
  return close ? close[1].readUInt16BE(0) : undefined;
};

for (const [name, bad, code] of [
  ['a reserved opcode', frame(0x83, ''), 1002],
  ['a reserved control opcode', frame(0x8b, 'x'), 1002],
  ['RSV bits no extension defines', frame(0xa1, 'x'), 1002],
  ['a continuation of nothing', frame(0x80, 'x'), 1002],
  [
    'a close frame of 126 bytes',
    Buffer.concat([Buffer.from([0x88, 0xfe, 0, 126, 1, 2, 3, 4]), Buffer.alloc(126)]),
    1002,
  ],
  ['invalid UTF-8', frame(0x81, Buffer.from([0xce, 0xba, 0xff])), 1007],
] as const) {
  test(`${name} after a valid message: the echo goes out first, then a close with ${code}`, async (t) => {
    const frames = await session([Buffer.concat([frame(0x81, 'hello'), bad, frame(0x89, 'ping')])]);
    t.deepEqual(
      frames.map(([op]) => op),
      [1, 8],
    );
    t.is(frames[0]![1].toString(), 'hello');
    t.is(closeCode(frames), code);
  });
}

test('invalid UTF-8 fails the connection at its first byte, not when the message ends', async (t) => {
  // One text frame announced as 20 bytes; only its first 4 are sent, and they cannot be UTF-8.
  const header = Buffer.from([0x81, 0x80 | 20, 0, 0, 0, 0]);
  const frames = await session([Buffer.concat([header, Buffer.from([0xce, 0xba, 0xf4, 0x90])])]);
  t.is(closeCode(frames), 1007);
});
