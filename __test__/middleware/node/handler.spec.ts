import test from 'ava';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import express from 'express';
import type { ReceiveMessage, SendMessage } from '../../../src/asgi.ts';
import { Starling } from '../../../src/applications.ts';
import { fromNodeHandler, type NodeHandler } from '../../../src/middleware/node/index.ts';
import { Mount } from '../../../src/routing.ts';
import { makeScope } from '../../_asgi.ts';
import { bothWays, drive as driveApp, gate, serverOnly, upload, type DriveOptions } from './_clients.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An Express app that keeps quiet about the errors the tests provoke on purpose. */
function expressApp(): express.Express {
  const app = express();
  app.set('env', 'test');
  return app;
}

const mounted = (handler: NodeHandler) =>
  new Starling({ routes: [new Mount('/legacy', { app: fromNodeHandler(handler) })] });

/** Drives a Node handler at the ASGI level (see `drive` in `_clients.ts`). */
const drive = (handler: NodeHandler, options?: DriveOptions) => driveApp(fromNodeHandler(handler), options);

const startOf = (sent: SendMessage[]) => {
  const start = sent.find((m) => m.type === 'http.response.start');
  if (start?.type !== 'http.response.start') throw new Error('no start');
  return {
    status: start.status,
    headers: [...(start.headers ?? [])].map(([k, v]) => [String(k), String(v)]),
  };
};

// ---- Express, through both clients --------------------------------------------------------------

bothWays('a mounted Express router sees its params and the path below the mount', async (t, open) => {
  const legacy = expressApp();
  const router = express.Router();
  router.get('/users/:id', (req, res) => {
    res.json({
      id: req.params.id,
      url: req.url,
      originalUrl: req.originalUrl,
      baseUrl: req.baseUrl,
      path: req.path,
      query: req.query,
    });
  });
  legacy.use('/api', router);
  const client = await open(mounted(legacy));
  const res = await client.request('GET', '/legacy/api/users/42?sort=asc');
  t.is(res.status, 200);
  t.deepEqual(JSON.parse(res.text), {
    id: '42',
    url: '/users/42?sort=asc',
    originalUrl: '/legacy/api/users/42?sort=asc',
    baseUrl: '/legacy/api',
    path: '/users/42',
    query: { sort: 'asc' },
  });
  t.is((await client.request('GET', '/legacy/api/nothing')).status, 404);
});

bothWays('express.json() parses a JSON body, and answers 400 and 413 itself', async (t, open) => {
  const legacy = expressApp();
  legacy.use(express.json({ limit: '1kb' }));
  legacy.post('/echo', (req, res) => {
    res.status(201).json({ got: req.body as unknown });
  });
  const client = await open(mounted(legacy));
  const json = { 'content-type': 'application/json' };
  const ok = await client.request('POST', '/legacy/echo', { headers: json, body: '{"a":[1,2],"b":"é"}' });
  t.is(ok.status, 201);
  t.deepEqual(JSON.parse(ok.text), { got: { a: [1, 2], b: 'é' } });
  t.is((await client.request('POST', '/legacy/echo', { headers: json, body: '{"a":' })).status, 400);
  const big = JSON.stringify({ x: 'y'.repeat(4096) });
  t.is((await client.request('POST', '/legacy/echo', { headers: json, body: big })).status, 413);
});

bothWays('a streamed response arrives whole, chunk after chunk', async (t, open) => {
  const legacy = expressApp();
  legacy.get('/stream', async (_req, res) => {
    res.type('text/plain');
    for (const word of ['one', 'two', 'three', 'four']) {
      res.write(`${word}\n`);
      await sleep(5);
    }
    res.end('end\n');
  });
  const client = await open(mounted(legacy));
  const res = await client.request('GET', '/legacy/stream');
  t.is(res.status, 200);
  t.is(res.text, 'one\ntwo\nthree\nfour\nend\n');
  t.is(res.header('content-length'), null);
});

serverOnly(
  'each chunk of a streamed response reaches the client before the next is written',
  async (t, open) => {
    const steps = [gate(), gate(), gate()];
    const client = await open(
      mounted(async (_req, res) => {
        res.setHeader('content-type', 'text/plain');
        for (const [i, step] of steps.entries()) {
          res.write(`chunk ${i};`);
          await step.promise;
        }
        res.end();
      }),
    );
    const res = await client.fetch('/legacy/');
    const reader = res.body!.getReader();
    let text = '';
    for (const [i, step] of steps.entries()) {
      while (!text.endsWith(`chunk ${i};`)) text += Buffer.from((await reader.read()).value!).toString();
      step.open();
    }
    t.is(text, 'chunk 0;chunk 1;chunk 2;');
    t.true((await reader.read()).done);
  },
);

bothWays('a large upload streams through with backpressure', async (t, open) => {
  const total = 32 * MiB;
  const { body, produced } = upload(total, 64 * 1024);
  let producedWhilePaused = 0;
  const legacy = expressApp();
  legacy.post('/upload', (req, res) => {
    const hash = createHash('sha256');
    let size = 0;
    let paused = false;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
      if (!paused && size >= MiB) {
        paused = true;
        req.pause();
        setTimeout(() => {
          producedWhilePaused = produced();
          req.resume();
        }, 200);
      }
    });
    req.on('end', () => res.json({ size, sha256: hash.digest('hex') }));
  });
  const expected = createHash('sha256');
  for await (const chunk of upload(total, 64 * 1024).body) expected.update(chunk);
  const client = await open(mounted(legacy));
  const res = await client.request('POST', '/legacy/upload', { body });
  t.deepEqual(JSON.parse(res.text), { size: total, sha256: expected.digest('hex') });
  // While the handler paused, the client could only get as far as the buffers in between allow. The
  // native TestClient's in-memory connection takes every byte at once, so it shows nothing here.
  if (client.kind === 'server' || process.env.STARLING_TESTCLIENT === 'in-process')
    t.true(producedWhilePaused < total / 2, `${producedWhilePaused} bytes produced during the pause`);
});

bothWays('Set-Cookie with several values comes out as several headers', async (t, open) => {
  const legacy = expressApp();
  legacy.get('/express', (_req, res) => {
    res.cookie('a', '1', { httpOnly: true });
    res.cookie('b', '2');
    res.send('ok');
  });
  const client = await open(
    new Starling({
      routes: [
        new Mount('/legacy', { app: fromNodeHandler(legacy) }),
        new Mount('/plain', {
          app: fromNodeHandler((_req, res) => {
            res.setHeader('Set-Cookie', ['c=3; Path=/', 'd=4; Path=/']);
            res.setHeader('X-Multi', ['x', 'y']);
            res.end();
          }),
        }),
      ],
    }),
  );
  const express_ = await client.request('GET', '/legacy/express');
  t.deepEqual(express_.headerAll('set-cookie'), ['a=1; Path=/; HttpOnly', 'b=2; Path=/']);
  const plain = await client.request('GET', '/plain/');
  t.deepEqual(plain.headerAll('set-cookie'), ['c=3; Path=/', 'd=4; Path=/']);
  t.is(plain.header('x-multi'), 'x, y');
});

bothWays('an error in an Express route gets Express’s 500', async (t, open) => {
  const legacy = expressApp();
  legacy.get('/sync', () => {
    throw new Error('sync boom');
  });
  legacy.get('/async', async () => {
    await sleep(1);
    throw new Error('async boom');
  });
  const client = await open(mounted(legacy));
  for (const path of ['/legacy/sync', '/legacy/async']) {
    const res = await client.request('GET', path);
    t.is(res.status, 500);
    t.regex(res.text, /Error: (a)?sync boom/);
  }
});

bothWays('a HEAD request to an Express GET route gets the headers and no body', async (t, open) => {
  const legacy = expressApp();
  legacy.get('/doc', (_req, res) => {
    res.send('twelve bytes');
  });
  const client = await open(mounted(legacy));
  const res = await client.request('HEAD', '/legacy/doc');
  t.is(res.status, 200);
  t.is(res.header('content-length'), '12');
  t.is(res.text, '');
});

bothWays('a writeHead wrapper (on-headers style) still runs on the implicit head', async (t, open) => {
  const legacy = expressApp();
  legacy.use((_req, res, next) => {
    const writeHead = res.writeHead;
    const started = Date.now();
    res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
      this.setHeader('x-response-time', `${Date.now() - started}ms`);
      return writeHead.apply(this, args);
    } as typeof writeHead;
    next();
  });
  legacy.get('/', (_req, res) => {
    res.send('ok');
  });
  const client = await open(mounted(legacy));
  t.regex((await client.request('GET', '/legacy/')).header('x-response-time') ?? '', /^\d+ms$/);
});

// ---- Plain node:http handlers -------------------------------------------------------------------

bothWays('req carries the method, target, version, headers and client address', async (t, open) => {
  const client = await open(
    mounted((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          httpVersion: req.httpVersion,
          custom: req.headers['x-custom'],
          remoteAddress: req.socket.remoteAddress,
          rawHasCustom: req.rawHeaders.includes('Value'),
        }),
      );
    }),
  );
  const res = await client.request('PUT', '/legacy/a%20b/c?x=%20&y', { headers: { 'X-Custom': 'Value' } });
  const info = JSON.parse(res.text) as Record<string, unknown>;
  t.like(info, {
    method: 'PUT',
    url: '/a%20b/c?x=%20&y',
    httpVersion: '1.1',
    custom: 'Value',
    rawHasCustom: true,
  });
  t.is(info.remoteAddress, client.kind === 'server' ? '127.0.0.1' : 'testclient');
  t.is(JSON.parse((await client.request('GET', '/legacy')).text).url, '/');
});

bothWays('a handler that throws before answering gets a 500', async (t, open) => {
  const handlers: Record<string, NodeHandler> = {
    '/sync': () => {
      throw new Error('boom');
    },
    '/async': async () => {
      await sleep(1);
      throw new Error('boom');
    },
    '/emit': (_req, res) => {
      setTimeout(() => res.emit('error', new Error('boom')), 1);
    },
    '/headers-only': (_req, res) => {
      // Written but not sent: nothing reached the client, so a clean 500 is still possible.
      res.writeHead(200, { 'content-type': 'text/plain' });
      throw new Error('boom');
    },
  };
  const app = new Starling({
    routes: Object.entries(handlers).map(([path, h]) => new Mount(path, { app: fromNodeHandler(h) })),
  });
  const client = await open(app, { raise: false });
  for (const path of Object.keys(handlers)) t.is((await client.request('GET', path)).status, 500, path);
});

test('the handler’s own error reaches the TestClient intact', async (t) => {
  const boom = new Error('boom');
  const { TestClient } = await import('../../../src/testclient.ts');
  const client = new TestClient(
    fromNodeHandler(() => {
      throw boom;
    }),
  );
  t.is(await t.throwsAsync(client.get('/')), boom);
});

serverOnly('an error after the body started cuts the connection', async (t, open) => {
  const legacy = expressApp();
  legacy.get('/express', (_req, res, next) => {
    res.write('partial');
    setTimeout(() => next(new Error('late')), 5);
  });
  const client = await open(
    new Starling({
      routes: [
        new Mount('/legacy', { app: fromNodeHandler(legacy) }),
        new Mount('/plain', {
          app: fromNodeHandler((_req, res) => {
            res.write('partial');
            setTimeout(() => res.destroy(new Error('late')), 5);
          }),
        }),
      ],
    }),
  );
  for (const path of ['/legacy/express', '/plain/']) {
    const res = await client.fetch(path);
    t.is(res.status, 200);
    await t.throwsAsync(res.text(), { message: 'terminated' }, path);
  }
});

test('an error after the body started reaches the TestClient', async (t) => {
  const { TestClient } = await import('../../../src/testclient.ts');
  const late = new Error('late');
  const client = new TestClient(
    fromNodeHandler((_req, res) => {
      res.write('partial');
      setTimeout(() => res.destroy(late), 5);
    }),
  );
  t.is(await t.throwsAsync(client.get('/')), late);
});

serverOnly('a client that leaves closes res, and aborts a req still receiving', async (t, open) => {
  const closed = { get: gate(), post: gate<string[]>() };
  const client = await open(
    fromNodeHandler((req, res) => {
      if (req.method === 'GET') {
        const timer = setInterval(() => res.write('tick\n'), 5);
        res.on('close', () => {
          clearInterval(timer);
          closed.get.open();
        });
        return;
      }
      const events: string[] = [];
      req.on('data', () => {});
      req.on('aborted', () => events.push('req aborted'));
      req.on('close', () => events.push('req close'));
      res.on('close', () => {
        events.push('res close');
        setTimeout(() => closed.post.open(events), 20);
      });
    }),
  );
  const stop = new AbortController();
  const res = await client.fetch('/', { signal: stop.signal });
  await res.body!.getReader().read();
  stop.abort();
  await closed.get.promise;

  const upload = new AbortController();
  async function* never() {
    yield new TextEncoder().encode('start');
    await new Promise(() => {});
  }
  const pending = client.fetch('/', {
    method: 'POST',
    body: never() as unknown as RequestInit['body'],
    duplex: 'half',
    signal: upload.signal,
  } as RequestInit);
  await sleep(50);
  upload.abort();
  t.is(((await pending.catch((error: unknown) => error)) as Error).name, 'AbortError');
  t.deepEqual((await closed.post.promise).sort(), ['req aborted', 'req close', 'res close']);
});

// ---- At the ASGI level: exact messages, backpressure, disconnects -------------------------------

test('writeHead, setHeader and friends behave as on Node', async (t) => {
  const seen: Record<string, unknown> = {};
  const run = drive((_req, res) => {
    res.setHeader('X-Two', ['a', 'b']);
    res.setHeader('X-Gone', '1');
    seen.has = res.hasHeader('x-two');
    seen.get = res.getHeader('X-Two');
    res.removeHeader('x-gone');
    seen.before = res.headersSent;
    res.writeHead(201, { 'Content-Type': 'text/plain' });
    seen.after = res.headersSent;
    seen.message = res.statusMessage;
    seen.throws = (() => {
      try {
        res.setHeader('x-late', '1');
      } catch (error) {
        return (error as { code?: string }).code;
      }
    })();
    res.on('finish', () => (seen.finish = true));
    res.on('close', () => (seen.close = true));
    res.end('made', () => (seen.callback = true));
  });
  await run.done;
  await sleep(1);
  t.deepEqual(seen, {
    has: true,
    get: ['a', 'b'],
    before: false,
    after: true,
    message: 'Created',
    throws: 'ERR_HTTP_HEADERS_SENT',
    finish: true,
    close: true,
    callback: true,
  });
  t.deepEqual(startOf(run.sent), {
    status: 201,
    headers: [
      ['x-two', 'a'],
      ['x-two', 'b'],
      ['content-type', 'text/plain'],
    ],
  });
  t.is(run.body(), 'made');
});

test('end(data) adds Content-Length; a written body is streamed without it', async (t) => {
  const whole = drive((_req, res) => res.end('hello'));
  await whole.done;
  t.deepEqual(startOf(whole.sent).headers, [['content-length', '5']]);
  t.is(whole.sent.length, 2);

  const streamed = drive((_req, res) => {
    res.write('a');
    res.write(Buffer.from('b'));
    res.end('c');
  });
  await streamed.done;
  t.deepEqual(startOf(streamed.sent).headers, []);
  t.deepEqual(
    streamed.sent
      .slice(1)
      .map((m) => m.type === 'http.response.body' && [String(Buffer.from(m.body!)), m.more_body]),
    [
      ['a', true],
      ['b', true],
      ['c', false],
    ],
  );
});

test('flushHeaders sends the start at once; HEAD and 204 drop the body', async (t) => {
  const flushed = gate();
  const early = drive(async (_req, res) => {
    res.statusCode = 202;
    res.flushHeaders();
    await flushed.promise;
    res.end();
  });
  await sleep(1);
  t.deepEqual(
    early.sent.map((m) => m.type),
    ['http.response.start'],
  );
  flushed.open();
  await early.done;

  const head = drive((_req, res) => res.end('hidden'), { method: 'HEAD' });
  await head.done;
  t.is(head.body(), '');
  const empty = drive((_req, res) => {
    res.statusCode = 204;
    res.end('hidden');
  });
  await empty.done;
  t.is(empty.body(), '');
  t.deepEqual(startOf(empty.sent).headers, []);
});

test('misuse is answered as Node answers it', async (t) => {
  const seen: Record<string, unknown> = {};
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as { code?: string }).code;
    }
  };
  const run = drive((_req, res) => {
    seen.badStatus = code(() => res.writeHead(99));
    seen.badChunk = code(() => res.write(123));
    res.setHeader('x-a', 'old');
    res.writeHead(200, 'Fine', ['X-A', '1', 'X-A', '2', 'Content-Length', 3]);
    seen.message = res.statusMessage;
    res.write('', () => (seen.emptyWrite = true));
    res.end('abc', () => (seen.end = true));
    res.end(() => (seen.secondEnd = true));
    res.on('error', (error) => (seen.error = (error as { code?: string }).code));
    res.write('late', (error) => (seen.lateWrite = (error as { code?: string } | undefined)?.code));
  });
  await run.done;
  await sleep(1);
  t.deepEqual(seen, {
    badStatus: 'ERR_HTTP_INVALID_STATUS_CODE',
    badChunk: 'ERR_INVALID_ARG_TYPE',
    message: 'Fine',
    emptyWrite: true,
    end: true,
    secondEnd: true,
    error: 'ERR_STREAM_WRITE_AFTER_END',
    lateWrite: 'ERR_STREAM_WRITE_AFTER_END',
  });
  t.deepEqual(startOf(run.sent).headers, [
    ['x-a', '1'],
    ['x-a', '2'],
    ['content-length', '3'],
  ]);
  t.is(run.body(), 'abc');
});

test('write and end after destroy or after finish call back with the error Node gives', async (t) => {
  const seen: Record<string, unknown> = {};
  const codeOf = (error: unknown) => (error as { code?: string } | null | undefined)?.code;
  const finished = drive((_req, res) => {
    res.end('done', () => res.end((error?: Error | null) => (seen.endAfterFinish = codeOf(error))));
  });
  await finished.done;
  const destroyed = drive((req, res) => {
    req.socket.write('ignored', () => (seen.socketWrite = true)); // the stand-in socket swallows it
    res.destroy();
    res.write('x', (error) => (seen.write = codeOf(error)));
    res.end((error?: Error | null) => (seen.end = codeOf(error)));
  });
  await destroyed.done.catch(() => undefined);
  for (let i = 0; i < 100 && Object.keys(seen).length < 4; i++) await sleep(5);
  t.deepEqual(seen, {
    endAfterFinish: 'ERR_STREAM_ALREADY_FINISHED',
    socketWrite: true,
    write: 'ERR_STREAM_DESTROYED',
    end: 'ERR_STREAM_DESTROYED',
  });
});

test('the socket stands in for net.Socket, and says when the scheme is https', async (t) => {
  const legacy = express();
  legacy.get('/', (req, res) => {
    res.setTimeout(1000);
    req.socket.setTimeout(1000).setNoDelay(true).setKeepAlive(true).ref().unref();
    res.json({ protocol: req.protocol, secure: req.secure, address: req.socket.address() });
  });
  const run = drive(legacy, { scheme: 'https' });
  await run.done;
  t.deepEqual(JSON.parse(run.body()), {
    protocol: 'https',
    secure: true,
    address: { address: 'testserver', port: 80, family: 'IPv4' },
  });
});

test('a send() that fails fails the request with its error', async (t) => {
  const broken = new Error('connection broke');
  const run = drive(
    (_req, res) => {
      res.write('a');
      res.end('b');
    },
    { send: (m) => (m.type === 'http.response.body' ? Promise.reject(broken) : Promise.resolve()) },
  );
  t.is(await t.throwsAsync(run.done), broken);
  const thrown = drive((_req, res) => res.end('x'), {
    send: () => {
      throw broken;
    },
  });
  t.is(await t.throwsAsync(thrown.done), broken);
});

test('an error after the response is complete still comes out of the app', async (t) => {
  const late = new Error('after the response');
  const run = drive(async (_req, res) => {
    res.end('done');
    await sleep(1);
    throw late;
  });
  t.is(await t.throwsAsync(run.done), late);
  t.is(run.body(), 'done');
});

test('req.headers joins repeated headers as Node does; rawHeaders keeps them apart', async (t) => {
  let req!: IncomingMessage;
  const run = drive(
    (r, res) => {
      req = r;
      res.end();
    },
    {
      headers: [
        ['Accept', 'text/html'],
        ['accept', 'application/json'],
        ['cookie', 'a=1'],
        ['cookie', 'b=2'],
        ['host', 'example.com'],
      ],
    },
  );
  await run.done;
  t.like(req.headers, { accept: 'text/html, application/json', cookie: 'a=1; b=2', host: 'example.com' });
  t.deepEqual(req.rawHeaders.slice(0, 4), ['accept', 'text/html', 'accept', 'application/json']);
  t.true(req.complete);
});

test('write() returns false while send() is pending, and "drain" follows it', async (t) => {
  let produced = 0;
  const source = Readable.from(
    (function* () {
      for (; produced < 100; produced++) yield `chunk ${produced};`;
    })(),
  );
  const events: unknown[] = [];
  const run = drive(
    (_req, res) => {
      events.push(res.write('first;'));
      res.once('drain', () => events.push('drain'));
      source.pipe(res);
    },
    { blockSends: true },
  );
  await sleep(20);
  t.deepEqual(events, [false]);
  t.true(produced < 40, `${produced} chunks produced while the client took none`);
  while (
    run.sent.at(-1)?.type !== 'http.response.body' ||
    (run.sent.at(-1) as { more_body?: boolean }).more_body
  ) {
    run.release();
    await sleep(0);
  }
  await run.done;
  t.deepEqual(events, [false, 'drain']);
  t.is(run.body(), 'first;' + Array.from({ length: 100 }, (_, i) => `chunk ${i};`).join(''));
});

test('the body is received only as fast as the handler reads it', async (t) => {
  const chunk = { type: 'http.request', body: new Uint8Array(16 * 1024), more_body: true } as const;
  const incoming: ReceiveMessage[] = [...Array.from({ length: 99 }, () => chunk)];
  incoming.push({ type: 'http.request', body: new Uint8Array(16 * 1024), more_body: false });
  const resume = gate();
  const run = drive(
    (req, res) => {
      let size = 0;
      req.once('data', () => {
        req.pause();
        void resume.promise.then(() => req.resume());
      });
      req.on('data', (data: Buffer) => (size += data.length));
      req.on('end', () => res.end(String(size)));
    },
    { method: 'POST', incoming },
  );
  await sleep(20);
  const whilePaused = run.receives();
  t.true(whilePaused <= 4, `${whilePaused} receive() calls while the handler paused`);
  resume.open();
  await run.done;
  t.is(run.body(), String(100 * 16 * 1024));
});

test('a handler runs before the body it announced arrives, and may answer first', async (t) => {
  const body = gate<ReceiveMessage>();
  const run = drive(
    (req, res) => {
      res.write('ready;');
      req.pipe(res);
    },
    { method: 'POST', headers: [['content-length', '5']], incoming: [], hold: body.promise },
  );
  await sleep(5);
  t.is(run.body(), 'ready;');
  body.open({ type: 'http.request', body: new TextEncoder().encode('ping;'), more_body: false });
  await run.done;
  t.is(run.body(), 'ready;ping;');
});

test('a disconnect aborts req and closes res, and the app returns', async (t) => {
  const events: string[] = [];
  const run = drive(
    (req, res) => {
      req.on('data', () => {});
      req.on('aborted', () => events.push('req aborted'));
      req.on('error', (error) => events.push(`req error ${(error as { code?: string }).code}`));
      req.on('close', () => events.push('req close'));
      res.on('close', () => events.push('res close'));
    },
    {
      method: 'POST',
      incoming: [
        { type: 'http.request', body: new Uint8Array(10), more_body: true },
        { type: 'http.disconnect' },
      ],
    },
  );
  await run.done;
  await sleep(5);
  t.deepEqual(events.sort(), ['req aborted', 'req close', 'req error ECONNRESET', 'res close']);
  t.deepEqual(run.sent, []);
});

test('a disconnect after the body stops a streaming handler that never read req', async (t) => {
  const gone = gate<ReceiveMessage>();
  let writes = 0;
  const run = drive(
    (_req, res) => {
      const timer = setInterval(() => (writes++, res.write('tick')), 1);
      res.on('close', () => clearInterval(timer));
    },
    { hold: gone.promise },
  );
  await sleep(10);
  gone.open({ type: 'http.disconnect' });
  await run.done;
  const after = writes;
  await sleep(10);
  t.is(writes, after);
  t.true(after > 0);
});

test('a WebSocket scope is refused and a lifespan scope ignored', async (t) => {
  const app = fromNodeHandler(() => t.fail('the handler must not run'));
  const sent: SendMessage[] = [];
  const never = () => new Promise<ReceiveMessage>(() => {});
  await app(makeScope('/', { type: 'websocket' }), never, async (m) => void sent.push(m));
  t.deepEqual(sent, [{ type: 'websocket.close', code: 1000 }]);
  await app({ type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } }, never, async () => t.fail());
});
