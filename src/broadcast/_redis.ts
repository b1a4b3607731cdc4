/**
 * `redis://` and `rediss://`: Redis pub/sub over two connections, since a subscribed connection can do
 * nothing else. The `redis` package is an optional peer, imported on the first `connect()`.
 */
import { redact, type Backend, type Sink } from './_backend.ts';
import { importPeer } from '../_peers.ts';

type Listener = (message: string, channel: string) => void;

/** The part of a node-redis client (4 and later) used here. */
interface Client {
  readonly isOpen: boolean;
  on(event: 'error', listener: (error: Error) => void): unknown;
  connect(): Promise<unknown>;
  duplicate(): Client;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  close?(): Promise<unknown>; // 5 and later; 4 has quit()
  quit?(): Promise<unknown>;
  destroy?(): unknown; // 5 and later; 4 has disconnect()
  disconnect?(): Promise<unknown>;
}

interface Redis {
  createClient(options: { url: string; socket: { reconnectStrategy: false } }): Client;
}

function loadRedis(): Promise<Redis> {
  return importPeer(
    'redis',
    'starlingjs/broadcast (redis:// URLs)',
    () => import('redis') as Promise<unknown> as Promise<Redis>,
  );
}

/** Lets go of a client at once, whatever state it is in (already closed is fine). */
function drop(client: Client): void {
  Promise.resolve()
    .then(() => (client.destroy ? client.destroy() : client.disconnect?.()))
    .catch(() => {});
}

export class RedisBackend implements Backend {
  readonly #url: URL;
  readonly #sink: Sink;
  readonly #listener: Listener;
  #publisher: Client | null = null;
  #subscriber: Client | null = null;

  constructor(url: URL, sink: Sink) {
    this.#url = url;
    this.#sink = sink;
    this.#listener = (message, channel) => sink.deliver(channel, message);
  }

  async connect(): Promise<void> {
    const { createClient } = await loadRedis();
    // No reconnecting: messages published while a connection is down would be lost without a word, so
    // a lost connection fails the Broadcast instead, and says so to every subscriber.
    const publisher = createClient({ url: this.#url.href, socket: { reconnectStrategy: false } });
    const subscriber = publisher.duplicate();
    for (const client of [publisher, subscriber]) {
      client.on('error', (error) => {
        if (this.#publisher === publisher && !client.isOpen) this.#lose(error);
      });
    }
    try {
      await Promise.all([publisher.connect(), subscriber.connect()]);
    } catch (error) {
      drop(publisher);
      drop(subscriber);
      throw new Error(`Broadcast could not connect to ${redact(this.#url)}: ${describe(error)}`, {
        cause: error,
      });
    }
    this.#publisher = publisher;
    this.#subscriber = subscriber;
  }

  async disconnect(): Promise<void> {
    const publisher = this.#publisher;
    const subscriber = this.#subscriber;
    this.#publisher = this.#subscriber = null;
    if (subscriber) drop(subscriber);
    if (!publisher) return;
    try {
      // Publishes already sent still get their answer.
      await (publisher.close ? publisher.close() : publisher.quit?.());
    } catch {
      drop(publisher);
    }
  }

  async subscribe(channel: string): Promise<void> {
    await this.#client(this.#subscriber).subscribe(channel, this.#listener);
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.#client(this.#subscriber).unsubscribe(channel);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#client(this.#publisher).publish(channel, message);
  }

  #client(client: Client | null): Client {
    if (!client) throw new Error(`Broadcast is not connected to ${redact(this.#url)}`);
    return client;
  }

  #lose(cause: Error): void {
    for (const client of [this.#publisher, this.#subscriber]) if (client) drop(client);
    this.#publisher = this.#subscriber = null;
    this.#sink.fail(
      new Error(`Broadcast lost its connection to ${redact(this.#url)}: ${describe(cause)}`, { cause }),
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  return error instanceof Error ? error.message || error.name : String(error);
}
