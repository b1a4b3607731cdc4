/**
 * One HTTP request over the bridge: `receive` hands out the body as the core delivers it, `send`
 * turns the app's response messages into synchronous native calls. Internal; created by `Bridge`.
 */
import type { HTTPReceiveMessage, SendMessage } from '../asgi.ts';
import { RESOLVED } from '../_utils.ts';
import { RuntimeError, type ExchangeHost } from './exchange.ts';
import { answerHeaders, headersText } from './headers.ts';
import { loadAddon, type NativeServer } from './native.ts';

/** Files a header list with the addon (see `answerHeaders`); loaded at the first answer. */
const registerHeaderList = (text: string): number => loadAddon().registerHeaderList(text);
const EMPTY = new Uint8Array(0);
const DISCONNECT: HTTPReceiveMessage = Object.freeze({ type: 'http.disconnect' }) as HTTPReceiveMessage;

const enum Phase {
  Waiting,
  Started,
  Streaming,
  Done,
}

/** One request's `receive`/`send` pair, settled exactly once (see `Bridge`). */
export class HTTPExchange {
  phase = Phase.Waiting;
  status = 200;
  /** Packed text, or the id of a registered list (see `answerHeaders`). */
  headers: string | number | null = null;
  /** Body bytes delivered so far: first the inline body, later chunks from `readMore`. */
  pendingBody: Uint8Array | null;
  moreBody: boolean;
  bodyDone: boolean;
  disconnected = false;
  /**
   * Pending `receive()` calls, oldest first: each gets its own message, none is dropped. Made on the
   * first call that has to wait (most requests never do).
   */
  waiters: ((m: HTTPReceiveMessage) => void)[] | null = null;
  waitingDrain: (() => void) | null = null;

  constructor(
    readonly id: number,
    readonly native: NativeServer,
    readonly host: ExchangeHost,
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
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  };

  #releaseWaiters(): void {
    const waiters = this.waiters;
    if (waiters === null || waiters.length === 0) return;
    this.waiters = null;
    for (const waiter of waiters) waiter(DISCONNECT);
  }

  onBody(chunk: Uint8Array, more: boolean): void {
    this.moreBody = more;
    if (!more) this.bodyDone = true;
    const waiter = this.waiters?.shift();
    if (waiter) waiter({ type: 'http.request', body: chunk, more_body: more });
    else this.pendingBody = chunk;
  }

  onDisconnect(): void {
    this.disconnected = true;
    this.host.forget(this.id);
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
        // Packed first: invalid headers throw while the app can still answer a 500.
        this.headers = answerHeaders(message.headers, registerHeaderList);
        this.phase = Phase.Started;
        this.status = message.status;
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
        if (!this.disconnected)
          this.native.sendFile(this.id, this.status, headersText(this.headers), message.path);
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
      if (!this.disconnected) native.start(this.id, this.status, headersText(this.headers));
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
    this.host.forget(this.id);
    // After the response, `receive()` reports the disconnect (ASGI: the request is over).
    this.#releaseWaiters();
  }

  /** The app returned or threw: make sure the client gets an answer either way. */
  settle(error: unknown): void {
    if (this.phase === Phase.Done || this.disconnected) {
      // Already forgotten: by `complete()` (which set `Done`) or by `onDisconnect()`.
      this.phase = Phase.Done;
      if (error !== undefined) this.host.onError(error);
      return;
    }
    const streaming = this.phase === Phase.Streaming;
    this.complete();
    if (streaming) this.native.abort(this.id);
    else this.native.respondStatus(this.id, 500);
    this.host.onError(error ?? new RuntimeError('ASGI callable returned without completing response.'));
  }
}
