import type { Feed } from './_feed.ts';

/** One message as a subscriber sees it. */
export interface BroadcastEvent {
  readonly channel: string;
  readonly message: string;
}

/**
 * The messages of one channel, from the moment `broadcast.subscribe(channel)` resolved: an async
 * iterable that buffers them until read, in the order they were published. Made by
 * `Broadcast.subscribe`.
 *
 * The iteration ends after `unsubscribe()` or `broadcast.disconnect()` (messages that arrived before
 * are still yielded first), and throws when the Broadcast loses its connection. Leaving a `for await`
 * loop early (`break`, `return`, a throw) unsubscribes.
 *
 * @example
 * ```ts
 * const sub = await broadcast.subscribe('chat');
 * for await (const { message } of sub) {
 *   if (message === 'bye') break; // unsubscribes
 *   console.log(message);
 * }
 * ```
 */
export class Subscription implements AsyncIterable<BroadcastEvent> {
  readonly channel: string;
  readonly #feed: Feed;
  readonly #leave: () => Promise<void>;

  constructor(channel: string, feed: Feed, leave: () => Promise<void>) {
    this.channel = channel;
    this.#feed = feed;
    this.#leave = leave;
  }

  /**
   * The next event; `{ done: true }` once the subscription has ended.
   *
   * @example
   * ```ts
   * const { value } = await sub.next();
   * ```
   */
  next(): Promise<IteratorResult<BroadcastEvent, undefined>> {
    return this.#feed.next();
  }

  /**
   * Stops receiving: the iteration ends once the messages already buffered have been read. Safe to
   * call more than once.
   *
   * @example
   * ```ts
   * await sub.unsubscribe();
   * ```
   */
  unsubscribe(): Promise<void> {
    return this.#leave();
  }

  [Symbol.asyncIterator](): AsyncIterator<BroadcastEvent, undefined> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.unsubscribe();
        return { done: true, value: undefined };
      },
    };
  }
}
