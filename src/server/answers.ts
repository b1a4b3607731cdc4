/**
 * The answer queue: a whole answer given while the core is delivering events (the handler and the
 * microtasks it ran, which is when most requests are answered) goes into a buffer the addon shares,
 * and the addon hands the queue to the core when the delivery returns. Writing four words and the
 * body there costs a fraction of a call into the addon (crates/node/src/answers.rs says how much).
 * Answers at other times, with headers as text (not a registered list), with a body past
 * `bodyMost`, or past a full queue are sent by call, as before.
 */
import { AnswerQueue } from './wire.ts';
import type { NativeServer } from './native.ts';

/** Routes `native`'s whole answers through its queue where it can (after `listen` and `fastCalls`). */
export function answerThroughQueue(native: NativeServer): void {
  const buffer = native.answerQueue();
  const words = new Uint32Array(buffer, 0, AnswerQueue.first + AnswerQueue.most * AnswerQueue.words);
  const arena = new Uint8Array(buffer, words.byteLength, AnswerQueue.arenaBytes);
  const byCall = { text: native.respondText, bytes: native.respondBytes };

  /** Room for an answer with a body of `length` bytes: the index of its first word, or -1. */
  const room = (headers: string | number | null, length: number): number => {
    if (words[AnswerQueue.open] === 0 || typeof headers !== 'number' || length > AnswerQueue.bodyMost)
      return -1;
    const count = words[AnswerQueue.count]!;
    if (count === AnswerQueue.most || words[AnswerQueue.used]! + length > AnswerQueue.arenaBytes) return -1;
    return AnswerQueue.first + count * AnswerQueue.words;
  };
  const file = (at: number, id: number, status: number, list: number, length: number): void => {
    words[at + AnswerQueue.id] = id;
    words[at + AnswerQueue.status] = status;
    words[at + AnswerQueue.list] = list;
    words[at + AnswerQueue.len] = length;
    words[AnswerQueue.count]!++;
    words[AnswerQueue.used]! += length;
  };

  native.respondBytes = (id, status, headers, body) => {
    const at = room(headers, body.length);
    if (at < 0) return byCall.bytes(id, status, headers, body);
    arena.set(body, words[AnswerQueue.used]!);
    file(at, id, status, headers as number, body.length);
    return true;
  };
  native.respondText = (id, status, headers, body) => {
    // ASCII is its own UTF-8: copied in one pass; anything else goes by call (the addon encodes).
    const at = room(headers, body.length);
    if (at < 0) return byCall.text(id, status, headers, body);
    const used = words[AnswerQueue.used]!;
    for (let i = 0; i < body.length; i++) {
      const code = body.charCodeAt(i);
      if (code > 0x7f) return byCall.text(id, status, headers, body);
      arena[used + i] = code;
    }
    file(at, id, status, headers as number, body.length);
    return true;
  };
}
