/**
 * What a broadcast engine does for `Broadcast`: it moves messages between processes, and nothing more.
 * Which local subscribers get a message is decided by `Broadcast`, not here.
 */

/** How a backend hands back what it receives. */
export interface Sink {
  /** A message arrived on a channel this backend subscribed to. */
  deliver(channel: string, message: string): void;
  /** The connection is gone for good; the backend has already let go of it. */
  fail(error: Error): void;
}

export interface Backend {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Resolves once the engine confirms: every message published after that is delivered. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
}

/** One process, no engine: `publish` delivers at once, in order (as broadcaster's `memory://`). */
export class MemoryBackend implements Backend {
  readonly #sink: Sink;

  constructor(sink: Sink) {
    this.#sink = sink;
  }

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}

  async publish(channel: string, message: string): Promise<void> {
    this.#sink.deliver(channel, message);
  }
}

/** The URL for messages, its password hidden. */
export function redact(url: URL): string {
  if (!url.password) return url.href;
  const shown = new URL(url.href);
  shown.password = '***';
  return shown.href;
}
