/**
 * The TestClient's WebSocket side: a transport-neutral channel, the in-process channel that talks
 * ASGI to the app, and the session object tests use.
 */
import type { ReceiveMessage, SendMessage } from '../asgi.ts';
import { WebSocketDisconnect } from '../websockets.ts';
import { AsyncQueue } from '../_queue.ts';
import { ResponseHeaders, TestResponse } from './response.ts';
import { toBytes } from '../_utils.ts';
import { decodeHeaders } from './headers.ts';

/** A message from the app: a data frame or the close. */
export type WebSocketFrame =
  | { type: 'websocket.send'; text?: string; bytes?: Uint8Array }
  | { type: 'websocket.close'; code: number; reason: string };

/** An accepted connection, whatever carries it. */
export interface WebSocketChannel {
  readonly subprotocol: string | null;
  readonly headers: [string, string][];
  send(data: { text: string } | { bytes: Uint8Array }): Promise<void>;
  /** The next frame from the app; rejects with the app's error if it failed. */
  receive(): Promise<WebSocketFrame>;
  /** Tells the app the client left, then waits for it to finish. */
  close(code: number, reason: string): Promise<void>;
}

/**
 * The app refused the handshake: either it sent an HTTP response (`websocket.http.response`) or it
 * closed before accepting (a 403, as real servers answer). Still a `WebSocketDisconnect`, with the
 * close code when there was one.
 */
export class WebSocketDenialResponse extends WebSocketDisconnect {
  readonly response: TestResponse;

  constructor(status: number, headers: [string, string][], body: Uint8Array, code = 1000, reason = '') {
    super(code, reason);
    this.name = 'WebSocketDenialResponse';
    this.message = `WebSocket handshake denied with HTTP ${status}`;
    const request = { method: 'GET', url: '', headers: new ResponseHeaders([]), content: new Uint8Array(0) };
    this.response = new TestResponse({ status, headers, body, url: '', request });
  }

  get status(): number {
    return this.response.status;
  }
  get statusCode(): number {
    return this.response.status;
  }
  get headers() {
    return this.response.headers;
  }
  get content(): Uint8Array {
    return this.response.content;
  }
  get text(): string {
    return this.response.text;
  }
  json<T = any>(): T {
    return this.response.json<T>();
  }
}

type Item = SendMessage | { type: 'app.error'; error: unknown } | { type: 'app.done' };

/** The app side of an in-process connection. */
export class InProcessWebSocket implements WebSocketChannel {
  readonly #toApp: AsyncQueue<ReceiveMessage>;
  readonly #fromApp: AsyncQueue<Item>;
  readonly #done: Promise<unknown>;
  #closed = false;
  #error: unknown = undefined;
  readonly subprotocol: string | null;
  readonly headers: [string, string][];

  private constructor(
    toApp: AsyncQueue<ReceiveMessage>,
    fromApp: AsyncQueue<Item>,
    done: Promise<unknown>,
    accept: SendMessage & { type: 'websocket.accept' },
  ) {
    this.#toApp = toApp;
    this.#fromApp = fromApp;
    this.#done = done;
    this.subprotocol = accept.subprotocol ?? null;
    this.headers = decodeHeaders(accept.headers);
  }

  /** Starts the app and waits for its answer to the handshake. */
  static async connect(
    run: (receive: () => Promise<ReceiveMessage>, send: (m: SendMessage) => Promise<void>) => Promise<void>,
    raise: boolean,
  ): Promise<InProcessWebSocket> {
    const toApp = new AsyncQueue<ReceiveMessage>();
    const fromApp = new AsyncQueue<Item>();
    toApp.push({ type: 'websocket.connect' });
    const done = run(
      () => toApp.shift(),
      async (message) => fromApp.push(message),
    ).then(
      () => {
        fromApp.push({ type: 'app.done' });
        return undefined;
      },
      (error: unknown) => {
        fromApp.push({ type: 'app.error', error });
        return error;
      },
    );
    const first = await fromApp.shift();
    switch (first.type) {
      case 'websocket.accept':
        return new InProcessWebSocket(toApp, fromApp, done, first);
      case 'websocket.close':
        throw new WebSocketDenialResponse(403, [], new Uint8Array(0), first.code ?? 1000, first.reason ?? '');
      case 'websocket.http.response.start': {
        const chunks: Uint8Array[] = [];
        for (;;) {
          const next = await fromApp.shift();
          if (next.type === 'app.error') throw next.error;
          if (next.type !== 'websocket.http.response.body') break;
          chunks.push(toBytes(next.body));
          if (!next.more_body) break;
        }
        throw new WebSocketDenialResponse(first.status, decodeHeaders(first.headers), Buffer.concat(chunks));
      }
      case 'app.error':
        if (raise) throw first.error;
        throw new WebSocketDenialResponse(500, [], new Uint8Array(0), 1011);
      default:
        throw new WebSocketDenialResponse(500, [], new Uint8Array(0), 1011);
    }
  }

  async send(data: { text: string } | { bytes: Uint8Array }): Promise<void> {
    this.#toApp.push({ type: 'websocket.receive', ...data });
  }

  async receive(): Promise<WebSocketFrame> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) throw new Error('The WebSocket was closed by the app; nothing more to receive.');
    const item = await this.#fromApp.shift();
    if (item.type === 'app.error') {
      this.#error = item.error;
      throw item.error;
    }
    if (item.type === 'app.done' || item.type === 'websocket.close') {
      this.#closed = true;
      const code = item.type === 'websocket.close' ? (item.code ?? 1000) : 1000;
      const reason = item.type === 'websocket.close' ? (item.reason ?? '') : '';
      return { type: 'websocket.close', code, reason };
    }
    if (item.type === 'websocket.send') {
      if (item.text !== undefined && item.text !== null) return { type: 'websocket.send', text: item.text };
      return { type: 'websocket.send', bytes: toBytes(item.bytes) };
    }
    throw new Error(`Unexpected message from the app after accept: ${item.type}`);
  }

  async close(code: number, reason: string): Promise<void> {
    this.#toApp.push({ type: 'websocket.disconnect', code, reason });
    const error = await this.#done;
    // The app seeing our own disconnect is the normal way for it to end, not a failure.
    if (error !== undefined && error !== this.#error && !(error instanceof WebSocketDisconnect)) throw error;
  }
}

const utf8 = new TextDecoder();

/**
 * A WebSocket connection opened by `client.websocketConnect(...)`.
 *
 * @example
 * ```ts
 * const ws = await client.websocketConnect('/ws');
 * await ws.sendText('hi');
 * t.is(await ws.receiveText(), 'hi');
 * await ws.close();
 * ```
 */
export class WebSocketTestSession {
  readonly #channel: WebSocketChannel;

  constructor(channel: WebSocketChannel) {
    this.#channel = channel;
  }

  /** The subprotocol the app accepted, or `null`. */
  get acceptedSubprotocol(): string | null {
    return this.#channel.subprotocol;
  }

  /** Extra headers the app sent with `accept`. */
  get extraHeaders(): [string, string][] {
    return this.#channel.headers;
  }

  /** Sends a raw ASGI-style message: `{ type: 'websocket.receive', text | bytes }` or a disconnect. */
  async send(
    message:
      | { type: 'websocket.receive'; text?: string; bytes?: Uint8Array }
      | { type: 'websocket.disconnect'; code?: number; reason?: string },
  ): Promise<void> {
    if (message.type === 'websocket.disconnect')
      return this.close(message.code ?? 1000, message.reason ?? '');
    if (message.text !== undefined) return this.#channel.send({ text: message.text });
    return this.#channel.send({ bytes: message.bytes ?? new Uint8Array(0) });
  }

  sendText(data: string): Promise<void> {
    return this.#channel.send({ text: data });
  }

  sendBytes(data: Uint8Array): Promise<void> {
    return this.#channel.send({ bytes: data });
  }

  sendJson(data: unknown, mode: 'text' | 'binary' = 'text'): Promise<void> {
    const text = JSON.stringify(data);
    return mode === 'text' ? this.sendText(text) : this.sendBytes(new TextEncoder().encode(text));
  }

  /** The next raw message from the app, including a `websocket.close`. */
  receive(): Promise<WebSocketFrame> {
    return this.#channel.receive();
  }

  async #data(): Promise<{ text?: string; bytes?: Uint8Array }> {
    const frame = await this.#channel.receive();
    if (frame.type === 'websocket.close') throw new WebSocketDisconnect(frame.code, frame.reason);
    return frame;
  }

  async receiveText(): Promise<string> {
    const frame = await this.#data();
    if (frame.text === undefined) throw new TypeError('Expected a text frame, received bytes.');
    return frame.text;
  }

  async receiveBytes(): Promise<Uint8Array> {
    const frame = await this.#data();
    if (frame.bytes === undefined) throw new TypeError('Expected a bytes frame, received text.');
    return frame.bytes;
  }

  async receiveJson<T = any>(mode: 'text' | 'binary' = 'text'): Promise<T> {
    const frame = await this.#data();
    const text = mode === 'text' ? frame.text : frame.bytes && utf8.decode(frame.bytes);
    if (text === undefined) throw new TypeError(`Expected a ${mode} frame.`);
    return JSON.parse(text) as T;
  }

  /** Closes from the client side and waits for the app to finish; rethrows the app's error if any. */
  async close(code = 1000, reason = ''): Promise<void> {
    await this.#channel.close(code, reason);
  }
}
