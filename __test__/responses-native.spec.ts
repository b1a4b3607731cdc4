// File bodies as the native core sends them (`http.response.pathsend`): read from the page cache
// inline or on the blocking pool, and cut off rather than sent short when the file shrinks.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, fsyncSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ASGIFunction } from '../src/asgi.ts';
import { Starling } from '../src/applications.ts';
import { Route } from '../src/routing.ts';
import { FileResponse } from '../src/responses.ts';
import { serve, type ServeOptions, type Server } from '../src/server/index.ts';
import { connect, sleep } from './_net.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-file-bodies-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function fileApp(path: string) {
  return new Starling({ routes: [new Route('/file', async () => new FileResponse(path))] });
}

async function withServer(
  app: ASGIFunction | Starling,
  run: (s: Server) => Promise<void>,
  options: ServeOptions = {},
) {
  const server = await serve(app, {
    port: 0,
    accessLog: false,
    logLevel: 'critical',
    lifespan: 'off',
    ...options,
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

/** Writes `bytes` to disk and asks the kernel to drop the file from the page cache (GNU dd). */
function writeUncached(path: string, bytes: Buffer): boolean {
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  return spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
}

test('a file the page cache no longer holds is read off the connection thread and arrives whole', async (t) => {
  const path = join(dir, 'cold.bin');
  const bytes = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(i, i);
  // Without dd the file stays cached and is read inline: the answer must be the same.
  writeUncached(path, bytes);
  await withServer(fileApp(path), async (server) => {
    const res = await fetch(`${server.url}/file`);
    t.is(res.status, 200);
    t.is(Number(res.headers.get('content-length')), bytes.length);
    t.true(Buffer.from(await res.arrayBuffer()).equals(bytes));
  });
});

test('a file that shrinks while it is sent cuts the connection instead of sending a short body', async (t) => {
  const path = join(dir, 'shrinking.bin');
  const size = 32 * 1024 * 1024; // more than the loopback socket buffers hold while the client waits
  writeFileSync(path, Buffer.alloc(size, 'z'));
  await withServer(
    fileApp(path),
    async (server) => {
      const socket = await connect(server.port);
      try {
        const chunks: Buffer[] = [];
        let total = 0;
        socket.on('data', (d: Buffer) => {
          if (chunks.length < 4) chunks.push(d);
          total += d.length;
        });
        socket.once('error', () => undefined);
        const closed = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 15_000);
          socket.once('close', () => (clearTimeout(timer), resolve(true)));
        });
        socket.write('GET /file HTTP/1.1\r\nHost: x\r\n\r\n');
        while (!Buffer.concat(chunks).includes('\r\n\r\n')) await sleep(5);
        socket.pause();
        truncateSync(path, 1000);
        await sleep(50);
        socket.resume();
        t.true(await closed, 'the server closed the connection');
        const head = Buffer.concat(chunks).toString('latin1');
        const headLength = head.indexOf('\r\n\r\n') + 4;
        t.regex(head.slice(0, headLength), new RegExp(`content-length: ${size}\\r\\n`, 'i'));
        t.true(total - headLength < size, `${total - headLength} of ${size} bytes: the body was cut short`);
      } finally {
        socket.destroy();
      }
      // The connection is only seen to fail when something polls it again after the paused client
      // resumes: the idle timer, until the stall of the next test is fixed. Kept short here.
    },
    { timeoutKeepAlive: 1 },
  );
});

test('a file body goes on as soon as a client that stopped reading reads again', async (t) => {
  // Once a paused client let the socket fill, the rest of a file body used to wait for the idle
  // timer: the slice-end flush registered its own waker over the task's (one write waker per socket;
  // crates/core/src/cork.rs `blocked`), so the body went out in bursts, one per timeout.
  const path = join(dir, 'paused.bin');
  const size = 32 * 1024 * 1024;
  writeFileSync(path, Buffer.alloc(size, 'p'));
  await withServer(
    fileApp(path),
    async (server) => {
      const socket = await connect(server.port);
      try {
        let total = 0;
        socket.on('data', (d: Buffer) => (total += d.length));
        socket.write('GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        while (total === 0) await sleep(5);
        socket.pause();
        await sleep(300);
        const closed = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 5000);
          socket.once('close', () => (clearTimeout(timer), resolve(true)));
        });
        socket.resume();
        // Well under the 30 s idle timer: the rest of the body takes milliseconds on loopback.
        t.true(await closed, `${total} of ${size}+ bytes after 5 s`);
        t.true(total > size);
      } finally {
        socket.destroy();
      }
    },
    { timeoutKeepAlive: 30 },
  );
});

test('an app that asks for a file that is not there gets a 500 from the server', async (t) => {
  const app: ASGIFunction = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.pathsend', path: join(dir, 'gone.txt') });
  };
  await withServer(app, async (server) => {
    const res = await fetch(`${server.url}/`);
    t.is(res.status, 500);
    await res.arrayBuffer();
  });
});
