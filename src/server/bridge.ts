/**
 * The JS half of the bridge: decodes batches of core events (layout in wire.ts) and hands each to
 * its exchange; a new request becomes an ASGI scope and a run of the app. Internal; `serve()` is the
 * public face.
 */
import type { ASGIFunction, Scope, Send } from '../asgi.ts';
import { RESOLVED } from '../_utils.ts';
import type { ExchangeHost } from './exchange.ts';
import { HTTPExchange } from './http.ts';
import { LiveTable } from './live.ts';
import type { LoopRef } from './loop.ts';
import { MemoryConnections, type MemoryConnection } from './memory.ts';
import type { NativeServer } from './native.ts';
import type { ProxyRewrite } from './proxy.ts';
import { httpScope, pathParts, websocketScope, type PathParts } from './scope.ts';
import { WebSocketExchange } from './websocket.ts';
import {
  Body,
  Closed,
  Disconnect,
  Drain,
  Kind,
  MemData,
  MemEnd,
  PathSlots,
  Request,
  RequestFlag,
  WsClose,
  WsForm,
  WsMessage,
} from './wire.ts';

const EMPTY = new Uint8Array(0);

type Latin1Slice = (this: Buffer, start: number, end: number) => string;
/**
 * Node's own latin1 decoder of a Buffer span, which `toString('latin1', start, end)` calls after
 * checking its arguments and looking up the encoding (about 300 instructions a message more, measured
 * on WebSocket echo); `toString` where a runtime lacks it.
 */
const latin1Slice: Latin1Slice =
  (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice ??
  /* c8 ignore next 3: every Node release this supports has `latin1Slice` */
  function (this: Buffer, start: number, end: number): string {
    return this.toString('latin1', start, end);
  };

/** Settings the dispatcher applies to every request. */
export interface BridgeOptions {
  rootPath: string;
  /** Copied (shallowly) into each request's `scope.state`. */
  state: Record<string, unknown>;
  /** Rewrites client/scheme from X-Forwarded-* when the peer is trusted (HTTP and WebSocket). */
  proxy?: ProxyRewrite | undefined;
  /** Called with every error an app raised, after the response was settled. */
  onError: (error: unknown) => void;
  onRequestDone?: () => void;
  onClosed: () => void;
  /** Keeps the event loop alive while the core may still call back (its doorbell is weak). */
  loop: LoopRef;
}

/** Decodes event batches and runs the app for each request. */
export class Bridge implements ExchangeHost {
  readonly #live = new LiveTable<HTTPExchange | WebSocketExchange>();
  /** By slot: the parts of the paths the core names (see `PathParts`). */
  readonly #paths: (PathParts | undefined)[] = new Array<PathParts | undefined>(PathSlots.count + 1).fill(
    undefined,
  );
  readonly #memory: MemoryConnections;
  native!: NativeServer;

  constructor(
    readonly app: ASGIFunction,
    readonly options: BridgeOptions,
  ) {
    this.#memory = new MemoryConnections(options.loop);
  }

  forget(id: number): void {
    this.#live.delete(id);
  }

  onError(error: unknown): void {
    this.options.onError(error);
  }

  /** Ends the in-memory connections still open: after close, the core reports no more of them. */
  endMemory(): void {
    this.#memory.endAll();
  }

  /** A new in-memory connection to the core (see `MemoryConnection`). */
  connectMemory(): MemoryConnection {
    return this.#memory.connect(this.native);
  }

  /** In-flight requests the app has not answered. */
  get inFlight(): number {
    return this.#live.size;
  }

  /**
   * One batch: records in `meta` (the core passes one array it reuses, so only the first `words`
   * words are this batch's, and the array must not be kept past the call), their strings in
   * `strs`, their bytes in `bin`, short ASCII WebSocket messages in `texts` (like `meta`, an array
   * the core reuses: read during the call only).
   */
  onEvents = (
    meta: Uint32Array,
    strs: string,
    bin: Buffer | null,
    words = meta.length,
    texts: Buffer | null = null,
  ): void => {
    let i = 0;
    const n = words;
    while (i < n) {
      // The first word of every record is its kind.
      switch (meta[i]) {
        case Kind.Request:
          this.#request(meta, i, strs, bin);
          i += Request.length;
          break;
        case Kind.Body: {
          const at = meta[i + Body.bodyAt]!;
          const len = meta[i + Body.bodyLen]!;
          const chunk = bin && len > 0 ? bin.subarray(at, at + len) : EMPTY;
          const exchange = this.#live.get(meta[i + Body.id]!);
          if (exchange instanceof HTTPExchange) exchange.onBody(chunk, meta[i + Body.moreBody] === 1);
          i += Body.length;
          break;
        }
        case Kind.WsMessage: {
          const at = meta[i + WsMessage.dataAt]!;
          const end = at + meta[i + WsMessage.dataLen]!;
          const ws = this.#live.get(meta[i + WsMessage.id]!);
          if (ws instanceof WebSocketExchange) {
            const form = meta[i + WsMessage.form];
            // A string of its own (a slice of one batch-wide string would keep all of it alive).
            if (form === WsForm.asciiText) ws.onText(texts ? latin1Slice.call(texts, at, end) : '');
            else if (form === WsForm.text) ws.onText(bin ? bin.toString('utf8', at, end) : '');
            else ws.onBytes(bin ? bin.subarray(at, end) : EMPTY);
          }
          i += WsMessage.length;
          break;
        }
        case Kind.WsClose: {
          const at = meta[i + WsClose.reasonAt]!;
          const reason = bin ? bin.toString('utf8', at, at + meta[i + WsClose.reasonLen]!) : '';
          const ws = this.#live.get(meta[i + WsClose.id]!);
          if (ws instanceof WebSocketExchange) ws.onClose(meta[i + WsClose.code]!, reason);
          i += WsClose.length;
          break;
        }
        case Kind.MemData: {
          const at = meta[i + MemData.dataAt]!;
          // Copied: the batch buffer is shared, and a stream consumer may keep chunks.
          this.#memory
            .get(meta[i + MemData.id]!)
            ?.push(bin ? Buffer.from(bin.subarray(at, at + meta[i + MemData.dataLen]!)) : Buffer.alloc(0));
          i += MemData.length;
          break;
        }
        case Kind.MemEnd:
          this.#memory.end(meta[i + MemEnd.id]!);
          i += MemEnd.length;
          break;
        case Kind.Disconnect:
          this.#live.get(meta[i + Disconnect.id]!)?.onDisconnect();
          i += Disconnect.length;
          break;
        case Kind.Drain:
          this.#live.get(meta[i + Drain.id]!)?.onDrain();
          i += Drain.length;
          break;
        case Kind.Closed:
          i += Closed.length;
          this.options.onClosed();
          break;
        default:
          // Not a kind of this wire.ts: an addon built from another wire.rs, or a corrupt batch.
          throw new RangeError(`Malformed event batch: unknown kind ${meta[i]} at word ${i}.`);
      }
    }
    if (i > n) throw new RangeError('Malformed event batch: its last record is cut short.');
  };

  #request(meta: Uint32Array, i: number, strs: string, bin: Buffer | null): void {
    const id = meta[i + Request.id]!;
    const flags = meta[i + Request.flags]!;
    const { rootPath, state } = this.options;
    const parts = this.#pathParts(meta, i, strs, flags);
    if (flags & RequestFlag.webSocket) {
      const scope = websocketScope(meta, i, strs, rootPath, state, parts);
      this.options.proxy?.(scope);
      const exchange = new WebSocketExchange(id, this);
      this.#live.set(id, exchange);
      this.#run(scope, exchange);
      return;
    }
    const scope = httpScope(meta, i, strs, rootPath, state, parts);
    this.options.proxy?.(scope);
    const bodyAt = meta[i + Request.bodyAt]!;
    const bodyLen = meta[i + Request.bodyLen]!;
    const body = bodyLen > 0 && bin ? bin.subarray(bodyAt, bodyAt + bodyLen) : EMPTY;
    const exchange = new HTTPExchange(id, this.native, this, body, (flags & RequestFlag.moreBody) !== 0);
    this.#live.set(id, exchange);
    this.#run(scope, exchange);
  }

  /**
   * The path parts of a request: those of its slot (see `PathParts`), made anew when the core says
   * the path takes the slot with this request; made for this request alone when it has no slot.
   */
  #pathParts(meta: Uint32Array, i: number, strs: string, flags: number): PathParts {
    const slot = meta[i + Request.pathId]!;
    if (slot === 0) return pathParts(meta, i, strs);
    if (flags & RequestFlag.newPath) return (this.#paths[slot] = pathParts(meta, i, strs));
    return this.#paths[slot] ?? pathParts(meta, i, strs);
  }

  /** Runs the app for one exchange; whatever it does, the exchange is settled exactly once. */
  #run(scope: Scope, exchange: HTTPExchange | WebSocketExchange): void {
    let result: Promise<void>;
    try {
      result = this.app(scope, exchange.receive, exchange.send as Send);
    } catch (error) {
      return this.#done(exchange, error);
    }
    // The app answered synchronously (see `RESOLVED`): settle now rather than a microtask later.
    if (result === RESOLVED) return this.#done(exchange, undefined);
    result.then(
      () => this.#done(exchange, undefined),
      (error: unknown) => this.#done(exchange, error ?? new Error('ASGI app rejected without an error')),
    );
  }

  #done(exchange: HTTPExchange | WebSocketExchange, error: unknown): void {
    exchange.settle(error);
    this.options.onRequestDone?.();
  }
}
