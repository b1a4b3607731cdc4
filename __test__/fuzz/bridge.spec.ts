/**
 * Properties of the bridge's batch decoder (`Bridge.onEvents`, src/server/bridge.ts and scope.ts):
 * batches encoded with the record layouts of wire.ts, as crates/node/src/encode.rs writes them, decode
 * to exactly the events they hold, whatever the spans' offsets; bodies, WebSocket messages and closes
 * reach the right exchange in order across batches; and a corrupt batch (mutated, truncated, random)
 * ends promptly, with at most a clear error.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import type { ASGIFunction, HTTPScope, RawHeader, WebSocketScope } from '../../src/asgi.ts';
import { unquote } from '../../src/_utils.ts';
import { Bridge } from '../../src/server/bridge.ts';
import { RuntimeError } from '../../src/server/exchange.ts';
import { LoopRef } from '../../src/server/loop.ts';
import type { NativeServer } from '../../src/server/native.ts';
import {
  Body,
  Closed,
  Disconnect,
  Drain,
  Kind,
  MemData,
  MemEnd,
  Request,
  RequestFlag,
  WsClose,
  WsMessage,
} from '../../src/server/wire.ts';
import { check, runs, stringOf } from './_fuzz.ts';

// ---- the events, and an encoder that lays them out as encode.rs does ----

type Address = [string, number] | null;
interface RequestEvent {
  kind: 'request';
  id: number;
  version: number;
  websocket: boolean;
  method: string;
  path: string;
  query: string | null;
  headers: [string, string][];
  client: Address;
  server: Address;
  scheme: string;
  body: Uint8Array;
  moreBody: boolean;
}
type Event =
  | RequestEvent
  | { kind: 'body'; id: number; chunk: Uint8Array; moreBody: boolean }
  | { kind: 'wsMessage'; id: number; data: Uint8Array; text: boolean }
  | { kind: 'wsClose'; id: number; code: number; reason: string }
  | { kind: 'disconnect' | 'drain' | 'memEnd'; id: number }
  | { kind: 'memData'; id: number; data: Uint8Array }
  | { kind: 'closed' };

interface Batch {
  meta: Uint32Array;
  strs: string;
  bin: Buffer | null;
}

/**
 * Encodes events into one batch. `pad` puts junk before each span (the decoder must use the offsets,
 * not assume spans are packed).
 */
function encode(events: readonly Event[], pad: (n: number) => string = () => ''): Batch {
  const meta: number[] = [];
  let strs = '';
  const bin: Uint8Array[] = [];
  let binLength = 0;
  let spans = 0;
  const str = (s: string): [number, number] => {
    strs += pad(spans++);
    const at = strs.length;
    strs += s;
    return [at, s.length];
  };
  const bytes = (b: Uint8Array): [number, number] => {
    const junk = Buffer.from(pad(spans++), 'latin1');
    bin.push(junk, b);
    binLength += junk.length;
    const at = binLength;
    binLength += b.length;
    return [at, b.length];
  };
  const record = (length: number, kind: Kind, id: number, fields: [number, number][] = []) => {
    const words = new Array<number>(length).fill(0);
    words[0] = kind;
    words[1] = id;
    for (const [field, value] of fields) words[field] = value;
    meta.push(...words);
  };
  for (const e of events) {
    switch (e.kind) {
      case 'request': {
        let flags = e.version << RequestFlag.versionShift;
        if (e.moreBody) flags |= RequestFlag.moreBody;
        if (e.query !== null) flags |= RequestFlag.hasQuery;
        if (e.websocket) flags |= RequestFlag.webSocket;
        const method = str(e.method);
        const path = str(e.path);
        const query = str(e.query ?? '');
        const headers = str(e.headers.map(([n, v]) => `${n}\0${v}\0`).join(''));
        const addr = (a: Address) => (a ? `${a[0]}\0${a[1]}\0` : '\0\0');
        const addrs = str(addr(e.client) + addr(e.server) + e.scheme);
        const body = bytes(e.body);
        record(Request.length, Kind.Request, e.id, [
          [Request.flags, flags],
          [Request.methodAt, method[0]],
          [Request.methodLen, method[1]],
          [Request.pathAt, path[0]],
          [Request.pathLen, path[1]],
          [Request.queryAt, query[0]],
          [Request.queryLen, query[1]],
          [Request.headersAt, headers[0]],
          [Request.headersLen, headers[1]],
          [Request.addrsAt, addrs[0]],
          [Request.addrsLen, addrs[1]],
          [Request.bodyAt, body[0]],
          [Request.bodyLen, body[1]],
        ]);
        break;
      }
      case 'body': {
        const [at, len] = bytes(e.chunk);
        record(Body.length, Kind.Body, e.id, [
          [Body.moreBody, e.moreBody ? 1 : 0],
          [Body.bodyAt, at],
          [Body.bodyLen, len],
        ]);
        break;
      }
      case 'wsMessage': {
        const [at, len] = bytes(e.data);
        record(WsMessage.length, Kind.WsMessage, e.id, [
          [WsMessage.isText, e.text ? 1 : 0],
          [WsMessage.dataAt, at],
          [WsMessage.dataLen, len],
        ]);
        break;
      }
      case 'wsClose': {
        const [at, len] = bytes(Buffer.from(e.reason));
        record(WsClose.length, Kind.WsClose, e.id, [
          [WsClose.code, e.code],
          [WsClose.reasonAt, at],
          [WsClose.reasonLen, len],
        ]);
        break;
      }
      case 'memData': {
        const [at, len] = bytes(e.data);
        record(MemData.length, Kind.MemData, e.id, [
          [MemData.dataAt, at],
          [MemData.dataLen, len],
        ]);
        break;
      }
      case 'disconnect':
        record(Disconnect.length, Kind.Disconnect, e.id);
        break;
      case 'drain':
        record(Drain.length, Kind.Drain, e.id);
        break;
      case 'memEnd':
        record(MemEnd.length, Kind.MemEnd, e.id);
        break;
      case 'closed':
        record(Closed.length, Kind.Closed, 0);
    }
  }
  // As encode.rs: no buffer at all when no record has bytes.
  const joined = Buffer.concat(bin);
  return { meta: Uint32Array.from(meta), strs, bin: joined.length ? joined : null };
}

// ---- a native server that records what the exchanges ask of it ----

type Call = [method: string, id: number, ...args: unknown[]];

class RecordingNative implements NativeServer {
  readonly calls: Call[] = [];
  #conns = 0;
  #log(method: string, id: number, ...args: unknown[]): true {
    this.calls.push([method, id, ...args]);
    return true;
  }
  /** Ids of the `readMore` calls since the last look. */
  takeReadMore(): number[] {
    const ids = this.calls.filter(([m]) => m === 'readMore').map(([, id]) => id);
    this.calls.splice(0, this.calls.length, ...this.calls.filter(([m]) => m !== 'readMore'));
    return ids;
  }
  listen = () => 0;
  respondText = (id: number, status: number, headers: string | null, body: string) =>
    this.#log('respond', id, status, headers, Buffer.from(body));
  respondBytes = (id: number, status: number, headers: string | null, body: Uint8Array) =>
    this.#log('respond', id, status, headers, Buffer.from(body));
  respondStatus = (id: number, status: number) => this.#log('respondStatus', id, status);
  sendFile = (id: number) => this.#log('sendFile', id);
  start = (id: number) => this.#log('start', id);
  write = (id: number) => (this.#log('write', id), 1);
  writeText = (id: number) => (this.#log('writeText', id), 1);
  end = (id: number) => this.#log('end', id);
  readMore = (id: number) => this.#log('readMore', id);
  abort = (id: number) => this.#log('abort', id);
  wsAccept = (id: number) => this.#log('wsAccept', id);
  wsSendText = (id: number) => (this.#log('wsSendText', id), 1);
  wsSendBytes = (id: number) => (this.#log('wsSendBytes', id), 1);
  wsClose = (id: number, code: number) => this.#log('wsClose', id, code);
  wsCredit = (id: number) => this.#log('wsCredit', id);
  connectMemory = () => ++this.#conns;
  memoryWrite = () => true;
  memoryEnd = () => true;
  connections = () => 0;
  pending = () => 0;
  close = () => undefined;
  dispose = () => undefined;
}

function bridge(app: ASGIFunction, rootPath = '') {
  const errors: unknown[] = [];
  let closed = 0;
  const b = new Bridge(app, {
    rootPath,
    state: { shared: true },
    onError: (error) => errors.push(error),
    onClosed: () => closed++,
    loop: new LoopRef(),
  });
  const native = new RecordingNative();
  b.native = native;
  return { bridge: b, native, errors, closed: () => closed };
}

// ---- generators ----

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
/** Header values as hyper hands them over: visible ASCII, spaces, tabs and obs-text (latin1). */
const headerValue = fc.string({
  unit: fc
    .integer({ min: 0, max: 0xff })
    .filter((c) => c === 9 || (c >= 0x20 && c !== 0x7f))
    .map((c) => String.fromCharCode(c)),
  maxLength: 20,
});
const header = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(stringOf(TCHAR, 12).filter(Boolean), headerValue) },
  fc.tuple(fc.constant('sec-websocket-protocol'), stringOf('ab, \tc', 12)),
);
const address: fc.Arbitrary<Address> = fc.option(
  fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('::1')), fc.integer({ min: 0, max: 65535 })),
  { nil: null },
);
/** Paths as hyper gives them (ASCII), with escapes valid and not, and the occasional non-ASCII byte. */
const path = stringOf([...'/abc.-_~!$&()*+,;=:@', '%2F', '%20', '%C3%A9', '%zz', '%', 'é', '\x80'], 20).map(
  (p) => '/' + p,
);
const requestEvent = (id: fc.Arbitrary<number>): fc.Arbitrary<RequestEvent> =>
  fc.record({
    kind: fc.constant('request' as const),
    id,
    version: fc.constantFrom(0, 1, 2),
    websocket: fc.boolean(),
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS'), stringOf(TCHAR.toUpperCase(), 10)),
    path,
    query: fc.option(stringOf('a=b&c%20+/?é', 16), { nil: null }),
    headers: fc.array(header, { maxLength: 6 }),
    client: address,
    server: address,
    scheme: fc.constantFrom('http', 'https', ''),
    body: fc.uint8Array({ maxLength: 40 }),
    moreBody: fc.boolean(),
  });
/** Junk before each span: none, or a few characters that look like span contents. */
const padding = fc.option(fc.array(stringOf('x\0é%', 4), { minLength: 1, maxLength: 8 }), { nil: null });
const padWith = (junk: string[] | null) => (n: number) => (junk ? junk[n % junk.length]! : '');

// ---- properties ----

/** Hands a batch to the decoder, as the core does. */
const feed = (b: Bridge, { meta, strs, bin }: Batch) => b.onEvents(meta, strs, bin);
/** A message with its bytes as a plain Buffer, for comparing (the exchange hands out its own kind). */
const plain = (m: unknown) => {
  const { bytes, ...rest } = m as { bytes?: Uint8Array };
  return bytes === undefined ? rest : { ...rest, bytes: Buffer.from(bytes) };
};
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const pairs = (headers: Iterable<RawHeader>) => [...headers].map(([n, v]) => [latin1(n), latin1(v)]);

test('requests decode to the scopes they describe, whatever the offsets of their spans', (t) =>
  check(
    t,
    fc.property(
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: requestEvent(u32) },
          fc.record({
            kind: fc.constantFrom('drain' as const, 'disconnect' as const, 'memEnd' as const),
            id: u32,
          }),
          fc.constant({ kind: 'closed' as const }),
        ),
        { maxLength: 8 },
      ),
      padding,
      fc.constantFrom('', '/root'),
      (events, junk, rootPath) => {
        // Ids are unique among live exchanges; records for other ids are dropped.
        const requests = events.filter((e): e is RequestEvent => e.kind === 'request');
        fc.pre(new Set(requests.map((r) => r.id)).size === requests.length);
        fc.pre(events.every((e) => e.kind !== 'disconnect' || !requests.some((r) => r.id === e.id)));
        const scopes: (HTTPScope | WebSocketScope)[] = [];
        const b = bridge((scope) => {
          scopes.push(scope as HTTPScope | WebSocketScope);
          return new Promise(() => undefined);
        }, rootPath);
        feed(b.bridge, encode(events, padWith(junk)));
        assert.equal(b.closed(), events.filter((e) => e.kind === 'closed').length);
        assert.equal(scopes.length, requests.length);
        assert.equal(b.bridge.inFlight, requests.length);
        requests.forEach((r, i) => {
          const scope = scopes[i]!;
          const secure = r.scheme === 'https';
          assert.equal(scope.type, r.websocket ? 'websocket' : 'http');
          if (scope.type === 'http') {
            assert.equal(scope.method, r.method);
            assert.equal(scope.http_version, ['1.0', '1.1', '2'][r.version]);
            assert.equal(scope.scheme, r.scheme || 'http');
          } else {
            assert.equal(scope.scheme, secure ? 'wss' : 'ws');
            const offered = r.headers
              .filter(([n]) => n === 'sec-websocket-protocol')
              .flatMap(([, v]) => v.split(',').map((p) => p.trim()))
              .filter(Boolean);
            assert.deepEqual(scope.subprotocols, offered);
          }
          assert.equal(scope.path, rootPath + unquote(r.path));
          assert.equal(scope.root_path, rootPath);
          assert.equal(latin1(scope.raw_path!), r.path);
          assert.equal(latin1(scope.query_string), r.query ?? '');
          assert.deepEqual(pairs(scope.headers), r.headers);
          assert.deepEqual(scope.client, r.client);
          assert.deepEqual(scope.server, r.server);
          assert.deepEqual(scope.state, { shared: true });
        });
      },
    ),
    runs(300),
  ));

/** One exchange's whole story: an HTTP request's body chunks, or a WebSocket's messages and close. */
const story = fc.oneof(
  fc.record({
    websocket: fc.constant(false as const),
    chunks: fc.array(fc.uint8Array({ maxLength: 30 }), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({
    websocket: fc.constant(true as const),
    messages: fc.array(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 10 }).map((text) => ({ text })),
        fc.uint8Array({ maxLength: 20 }).map((bytes) => ({ bytes })),
      ),
      { maxLength: 20 },
    ),
    close: fc.record({
      code: fc.integer({ min: 1000, max: 4999 }),
      reason: fc.string({ unit: 'grapheme', maxLength: 10 }),
    }),
  }),
);

test('bodies, WebSocket messages and closes reach their exchange in order, across batches', (t) =>
  check(
    t,
    fc.asyncProperty(
      fc.uniqueArray(fc.tuple(u32, story), { selector: ([id]) => id, minLength: 1, maxLength: 5 }),
      requestEvent(fc.constant(0)),
      padding,
      fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
      async (stories, base, junk, steps) => {
        const received = new Map<number, unknown[]>();
        const app: ASGIFunction = async (scope, receive, send) => {
          const id = Number(latin1((scope.headers as RawHeader[])[0]![1]));
          const log: unknown[] = [];
          received.set(id, log);
          if (scope.type === 'websocket') {
            assert.deepEqual(await receive(), { type: 'websocket.connect' });
            await send({ type: 'websocket.accept' });
            for (;;) {
              const message = await receive();
              log.push(message);
              if (message.type === 'websocket.disconnect') return;
            }
          }
          const body: Uint8Array[] = [];
          for (;;) {
            const message = await receive();
            assert.equal(message.type, 'http.request');
            if (message.type !== 'http.request') return;
            body.push(message.body ?? new Uint8Array(0));
            if (!message.more_body) break;
          }
          await send({ type: 'http.response.start', status: 200, headers: [] });
          await send({ type: 'http.response.body', body: Buffer.concat(body) });
        };
        const b = bridge(app);
        const pad = padWith(junk);
        // The first batch: every request, its first chunk inline; each names its id in a header.
        const first: Event[] = stories.map(([id, s]) => ({
          ...base,
          id,
          websocket: s.websocket,
          headers: [['x-id', String(id)]],
          body: s.websocket ? new Uint8Array(0) : s.chunks[0]!,
          moreBody: !s.websocket && s.chunks.length > 1,
        }));
        feed(b.bridge, encode(first, pad));
        // Later batches: each body chunk once its exchange asks (`readMore`, as the core waits for),
        // WebSocket messages a few at a time (the core sends them as they come).
        const nextChunk = new Map(stories.filter(([, s]) => !s.websocket).map(([id]) => [id, 1]));
        const pending = stories.flatMap(([id, s]): (Event & { id: number })[] =>
          s.websocket
            ? [
                ...s.messages.map((m) => ({
                  kind: 'wsMessage' as const,
                  id,
                  text: 'text' in m,
                  data: 'text' in m ? Buffer.from(m.text!) : m.bytes!,
                })),
                { kind: 'wsClose' as const, id, ...s.close },
              ]
            : [],
        );
        for (let step = 0; ; step++) {
          await new Promise((resolve) => setImmediate(resolve));
          const batch: Event[] = [];
          for (const id of b.native.takeReadMore()) {
            const [, s] = stories.find(([sid]) => sid === id)!;
            if (s.websocket) continue;
            const n = nextChunk.get(id)!;
            nextChunk.set(id, n + 1);
            const chunk = s.chunks[n] ?? new Uint8Array(0);
            batch.push({ kind: 'body', id, chunk, moreBody: n + 1 < s.chunks.length });
          }
          // A few WebSocket events: sockets interleave, each socket's own events stay in order.
          const take = Math.min(pending.length, 1 + (steps[step % steps.length]! % 5));
          for (let k = 0; k < take; k++) {
            const { id } = pending[steps[(step + k + 1) % steps.length]! % pending.length]!;
            batch.push(
              ...pending.splice(
                pending.findIndex((e) => e.id === id),
                1,
              ),
            );
          }
          if (batch.length === 0 && b.bridge.inFlight === 0) break;
          assert.ok(step < 1000, 'the exchanges never finished');
          if (batch.length) feed(b.bridge, encode(batch, pad));
        }
        assert.deepEqual(b.errors, []);
        for (const [id, s] of stories) {
          if (s.websocket) {
            const expected = [
              ...s.messages.map((m) => ({ type: 'websocket.receive', ...m })),
              { type: 'websocket.disconnect', ...s.close },
            ];
            assert.deepEqual(received.get(id)!.map(plain), expected.map(plain));
          } else {
            const responses = b.native.calls.filter(([m, cid]) => m === 'respond' && cid === id);
            assert.deepEqual(responses, [['respond', id, 200, '', Buffer.concat(s.chunks)]]);
          }
        }
      },
    ),
    runs(200, true),
  ));

/** Words a corrupt batch may hold: kinds and near-kinds, small offsets, the extremes. */
const word = fc.oneof(
  fc.integer({ min: 0, max: 12 }),
  fc.integer({ min: 0, max: 80 }),
  fc.constantFrom(0x7fffffff, 0xffffffff),
  u32,
);
/** Any event, with ids drawn from a few so that records meet live exchanges and memory connections. */
const anyEvent: fc.Arbitrary<Event> = fc.oneof(
  requestEvent(fc.integer({ min: 1, max: 3 })),
  fc.record({
    kind: fc.constant('body' as const),
    id: fc.integer({ min: 1, max: 3 }),
    chunk: fc.uint8Array({ maxLength: 8 }),
    moreBody: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('wsMessage' as const),
    id: fc.integer({ min: 1, max: 3 }),
    data: fc.uint8Array({ maxLength: 8 }),
    text: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('wsClose' as const),
    id: fc.integer({ min: 1, max: 3 }),
    code: fc.integer({ min: 0, max: 5000 }),
    reason: fc.string({ maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('memData' as const),
    id: fc.integer({ min: 1, max: 3 }),
    data: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constantFrom('disconnect' as const, 'drain' as const, 'memEnd' as const),
    id: fc.integer({ min: 1, max: 3 }),
  }),
  fc.constant({ kind: 'closed' as const }),
);

/** A valid batch with some of its words overwritten, its end cut off, its string or bytes swapped. */
const corruptBatch: fc.Arbitrary<Batch> = fc
  .record({
    events: fc.array(anyEvent, { minLength: 1, maxLength: 6 }),
    words: fc.array(fc.tuple(fc.nat(), word), { maxLength: 4 }),
    keep: fc.option(fc.nat(), { nil: null }),
    strs: fc.option(fc.string({ unit: fc.constantFrom('a', '\0', '%', '1', ':', 'é'), maxLength: 30 }), {
      nil: null,
    }),
    bin: fc.constantFrom('keep', 'null', 'cut'),
  })
  .map(({ events, words, keep, strs, bin }) => {
    const batch = encode(events);
    const meta = Array.from(batch.meta);
    for (const [at, value] of words) meta[at % meta.length] = value;
    const kept = keep === null ? meta : meta.slice(0, keep % (meta.length + 1));
    const bytes = bin === 'keep' ? batch.bin : bin === 'null' ? null : (batch.bin?.subarray(0, 3) ?? null);
    return { meta: Uint32Array.from(kept), strs: strs ?? batch.strs, bin: bytes };
  });
/** Nothing like a batch at all. */
const randomBatch: fc.Arbitrary<Batch> = fc.record({
  meta: fc.array(word, { maxLength: 64, size: 'max' }).map((w) => Uint32Array.from(w)),
  strs: fc.string({ unit: fc.constantFrom('a', '\0', '%', '1', ':', '.'), maxLength: 40 }),
  bin: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    { nil: null },
  ),
});

test('a corrupt batch ends promptly, with at most a clear error', (t) =>
  check(
    t,
    fc.property(fc.oneof({ weight: 3, arbitrary: corruptBatch }, randomBatch), ({ meta, strs, bin }) => {
      // An app that reads everything in the scope, as soon as it is called.
      const b = bridge((scope) => {
        JSON.stringify(scope, (_k, v: unknown) => (v instanceof Uint8Array ? latin1(v) : v));
        return new Promise(() => undefined);
      });
      const memory = [b.bridge.connectMemory(), b.bridge.connectMemory()];
      try {
        b.bridge.onEvents(meta, strs, bin);
      } catch (error) {
        assert.ok(error instanceof RangeError || error instanceof RuntimeError, String(error));
        assert.match(error.message, /event batch/);
      } finally {
        b.bridge.endMemory();
        for (const socket of memory) socket.destroy();
      }
      for (const error of b.errors) {
        assert.ok(error instanceof RuntimeError, String(error));
        assert.match(error.message, /event batch/);
      }
    }),
    runs(500),
  ));

test('a record of an unknown kind, or one cut short, is refused rather than read as another', (t) =>
  check(
    t,
    fc.property(
      fc.array(anyEvent, { maxLength: 6 }),
      fc.nat(),
      fc.oneof(fc.constant(0), fc.integer({ min: Kind.MemEnd + 1, max: 0xffffffff })),
      (events, at, kind) => {
        const closed = events.filter((e) => e.kind === 'closed').length;
        // The unknown kind goes in where a record starts; the records before it are decoded.
        const before = events.slice(0, at % (events.length + 1));
        const { meta, strs, bin } = encode(before);
        const b = bridge(() => new Promise(() => undefined));
        const memory = [b.bridge.connectMemory(), b.bridge.connectMemory()];
        try {
          assert.throws(() => b.bridge.onEvents(Uint32Array.from([...meta, kind, 1]), strs, bin), {
            name: 'RangeError',
            message: `Malformed event batch: unknown kind ${kind} at word ${meta.length}.`,
          });
          assert.equal(b.closed(), before.filter((e) => e.kind === 'closed').length);
          const whole = encode(events);
          const last = events.at(-1);
          if (last && last.kind !== 'closed' && last.kind !== 'memEnd') {
            const cut = bridge(() => new Promise(() => undefined));
            const words = whole.meta.subarray(0, whole.meta.length - 1);
            assert.throws(() => cut.bridge.onEvents(words, whole.strs, whole.bin), {
              message: 'Malformed event batch: its last record is cut short.',
            });
            assert.equal(cut.closed(), closed);
          }
        } finally {
          b.bridge.endMemory();
          for (const socket of memory) socket.destroy();
        }
      },
    ),
    runs(300),
  ));
