import test from 'ava';
import { lstatSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { ASGIFunction, HTTPScope, Receive, Scope, Send } from '../src/asgi.ts';
import { Request } from '../src/requests.ts';
import { serve, type ServeOptions, type Server } from '../src/server/index.ts';
import { answerHeaders, headersText, packHeaders } from '../src/server/headers.ts';
import { internLatin1 } from '../src/_utils.ts';
import { loadAddon } from '../src/server/native.ts';
import { trustedProxy } from '../src/server/proxy.ts';
import { httpScope } from '../src/server/scope.ts';
import { Kind, Request as Rec } from '../src/server/wire.ts';
import { connect, exchange, readAll, readUntil, sleep, statusLines } from './_net.ts';

const quiet: ServeOptions = { port: 0, accessLog: false, logLevel: 'critical', lifespan: 'off' };

async function withServer(app: ASGIFunction, options: ServeOptions, run: (s: Server) => Promise<void>) {
  const server = await serve(app, { ...quiet, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

async function readBody(receive: Receive): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const m = await receive();
    if (m.type !== 'http.request') return Buffer.concat(parts);
    parts.push(Buffer.from(m.body));
    if (!m.more_body) return Buffer.concat(parts);
  }
}

const text =
  (body: string, status = 200): ASGIFunction =>
  async (scope, _r, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body });
  };

const echo: ASGIFunction = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const body = await readBody(receive);
  await send({ type: 'http.response.start', status: 200, headers: [['x-length', String(body.length)]] });
  await send({ type: 'http.response.body', body });
};

test('serves a request over a real socket with date and server headers', async (t) => {
  await withServer(text('Hello, world!'), {}, async (server) => {
    t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.true(server.port > 0);
    const res = await fetch(server.url);
    t.is(res.status, 200);
    t.is(await res.text(), 'Hello, world!');
    t.is(res.headers.get('content-length'), '13');
    t.is(res.headers.get('server'), 'starling');
    t.truthy(res.headers.get('date'));
  });
});

test("every kind of answer carries the server header once, the app's own in its place, or none when configured so", async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'starling-server-')), 'f.txt');
  writeFileSync(file, 'file body');
  const app: ASGIFunction = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    const own = scope.path === '/own';
    await send({
      type: 'http.response.start',
      status: 200,
      headers: own ? [['server', 'mine']] : [['content-type', 'text/plain']],
    });
    if (scope.path === '/file') return void (await send({ type: 'http.response.pathsend', path: file }));
    if (scope.path === '/stream') await send({ type: 'http.response.body', body: 'a', more_body: true });
    await send({ type: 'http.response.body', body: 'b' });
  };
  const servers = async (server: Server) => {
    const got: (string | null)[] = [];
    // Twice each: the second answer of a header list comes from the core's kept blocks.
    for (const path of ['/', '/', '/stream', '/file', '/own', '/own']) {
      got.push((await fetch(server.url + path)).headers.get('server'));
    }
    const big = await fetch(server.url, { method: 'POST', body: 'x'.repeat(2048) });
    got.push(`${big.status} ${big.headers.get('server')}`);
    return got;
  };
  await withServer(app, { maxBodySize: 1024 }, async (server) => {
    t.deepEqual(await servers(server), [
      'starling',
      'starling',
      'starling',
      'starling',
      'mine',
      'mine',
      '413 starling',
    ]);
  });
  await withServer(app, { serverHeader: 'other', maxBodySize: 1024 }, async (server) => {
    t.deepEqual((await servers(server)).slice(0, 4), ['other', 'other', 'other', 'other']);
  });
  await withServer(app, { serverHeader: '', maxBodySize: 1024 }, async (server) => {
    t.deepEqual(await servers(server), [null, null, null, null, 'mine', 'mine', '413 null']);
  });
});

test('the scope carries ASGI keys: decoded path, raw path, query, lower-case headers, addresses', async (t) => {
  let seen: HTTPScope | undefined;
  const app: ASGIFunction = async (scope, receive, send) => {
    seen = { ...(scope as HTTPScope) };
    await text('ok')(scope, receive, send);
  };
  await withServer(app, { rootPath: '/api' }, async (server) => {
    await fetch(`${server.url}/caf%C3%A9/a%20b?q=1&r=%20`, { headers: { 'X-Custom': 'Yes' } });
  });
  const scope = seen!;
  t.is(scope.type, 'http');
  t.deepEqual(scope.asgi, { version: '3.0', spec_version: '2.4' });
  t.is(scope.http_version, '1.1');
  t.is(scope.method, 'GET');
  t.is(scope.scheme, 'http');
  t.is(scope.path, '/api/café/a b');
  t.is(scope.root_path, '/api');
  t.is(Buffer.from(scope.raw_path).toString(), '/caf%C3%A9/a%20b');
  t.is(Buffer.from(scope.query_string).toString(), 'q=1&r=%20');
  const headers = scope.headers.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]);
  t.deepEqual(
    headers.find(([k]) => k === 'x-custom'),
    ['x-custom', 'Yes'],
  );
  t.is(scope.client?.[0], '127.0.0.1');
  t.is(typeof scope.client?.[1], 'number');
  t.is(scope.server?.[0], '127.0.0.1');
  t.truthy(scope.extensions?.['http.response.pathsend']);
});

test('response headers are packed as latin-1 text from strings, bytes and any iterable', (t) => {
  t.is(packHeaders(undefined), null);
  t.is(packHeaders([]), '');
  const packed = 'a\0é\0b\0\xff\0';
  t.is(
    packHeaders([
      ['a', 'é'],
      [Buffer.from('b'), new Uint8Array([0xff])],
    ]),
    packed,
  );
  t.is(packHeaders(new Set([['a', 'é'] as [string, string], ['b', '\xff'] as [string, string]])), packed);
  const pair = (name: string, value: string) => new Set([name, value]) as unknown as [string, string];
  t.is(packHeaders([pair('a', 'é'), pair('b', '\xff')]), packed);
  const long = 'v'.repeat(300);
  t.is(packHeaders([[Buffer.from('x'), Buffer.from(long, 'latin1')]]), `x\0${long}\0`);
});

test('a list of interned header arrays is packed once; any other pair or order is packed afresh', (t) => {
  const [name, value, other, type] = ['x-memo', '42', 'x-other', 'memo'].map(internLatin1) as Uint8Array[];
  const first = packHeaders([
    [name!, value!],
    [other!, type!],
  ]);
  t.is(first, 'x-memo\x0042\0x-other\0memo\0');
  // The very same string again, from new lists of the same arrays.
  t.is(
    packHeaders([
      [name!, value!],
      [other!, type!],
    ]),
    first,
  );
  t.is(packHeaders([[name!, value!]]), 'x-memo\x0042\0');
  t.is(
    packHeaders([
      [name!, value!],
      [type!, other!],
    ]),
    'x-memo\x0042\0memo\0x-other\0',
  );
  t.is(
    packHeaders([
      [name!, value!],
      [other!, Buffer.from('memo')],
    ]),
    first,
  );
  t.is(
    packHeaders([
      [name!, value!],
      ['x-other', 'text/else'],
    ]),
    'x-memo\x0042\0x-other\0text/else\0',
  );
  // A pair given as another iterable is read as a pair, never mistaken for the kept list.
  const pairs = [
    [name!, value!] as [Uint8Array, Uint8Array],
    new Set([other!, type!]) as unknown as [Uint8Array, Uint8Array],
  ];
  t.is(packHeaders(pairs), first);
});

test('a list packed once before answers by the id the addon files it under; the text where no id is given', (t) => {
  const [name, value] = ['x-answer', 'filed'].map((s) => internLatin1(s)) as [Uint8Array, Uint8Array];
  const filed: string[] = [];
  const register = (text: string) => (filed.push(text), 7000 + filed.length);
  const list = () => [[name, value] as [Uint8Array, Uint8Array]];
  // First seen: packed as text (and kept); second: filed once, then the same id every time.
  t.is(answerHeaders(list(), register), 'x-answer\0filed\0');
  t.is(answerHeaders(list(), register), 7001);
  t.is(answerHeaders(list(), register), 7001);
  t.deepEqual(filed, ['x-answer\0filed\0']);
  t.is(headersText(7001), 'x-answer\0filed\0');
  t.is(headersText('a\0b\0'), 'a\0b\0');
  t.is(headersText(null), null);
  // Lists of strings, and a list the addon's full table refused, travel as text.
  t.is(answerHeaders([['x-plain', 'text']], register), 'x-plain\0text\0');
  const [other] = ['x-refused'].map((s) => internLatin1(s)) as [Uint8Array];
  const full = () => -1;
  t.is(answerHeaders([[other, value]], full), 'x-refused\0filed\0');
  t.is(answerHeaders([[other, value]], full), 'x-refused\0filed\0');
  t.is(answerHeaders(undefined, full), null);
  t.true(loadAddon().registerHeaderList('x-real\0yes\0') >= 0);
});

test('packing refuses CR, LF, NUL and other controls in values, and names that are not tokens', (t) => {
  for (const value of ['a\r\nx-injected: yes', 'a\nb', 'a\rb', 'a\0b', '\x01', '\x7f', '\u0100']) {
    t.throws(
      () => packHeaders([['x-ok', value]]),
      { message: /Invalid HTTP header value for 'x-ok'/ },
      value,
    );
  }
  for (const name of ['', 'x bad', 'x:y', 'x\r\ny', 'x\0y', 'ü', '(x)', 'a/b']) {
    t.throws(() => packHeaders([[name, 'v']]), { message: /Invalid HTTP header name/ }, name);
  }
  t.throws(() => packHeaders([[Buffer.from('x-ok'), Buffer.from('a\r\nb')]]), { name: 'RuntimeError' });
  // A value repeated after it was found valid is still packed; tab, latin-1 and token names pass.
  for (let i = 0; i < 2; i++) {
    t.is(packHeaders([["X-Tok!#$%&'*+-.^_`|~9", 'a\tb é\xff']]), "X-Tok!#$%&'*+-.^_`|~9\0a\tb é\xff\0");
  }
});

test('scope addresses are read from the record, unknown ones as null, once per connection', (t) => {
  // Serials no real connection of this process reaches: the addresses are kept by serial.
  const FAKE = 0xfff00000;
  const scope = (addrs: string, conn: number) => {
    const strs = 'GET/' + addrs;
    const meta = new Uint32Array(Rec.length);
    meta[0] = Kind.Request;
    meta[Rec.flags] = 1 << 2;
    [meta[Rec.methodAt], meta[Rec.methodLen], meta[Rec.pathAt], meta[Rec.pathLen]] = [0, 3, 3, 1];
    [meta[Rec.queryAt], meta[Rec.headersAt], meta[Rec.addrsAt], meta[Rec.addrsLen]] = [4, 4, 4, addrs.length];
    meta[Rec.conn] = conn;
    return httpScope(meta, 0, strs, '', {});
  };
  const known = scope('10.0.0.7\x0065535\0::1\x008000\0https', FAKE + 7);
  t.deepEqual(known.client, ['10.0.0.7', 65535]);
  t.deepEqual(known.server, ['::1', 8000]);
  t.is(known.scheme, 'https');
  t.true(Buffer.isBuffer(known.raw_path));
  const unknown = scope('\0\0\0\0', FAKE + 8);
  t.is(unknown.client, null);
  t.is(unknown.server, null);
  t.is(unknown.scheme, 'http');
  // The next request of connection 7 shares its first request's addresses, frozen so no scope can
  // change another's; a connection whose serial lands on the same slot has its own parsed.
  const again = scope('10.0.0.7\x0065535\0::1\x008000\0https', FAKE + 7);
  t.is(again.client, known.client);
  t.true(Object.isFrozen(again.client));
  const collided = scope('10.0.0.9\x001\0::1\x008000\0http', FAKE + 7 + 1024);
  t.deepEqual(collided.client, ['10.0.0.9', 1]);
  t.deepEqual(scope('10.0.0.7\x0065535\0::1\x008000\0https', FAKE + 7).client, ['10.0.0.7', 65535]);
});

test("a path's scope parts are made once and shared by its requests; long paths each get their own", async (t) => {
  // The core names recent paths by slot (crates/node/src/paths.rs) and the bridge keeps their parts.
  const seen = new Map<string, Uint8Array[]>();
  const paths: string[] = [];
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    const raw = Buffer.from(scope.raw_path).toString('latin1');
    seen.set(raw, [...(seen.get(raw) ?? []), scope.raw_path]);
    paths.push(scope.path);
    await text('ok')(scope, receive, send);
  };
  await withServer(app, {}, async (server) => {
    const get = (path: string) => fetch(server.url + path).then((r) => r.text());
    await get('/shared%20path');
    await get('/shared%20path');
    const [first, second] = seen.get('/shared%20path')!;
    t.deepEqual(first, Buffer.from('/shared%20path'));
    t.true(Buffer.isBuffer(first));
    t.is(second, first);
    t.deepEqual(paths, ['/shared path', '/shared path']);
    const long = '/' + 'l'.repeat(300);
    await get(long);
    await get(long);
    const [a, b] = seen.get(long)!;
    t.deepEqual(a, Buffer.from(long));
    t.not(a, b);
    // A thousand other paths take every slot, the first path's among them: its parts are made again.
    for (let i = 0; i < 1024; i += 64) {
      await Promise.all(Array.from({ length: 64 }, (_, j) => get(`/p${i + j}`)));
    }
    await get('/shared%20path');
    const remade = seen.get('/shared%20path')![2]!;
    t.not(remade, first);
    t.deepEqual(remade, first);
    t.deepEqual(paths.at(-1), '/shared path');
  });
});

test('a lazily parsed scope survives spreading and reassignment', async (t) => {
  const app: ASGIFunction = async (scope, receive, send) => {
    const copy = { ...scope } as HTTPScope;
    t.true(Array.isArray(copy.headers));
    (scope as HTTPScope).headers = [];
    t.deepEqual((scope as HTTPScope).headers, []);
    await text('ok')(scope, receive, send);
  };
  await withServer(app, {}, async (server) => {
    t.is((await fetch(server.url)).status, 200);
  });
});

test('whatever first touches the lazy headers (in, keys, a descriptor, a write, delete, define) sees them all', async (t) => {
  const name = (h: unknown) => Buffer.from((h as [Uint8Array])[0]).toString();
  // Each operation is the first touch of its request's headers, so each trap must fill them first.
  const firsts: Record<string, (headers: HTTPScope['headers']) => unknown> = {
    has: (headers) => '0' in headers && !(String(headers.length) in headers),
    keys: (headers) => Object.keys(headers).length === headers.length && headers.length > 1,
    descriptor: (headers) => name(Object.getOwnPropertyDescriptor(headers, '0')!.value),
    set: (headers) =>
      ((headers as unknown[])[0] = [Buffer.from('x-set'), Buffer.from('1')]) && headers.map(name),
    delete: (headers) => delete (headers as unknown[])[0] && headers.length > 1 && headers[0] === undefined,
    define: (headers) => Object.defineProperty(headers, 'note', { value: 1 }) && headers.length > 1,
  };
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    const first = firsts[scope.query_string.toString()]!;
    await text(JSON.stringify(first(scope.headers)))(scope, receive, send);
  };
  await withServer(app, {}, async (server) => {
    const results: Record<string, unknown> = {};
    for (const op of Object.keys(firsts)) {
      const res = await fetch(`${server.url}/?${op}`, { headers: { 'x-first': 'yes' } });
      results[op] = await res.json();
    }
    t.like(results, { has: true, keys: true, delete: true, define: true });
    t.regex(results.descriptor as string, /^[a-z-]+$/); // a header's name, whichever came first
    const names = results.set as string[];
    t.is(names[0], 'x-set');
    t.true(names.includes('x-first'));
  });
});

test("scope.extensions is each scope's own: a middleware may announce an extension the app sees", async (t) => {
  const pushed: string[] = [];
  const seen: string[][] = [];
  const app: ASGIFunction = async (scope, receive, send) => {
    seen.push(Object.keys(scope.extensions ?? {}));
    await new Request(scope, receive, send).sendPushPromise('/style.css');
    await text('ok')(scope, receive, send);
  };
  // As Starlette's push-promise test does: announce `http.response.push` and take the pushes.
  const announcing: ASGIFunction = async (scope, receive, send) => {
    if ((scope as HTTPScope).path !== '/push') return app(scope, receive, send);
    (scope as HTTPScope).extensions!['http.response.push'] = {};
    return app(scope, receive, async (message) => {
      if ((message.type as string) === 'http.response.push') pushed.push((message as { path: string }).path);
      else await send(message);
    });
  };
  await withServer(announcing, {}, async (server) => {
    t.is(await (await fetch(`${server.url}/push`)).text(), 'ok');
    t.is(await (await fetch(server.url)).text(), 'ok');
  });
  t.deepEqual(pushed, ['/style.css']);
  t.deepEqual(seen, [
    ['http.response.pathsend', 'starling.compression', 'http.response.push'],
    ['http.response.pathsend', 'starling.compression'],
  ]);
});

test('small bodies arrive whole with the request; large ones stream in chunks', async (t) => {
  await withServer(echo, {}, async (server) => {
    const small = await fetch(server.url, { method: 'POST', body: 'abc' });
    t.is(await small.text(), 'abc');
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const res = await fetch(server.url, { method: 'POST', body: big });
    t.is(res.headers.get('x-length'), String(big.length));
    t.true(Buffer.from(await res.arrayBuffer()).equals(big));
  });
});

test('chunked request bodies are read', async (t) => {
  await withServer(echo, {}, async (server) => {
    const reply = await exchange(
      server.port,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    );
    t.regex(reply, /^HTTP\/1\.1 200/);
    t.regex(reply, /x-length: 5/);
    t.true(reply.endsWith('abcde'));
  });
});

test('a streamed response arrives in order, chunked, including a large one with backpressure', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 'y');
  const app: ASGIFunction = async (scope, _r, send) => {
    const count = scope.type === 'http' && scope.path === '/big' ? 160 : 3;
    await send({ type: 'http.response.start', status: 200, headers: [] });
    for (let i = 0; i < count; i++) {
      await send({ type: 'http.response.body', body: count === 3 ? `part${i};` : chunk, more_body: true });
    }
    await send({ type: 'http.response.body', body: '', more_body: false });
  };
  await withServer(app, {}, async (server) => {
    const res = await fetch(server.url);
    t.is(res.headers.get('transfer-encoding'), 'chunked');
    t.is(await res.text(), 'part0;part1;part2;');
    const big = await fetch(`${server.url}/big`);
    t.is((await big.arrayBuffer()).byteLength, 160 * chunk.length);
  });
});

test('keep-alive serves several requests on one connection, and pipelined ones in order', async (t) => {
  const app: ASGIFunction = async (scope, r, send) => text((scope as HTTPScope).path)(scope, r, send);
  await withServer(app, {}, async (server) => {
    const socket = await connect(server.port);
    const reply = readUntil(socket, (s) => statusLines(s).length === 3 && s.endsWith('/c'));
    socket.write(
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const text1 = await reply;
    t.is(statusLines(text1).length, 3);
    t.true(text1.indexOf('/a') < text1.indexOf('/b') && text1.indexOf('/b') < text1.indexOf('/c'));
    const again = readUntil(socket, (s) => s.endsWith('/d'));
    socket.write('GET /d HTTP/1.1\r\nHost: x\r\n\r\n');
    t.regex(await again, /200 OK/);
    socket.destroy();
  });
});

test('HEAD sends headers with the length but no body', async (t) => {
  await withServer(text('twelve bytes'), {}, async (server) => {
    const reply = await exchange(server.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    t.regex(reply, /content-length: 12/);
    t.true(reply.endsWith('\r\n\r\n'));
  });
});

test('Expect: 100-continue gets an interim response before the body is sent', async (t) => {
  await withServer(echo, {}, async (server) => {
    const socket = await connect(server.port);
    const interim = readUntil(socket, (s) => s.includes('100 Continue'));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\nExpect: 100-continue\r\n\r\n');
    t.regex(await interim, /HTTP\/1\.1 100 Continue/);
    const rest = readUntil(socket, (s) => s.includes('x-length: 70000'));
    socket.write(Buffer.alloc(70000, 'z'));
    t.regex(await rest, /200 OK/);
    socket.destroy();
  });
});

test('malformed requests get 400 and the server keeps serving others', async (t) => {
  await withServer(text('fine'), {}, async (server) => {
    for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET / HTTP/1.1\r\nBad Header\r\n\r\n']) {
      const reply = await exchange(server.port, bad, 1500);
      t.regex(reply, /^HTTP\/1\.1 400/, bad);
    }
    t.is(await (await fetch(server.url)).text(), 'fine');
  });
});

test('an oversized request head gets 431', async (t) => {
  await withServer(text('fine'), { maxHeaderSize: 8192 }, async (server) => {
    const reply = await exchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
    );
    t.regex(reply, /^HTTP\/1\.1 431/);
    t.is(await (await fetch(server.url)).text(), 'fine');
  });
});

test('150 ordinary headers are served; the count bound is 2000 by default and configurable', async (t) => {
  const head = (count: number) =>
    `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Array.from({ length: count }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`;
  await withServer(text('fine'), {}, async (server) => {
    t.regex(await exchange(server.port, head(150)), /^HTTP\/1\.1 200/);
    t.regex(await exchange(server.port, head(1990)), /^HTTP\/1\.1 200/);
    t.regex(await exchange(server.port, head(2001)), /^HTTP\/1\.1 431/);
  });
  await withServer(text('fine'), { maxHeaderCount: 10 }, async (server) => {
    t.regex(await exchange(server.port, head(7)), /^HTTP\/1\.1 200/);
    t.regex(await exchange(server.port, head(10)), /^HTTP\/1\.1 431/);
  });
});

test('heads arriving together past what one event batch carries (16 MiB) are each answered with their own headers', async (t) => {
  const app: ASGIFunction = async (scope, _r, send) => {
    if (scope.type !== 'http') return;
    const got = (name: string) => scope.headers.find(([n]) => Buffer.from(n).toString() === name)?.[1];
    const body = `${Buffer.from(got('x-id') ?? '').toString()}:${got('x-big')?.length ?? 0}`;
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body });
  };
  await withServer(app, { maxHeaderSize: 1 << 20 }, async (server) => {
    const big = 'b'.repeat(512 * 1024);
    const sockets = await Promise.all(Array.from({ length: 48 }, () => connect(server.port)));
    const replies = sockets.map((socket) => readAll(socket, 10_000));
    // Written in one turn, so that the server finds them all readable together.
    sockets.forEach((socket, i) =>
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Id: ${i}\r\nX-Big: ${big}\r\n\r\n`),
    );
    const texts = await Promise.all(replies);
    texts.forEach((text, i) => t.true(text.endsWith(`\r\n\r\n${i}:${big.length}`), text.slice(0, 200)));
    sockets.forEach((socket) => socket.destroy());
  });
});

test('a 1 MiB head, a 1 MiB body and a malformed head with 1 MiB after it get their 431, 413 and 400 and a clean close, not a reset', async (t) => {
  // The server answers while the client is still writing. Closing then, with unread input, makes
  // the kernel reset the connection (and a client that reads late loses the answer); the core
  // drains what follows its answer instead (a lingering close), so the client sees a FIN.
  const send = async (port: number, head: string, body: Buffer) => {
    const socket = await connect(port);
    let reply = '';
    let reset = false;
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', () => (reset = true));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(head);
    for (let sent = 0; sent < body.length && !socket.destroyed; sent += 64 * 1024) {
      socket.write(body.subarray(sent, sent + 64 * 1024));
      await sleep(5);
    }
    socket.end();
    await Promise.race([closed, sleep(5000)]);
    socket.destroy();
    return { status: reply.slice(0, 12), reset };
  };
  await withServer(echo, { maxBodySize: 1000 }, async (server) => {
    const big = Buffer.alloc(1 << 20, 'a');
    t.deepEqual(
      await send(
        server.port,
        'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ',
        Buffer.concat([big, Buffer.from('\r\n\r\n')]),
      ),
      {
        status: 'HTTP/1.1 431',
        reset: false,
      },
    );
    t.deepEqual(
      await send(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n', big),
      {
        status: 'HTTP/1.1 413',
        reset: false,
      },
    );
    // A malformed head (a space in the header name) followed by 1 MiB the client keeps sending: 400.
    t.deepEqual(await send(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n', big), {
      status: 'HTTP/1.1 400',
      reset: false,
    });
    t.is((await fetch(server.url)).status, 200);
  });
});

test('an HTTP/1.1 request without a Host header, or with two, gets 400; HTTP/1.0 needs none', async (t) => {
  await withServer(text('fine'), {}, async (server) => {
    t.regex(await exchange(server.port, 'GET / HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400/);
    t.regex(await exchange(server.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'), /^HTTP\/1\.1 400/);
    t.regex(await exchange(server.port, 'GET / HTTP/1.0\r\n\r\n'), /^HTTP\/1\.[01] 200/);
    t.is(await (await fetch(server.url)).text(), 'fine');
  });
});

test('bodies over maxBodySize get 413, declared or streamed', async (t) => {
  await withServer(echo, { maxBodySize: 1000 }, async (server) => {
    const declared = await exchange(
      server.port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n',
    );
    t.regex(declared, /^HTTP\/1\.1 413/);
    const big = Buffer.alloc(200 * 1024, 'q').toString();
    const streamed = await exchange(
      server.port,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    t.regex(streamed, /^HTTP\/1\.1 413/);
    t.is(await (await fetch(server.url, { method: 'POST', body: 'ok' })).text(), 'ok');
  });
});

test('smuggling attempts are refused: both framings, or broken chunk sizes', async (t) => {
  await withServer(echo, {}, async (server) => {
    // Both framings: chunked wins, Content-Length is ignored and the connection closes after
    // the one response (RFC 9112 §6.3), so the request hidden behind it is never served.
    const both = await exchange(
      server.port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    t.is(statusLines(both).length, 1);
    t.regex(both, /connection: close/);
    t.notRegex(both, /smuggled/);
    const badChunk = await exchange(
      server.port,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    );
    t.regex(badChunk, /^HTTP\/1\.1 400/);
    t.is((await fetch(server.url)).status, 200);
  });
});

test("a broken first chunk size is the request's 400 even when the app never reads the body", async (t) => {
  await withServer(text('fine'), {}, async (server) => {
    for (const size of ['ffffffffffffffffff', '-1', 'zz']) {
      const reply = await exchange(
        server.port,
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nabc\r\n0\r\n\r\n`,
      );
      t.is(statusLines(reply).join(), 'HTTP/1.1 400 Bad Request', size);
    }
    t.is(await (await fetch(server.url)).text(), 'fine');
  });
});

test('a chunked request whose client sends the body only after the response began is not waited for', async (t) => {
  const duplex: ASGIFunction = async (_scope, receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: 'ready;', more_body: true });
    let body = '';
    for (;;) {
      const message = await receive();
      if (message.type !== 'http.request') break;
      body += Buffer.from(message.body).toString();
      if (!message.more_body) break;
    }
    await send({ type: 'http.response.body', body: `got ${body}` });
  };
  await withServer(duplex, {}, async (server) => {
    const socket = await connect(server.port);
    const ready = readUntil(socket, (s) => s.includes('ready;'));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    t.regex(await ready, /^HTTP\/1\.1 200/);
    const rest = readAll(socket, 3000);
    socket.write('5\r\nhello\r\n0\r\n\r\n');
    t.regex(await rest, /got hello/);
  });
});

test('a handler that throws gets 500 and the connection stays usable', async (t) => {
  const app: ASGIFunction = async (scope, r, send) => {
    if ((scope as HTTPScope).path === '/boom') throw new Error('boom');
    await text('after')(scope, r, send);
  };
  await withServer(app, {}, async (server) => {
    const socket = await connect(server.port);
    const first = readUntil(socket, (s) => s.includes('Internal Server Error'));
    socket.write('GET /boom HTTP/1.1\r\nHost: x\r\n\r\n');
    t.regex(await first, /^HTTP\/1\.1 500/);
    socket.destroy();
    t.is(await (await fetch(server.url)).text(), 'after');
  });
});

test("at logLevel 'error' an app's exception is logged with its stack; at 'critical' it is not", async (t) => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const app: ASGIFunction = async (scope) => {
      throw new Error(`failed at ${(scope as HTTPScope).path}`);
    };
    for (const logLevel of ['error', 'critical'] as const) {
      await withServer(app, { logLevel }, async (server) => {
        t.is((await fetch(`${server.url}/${logLevel}`)).status, 500);
      });
    }
  } finally {
    console.error = original;
  }
  const errors = logged.filter(([first]) =>
    String(first).startsWith('ERROR:    Exception in ASGI application'),
  );
  t.deepEqual(
    errors.map(([, error]) => (error as Error).message),
    ['failed at /error'],
  );
});

test('a handler that returns without responding gets 500', async (t) => {
  await withServer(
    async () => {},
    {},
    async (server) => {
      t.is((await fetch(server.url)).status, 500);
    },
  );
});

test('protocol errors are thrown in the handler, not in the server', async (t) => {
  const errors: string[] = [];
  const app: ASGIFunction = async (_scope, _r, send) => {
    try {
      await send({ type: 'http.response.body', body: 'too early' });
    } catch (e) {
      errors.push((e as Error).message);
    }
    for (const early of [{ type: 'http.response.pathsend', path: '/dev/null' }, { type: 'http.bogus' }]) {
      try {
        await send(early as never);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    await send({ type: 'http.response.start', status: 201 });
    try {
      await send({ type: 'http.response.start', status: 202 });
    } catch (e) {
      errors.push((e as Error).message);
    }
    await send({ type: 'http.response.body', body: 'done' });
    try {
      await send({ type: 'http.response.body', body: 'late' });
    } catch (e) {
      errors.push((e as Error).message);
    }
  };
  await withServer(app, {}, async (server) => {
    const res = await fetch(server.url);
    t.is(res.status, 201);
    t.is(await res.text(), 'done');
  });
  t.is(errors.length, 5);
  t.is(errors[1], "Unexpected ASGI message 'http.response.pathsend' sent, before response start.");
  t.is(errors[2], "Unexpected ASGI message 'http.bogus' sent for an HTTP request.");
  t.regex(errors[3]!, /already started/);
  t.regex(errors[4]!, /already completed/);
});

test('a response header with CR, LF or NUL, or a bad name, throws in send() and the client gets a 500 without it', async (t) => {
  const bad: Record<string, [string, string]> = {
    '/crlf': ['x-header', 'ok\r\nx-injected: yes'],
    '/lf': ['x-header', 'ok\nx-injected: yes'],
    '/nul': ['x-header', 'ok\0x-injected\0yes'],
    '/name': ['x-injected: yes\r\nx-header', 'ok'],
    '/token': ['x injected', 'yes'],
  };
  const errors: string[] = [];
  const app: ASGIFunction = async (scope, _r, send) => {
    const { path } = scope as HTTPScope;
    try {
      await send({ type: 'http.response.start', status: 200, headers: [bad[path]!] });
    } catch (error) {
      errors.push((error as Error).message);
      throw error;
    }
    await send({ type: 'http.response.body', body: 'never sent' });
  };
  await withServer(app, {}, async (server) => {
    for (const path of Object.keys(bad)) {
      const reply = await exchange(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      t.is(statusLines(reply).join(), 'HTTP/1.1 500 Internal Server Error', path);
      t.notRegex(reply, /x-injected|x-header|never sent/i, path);
    }
  });
  t.is(errors.length, 5);
  t.regex(errors[0]!, /Invalid HTTP header value/);
  t.regex(errors[3]!, /Invalid HTTP header name/);
});

test('an app that catches the invalid header error can still send a response of its own', async (t) => {
  const app: ASGIFunction = async (_scope, _r, send) => {
    try {
      await send({ type: 'http.response.start', status: 200, headers: [['x-header', 'a\r\nb']] });
    } catch {
      await send({ type: 'http.response.start', status: 502, headers: [['x-fallback', 'yes']] });
    }
    await send({ type: 'http.response.body', body: 'fallback' });
  };
  await withServer(app, {}, async (server) => {
    const res = await fetch(server.url);
    t.is(res.status, 502);
    t.is(res.headers.get('x-fallback'), 'yes');
    t.is(res.headers.get('x-header'), null);
    t.is(await res.text(), 'fallback');
  });
});

test('a client that leaves mid-body makes receive() report http.disconnect', async (t) => {
  let resolveSeen!: (type: string) => void;
  const seen = new Promise<string>((r) => (resolveSeen = r));
  const app: ASGIFunction = async (_scope, receive) => {
    for (;;) {
      const m = await receive();
      if (m.type === 'http.disconnect') return resolveSeen(m.type);
    }
  };
  await withServer(app, {}, async (server) => {
    const socket = await connect(server.port);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n' + 'a'.repeat(100000));
    await sleep(100);
    socket.destroy();
    t.is(await seen, 'http.disconnect');
  });
});

test('a client that leaves while the handler works makes receive() report http.disconnect', async (t) => {
  let resolveSeen!: (type: string) => void;
  const seen = new Promise<string>((r) => (resolveSeen = r));
  const app: ASGIFunction = async (_scope, receive) => {
    await receive();
    resolveSeen((await receive()).type);
  };
  await withServer(app, {}, async (server) => {
    const socket = await connect(server.port);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(100);
    socket.destroy();
    t.is(await seen, 'http.disconnect');
  });
});

test('a client that leaves mid-response stops the stream and is reported', async (t) => {
  let resolveSeen!: (n: number) => void;
  const seen = new Promise<number>((r) => (resolveSeen = r));
  const app: ASGIFunction = async (_scope, receive, send) => {
    let gone = false;
    void (async () => {
      while ((await receive()).type !== 'http.disconnect');
      gone = true;
    })();
    await send({ type: 'http.response.start', status: 200 });
    let sent = 0;
    while (!gone && sent < 100000) {
      await send({ type: 'http.response.body', body: Buffer.alloc(16384), more_body: true });
      sent++;
    }
    resolveSeen(sent);
  };
  await withServer(app, {}, async (server) => {
    const socket = await connect(server.port);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await readUntil(socket, (s) => s.length > 100000);
    socket.destroy();
    t.true((await seen) < 100000);
  });
});

test('limitConcurrency answers 503 at once beyond the limit', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const app: ASGIFunction = async (scope, r, send) => {
    if ((scope as HTTPScope).path === '/slow') await gate;
    await text('ok')(scope, r, send);
  };
  await withServer(app, { limitConcurrency: 1 }, async (server) => {
    const slow = fetch(`${server.url}/slow`);
    for (let i = 0; i < 200 && server.inFlight === 0; i++) await sleep(10);
    t.is((await fetch(server.url)).status, 503);
    release();
    t.is((await slow).status, 200);
  });
});

test('close() lets in-flight requests finish and then stops accepting', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const app: ASGIFunction = async (scope, r, send) => {
    await gate;
    await text('finished')(scope, r, send);
  };
  const server = await serve(app, quiet);
  const inflight = fetch(server.url);
  for (let i = 0; i < 200 && server.inFlight === 0; i++) await sleep(10);
  t.is(server.inFlight, 1);
  const closing = server.close();
  await sleep(50);
  release();
  t.is(await (await inflight).text(), 'finished');
  await closing;
  await t.throwsAsync(() => fetch(server.url));
});

test('idle keep-alive connections are closed after timeoutKeepAlive', async (t) => {
  await withServer(text('ok'), { timeoutKeepAlive: 0.3 }, async (server) => {
    const socket = await connect(server.port);
    const all = readAll(socket, 3000);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    t.regex(await all, /200 OK/);
    const elapsed = Date.now() - started;
    t.true(elapsed >= 250 && elapsed < 2500, `closed after ${elapsed} ms`);
  });
});

test('a streamed response that outlasts timeoutKeepAlive is written whole: a connection writing is not idle', async (t) => {
  const slow: ASGIFunction = async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    for (let i = 0; i < 5; i++) {
      await send({ type: 'http.response.body', body: `${i}`, more_body: true });
      await sleep(150);
    }
    await send({ type: 'http.response.body', body: 'end' });
  };
  await withServer(slow, { timeoutKeepAlive: 0.2 }, async (server) => {
    t.is(await (await fetch(server.url)).text(), '01234end');
  });
});

test.serial(
  'a handler that outlasts timeoutKeepAlive (0.1 s, or none) does not make the connection timer spin',
  async (t) => {
    const slow: ASGIFunction = async (scope, receive, send) => {
      if (scope.type === 'http' && scope.path === '/late') await sleep(1500);
      await text('late')(scope, receive, send);
    };
    for (const timeoutKeepAlive of [0.1, 0]) {
      await withServer(slow, { timeoutKeepAlive }, async (server) => {
        // The first fetch of a process loads and compiles its HTTP client: not counted.
        t.is(await (await fetch(server.url)).text(), 'late');
        const before = process.cpuUsage();
        t.is(await (await fetch(`${server.url}/late`)).text(), 'late');
        const used = process.cpuUsage(before);
        // A timer re-armed at a deadline already past fires at once, forever: a whole core for 1.5 s
        // (or most of one on a machine busy with other tests), against a few milliseconds when it waits.
        t.true(
          used.user + used.system < 600_000,
          `${timeoutKeepAlive}: ${(used.user + used.system) / 1000} ms of CPU`,
        );
      });
    }
  },
);

test('a client that trickles its request head is cut off (slowloris)', async (t) => {
  await withServer(text('ok'), { timeoutHeaderRead: 0.3 }, async (server) => {
    const socket = await connect(server.port);
    const all = readAll(socket, 3000);
    socket.write('GET / HTTP/1.1\r\n');
    const started = Date.now();
    await all;
    t.true(Date.now() - started < 2500);
  });
});

for (const [who, first] of [
  ['says nothing', ''],
  ['stops inside what could be an HTTP/2 preface', 'PRI * HTTP'],
] as const) {
  test(`a client that connects and ${who} is cut off at the head-read bound`, async (t) => {
    await withServer(text('ok'), { timeoutHeaderRead: 0.3 }, async (server) => {
      // From before the connect: the bound runs from the accept, which a busy test process may
      // see well before the connect resolves here.
      const started = Date.now();
      const socket = await connect(server.port);
      const all = readAll(socket, 3000);
      if (first) socket.write(first);
      await all;
      const elapsed = Date.now() - started;
      t.true(elapsed >= 250 && elapsed < 2500, `closed after ${elapsed} ms`);
    });
  });
}

/** GET / over the Unix domain socket at `socketPath`; the body. */
function getOverUds(socketPath: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    http
      .get({ socketPath, path: '/' }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
}

test('listens on a Unix domain socket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-'));
  const uds = join(dir, 's.sock');
  await withServer(text('over uds'), { uds }, async (server) => {
    t.is(server.url, `unix:${uds}`);
    const body = await getOverUds(uds);
    t.is(body, 'over uds');
  });
  rmSync(dir, { recursive: true, force: true });
});

test('a Unix socket left behind by a killed server is replaced; any other file in the way is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-'));
  const uds = join(dir, 'stale.sock');
  // A process that dies while listening leaves its socket file: nobody accepts on it any more.
  const script = `require('node:net').createServer().listen(${JSON.stringify(uds)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
  t.true(lstatSync(uds).isSocket());
  await withServer(text('fresh'), { uds }, async () => {
    const body = await getOverUds(uds);
    t.is(body, 'fresh');
  });
  const taken = join(dir, 'regular-file');
  writeFileSync(taken, 'keep me');
  await t.throwsAsync(serve(text('never'), { ...quiet, uds: taken }));
  t.is(readFileSync(taken, 'utf8'), 'keep me');
  rmSync(dir, { recursive: true, force: true });
});

test('listens on IPv6 loopback', async (t) => {
  await withServer(text('v6'), { host: '::1' }, async (server) => {
    t.regex(server.url, /^http:\/\/\[::1\]:\d+$/);
    t.is(await (await fetch(server.url)).text(), 'v6');
  });
});

test('a second server on a taken port fails, unless both let it share the port', async (t) => {
  const taken = await serve(text('a'), quiet);
  await t.throwsAsync(() => serve(text('b'), { ...quiet, port: taken.port }), { message: /in use/i });
  t.is(await (await fetch(taken.url)).text(), 'a');
  await taken.close();
  const a = await serve(text('a'), { ...quiet, reusePort: true });
  const b = await serve(text('b'), { ...quiet, port: a.port, reusePort: true });
  t.is(b.port, a.port);
  await a.close();
  t.is(await (await fetch(b.url)).text(), 'b');
  await b.close();
});

test('lifespan runs around serving and its state reaches each request', async (t) => {
  const events: string[] = [];
  const app: ASGIFunction = async (scope: Scope, receive, send: Send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const m = await receive();
        if (m.type === 'lifespan.startup') {
          scope.state!.db = 'connected';
          events.push('startup');
          await send({ type: 'lifespan.startup.complete' });
        } else if (m.type === 'lifespan.shutdown') {
          events.push('shutdown');
          await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    await text(String((scope as HTTPScope).state?.db))(scope, receive, send);
  };
  await withServer(app, { lifespan: 'on' }, async (server) => {
    t.is(await (await fetch(server.url)).text(), 'connected');
  });
  t.deepEqual(events, ['startup', 'shutdown']);
});

test('a failing lifespan startup rejects serve()', async (t) => {
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      await receive();
      await send({ type: 'lifespan.startup.failed', message: 'no database' });
    }
  };
  await t.throwsAsync(() => serve(app, { ...quiet, lifespan: 'auto' }), { message: /no database/ });
});

test('an app without lifespan support is served in auto mode', async (t) => {
  const app: ASGIFunction = async (scope, r, s) => {
    if (scope.type === 'lifespan') throw new Error('unsupported');
    await text('still served')(scope, r, s);
  };
  await withServer(app, { lifespan: 'auto' }, async (server) => {
    t.is(await (await fetch(server.url)).text(), 'still served');
  });
});

test('in on mode, an app without lifespan support fails serve() with its error', async (t) => {
  const app: ASGIFunction = async (scope) => {
    if (scope.type === 'lifespan') throw new Error('no lifespan here');
  };
  await t.throwsAsync(() => serve(app, { ...quiet, lifespan: 'on' }), { message: 'no lifespan here' });
});

test('a message that is not a lifespan answer is refused in send()', async (t) => {
  let refused: unknown;
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return;
    await receive();
    try {
      await send({ type: 'http.response.start', status: 200, headers: [] });
    } catch (error) {
      refused = error;
    }
    await send({ type: 'lifespan.startup.complete' });
    await receive();
    await send({ type: 'lifespan.shutdown.complete' });
  };
  await withServer(app, { lifespan: 'on' }, async () => {});
  t.regex(String(refused), /Unexpected ASGI message 'http.response.start' sent during lifespan/);
});

test('http.response.pathsend has the core send a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-'));
  const file = join(dir, 'data.bin');
  const data = Buffer.alloc(300 * 1024, 'f');
  writeFileSync(file, data);
  const app: ASGIFunction = async (_scope, _r, send) => {
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [['content-type', 'application/octet-stream']],
    });
    await send({ type: 'http.response.pathsend', path: file });
  };
  await withServer(app, {}, async (server) => {
    const res = await fetch(server.url);
    t.is(res.headers.get('content-length'), String(data.length));
    t.true(Buffer.from(await res.arrayBuffer()).equals(data));
  });
  rmSync(dir, { recursive: true, force: true });
});

test('limitMaxRequests closes the server after N requests', async (t) => {
  const server = await serve(text('n'), { ...quiet, limitMaxRequests: 2 });
  await fetch(server.url);
  await fetch(server.url);
  await server.close();
  await t.throwsAsync(() => fetch(server.url));
});

test('proxyHeaders takes client and scheme from a trusted proxy', async (t) => {
  let scope: HTTPScope | undefined;
  const app: ASGIFunction = async (s, r, send) => {
    scope = s as HTTPScope;
    await text('ok')(s, r, send);
  };
  await withServer(app, { proxyHeaders: true, forwardedAllowIps: '127.0.0.1' }, async (server) => {
    await fetch(server.url, { headers: { 'x-forwarded-for': '10.1.2.3', 'x-forwarded-proto': 'https' } });
  });
  t.is(scope?.scheme, 'https');
  t.is(scope?.client?.[0], '10.1.2.3');
});

test('proxyHeaders reads the client as the last untrusted hop and ignores an unknown scheme', async (t) => {
  const seen: HTTPScope[] = [];
  const app: ASGIFunction = async (s, r, send) => {
    seen.push(s as HTTPScope);
    await text('ok')(s, r, send);
  };
  await withServer(
    app,
    { proxyHeaders: true, forwardedAllowIps: ['127.0.0.1', '10.0.0.2'] },
    async (server) => {
      const chain = '203.0.113.9, [2001:db8::1]:8443, 10.0.0.2';
      await fetch(server.url, { headers: { 'x-forwarded-for': chain, 'x-forwarded-proto': 'gopher' } });
      await fetch(server.url, {
        headers: { 'x-forwarded-for': '10.0.0.2, 127.0.0.1', 'x-forwarded-proto': ' WSS ' },
      });
    },
  );
  t.deepEqual(seen[0]!.client, ['2001:db8::1', 8443]);
  t.is(seen[0]!.scheme, 'http');
  // Every hop trusted: the first is the client.
  t.deepEqual(seen[1]!.client, ['10.0.0.2', 0]);
  t.is(seen[1]!.scheme, 'wss');
});

test('X-Forwarded-For hops are read as uvicorn reads them: host, host:port, [v6]:port, anything else a host', (t) => {
  const clientFor = (chain: string | string[], trusted: string | string[] = '*') => {
    const scope = {
      type: 'http',
      scheme: 'http',
      client: ['127.0.0.1', 5000],
      headers: [chain].flat().map((hops) => [Buffer.from('x-forwarded-for'), Buffer.from(hops)]),
    } as unknown as HTTPScope;
    trustedProxy(trusted)(scope);
    return scope.client;
  };
  t.deepEqual(clientFor('1.2.3.4:80'), ['1.2.3.4', 80]);
  t.deepEqual(clientFor('[::1]'), ['::1', 0]);
  t.deepEqual(clientFor('[::1]:x'), ['::1', 0]);
  t.deepEqual(clientFor('[::1'), ['[::1', 0]);
  t.deepEqual(clientFor('[::1]x'), ['[::1]x', 0]);
  t.deepEqual(clientFor('::1'), ['::1', 0]);
  t.deepEqual(clientFor('host:port'), ['host:port', 0]);
  // With any peer trusted, the first hop; an empty header leaves the peer.
  t.deepEqual(clientFor('1.1.1.1, 2.2.2.2'), ['1.1.1.1', 0]);
  t.deepEqual(clientFor(''), ['127.0.0.1', 5000]);
  // Several headers make one chain, in order.
  t.deepEqual(clientFor(['1.1.1.1', '2.2.2.2, 10.0.0.1'], '127.0.0.1, 10.0.0.1'), ['2.2.2.2', 0]);
  // Not from a trusted peer: untouched.
  t.deepEqual(clientFor('1.1.1.1', '10.0.0.1, 10.0.0.2'), ['127.0.0.1', 5000]);
  const unknownPeer = { type: 'http', client: null, headers: [] } as unknown as HTTPScope;
  trustedProxy('127.0.0.1')(unknownPeer);
  t.is(unknownPeer.client, null);
});

test('two receive() calls in flight each get a message of their own (neither is dropped)', async (t) => {
  let second: string | undefined;
  const app: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    // A body reader and a disconnect watcher, both waiting at once (the second used to replace the first).
    const first = receive();
    const watcher = receive().then((m) => (second = m.type));
    const m = await first;
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: m.type });
    await watcher;
  };
  await withServer(app, {}, async (server) => {
    const res = await fetch(server.url, { method: 'POST', body: Buffer.alloc(200 * 1024, 'c') });
    t.is(await res.text(), 'http.request');
  });
  t.is(second, 'http.request');
});

test('the per-request calls refuse arguments of the wrong type with a TypeError naming them', async (t) => {
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  // A server with no connections: its only event is the `Closed` that ends `close()`.
  const native = new (loadAddon().NativeServer)({ memory: true }, (meta) => {
    if (meta[0] === Kind.Closed) closed();
  });
  native.listen();
  const calls = native.fastCalls();
  const wrong = (call: () => unknown, message: string) => t.throws(call, { instanceOf: TypeError, message });
  const no = undefined as unknown as string & Uint8Array;
  wrong(() => calls.respondText(1, 200, null, no), 'respondText: the body must be a string');
  wrong(() => calls.respondBytes(1, 200, null, no), 'respondBytes: the body must be a Uint8Array');
  wrong(
    () => calls.respondText(1, 200, {} as unknown as string, 'x'),
    'respond: the headers must be a string, a list id or null',
  );
  wrong(() => calls.respondText(1, 200, 4_000_000, 'x'), 'respond: no header list has that id');
  wrong(() => calls.write(1, no), 'write: the chunk must be a Uint8Array');
  wrong(() => calls.writeText(1, no), 'writeText: the chunk must be a string');
  wrong(() => calls.wsSendText(1, no), 'wsSendText: the message must be a string');
  wrong(() => calls.wsSendBytes(1, no), 'wsSendBytes: the data must be a Uint8Array');
  wrong(
    () => calls.wsCredit(no as unknown as number, 1),
    'the id, status and count arguments must be numbers',
  );
  // Right types for an exchange that does not exist: answered as gone, not thrown.
  t.false(calls.respondText(99, 200, null, 'x'));
  t.false(calls.respondBytes(99, 200, 'a\0b\0', new Uint8Array(1)));
  t.is(calls.write(99, new Uint8Array(1)), -1);
  t.is(calls.writeText(99, 'x'), -1);
  t.is(calls.wsSendText(99, 'x'), -1);
  t.is(calls.wsSendBytes(99, new Uint8Array(1)), -1);
  t.false(calls.wsCredit(99, 1));
  // The core holds the event loop only weakly (`serve()` holds it while closing): so does this test.
  const hold = setInterval(() => undefined, 1000);
  native.close(0);
  await done;
  clearInterval(hold);
  native.dispose();
});
