/**
 * In-memory connections to the core: a `Duplex` whose bytes go to the same hyper connection code
 * that serves sockets. Node's http client and the `ws` package take it as their socket
 * (`createConnection`), so the TestClient runs the production path without opening a port.
 */
import { Duplex } from 'node:stream';
import type { LoopRef } from './loop.ts';
import type { NativeServer } from './native.ts';

/** One client end; the core's answers arrive through `push` from the bridge. */
export class MemoryConnection extends Duplex {
  readonly #native: NativeServer;
  readonly #conn: number;

  constructor(native: NativeServer, conn: number) {
    super({ allowHalfOpen: false });
    this.#native = native;
    this.#conn = conn;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // The core copies the bytes before this returns, so the chunk may be reused at once.
    if (this.#native.memoryWrite(this.#conn, chunk)) callback();
    else callback(Object.assign(new Error('in-memory connection closed'), { code: 'ECONNRESET' }));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#native.memoryEnd(this.#conn);
    callback();
  }

  override _read(): void {
    // Data is pushed by the bridge as the core writes it; there is no pull.
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#native.memoryEnd(this.#conn);
    callback(error);
  }

  // Sockets have these; http clients call them.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/**
 * A server's open in-memory connections, by the core's connection id. Each holds the event loop until
 * the core ends it (or the server closes).
 */
export class MemoryConnections {
  readonly #open = new Map<number, MemoryConnection>();

  constructor(readonly loop: LoopRef) {}

  /** A new in-memory connection to the core. */
  connect(native: NativeServer): MemoryConnection {
    const conn = native.connectMemory();
    const socket = new MemoryConnection(native, conn);
    this.#open.set(conn, socket);
    this.loop.hold();
    return socket;
  }

  get(conn: number): MemoryConnection | undefined {
    return this.#open.get(conn);
  }

  /** The core closed `conn`. */
  end(conn: number): void {
    const socket = this.#open.get(conn);
    if (socket) {
      socket.push(null);
      this.#open.delete(conn);
      this.loop.release();
    }
  }

  /** Ends the connections still open: after close, the core reports no more of them. */
  endAll(): void {
    for (const socket of this.#open.values()) {
      socket.push(null);
      this.loop.release();
    }
    this.#open.clear();
  }
}
