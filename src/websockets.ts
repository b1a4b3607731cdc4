/**
 * WebSocket connections over ASGI messages: the `WebSocket` a handler receives, its state machine and
 * the errors it raises, plus `WebSocketClose`, the app that just closes.
 */
import type {
  HeaderLike,
  Receive,
  ReceiveMessage,
  Scope,
  Send,
  SendMessage,
  WebSocketScope,
} from './asgi.ts';
import { outcome, RESOLVED } from './_utils.ts';
import { HTTPConnection } from './requests.ts';

/** Where each side of a connection stands. */
export const WebSocketState = { CONNECTING: 0, CONNECTED: 1, DISCONNECTED: 2, RESPONSE: 3 } as const;
export type WebSocketState = (typeof WebSocketState)[keyof typeof WebSocketState];

/**
 * Thrown when the peer closes the connection.
 *
 * @example
 * ```ts
 * try { await ws.receiveText(); } catch (e) { if (e instanceof WebSocketDisconnect) console.log(e.code); }
 * ```
 */
export class WebSocketDisconnect extends Error {
  readonly code: number;
  readonly reason: string;

  constructor(code = 1000, reason?: string | null) {
    super(reason ? `${code}: ${reason}` : String(code));
    this.name = 'WebSocketDisconnect';
    this.code = code;
    this.reason = reason ?? '';
  }
}

/** Options of `ws.accept`. */
export interface AcceptOptions {
  subprotocol?: string | null;
  headers?: Iterable<HeaderLike> | Record<string, string>;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * One WebSocket connection, as an endpoint sees it.
 *
 * @example
 * ```ts
 * new WebSocketRoute('/ws', async (ws) => {
 *   await ws.accept();
 *   for await (const text of ws.iterText()) await ws.sendText(`echo: ${text}`);
 * });
 * ```
 */
export class WebSocket extends HTTPConnection {
  declare readonly scope: WebSocketScope;
  readonly #receive: Receive;
  readonly #send: Send;
  clientState: WebSocketState = WebSocketState.CONNECTING;
  applicationState: WebSocketState = WebSocketState.CONNECTING;

  constructor(scope: Scope, receive: Receive, send: Send) {
    super(scope);
    if (scope.type !== 'websocket') throw new TypeError('WebSocket needs a websocket scope');
    this.#receive = receive;
    this.#send = send;
  }

  /**
   * Receives one raw ASGI message, checking it fits the connection's state.
   *
   * Not `async` while connected (every message takes this path): a promise chained onto the
   * server's costs less than an async function's frame and awaits, per message and per socket
   * waiting in it.
   */
  receive(): Promise<ReceiveMessage> {
    if (this.clientState !== WebSocketState.CONNECTED) return this.#receiveInState();
    try {
      // `Promise.resolve`: a `receive` that answers with a plain message is taken, as `await` would.
      return Promise.resolve(this.#receive()).then(this.#received);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Checks a message received while connected. */
  readonly #received = (message: ReceiveMessage): ReceiveMessage => {
    if (message.type !== 'websocket.receive' && message.type !== 'websocket.disconnect') {
      throw new Error(
        `Expected ASGI message "websocket.receive" or "websocket.disconnect", but got '${message.type}'`,
      );
    }
    if (message.type === 'websocket.disconnect') this.clientState = WebSocketState.DISCONNECTED;
    return message;
  };

  async #receiveInState(): Promise<ReceiveMessage> {
    if (this.clientState === WebSocketState.CONNECTING) {
      const message = await this.#receive();
      if (message.type !== 'websocket.connect') {
        throw new Error(`Expected ASGI message "websocket.connect", but got '${message.type}'`);
      }
      this.clientState = WebSocketState.CONNECTED;
      return message;
    }
    throw new Error('Cannot call "receive" once a disconnect message has been received.');
  }

  /**
   * Sends one raw ASGI message, checking it fits the connection's state. Not `async` for a message
   * sent while connected, as `receive`: a send the server completed at once (it returns `RESOLVED`)
   * is answered with that same promise.
   */
  send(message: SendMessage): Promise<void> {
    if (this.applicationState !== WebSocketState.CONNECTED || message.type !== 'websocket.send')
      return this.#sendInState(message);
    let sent: Promise<void>;
    try {
      // `outcome`: a `send` that returns no promise has finished, as `await` would take it.
      sent = outcome(this.#send(message));
    } catch (error) {
      return Promise.reject(this.#lost(error));
    }
    return sent === RESOLVED
      ? sent
      : sent.then(undefined, (error: unknown) => Promise.reject(this.#lost(error)));
  }

  /** The server failing to write means the peer is gone. */
  #lost(error: unknown): WebSocketDisconnect {
    this.applicationState = WebSocketState.DISCONNECTED;
    return new WebSocketDisconnect(1006, error instanceof Error ? error.message : String(error));
  }

  async #sendInState(message: SendMessage): Promise<void> {
    const state = this.applicationState;
    if (state === WebSocketState.CONNECTING) {
      if (
        message.type !== 'websocket.accept' &&
        message.type !== 'websocket.close' &&
        message.type !== 'websocket.http.response.start'
      ) {
        throw new Error(
          `Expected ASGI message "websocket.accept", "websocket.close" or "websocket.http.response.start", but got '${message.type}'`,
        );
      }
      if (message.type === 'websocket.close') this.applicationState = WebSocketState.DISCONNECTED;
      else if (message.type === 'websocket.http.response.start')
        this.applicationState = WebSocketState.RESPONSE;
      else this.applicationState = WebSocketState.CONNECTED;
      await this.#send(message);
    } else if (state === WebSocketState.CONNECTED) {
      if (message.type !== 'websocket.send' && message.type !== 'websocket.close') {
        throw new Error(
          `Expected ASGI message "websocket.send" or "websocket.close", but got '${message.type}'`,
        );
      }
      if (message.type === 'websocket.close') this.applicationState = WebSocketState.DISCONNECTED;
      try {
        await this.#send(message);
      } catch (error) {
        throw this.#lost(error);
      }
    } else if (state === WebSocketState.RESPONSE) {
      if (message.type !== 'websocket.http.response.body') {
        throw new Error(`Expected ASGI message "websocket.http.response.body", but got '${message.type}'`);
      }
      if (!message.more_body) this.applicationState = WebSocketState.DISCONNECTED;
      await this.#send(message);
    } else {
      throw new Error('Cannot call "send" once a close message has been sent.');
    }
  }

  /** Accepts the handshake, optionally choosing a subprotocol and adding response headers. */
  async accept(options: AcceptOptions = {}): Promise<void> {
    const headers: HeaderLike[] = [];
    if (options.headers) {
      const pairs =
        Symbol.iterator in options.headers
          ? (options.headers as Iterable<HeaderLike>)
          : Object.entries(options.headers);
      for (const [k, v] of pairs) headers.push([k, v]);
    }
    // Accepting before reading the connect message is allowed: read it now.
    if (this.clientState === WebSocketState.CONNECTING) await this.receive();
    await this.send({ type: 'websocket.accept', subprotocol: options.subprotocol ?? null, headers });
  }

  #raiseOnDisconnect(
    message: ReceiveMessage,
  ): asserts message is ReceiveMessage & { type: 'websocket.receive' } {
    if (message.type === 'websocket.disconnect') throw new WebSocketDisconnect(message.code, message.reason);
  }

  #checkAccepted(): void {
    if (this.applicationState !== WebSocketState.CONNECTED) {
      throw new Error('WebSocket is not connected. Need to call "accept" first.');
    }
  }

  async receiveText(): Promise<string> {
    this.#checkAccepted();
    const message = await this.receive();
    this.#raiseOnDisconnect(message);
    if (typeof message.text !== 'string') throw new TypeError('Expected a text message, got bytes');
    return message.text;
  }

  async receiveBytes(): Promise<Uint8Array> {
    this.#checkAccepted();
    const message = await this.receive();
    this.#raiseOnDisconnect(message);
    if (!message.bytes) throw new TypeError('Expected a bytes message, got text');
    return message.bytes;
  }

  /** Receives JSON from a text frame (`mode: 'text'`) or a UTF-8 bytes frame (`'binary'`). */
  async receiveJson<T = any>(mode: 'text' | 'binary' = 'text'): Promise<T> {
    if (mode !== 'text' && mode !== 'binary')
      throw new Error('The "mode" argument should be "text" or "binary".');
    this.#checkAccepted();
    const message = await this.receive();
    this.#raiseOnDisconnect(message);
    const text = mode === 'text' ? message.text : message.bytes ? fromUtf8.decode(message.bytes) : undefined;
    if (typeof text !== 'string') throw new TypeError(`Expected a ${mode} message`);
    return JSON.parse(text) as T;
  }

  /** Yields text messages until the peer disconnects. */
  async *iterText(): AsyncGenerator<string> {
    try {
      for (;;) yield await this.receiveText();
    } catch (error) {
      if (!(error instanceof WebSocketDisconnect)) throw error;
    }
  }

  async *iterBytes(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) yield await this.receiveBytes();
    } catch (error) {
      if (!(error instanceof WebSocketDisconnect)) throw error;
    }
  }

  async *iterJson<T = any>(): AsyncGenerator<T> {
    try {
      for (;;) yield await this.receiveJson<T>();
    } catch (error) {
      if (!(error instanceof WebSocketDisconnect)) throw error;
    }
  }

  // Not `async`: `send` already answers with a promise, and never throws.
  sendText(data: string): Promise<void> {
    return this.send({ type: 'websocket.send', text: data });
  }

  sendBytes(data: Uint8Array): Promise<void> {
    return this.send({ type: 'websocket.send', bytes: data });
  }

  async sendJson(data: unknown, mode: 'text' | 'binary' = 'text'): Promise<void> {
    if (mode !== 'text' && mode !== 'binary')
      throw new Error('The "mode" argument should be "text" or "binary".');
    const text = JSON.stringify(data);
    return mode === 'text' ? this.sendText(text) : this.sendBytes(utf8.encode(text));
  }

  async close(code = 1000, reason?: string | null): Promise<void> {
    return this.send({ type: 'websocket.close', code, reason: reason ?? '' });
  }

  /** Refuses the handshake with an HTTP response (needs the server's `websocket.http.response` extension). */
  async sendDenialResponse(response: {
    asgi(scope: Scope, receive: Receive, send: Send): Promise<void>;
  }): Promise<void> {
    if (!this.scope.extensions || !('websocket.http.response' in this.scope.extensions)) {
      throw new Error("The server doesn't support the Websocket Denial Response extension.");
    }
    await response.asgi(this.scope, this.#receive, (message) => this.send(message));
  }
}

/**
 * An ASGI app that closes the WebSocket (what a router answers when no route matches).
 *
 * @example
 * ```ts
 * await new WebSocketClose(1008, 'Not allowed').asgi(scope, receive, send);
 * ```
 */
export class WebSocketClose {
  readonly code: number;
  readonly reason: string;

  constructor(code = 1000, reason?: string | null) {
    this.code = code;
    this.reason = reason ?? '';
  }

  asgi = async (_scope: Scope, _receive: Receive, send: Send): Promise<void> => {
    await send({ type: 'websocket.close', code: this.code, reason: this.reason });
  };
}
