/**
 * The answer queue (src/server/answers.ts, crates/node/src/answers.rs): whole answers given while
 * the core delivers events go into a shared buffer the addon hands to the core when the delivery
 * returns; any other answer goes by call. First the queue's rules against a stand-in addon, then a
 * real server answering every kind of whole answer, inside and outside a delivery, all at once.
 */
import test from 'ava';
import type { ASGIFunction } from '../src/asgi.ts';
import { answerThroughQueue } from '../src/server/answers.ts';
import type { NativeServer } from '../src/server/native.ts';
import { AnswerQueue } from '../src/server/wire.ts';
import { serve } from '../src/server/index.ts';

/** A stand-in with the queue's buffer and a log of the answers that went by call. */
function standIn() {
  const buffer = new ArrayBuffer(AnswerQueue.bytes);
  const calls: [string, number, number, string | number | null, string][] = [];
  const native = {
    answerQueue: () => buffer,
    respondText: (id: number, status: number, headers: string | number | null, body: string) =>
      calls.push(['text', id, status, headers, body]) > 0,
    respondBytes: (id: number, status: number, headers: string | number | null, body: Uint8Array) =>
      calls.push(['bytes', id, status, headers, Buffer.from(body).toString()]) > 0,
  } as unknown as NativeServer;
  answerThroughQueue(native);
  const words = new Uint32Array(buffer, 0, AnswerQueue.first + AnswerQueue.most * AnswerQueue.words);
  const arena = new Uint8Array(buffer, words.byteLength);
  /** The queued answers, as the addon reads them. */
  const queued = () => {
    const out: [number, number, number, string][] = [];
    let at = 0;
    for (let n = 0; n < words[AnswerQueue.count]!; n++) {
      const w = AnswerQueue.first + n * AnswerQueue.words;
      const len = words[w + AnswerQueue.len]!;
      const body = Buffer.from(arena.subarray(at, at + len)).toString();
      out.push([
        words[w + AnswerQueue.id]!,
        words[w + AnswerQueue.status]!,
        words[w + AnswerQueue.list]!,
        body,
      ]);
      at += len;
    }
    return out;
  };
  const open = (on: boolean) => (words[AnswerQueue.open] = on ? 1 : 0);
  return { native, calls, queued, open, words };
}

test('outside a delivery every answer goes by call', (t) => {
  const { native, calls, queued } = standIn();
  native.respondText(1, 200, 3, 'hi');
  native.respondBytes(2, 201, 4, Buffer.from('yo'));
  t.deepEqual(calls, [
    ['text', 1, 200, 3, 'hi'],
    ['bytes', 2, 201, 4, 'yo'],
  ]);
  t.deepEqual(queued(), []);
});

test('during a delivery, answers with a registered list and a small body are queued in order', (t) => {
  const { native, calls, queued, open, words } = standIn();
  open(true);
  native.respondText(1, 200, 3, 'hello');
  native.respondBytes(2, 404, 5, Buffer.from('not found'));
  native.respondBytes(3, 204, 6, new Uint8Array(0));
  t.deepEqual(calls, []);
  t.deepEqual(queued(), [
    [1, 200, 3, 'hello'],
    [2, 404, 5, 'not found'],
    [3, 204, 6, ''],
  ]);
  t.is(words[AnswerQueue.used], 'hello'.length + 'not found'.length);
});

test('headers as text, a body past the limit, and text that is not ASCII go by call', (t) => {
  const { native, calls, queued, open } = standIn();
  open(true);
  native.respondText(1, 200, 'x-a\0b\0', 'text headers');
  native.respondBytes(2, 200, null, Buffer.from('no headers'));
  native.respondBytes(3, 200, 7, new Uint8Array(AnswerQueue.bodyMost + 1));
  native.respondText(4, 200, 7, 'café');
  native.respondText(5, 200, 7, 'plain');
  t.deepEqual(
    calls.map(([kind, id]) => [kind, id]),
    [
      ['text', 1],
      ['bytes', 2],
      ['bytes', 3],
      ['text', 4],
    ],
  );
  t.deepEqual(calls[3]!.slice(4), ['café']);
  // A text left half-copied leaves nothing behind: the next answer's body starts where it would have.
  t.deepEqual(queued(), [[5, 200, 7, 'plain']]);
});

test('a full queue, or a full arena, sends the rest by call', (t) => {
  const { native, calls, queued, open } = standIn();
  open(true);
  for (let id = 0; id < AnswerQueue.most + 2; id++) native.respondText(id, 200, 1, '');
  t.is(queued().length, AnswerQueue.most);
  t.deepEqual(
    calls.map(([, id]) => id),
    [AnswerQueue.most, AnswerQueue.most + 1],
  );
  const arena = standIn();
  arena.open(true);
  const body = new Uint8Array(AnswerQueue.bodyMost).fill(0x61);
  const fit = Math.floor(AnswerQueue.arenaBytes / AnswerQueue.bodyMost);
  for (let id = 0; id <= fit; id++) arena.native.respondBytes(id, 200, 1, body);
  t.is(arena.queued().length, fit);
  t.deepEqual(
    arena.calls.map(([, id]) => id),
    [fit],
  );
});

/** Answers by path: the kinds of whole answer the queue takes or leaves to a call. */
const app: ASGIFunction = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  const path = scope.path;
  if (path.startsWith('/later')) await new Promise((resolve) => setTimeout(resolve, 5));
  const size = Number(/\/big\/(\d+)/.exec(path)?.[1] ?? 0);
  const body = size ? 'b'.repeat(size) : path.includes('utf8') ? `é ${path}` : `ok ${path}`;
  // A list of constant arrays is registered the second time it is packed (answerHeaders); a
  // list made per request travels as text.
  const headers: [string, string][] = path.includes('text-headers')
    ? [['x-path', path]]
    : [['content-type', 'text/plain; charset=utf-8']];
  await send({ type: 'http.response.start', status: 200, headers });
  await send({
    type: 'http.response.body',
    body: path.includes('bytes') ? Buffer.from(body) : body,
  });
};

test('a real server answers every kind of whole answer, queued or by call, each to its own request', async (t) => {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    const paths = Array.from(
      { length: 60 },
      (_, i) =>
        [
          `/plain/${i}`,
          `/bytes/${i}`,
          `/utf8/${i}`,
          `/text-headers/${i}`,
          `/later/${i}`,
          `/big/${AnswerQueue.bodyMost + i}`,
          `/big/${i + 1000}/bytes`,
        ][i % 7]!,
    );
    for (let round = 0; round < 2; round++) {
      const bodies = await Promise.all(
        paths.map(async (path) => {
          const res = await fetch(`${server.url}${path}`);
          return [res.status, await res.text()] as const;
        }),
      );
      bodies.forEach(([status, body], i) => {
        const path = paths[i]!;
        t.is(status, 200);
        const size = Number(/\/big\/(\d+)/.exec(path)?.[1] ?? 0);
        t.is(body, size ? 'b'.repeat(size) : path.includes('utf8') ? `é ${path}` : `ok ${path}`, path);
      });
    }
  } finally {
    await server.close();
  }
});
