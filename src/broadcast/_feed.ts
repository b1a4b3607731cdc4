/**
 * The buffer behind one subscription: events wait here until read, in arrival order, with no bound.
 * `end()` lets what is buffered be read first; then the reader sees the end, or the error once.
 */
import type { BroadcastEvent } from './subscription.ts';

interface Reader {
  resolve(result: IteratorResult<BroadcastEvent, undefined>): void;
  reject(error: Error): void;
}

export class Feed {
  #events: BroadcastEvent[] = [];
  #readers: Reader[] = [];
  #ended = false;
  #error: Error | undefined;

  get ended(): boolean {
    return this.#ended;
  }

  push(event: BroadcastEvent): void {
    if (this.#ended) return;
    const reader = this.#readers.shift();
    if (reader) reader.resolve({ done: false, value: event });
    else this.#events.push(event);
  }

  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const reader of this.#readers.splice(0)) this.#finish(reader);
  }

  next(): Promise<IteratorResult<BroadcastEvent, undefined>> {
    const event = this.#events.shift();
    if (event) return Promise.resolve({ done: false, value: event });
    return new Promise((resolve, reject) => {
      if (this.#ended) this.#finish({ resolve, reject });
      else this.#readers.push({ resolve, reject });
    });
  }

  #finish(reader: Reader): void {
    const error = this.#error;
    this.#error = undefined;
    if (error) reader.reject(error);
    else reader.resolve({ done: true, value: undefined });
  }
}
