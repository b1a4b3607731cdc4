import test from 'ava';
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { stream, streamText } from 'hono/streaming';
import type { ReceiveMessage, SendMessage } from '../../../src/asgi.ts';
import { Starling } from '../../../src/applications.ts';
import { fromFetchHandler, type FetchHandler } from '../../../src/middleware/node/index.ts';
import { Mount } from '../../../src/routing.ts';
import { TestClient } from '../../../src/testclient.ts';
import { makeScope } from '../../_asgi.ts';
import { bothWays, drive as driveApp, gate, serverOnly, upload, type DriveOptions } from './_clients.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A Hono app whose errors answer with their message (Hono's default handler logs to the console). */
function honoApp(): Hono {
  const hono = new Hono();
  hono.onError((error, c) => c.text(`handled: ${error.message}`, 500));
  return hono;
}

const mounted = (handler: FetchHandler) =>
  new Starling({ routes: [new Mount('/hono', { app: fromFetchHandler(handler) })] });

/** Drives a fetch handler at the ASGI level (see `drive` in `_clients.ts`). */
const drive = (handler: FetchHandler, options?: DriveOptions) => driveApp(fromFetchHandler(handler), options);

// ---- Hono, through both clients -----------------------------------------------------------------

bothWays('a mounted Hono app sees its params and a URL below the mount', async (t, open) => {
  const hono = honoApp();
  hono.get('/users/:id', (c) => {
    const url = new URL(c.req.url);
    return c.json({ id: c.req.param('id'), path: c.req.path, search: url.search, sort: c.req.query('sort') });
  });
  hono.get('/', (c) => c.text(`root ${c.req.path}`));
  const client = await open(mounted(hono.fetch));
  const res = await client.request('GET', '/hono/users/42?sort=asc');
  t.is(res.status, 200);
  t.deepEqual(JSON.parse(res.text), { id: '42', path: '/users/42', search: '?sort=asc', sort: 'asc' });
  t.is((await client.request('GET', '/hono')).text, 'root /');
  t.is((await client.request('GET', '/hono/missing')).status, 404);
});

bothWays('a Hono app reads a JSON body', async (t, open) => {
  const hono = honoApp();
  hono.post('/echo', async (c) => c.json({ got: await c.req.json<unknown>() }, 201));
  const client = await open(mounted(hono.fetch));
  const res = await client.request('POST', '/hono/echo', {
    headers: { 'content-type': 'application/json' },
    body: '{"a":[1,2],"b":"é"}',
  });
  t.is(res.status, 201);
  t.deepEqual(JSON.parse(res.text), { got: { a: [1, 2], b: 'é' } });
});

bothWays('a Hono streamed body arrives whole; a one-piece body gets a Content-Length', async (t, open) => {
  const hono = honoApp();
  hono.get('/stream', (c) =>
    stream(c, async (s) => {
      for (const word of ['one', 'two', 'three']) {
        await s.write(`${word}\n`);
        await s.sleep(5);
      }
    }),
  );
  hono.get('/text', (c) => c.text('hello there'));
  // streamText sets Transfer-Encoding: chunked; the body is complete at once, so it gets a length.
  hono.get('/burst', (c) => streamText(c, async (s) => void (await s.write('a'), await s.write('b'))));
  const client = await open(mounted(hono.fetch));
  const streamed = await client.request('GET', '/hono/stream');
  t.is(streamed.text, 'one\ntwo\nthree\n');
  t.is(streamed.header('content-length'), null);
  const text = await client.request('GET', '/hono/text');
  t.is(text.text, 'hello there');
  t.is(text.header('content-length'), '11');
  const burst = await client.request('GET', '/hono/burst');
  t.is(burst.text, 'ab');
  t.is(burst.header('transfer-encoding'), null);
});

serverOnly('each chunk of a Hono stream reaches the client before the next is written', async (t, open) => {
  const steps = [gate(), gate(), gate()];
  const hono = honoApp();
  hono.get('/', (c) =>
    streamText(c, async (s) => {
      for (const [i, step] of steps.entries()) {
        await s.write(`chunk ${i};`);
        await step.promise;
      }
    }),
  );
  const client = await open(mounted(hono.fetch));
  const reader = (await client.fetch('/hono/')).body!.getReader();
  let text = '';
  for (const [i, step] of steps.entries()) {
    while (!text.endsWith(`chunk ${i};`)) text += Buffer.from((await reader.read()).value!).toString();
    step.open();
  }
  t.true((await reader.read()).done);
  t.is(text, 'chunk 0;chunk 1;chunk 2;');
});

bothWays('Set-Cookie with several values comes out as several headers', async (t, open) => {
  const hono = honoApp();
  hono.get('/', (c) => {
    setCookie(c, 'a', '1', { httpOnly: true });
    setCookie(c, 'b', '2');
    return c.text('ok');
  });
  const client = await open(
    new Starling({
      routes: [
        new Mount('/hono', { app: fromFetchHandler(hono.fetch) }),
        new Mount('/plain', {
          app: fromFetchHandler(() => {
            const headers = new Headers([
              ['set-cookie', 'c=3'],
              ['set-cookie', 'd=4'],
            ]);
            return new Response(null, { status: 204, headers });
          }),
        }),
      ],
    }),
  );
  t.deepEqual((await client.request('GET', '/hono/')).headerAll('set-cookie'), [
    'a=1; Path=/; HttpOnly',
    'b=2; Path=/',
  ]);
  const plain = await client.request('GET', '/plain/');
  t.is(plain.status, 204);
  t.deepEqual(plain.headerAll('set-cookie'), ['c=3', 'd=4']);
});

bothWays('errors before the response get a 500', async (t, open) => {
  const hono = honoApp();
  hono.get('/', () => {
    throw new Error('in a route');
  });
  const handlers: Record<string, FetchHandler> = {
    '/throws': () => {
      throw new Error('boom');
    },
    '/rejects': async () => {
      await sleep(1);
      throw new Error('boom');
    },
    '/not-a-response': () => 'text' as unknown as Response,
    '/first-read-fails': () =>
      new Response(
        new ReadableStream({
          pull: () => Promise.reject(new Error('body failed')),
        }),
      ),
  };
  const app = new Starling({
    routes: [
      new Mount('/hono', { app: fromFetchHandler(hono.fetch) }),
      ...Object.entries(handlers).map(([path, h]) => new Mount(path, { app: fromFetchHandler(h) })),
    ],
  });
  const client = await open(app, { raise: false });
  const fromHono = await client.request('GET', '/hono/');
  t.is(fromHono.status, 500);
  t.is(fromHono.text, 'handled: in a route');
  for (const path of Object.keys(handlers)) t.is((await client.request('GET', path)).status, 500, path);
});

/** A body that fails once `fail` resolves, after its first chunk. */
const failsMidway =
  (fail: Promise<void>): FetchHandler =>
  () => {
    let sent = false;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent) {
            await fail;
            throw new Error('late');
          }
          sent = true;
          controller.enqueue(new TextEncoder().encode('partial'));
        },
      }),
    );
  };

serverOnly('a body that fails after it started cuts the connection', async (t, open) => {
  const seen = gate();
  const client = await open(fromFetchHandler(failsMidway(seen.promise)));
  const res = await client.fetch('/');
  t.is(res.status, 200);
  const reader = res.body!.getReader();
  t.is(Buffer.from((await reader.read()).value!).toString(), 'partial');
  seen.open();
  await t.throwsAsync(reader.read(), { message: 'terminated' });
});

test('a body that fails after it started reaches the TestClient with its error', async (t) => {
  const client = new TestClient(fromFetchHandler(failsMidway(sleep(20))));
  await t.throwsAsync(client.get('/'), { message: 'late' });
});

bothWays('a large upload streams through with backpressure', async (t, open) => {
  const total = 32 * MiB;
  const { body, produced } = upload(total, 64 * 1024);
  let producedWhilePaused = 0;
  const client = await open(
    fromFetchHandler(async (request) => {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of request.body!) {
        hash.update(chunk);
        if (size < MiB && size + chunk.length >= MiB) {
          await sleep(200);
          producedWhilePaused = produced();
        }
        size += chunk.length;
      }
      return Response.json({ size, sha256: hash.digest('hex') });
    }),
  );
  const expected = createHash('sha256');
  for await (const chunk of upload(total, 64 * 1024).body) expected.update(chunk);
  const res = await client.request('POST', '/', { body });
  t.deepEqual(JSON.parse(res.text), { size: total, sha256: expected.digest('hex') });
  // As in the Node spec: the native TestClient's in-memory connection takes every byte at once.
  if (client.kind === 'server' || process.env.STARLING_TESTCLIENT === 'in-process')
    t.true(producedWhilePaused < total / 2, `${producedWhilePaused} bytes produced during the pause`);
});

serverOnly('a client that leaves aborts request.signal and cancels the Hono stream', async (t, open) => {
  const aborted = { signal: gate(), stream: gate() };
  const hono = honoApp();
  hono.get('/', (c) => {
    c.req.raw.signal.addEventListener('abort', () => aborted.signal.open());
    return stream(c, async (s) => {
      s.onAbort(() => aborted.stream.open());
      while (!s.aborted) {
        await s.write('tick\n');
        await s.sleep(5);
      }
    });
  });
  const client = await open(fromFetchHandler(hono.fetch));
  const stop = new AbortController();
  const res = await client.fetch('/', { signal: stop.signal });
  await res.body!.getReader().read();
  stop.abort();
  await Promise.all([aborted.signal.promise, aborted.stream.promise]);
  t.pass();
});

// ---- At the ASGI level ---------------------------------------------------------------------------

test('the request body is received only as the handler reads it', async (t) => {
  const chunk = { type: 'http.request', body: new Uint8Array(1024), more_body: true } as const;
  const incoming: ReceiveMessage[] = Array.from({ length: 50 }, () => chunk);
  incoming.push({ type: 'http.request', body: new Uint8Array(0), more_body: false });
  const resume = gate();
  const run = drive(
    async (request) => {
      const reader = request.body!.getReader();
      let size = (await reader.read()).value!.length;
      await resume.promise;
      for (let r = await reader.read(); !r.done; r = await reader.read()) size += r.value.length;
      return new Response(String(size));
    },
    { method: 'POST', incoming },
  );
  await sleep(20);
  t.true(run.receives() <= 2, `${run.receives()} receive() calls while the handler waited`);
  resume.open();
  await run.done;
  t.is(run.body(), String(50 * 1024));
});

test('a handler runs before the body it announced arrives', async (t) => {
  const body = gate<ReceiveMessage>();
  let called = false;
  const run = drive(async (request) => ((called = true), new Response(`got ${await request.text()}`)), {
    method: 'POST',
    headers: [['content-length', '5']],
    incoming: [],
    hold: body.promise,
  });
  await sleep(5);
  t.true(called);
  body.open({ type: 'http.request', body: new TextEncoder().encode('ping;'), more_body: false });
  await run.done;
  t.is(run.body(), 'got ping;');
});

test('the response body is pulled only as send() takes it', async (t) => {
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (++pulls > 20) return controller.close();
        await sleep(1);
        controller.enqueue(new TextEncoder().encode(`${pulls};`));
      },
    },
    { highWaterMark: 0 },
  );
  const run = drive(() => new Response(body), { blockSends: true });
  await sleep(30);
  t.true(pulls <= 3, `${pulls} chunks pulled while the client took none`);
  while (
    run.sent.at(-1)?.type !== 'http.response.body' ||
    (run.sent.at(-1) as { more_body?: boolean }).more_body
  ) {
    run.release();
    await sleep(2);
  }
  await run.done;
  t.is(run.body(), Array.from({ length: 20 }, (_, i) => `${i + 1};`).join(''));
});

test('a body produced at once is gathered up to 64 KiB, then streamed as sent', async (t) => {
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (++pulls > 100) controller.close();
        else controller.enqueue(new Uint8Array(16 * 1024).fill(pulls));
      },
    },
    { highWaterMark: 0 },
  );
  const run = drive(() => new Response(body), { blockSends: true });
  await sleep(30);
  t.true(pulls <= 6, `${pulls} chunks pulled while the client took none`);
  const first = run.sent[1];
  t.is(first?.type === 'http.response.body' && first.body?.length, 64 * 1024);
  while (
    run.sent.at(-1)?.type !== 'http.response.body' ||
    (run.sent.at(-1) as { more_body?: boolean }).more_body
  ) {
    run.release();
    await sleep(0);
  }
  await run.done;
  t.is(
    Buffer.concat(run.sent.flatMap((m) => (m.type === 'http.response.body' ? [m.body as Uint8Array] : [])))
      .length,
    100 * 16 * 1024,
  );
});

test('HEAD and 204 answers carry no body', async (t) => {
  const head = drive(() => new Response('hidden', { headers: { 'content-length': '6' } }), {
    method: 'HEAD',
  });
  await head.done;
  t.is(head.body(), '');
  const empty = drive(() => new Response(null, { status: 204 }));
  await empty.done;
  t.deepEqual(
    empty.sent.map((m) => m.type),
    ['http.response.start', 'http.response.body'],
  );
});

test('a disconnect before the answer aborts request.signal and sends nothing', async (t) => {
  const gone = gate<ReceiveMessage>();
  const run = drive(
    (request) =>
      new Promise<Response>((resolve) =>
        request.signal.addEventListener('abort', () => resolve(new Response('too late'))),
      ),
    { hold: gone.promise },
  );
  await sleep(5);
  gone.open({ type: 'http.disconnect' });
  await run.done;
  t.deepEqual(run.sent, []);
});

test("without a usable Host header, request.url's origin is the server address, else localhost", async (t) => {
  const urls: string[] = [];
  const app = fromFetchHandler((request) => {
    urls.push(request.url);
    return new Response('');
  });
  for (const server of [['::1', 8000] as [string, number], null]) {
    const scope = makeScope('/p?q=1', { headers: { host: 'not a host' }, server });
    await app(
      scope,
      async () => ({ type: 'http.request', body: new Uint8Array(0), more_body: false }),
      async () => {},
    );
  }
  t.deepEqual(urls, ['http://[::1]:8000/p?q=1', 'http://localhost/p?q=1']);
});

test('a WebSocket scope is refused', async (t) => {
  const sent: SendMessage[] = [];
  await fromFetchHandler(() => t.fail() as never)(
    makeScope('/', { type: 'websocket' }),
    () => new Promise(() => {}),
    async (m) => void sent.push(m),
  );
  t.deepEqual(sent, [{ type: 'websocket.close', code: 1000 }]);
});
