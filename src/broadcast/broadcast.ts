import { MemoryBackend, redact, type Backend, type Sink } from './_backend.ts';
import { Feed } from './_feed.ts';
import { RedisBackend } from './_redis.ts';
import { Subscription, type BroadcastEvent } from './subscription.ts';

/** The local subscribers of one channel, and the engine's confirmation that it is subscribed. */
interface Channel {
  feeds: Set<Feed>;
  ready: Promise<void>;
}

/**
 * Publish/subscribe across processes and machines (Starlette's companion `broadcaster`), for chat and
 * live updates when one process is not enough. `memory://` keeps messages inside this process;
 * `redis://host:port` (or `rediss://`) goes through Redis, with the optional peer `redis` installed.
 *
 * @example
 * ```ts
 * import { Broadcast } from 'starlingjs/broadcast';
 *
 * const broadcast = new Broadcast(process.env.BROADCAST_URL ?? 'memory://');
 * await broadcast.connect();
 * const sub = await broadcast.subscribe('chat');
 * await broadcast.publish('chat', 'hello');
 * for await (const { channel, message } of sub) {
 *   console.log(channel, message); // chat hello
 *   break;
 * }
 * await broadcast.disconnect();
 * ```
 */
export class Broadcast {
  readonly #url: string;
  readonly #backend: Backend;
  readonly #channels = new Map<string, Channel>();
  /** Per channel, the engine's last subscribe or unsubscribe: they must reach it in order. */
  readonly #order = new Map<string, Promise<void>>();
  #connected = false;
  #connecting: Promise<void> | null = null;
  #error: Error | null = null;

  /** `memory://`, `redis://[[user]:password@]host[:port][/db]` or `rediss://…`. */
  constructor(url: string | URL) {
    const parsed = new URL(url);
    this.#url = redact(parsed);
    const sink: Sink = {
      deliver: (channel, message) => this.#deliver(channel, message),
      fail: (error) => this.#fail(error),
    };
    if (parsed.protocol === 'memory:') this.#backend = new MemoryBackend(sink);
    else if (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:')
      this.#backend = new RedisBackend(parsed, sink);
    else throw new TypeError(`Unsupported broadcast URL ${this.#url}: use memory:// or redis://host:port`);
  }

  /** True between a successful `connect()` and `disconnect()`, or the loss of the connection. */
  get isConnected(): boolean {
    return this.#connected;
  }

  /**
   * Opens the connection (for `redis://`, imports `redis`). Does nothing when already connected.
   *
   * @example
   * ```ts
   * const app = new Starling({
   *   lifespan: async function* () {
   *     await broadcast.connect();
   *     yield;
   *     await broadcast.disconnect();
   *   },
   * });
   * ```
   */
  async connect(): Promise<void> {
    if (this.#connected) return;
    this.#connecting ??= this.#backend.connect().then(
      () => {
        this.#connected = true;
        this.#error = null;
        this.#connecting = null;
      },
      (error: unknown) => {
        this.#connecting = null;
        throw error;
      },
    );
    await this.#connecting;
  }

  /**
   * Closes the connection; every subscription's iteration ends (after what it has buffered).
   *
   * @example
   * ```ts
   * await broadcast.disconnect();
   * ```
   */
  async disconnect(): Promise<void> {
    await this.#connecting?.catch(() => {});
    const connected = this.#connected;
    this.#connected = false;
    this.#error = null;
    this.#endAll();
    if (connected) await this.#backend.disconnect();
  }

  /**
   * Sends `message` to every subscriber of `channel`, in every process connected to the same engine.
   * Send objects as JSON.
   *
   * @example
   * ```ts
   * await broadcast.publish('chat', JSON.stringify({ from: 'alice', text: 'hi' }));
   * ```
   */
  async publish(channel: string, message: string): Promise<void> {
    if (typeof message !== 'string')
      throw new TypeError('Broadcast messages are strings (use JSON.stringify)');
    this.#checkConnected();
    try {
      await this.#backend.publish(channel, message);
    } catch (error) {
      throw this.#error ?? error;
    }
  }

  /**
   * Subscribes to `channel`. Once the returned promise resolves (on Redis: once the server confirmed),
   * every message published later on that channel is delivered to the subscription, buffered until read.
   *
   * @example
   * ```ts
   * const sub = await broadcast.subscribe('chat');
   * for await (const { message } of sub) console.log(message);
   * ```
   */
  async subscribe(channel: string): Promise<Subscription> {
    this.#checkConnected();
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { feeds: new Set(), ready: this.#inOrder(channel, () => this.#backend.subscribe(channel)) };
      this.#channels.set(channel, entry);
    }
    const feed = new Feed();
    entry.feeds.add(feed);
    try {
      await entry.ready;
    } catch (error) {
      this.#remove(channel, feed);
      if (!feed.ended) throw error;
    }
    // disconnect() or a lost connection while the engine was confirming.
    if (feed.ended)
      throw this.#error ?? new Error(`Broadcast disconnected while subscribing to "${channel}"`);
    return new Subscription(channel, feed, () => this.#leave(channel, feed));
  }

  async #leave(channel: string, feed: Feed): Promise<void> {
    feed.end();
    if (!this.#remove(channel, feed) || !this.#connected) return;
    try {
      await this.#inOrder(channel, () => this.#backend.unsubscribe(channel));
    } catch (error) {
      // A lost connection is reported by the iterations and by publish(); leaving has nothing to add.
      if (this.#connected) throw error;
    }
  }

  /** Takes a feed off its channel; true when that left the channel without local subscribers. */
  #remove(channel: string, feed: Feed): boolean {
    const entry = this.#channels.get(channel);
    if (!entry?.feeds.delete(feed) || entry.feeds.size > 0) return false;
    this.#channels.delete(channel);
    return true;
  }

  #inOrder(channel: string, step: () => Promise<void>): Promise<void> {
    const done = (this.#order.get(channel) ?? Promise.resolve()).then(step, step);
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.#order.set(channel, settled);
    void settled.then(() => {
      if (this.#order.get(channel) === settled) this.#order.delete(channel);
    });
    return done;
  }

  #deliver(channel: string, message: string): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    const event: BroadcastEvent = Object.freeze({ channel, message });
    for (const feed of entry.feeds) feed.push(event);
  }

  #fail(error: Error): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#error = error;
    this.#endAll(error);
  }

  #endAll(error?: Error): void {
    for (const { feeds } of this.#channels.values()) for (const feed of feeds) feed.end(error);
    this.#channels.clear();
    this.#order.clear();
  }

  #checkConnected(): void {
    if (this.#error) throw this.#error;
    if (!this.#connected) throw new Error(`Broadcast is not connected to ${this.#url}: call connect() first`);
  }
}
