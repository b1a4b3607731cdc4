/**
 * The JS half of the bridge: decodes batches of core events into ASGI scopes and drives each
 * request's `receive`/`send` with synchronous native calls. Internal; `serve()` is the public face.
 */
import type {
  ASGIFunction,
  Extensions,
  HTTPReceiveMessage,
  HTTPScope,
  HeaderLike,
  RawHeader,
  Scope,
  Send,
  SendMessage,
  WebSocketScope,
} from '../asgi.ts';
import { EventKind, type NativeServer } from './native.ts';
import { WsExchange, type WsHost } from './websocket.ts';
import { MemoryConnection } from './memory.ts';

const EMPTY = new Uint8Array(0);
const RESOLVED = Promise.resolve();
const DISCONNECT: HTTPReceiveMessage = Object.freeze({ type: 'http.disconnect' }) as HTTPReceiveMessage;
const ASGI_VERSIONS = Object.freeze({ version: '3.0', spec_version: '2.4' });
const VERSIONS = ['1.0', '1.1', '2'];

/** What the core supports, announced in every HTTP scope. */
export const EXTENSIONS: Extensions = Object.freeze({
  'http.response.pathsend': Object.freeze({}) as Record<string, never>,
  // GZipMiddleware marks responses and the core compresses them (crates/core/src/compress.rs).
  'starling.compression': Object.freeze({}) as Record<string, never>,
});
const WS_EXTENSIONS: Extensions = Object.freeze({
  'websocket.http.response': Object.freeze({}) as Record<string, never>,
});

/** Settings the dispatcher applies to every request. */
export interface BridgeOptions {
  rootPath: string;
  /** Copied (shallowly) into each request's `scope.state`. */
  state: Record<string, unknown>;
  /** Rewrites client/scheme from X-Forwarded-* when the peer is trusted. */
  proxy?: (scope: HTTPScope) => void;
  /** Called with every error an app raised, after the response was settled. */
  onError: (error: unknown) => void;
  onRequestDone?: () => void;
  onClosed: () => void;
  /** Keeps the event loop alive while the core may still call back (its doorbell is weak). */
  loop: LoopRef;
}

/**
 * A counted reference on Node's event loop. The core's doorbell never holds the loop open, so the JS
 * side does, exactly while something can still arrive: a listener, an open in-memory connection, a
 * close in progress.
 */
export class LoopRef {
  #count = 0;
  #timer: NodeJS.Timeout | null = null;
  hold(): void {
    if (this.#count++ === 0) this.#timer = setInterval(() => undefined, 2 ** 30);
  }
  release(): void {
    if (--this.#count === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}

// ---- lazy headers: parsed only when an app reads them ------------------------------------------

interface RawHeaders {
  strs: string;
  at: number;
  len: number;
}

function latin1(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

function parseHeaders(raw: RawHeaders, into: RawHeader[]): void {
  const { strs } = raw;
  let at = raw.at;
  const end = at + raw.len;
  while (at < end) {
    const nameEnd = strs.indexOf('\0', at);
    const valueEnd = strs.indexOf('\0', nameEnd + 1);
    into.push([latin1(strs.slice(at, nameEnd)), latin1(strs.slice(nameEnd + 1, valueEnd))]);
    at = valueEnd + 1;
  }
}

/**
 * `scope.headers` is a real array behind a Proxy that fills it on first touch: apps that never read
 * headers never pay for them, and spreading or copying the scope keeps working (the value is an
 * ordinary own property). Every trap fills first, then forwards.
 */
class LazyHeaders implements ProxyHandler<RawHeader[]> {
  #raw: RawHeaders | null;
  constructor(raw: RawHeaders) {
    this.#raw = raw;
  }
  #fill(target: RawHeader[]): RawHeader[] {
    if (this.#raw) {
      parseHeaders(this.#raw, target);
      this.#raw = null;
    }
    return target;
  }
  get(target: RawHeader[], key: string | symbol): unknown {
    const filled = this.#fill(target);
    const value = Reflect.get(filled, key, filled);
    // Array methods must run against the real array, not the proxy, to stay fast.
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(filled) : value;
  }
  set(target: RawHeader[], key: string | symbol, value: unknown): boolean {
    return Reflect.set(this.#fill(target), key, value);
  }
  has(target: RawHeader[], key: string | symbol): boolean {
    return Reflect.has(this.#fill(target), key);
  }
  ownKeys(target: RawHeader[]): ArrayLike<string | symbol> {
    return Reflect.ownKeys(this.#fill(target));
  }
  getOwnPropertyDescriptor(target: RawHeader[], key: string | symbol): PropertyDescriptor | undefined {
    return Reflect.getOwnPropertyDescriptor(this.#fill(target), key);
  }
  deleteProperty(target: RawHeader[], key: string | symbol): boolean {
    return Reflect.deleteProperty(this.#fill(target), key);
  }
  defineProperty(target: RawHeader[], key: string | symbol, desc: PropertyDescriptor): boolean {
    return Reflect.defineProperty(this.#fill(target), key, desc);
  }
}

/** Percent-decodes a path as UTF-8, replacing invalid sequences instead of throwing. */
function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const hex = raw.charCodeAt(i) === 37 ? raw.slice(i + 1, i + 3) : '';
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else bytes.push(raw.charCodeAt(i) & 0xff);
    }
    return Buffer.from(bytes).toString('utf8');
  }
}

function address(host: string, port: string): [string, number] | null {
  return host ? [host, Number(port)] : null;
}

// ---- response helpers --------------------------------------------------------------------------

/** Packs headers as `name\0value\0...` (latin1 text), the form the core takes. */
export function packHeaders(headers: Iterable<HeaderLike> | undefined): string | null {
  if (!headers) return null;
  let out = '';
  for (const [name, value] of headers) {
    out += (typeof name === 'string' ? name : Buffer.from(name).toString('latin1')) + '\0';
    out += (typeof value === 'string' ? value : Buffer.from(value).toString('latin1')) + '\0';
  }
  return out;
}

/** Raised in the app when it breaks the ASGI message order. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

// ---- one request -------------------------------------------------------------------------------

const enum Phase {
  Waiting,
  Started,
  Streaming,
  Done,
}

class Exchange {
  phase = Phase.Waiting;
  status = 200;
  headers: string | null = null;
  /** Body bytes delivered so far: first the inline body, later chunks from `readMore`. */
  pendingBody: Uint8Array | null;
  moreBody: boolean;
  bodyDone: boolean;
  disconnected = false;
  /** Pending `receive()` calls, oldest first: each gets its own message, none is dropped. */
  waiters: ((m: HTTPReceiveMessage) => void)[] = [];
  waitingDrain: (() => void) | null = null;

  constructor(
    readonly id: number,
    readonly native: NativeServer,
    readonly bridge: Bridge,
    body: Uint8Array,
    moreBody: boolean,
  ) {
    this.pendingBody = body;
    this.moreBody = moreBody;
    this.bodyDone = false;
  }

  receive = (): Promise<HTTPReceiveMessage> => {
    if (this.disconnected || this.phase === Phase.Done) return Promise.resolve(DISCONNECT);
    if (this.pendingBody) {
      const body = this.pendingBody;
      this.pendingBody = null;
      if (!this.moreBody || body.length > 0) {
        if (!this.moreBody) this.bodyDone = true;
        return Promise.resolve({ type: 'http.request', body, more_body: this.moreBody });
      }
    }
    // Once the body is over, the next message is the disconnect, whenever it comes.
    if (!this.bodyDone && this.moreBody) this.native.readMore(this.id);
    return new Promise((resolve) => this.waiters.push(resolve));
  };

  #releaseWaiters(): void {
    for (const waiter of this.waiters.splice(0)) waiter(DISCONNECT);
  }

  onBody(chunk: Uint8Array, more: boolean): void {
    this.moreBody = more;
    if (!more) this.bodyDone = true;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ type: 'http.request', body: chunk, more_body: more });
    else this.pendingBody = chunk;
  }

  onDisconnect(): void {
    this.disconnected = true;
    this.bridge.forget(this.id);
    this.#releaseWaiters();
    const drain = this.waitingDrain;
    this.waitingDrain = null;
    drain?.();
  }

  onDrain(): void {
    const drain = this.waitingDrain;
    this.waitingDrain = null;
    drain?.();
  }

  send = (message: SendMessage): Promise<void> => {
    switch (message.type) {
      case 'http.response.start':
        if (this.phase !== Phase.Waiting) {
          throw new RuntimeError(
            `Unexpected ASGI message 'http.response.start' sent, after response already started.`,
          );
        }
        this.phase = Phase.Started;
        this.status = message.status;
        this.headers = packHeaders(message.headers);
        return RESOLVED;
      case 'http.response.body':
        return this.sendBody(message.body ?? EMPTY, message.more_body === true);
      case 'http.response.pathsend':
        if (this.phase !== Phase.Started) {
          throw new RuntimeError(
            `Unexpected ASGI message 'http.response.pathsend' sent, before response start.`,
          );
        }
        this.complete();
        if (!this.disconnected) this.native.sendFile(this.id, this.status, this.headers, message.path);
        return RESOLVED;
      default:
        throw new RuntimeError(`Unexpected ASGI message '${message.type}' sent for an HTTP request.`);
    }
  };

  private sendBody(body: string | Uint8Array, more: boolean): Promise<void> {
    if (this.phase === Phase.Waiting) {
      throw new RuntimeError(`Unexpected ASGI message 'http.response.body' sent, before response start.`);
    }
    if (this.phase === Phase.Done) {
      throw new RuntimeError(
        `Unexpected ASGI message 'http.response.body' sent, after response already completed.`,
      );
    }
    const native = this.native;
    if (this.phase === Phase.Started && !more) {
      // The common case: start + body + end in one native call.
      this.complete();
      if (this.disconnected) return RESOLVED;
      if (typeof body === 'string') native.respondText(this.id, this.status, this.headers, body);
      else native.respondBytes(this.id, this.status, this.headers, body);
      return RESOLVED;
    }
    if (this.phase === Phase.Started) {
      this.phase = Phase.Streaming;
      if (!this.disconnected) native.start(this.id, this.status, this.headers);
    }
    if (this.disconnected) {
      if (!more) this.complete();
      return RESOLVED;
    }
    let outcome = 1;
    if (body.length > 0) {
      outcome = typeof body === 'string' ? native.writeText(this.id, body) : native.write(this.id, body);
    }
    if (!more) {
      this.complete();
      native.end(this.id);
      return RESOLVED;
    }
    if (outcome === 0) return new Promise((resolve) => (this.waitingDrain = resolve));
    if (outcome < 0) this.onDisconnect();
    return RESOLVED;
  }

  private complete(): void {
    this.phase = Phase.Done;
    this.bridge.forget(this.id);
    // After the response, `receive()` reports the disconnect (ASGI: the request is over).
    this.#releaseWaiters();
  }

  /** The app returned or threw: make sure the client gets an answer either way. */
  settle(error: unknown): void {
    if (this.phase === Phase.Done || this.disconnected) {
      this.phase = Phase.Done;
      this.bridge.forget(this.id);
      if (error !== undefined) this.bridge.options.onError(error);
      return;
    }
    const streaming = this.phase === Phase.Streaming;
    this.complete();
    if (streaming) this.native.abort(this.id);
    else
      this.native.respondText(
        this.id,
        500,
        'content-type\0text/plain; charset=utf-8\0connection\0close\0',
        'Internal Server Error',
      );
    this.bridge.options.onError(
      error ?? new RuntimeError('ASGI callable returned without completing response.'),
    );
  }
}

// ---- the dispatcher ----------------------------------------------------------------------------

/** Decodes event batches and runs the app for each request. */
export class Bridge implements WsHost {
  readonly #live = new Map<number, Exchange | WsExchange>();
  readonly #memory = new Map<number, MemoryConnection>();
  native!: NativeServer;

  constructor(
    readonly app: ASGIFunction,
    readonly options: BridgeOptions,
  ) {}

  forget(id: number): void {
    this.#live.delete(id);
  }

  onError(error: unknown): void {
    this.options.onError(error);
  }

  /** Ends the in-memory connections still open: after close, the core reports no more of them. */
  endMemory(): void {
    for (const socket of this.#memory.values()) {
      socket.push(null);
      this.options.loop.release();
    }
    this.#memory.clear();
  }

  /** A new in-memory connection to the core (see `MemoryConnection`). */
  connectMemory(): MemoryConnection {
    const conn = this.native.connectMemory();
    const socket = new MemoryConnection(this.native, conn);
    this.#memory.set(conn, socket);
    this.options.loop.hold();
    return socket;
  }

  /** In-flight requests the app has not answered. */
  get inFlight(): number {
    return this.#live.size;
  }

  onEvents = (meta: Uint32Array, strs: string, bin: Buffer | null): void => {
    let i = 0;
    const n = meta.length;
    while (i < n) {
      const kind = meta[i]!;
      const id = meta[i + 1]!;
      if (kind === EventKind.Request) {
        this.#request(meta, i, strs, bin);
        i += 15;
      } else if (kind === EventKind.Body) {
        const off = meta[i + 3]!;
        const chunk = bin && meta[i + 4]! > 0 ? bin.subarray(off, off + meta[i + 4]!) : EMPTY;
        const exchange = this.#live.get(id);
        if (exchange instanceof Exchange) exchange.onBody(chunk, meta[i + 2] === 1);
        i += 5;
      } else if (kind === EventKind.WsMessage || kind === EventKind.WsClose) {
        const off = meta[i + 3]!;
        const data = bin ? bin.subarray(off, off + meta[i + 4]!) : Buffer.alloc(0);
        const ws = this.#live.get(id);
        if (ws instanceof WsExchange) {
          if (kind === EventKind.WsMessage) ws.onMessage(meta[i + 2] === 1, data);
          else ws.onClose(meta[i + 2]!, data.toString('utf8'));
        }
        i += 5;
      } else if (kind === EventKind.MemData) {
        // Copied: the batch buffer is shared, and a stream consumer may keep chunks.
        this.#memory.get(id)?.push(Buffer.from(bin!.subarray(meta[i + 2]!, meta[i + 2]! + meta[i + 3]!)));
        i += 4;
      } else if (kind === EventKind.MemEnd) {
        const socket = this.#memory.get(id);
        if (socket) {
          socket.push(null);
          this.#memory.delete(id);
          this.options.loop.release();
        }
        i += 2;
      } else if (kind === EventKind.Disconnect) {
        this.#live.get(id)?.onDisconnect();
        i += 2;
      } else if (kind === EventKind.Drain) {
        this.#live.get(id)?.onDrain();
        i += 2;
      } else {
        i += 2;
        this.options.onClosed();
      }
    }
  };

  #websocket(
    id: number,
    rawPath: string,
    path: string,
    query: string,
    addrs: string[],
    strs: string,
    at: number,
    len: number,
  ): void {
    const headers: RawHeader[] = [];
    parseHeaders({ strs, at, len }, headers);
    const offered = headers
      .filter(([k]) => Buffer.from(k).toString('latin1') === 'sec-websocket-protocol')
      .flatMap(([, v]) => Buffer.from(v).toString('latin1').split(','))
      .map((p) => p.trim())
      .filter(Boolean);
    const scope: WebSocketScope = {
      type: 'websocket',
      asgi: ASGI_VERSIONS,
      http_version: '1.1',
      scheme: addrs[4] === 'https' ? 'wss' : 'ws',
      path,
      raw_path: latin1(rawPath),
      query_string: query ? latin1(query) : EMPTY,
      root_path: this.options.rootPath,
      headers,
      client: address(addrs[0]!, addrs[1]!),
      server: address(addrs[2]!, addrs[3]!),
      subprotocols: offered,
      state: { ...this.options.state },
      extensions: WS_EXTENSIONS,
    };
    const exchange = new WsExchange(id, this);
    this.#live.set(id, exchange);
    this.#run(scope, exchange);
  }

  #request(meta: Uint32Array, i: number, strs: string, bin: Buffer | null): void {
    const id = meta[i + 1]!;
    const flags = meta[i + 2]!;
    const method = strs.slice(meta[i + 3]!, meta[i + 3]! + meta[i + 4]!);
    const rawPath = strs.slice(meta[i + 5]!, meta[i + 5]! + meta[i + 6]!);
    const query = strs.slice(meta[i + 7]!, meta[i + 7]! + meta[i + 8]!);
    const addrs = strs.slice(meta[i + 11]!, meta[i + 11]! + meta[i + 12]!).split('\0');
    const bodyLen = meta[i + 14]!;
    const body = bodyLen > 0 && bin ? bin.subarray(meta[i + 13]!, meta[i + 13]! + bodyLen) : EMPTY;
    const { rootPath, state } = this.options;
    const path = decodePath(rawPath);
    if (flags & 16) {
      this.#websocket(
        id,
        rawPath,
        rootPath ? rootPath + path : path,
        query,
        addrs,
        strs,
        meta[i + 9]!,
        meta[i + 10]!,
      );
      return;
    }
    const scope: HTTPScope = {
      type: 'http',
      asgi: ASGI_VERSIONS,
      http_version: VERSIONS[(flags >> 2) & 3] ?? '1.1',
      method,
      scheme: addrs[4] || 'http',
      path: rootPath ? rootPath + path : path,
      raw_path: latin1(rawPath),
      query_string: query ? latin1(query) : EMPTY,
      root_path: rootPath,
      headers: new Proxy([], new LazyHeaders({ strs, at: meta[i + 9]!, len: meta[i + 10]! })),
      client: address(addrs[0]!, addrs[1]!),
      server: address(addrs[2]!, addrs[3]!),
      state: { ...state },
      extensions: EXTENSIONS,
    };
    this.options.proxy?.(scope);

    const exchange = new Exchange(id, this.native, this, body, (flags & 1) === 1);
    this.#live.set(id, exchange);
    this.#run(scope, exchange);
  }

  /** Runs the app for one exchange; whatever it does, the exchange is settled exactly once. */
  #run(scope: Scope, exchange: Exchange | WsExchange): void {
    const done = (error: unknown) => {
      exchange.settle(error);
      this.options.onRequestDone?.();
    };
    let result: Promise<void>;
    try {
      result = this.app(scope, exchange.receive, exchange.send as Send);
    } catch (error) {
      return done(error);
    }
    result.then(
      () => done(undefined),
      (error: unknown) => done(error ?? new Error('ASGI app rejected without an error')),
    );
  }
}
