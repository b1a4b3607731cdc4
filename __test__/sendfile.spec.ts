/**
 * File bodies the core sends with `sendfile` (HTTP/1.1 on a plain TCP or Unix socket, files past
 * 16 KiB): every byte arrives, in order, whatever else shares the connection or however slowly the
 * client reads; a file that shrinks mid-send cuts the connection instead of sending filler.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Starling } from '../src/applications.ts';
import { FileResponse } from '../src/responses.ts';
import { Mount, Route } from '../src/routing.ts';
import { StaticFiles } from '../src/staticfiles.ts';
import { serve } from '../src/server/index.ts';
import { counting } from './_counting.ts';
import { sleep } from './_net.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-sendfile-'));
const files: Record<string, Buffer> = {
  'a.bin': randomBytes(300 * 1024 + 7),
  'b.bin': randomBytes(1024 * 1024 + 13),
  'mid.bin': randomBytes(40 * 1024 + 3),
  'small.txt': Buffer.from('small file\n'),
};
for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
// The shrinking file alone is tens of megabytes: nothing is left behind in the temporary directory.
const made = [dir];
test.after.always(() => made.forEach((path) => rmSync(path, { recursive: true, force: true })));

const app = new Starling({
  routes: [
    new Route('/by-app', () => new FileResponse(join(dir, 'b.bin'))),
    new Mount('/static', { app: new StaticFiles({ directory: dir }) }),
  ],
});

interface Answer {
  head: string;
  body: Buffer;
}

/** Reads `count` responses (bodies by Content-Length; none for HEAD) from a socket, bytes intact. */
function answers(socket: net.Socket, heads: boolean[], ms = 10_000): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    let input = Buffer.alloc(0);
    const out: Answer[] = [];
    const timer = setTimeout(() => reject(new Error(`${out.length} of ${heads.length} answers`)), ms);
    const parse = () => {
      for (;;) {
        const end = input.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = input.subarray(0, end).toString('latin1');
        const length = heads[out.length] ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (input.length < end + 4 + length) return;
        out.push({ head, body: Buffer.from(input.subarray(end + 4, end + 4 + length)) });
        input = input.subarray(end + 4 + length);
        if (out.length === heads.length) {
          clearTimeout(timer);
          socket.off('data', onData);
          resolve(out);
          return;
        }
      }
    };
    const onData = (d: Buffer) => {
      input = Buffer.concat([input, d]);
      parse();
    };
    socket.on('data', onData);
  });
}

const request = (method: string, path: string) => `${method} ${path} HTTP/1.1\r\nhost: test\r\n\r\n`;

async function withServer(
  options: { uds?: string },
  run: (connect: () => net.Socket, url: string) => Promise<void>,
) {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off', ...options });
  const connect = () =>
    options.uds ? net.connect(options.uds) : net.connect({ port: server.port!, host: '127.0.0.1' });
  try {
    await run(connect, server.url);
  } finally {
    await server.close();
  }
}

for (const uds of [false, true]) {
  test(`pipelined GETs and HEADs of big and small files arrive whole and in order (${uds ? 'Unix socket' : 'TCP'})`, async (t) => {
    const sockets = mkdtempSync(join(tmpdir(), 'starling-sf-uds-'));
    made.push(sockets);
    const options = uds ? { uds: join(sockets, 's') } : {};
    await withServer(options, async (connect) => {
      const socket = connect();
      const asked: [string, string][] = [
        ['GET', 'a.bin'],
        ['HEAD', 'b.bin'],
        ['GET', 'mid.bin'],
        ['GET', 'small.txt'],
        ['GET', 'b.bin'],
        ['HEAD', 'a.bin'],
        ['GET', 'a.bin'],
      ];
      const got = answers(
        socket,
        asked.map(([method]) => method === 'HEAD'),
      );
      socket.write(asked.map(([method, name]) => request(method, `/static/${name}`)).join(''));
      const replies = await got;
      asked.forEach(([method, name], i) => {
        t.regex(replies[i]!.head, /^HTTP\/1\.1 200/);
        t.true(replies[i]!.head.includes(`content-length: ${files[name]!.length}`));
        if (method === 'GET') t.true(replies[i]!.body.equals(files[name]!), `${method} ${name}`);
      });
      socket.destroy();
    });
  });
}

test('a client that reads slowly gets every byte, and so does a FileResponse from the app', async (t) => {
  await withServer({}, async (connect, url) => {
    const socket = connect();
    socket.pause();
    socket.write(request('GET', '/static/b.bin') + request('GET', '/by-app'));
    // The socket fills and the server waits for room, more than once.
    await sleep(100);
    const got = answers(socket, [false, false]);
    socket.resume();
    const [first, second] = await got;
    t.true(first!.body.equals(files['b.bin']!));
    t.true(second!.body.equals(files['b.bin']!));
    socket.destroy();
    const viaFetch = Buffer.from(await (await fetch(`${url}/static/a.bin`)).arrayBuffer());
    t.true(viaFetch.equals(files['a.bin']!));
  });
});

test('HTTP/2 frames the bytes of a big file itself', async (t) => {
  await withServer({}, async (_connect, url) => {
    const session = http2.connect(url);
    try {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const stream = session.request({ ':path': '/static/b.bin' });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(Buffer.concat(chunks)));
        stream.on('error', reject);
      });
      t.true(body.equals(files['b.bin']!));
    } finally {
      session.close();
    }
  });
});

test('a file that shrinks while it is sent cuts the connection short; the server serves on', async (t) => {
  const name = 'shrinking.bin';
  const size = 48 * 1024 * 1024;
  writeFileSync(join(dir, name), Buffer.alloc(size, 1));
  await withServer({}, async (connect, url) => {
    const socket = connect();
    socket.pause();
    socket.write(request('GET', `/static/${name}`));
    // More than loopback's socket buffers hold is left to send when the file shrinks.
    await sleep(200);
    truncateSync(join(dir, name), 1024 * 1024);
    let received = 0;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await closed;
    t.true(received > 0 && received < size, `${received} bytes`);
    t.is((await fetch(`${url}/static/small.txt`)).status, 200);
  });
});

test('a link inside the directory is served by the core; a FIFO and an absolute link back inside go to the app', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'starling-sf-links-'));
  made.push(root);
  writeFileSync(join(root, 'real.bin'), files['a.bin']!);
  symlinkSync('real.bin', join(root, 'relative.bin'));
  symlinkSync(join(root, 'real.bin'), join(root, 'absolute.bin'));
  execFileSync('mkfifo', [join(root, 'pipe')]);
  const { app: site, hits } = counting(
    new Starling({ routes: [new Mount('/static', { app: new StaticFiles({ directory: root }) })] }),
  );
  const server = await serve(site, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    const relative = await fetch(`${server.url}/static/relative.bin`);
    t.true(Buffer.from(await relative.arrayBuffer()).equals(files['a.bin']!));
    t.is(hits(), 0);
    // RESOLVE_BENEATH refuses any absolute link; the app's own check allows this one.
    const absolute = await fetch(`${server.url}/static/absolute.bin`);
    t.true(Buffer.from(await absolute.arrayBuffer()).equals(files['a.bin']!));
    t.is(hits(), 1);
    t.is((await fetch(`${server.url}/static/pipe`)).status, 404);
    t.is(hits(), 2);
  } finally {
    await server.close();
  }
});
