/**
 * Properties of the bridge's batch decoder (`Bridge.onEvents`, src/server/bridge.ts and scope.ts):
 * batches encoded with the record layouts of wire.ts, as crates/node/src/encode.rs writes them (see
 * ./_wire.ts), decode to exactly the events they hold, whatever the spans' offsets; bodies, WebSocket
 * messages and closes reach the right exchange in order across batches; and a corrupt batch (mutated,
 * truncated, random) ends promptly, with at most a clear error.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import type { ASGIFunction, HTTPScope, RawHeader, WebSocketScope } from '../../src/asgi.ts';
import { unquote } from '../../src/_utils.ts';
import type { Bridge } from '../../src/server/bridge.ts';
import { RuntimeError } from '../../src/server/exchange.ts';
import { Kind } from '../../src/server/wire.ts';
import { check, runs, stringOf } from './_fuzz.ts';
import { bridge, encode, type Address, type Batch, type Event, type RequestEvent } from './_wire.ts';

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
const feed = (b: Bridge, { meta, strs, bin, texts }: Batch) => b.onEvents(meta, strs, bin, undefined, texts);
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
        // ASCII, long enough to be copied out of the batch's text string, and around its size cap.
        fc.string({ maxLength: 40 }).map((text) => ({ text })),
        fc.string({ minLength: 1020, maxLength: 1030 }).map((text) => ({ text })),
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
    texts: fc.constantFrom('keep', 'null', 'cut'),
  })
  .map(({ events, words, keep, strs, bin, texts }) => {
    const batch = encode(events);
    const meta = Array.from(batch.meta);
    for (const [at, value] of words) meta[at % meta.length] = value;
    const kept = keep === null ? meta : meta.slice(0, keep % (meta.length + 1));
    const bytes = bin === 'keep' ? batch.bin : bin === 'null' ? null : (batch.bin?.subarray(0, 3) ?? null);
    const text =
      texts === 'keep' ? batch.texts : texts === 'null' ? null : (batch.texts?.subarray(0, 3) ?? null);
    return { meta: Uint32Array.from(kept), strs: strs ?? batch.strs, bin: bytes, texts: text };
  });
/** Nothing like a batch at all. */
const randomBatch: fc.Arbitrary<Batch> = fc.record({
  meta: fc.array(word, { maxLength: 64, size: 'max' }).map((w) => Uint32Array.from(w)),
  strs: fc.string({ unit: fc.constantFrom('a', '\0', '%', '1', ':', '.'), maxLength: 40 }),
  bin: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    { nil: null },
  ),
  texts: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    { nil: null },
  ),
});

test('a corrupt batch ends promptly, with at most a clear error', (t) =>
  check(
    t,
    fc.property(
      fc.oneof({ weight: 3, arbitrary: corruptBatch }, randomBatch),
      ({ meta, strs, bin, texts }) => {
        // An app that reads everything in the scope, as soon as it is called.
        const b = bridge((scope) => {
          JSON.stringify(scope, (_k, v: unknown) => (v instanceof Uint8Array ? latin1(v) : v));
          return new Promise(() => undefined);
        });
        const memory = [b.bridge.connectMemory(), b.bridge.connectMemory()];
        try {
          b.bridge.onEvents(meta, strs, bin, undefined, texts);
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
      },
    ),
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
        const { meta, strs, bin, texts } = encode(before);
        const b = bridge(() => new Promise(() => undefined));
        const memory = [b.bridge.connectMemory(), b.bridge.connectMemory()];
        try {
          assert.throws(
            () => b.bridge.onEvents(Uint32Array.from([...meta, kind, 1]), strs, bin, undefined, texts),
            {
              name: 'RangeError',
              message: `Malformed event batch: unknown kind ${kind} at word ${meta.length}.`,
            },
          );
          assert.equal(b.closed(), before.filter((e) => e.kind === 'closed').length);
          const whole = encode(events);
          const last = events.at(-1);
          if (last && last.kind !== 'closed' && last.kind !== 'memEnd') {
            const cut = bridge(() => new Promise(() => undefined));
            const words = whole.meta.subarray(0, whole.meta.length - 1);
            assert.throws(() => cut.bridge.onEvents(words, whole.strs, whole.bin, undefined, whole.texts), {
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
