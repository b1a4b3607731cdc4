/**
 * One WebSocket over the bridge: the core owns the socket and framing; this drives the ASGI
 * `websocket.*` messages with synchronous native calls. Internal; created by `Bridge`.
 */
import type { SendMessage, WebSocketReceiveMessage } from '../asgi.ts';
import { RESOLVED } from '../_utils.ts';
import { ClientDisconnected, RuntimeError, type ExchangeHost } from './exchange.ts';
import { packHeaders } from './headers.ts';

const enum State {
  Connecting,
  Accepted,
  /** Denied with an HTTP response that is being streamed. */
  Responding,
  Closed,
}

/** One WebSocket's `receive`/`send` pair, from handshake to close (see `Bridge`). */
export class WebSocketExchange {
  #state = State.Connecting;
  #inbox: WebSocketReceiveMessage[] = [{ type: 'websocket.connect' }];
  /** Pending `receive()` calls, oldest first. */
  #waiters: ((m: WebSocketReceiveMessage) => void)[] = [];
  #drain: (() => void) | null = null;
  #denialStatus = 0;
  #denialHeaders: string | null = null;
  /** Set once the close is known; later receives repeat it. */
  #closed: WebSocketReceiveMessage | null = null;

  constructor(
    readonly id: number,
    readonly host: ExchangeHost,
  ) {}

  #deliver(message: WebSocketReceiveMessage): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(message);
    else this.#inbox.push(message);
  }

  /** Messages taken by the app since credit was last returned to the core. */
  #taken = 0;

  /**
   * Returns credit in eights: the core lends 16 messages, so the app's inbox cannot run dry while
   * credit is held back here, and the core is woken once per 8 messages rather than per message.
   */
  #consumed(): void {
    if (++this.#taken >= 8) {
      this.host.native.wsCredit(this.id, this.#taken);
      this.#taken = 0;
    }
  }

  receive = (): Promise<WebSocketReceiveMessage> => {
    const next = this.#inbox.shift();
    if (next) {
      if (next.type === 'websocket.receive') this.#consumed();
      return Promise.resolve(next);
    }
    if (this.#closed) return Promise.resolve(this.#closed);
    return new Promise((resolve) => {
      this.#waiters.push((m) => {
        if (m.type === 'websocket.receive') this.#consumed();
        resolve(m);
      });
    });
  };

  onText(text: string): void {
    this.#deliver({ type: 'websocket.receive', text });
  }

  /** `data` is a view of the batch's buffer: copied, as the app may keep it. */
  onBytes(data: Uint8Array): void {
    this.#deliver({ type: 'websocket.receive', bytes: Uint8Array.prototype.slice.call(data) });
  }

  onClose(code: number, reason: string): void {
    this.#state = State.Closed;
    this.#closed = { type: 'websocket.disconnect', code, reason };
    this.host.forget(this.id);
    // Every waiting receive learns of the close; with none waiting, the next one will.
    const waiters = this.#waiters.splice(0);
    if (waiters.length === 0) this.#inbox.push(this.#closed);
    for (const waiter of waiters) waiter(this.#closed);
    this.onDrain();
  }

  /** The HTTP half went away before the handshake finished. */
  onDisconnect(): void {
    this.onClose(1006, '');
  }

  onDrain(): void {
    const drain = this.#drain;
    this.#drain = null;
    drain?.();
  }

  #wait(outcome: number): Promise<void> {
    if (outcome === 0) return new Promise((resolve) => (this.#drain = resolve));
    if (outcome < 0) throw new ClientDisconnected('WebSocket is closed');
    return RESOLVED;
  }

  send = (message: SendMessage): Promise<void> => {
    const { native } = this.host;
    const id = this.id;
    switch (message.type) {
      case 'websocket.accept': {
        this.#expect(State.Connecting, message.type);
        // Packed before the state moves: invalid headers throw with the handshake still open.
        const headers = packHeaders(message.headers);
        this.#state = State.Accepted;
        native.wsAccept(id, message.subprotocol ?? null, headers);
        return RESOLVED;
      }
      case 'websocket.send': {
        if (this.#state === State.Closed) throw new ClientDisconnected('WebSocket is closed');
        this.#expect(State.Accepted, message.type);
        if (message.text != null) return this.#wait(native.wsSendText(id, message.text));
        const bytes = message.bytes ?? new Uint8Array(0);
        if (typeof bytes === 'string') return this.#wait(native.wsSendText(id, bytes));
        return this.#wait(native.wsSendBytes(id, bytes));
      }
      case 'websocket.close':
        if (this.#state === State.Connecting) {
          // Closing before accepting denies the handshake: HTTP 403, as uvicorn does.
          this.#finish();
          native.respondStatus(id, 403);
        } else if (this.#state === State.Accepted) {
          this.#state = State.Closed;
          native.wsClose(id, message.code ?? 1000, message.reason ?? null);
        } else
          throw new RuntimeError(
            `Unexpected ASGI message 'websocket.close', after sending 'websocket.close' or response already completed.`,
          );
        return RESOLVED;
      case 'websocket.http.response.start':
        this.#expect(State.Connecting, message.type);
        this.#denialHeaders = packHeaders(message.headers);
        this.#state = State.Responding;
        this.#denialStatus = message.status;
        return RESOLVED;
      case 'websocket.http.response.body': {
        this.#expect(State.Responding, message.type);
        const body = message.body ?? new Uint8Array(0);
        if (message.more_body) {
          if (this.#denialStatus) native.start(id, this.#denialStatus, this.#denialHeaders);
          this.#denialStatus = 0;
          const outcome = typeof body === 'string' ? native.writeText(id, body) : native.write(id, body);
          return this.#wait(outcome);
        }
        this.#finish();
        if (this.#denialStatus) {
          if (typeof body === 'string') native.respondText(id, this.#denialStatus, this.#denialHeaders, body);
          else native.respondBytes(id, this.#denialStatus, this.#denialHeaders, body);
        } else {
          if (body.length) typeof body === 'string' ? native.writeText(id, body) : native.write(id, body);
          native.end(id);
        }
        return RESOLVED;
      }
      default:
        throw new RuntimeError(`Unexpected ASGI message '${message.type}' sent for a WebSocket.`);
    }
  };

  #expect(state: State, type: string): void {
    if (this.#state !== state) {
      throw new RuntimeError(`Unexpected ASGI message '${type}' sent in this WebSocket state.`);
    }
  }

  #finish(): void {
    this.#state = State.Closed;
    this.#closed = { type: 'websocket.disconnect', code: 1000, reason: '' };
    this.host.forget(this.id);
  }

  /** The app returned or threw: close what it left open. */
  settle(error: unknown): void {
    const { native } = this.host;
    const state = this.#state;
    if (state === State.Connecting || state === State.Responding) {
      this.#finish();
      if (state === State.Responding) native.abort(this.id);
      else {
        // Returning without accepting or closing is an app error (uvicorn answers 500 too); only
        // an explicit `websocket.close` before accept means 403.
        native.respondStatus(this.id, 500);
        error ??= new RuntimeError('ASGI callable returned without sending handshake.');
      }
    } else if (this.#state === State.Accepted) {
      this.#state = State.Closed;
      native.wsClose(this.id, error === undefined ? 1000 : 1011, null);
    }
    if (error !== undefined && !(error instanceof ClientDisconnected)) this.host.onError(error);
  }
}
