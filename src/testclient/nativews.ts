/**
 * The native transport's WebSocket side: a `ws` client over an in-memory connection to the core,
 * seen by the TestClient as the same `WebSocketChannel` the in-process transport gives.
 */
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { WebSocket as WS } from 'ws';
import { WebSocketDisconnect } from '../websockets.ts';
import { AsyncQueue } from '../_queue.ts';
import type { WebSocketConnectRequest } from './transport.ts';
import { WebSocketDenialResponse, type WebSocketChannel, type WebSocketFrame } from './websocket.ts';

/** What the wrapped app reports about one request or connection. */
export interface Call {
  url: URL;
  /** The app was called (the core may answer some requests itself). */
  entered: boolean;
  /** The app started a response or accepted. */
  responded: boolean;
  /** The app closed before accepting: the close code the handshake's 403 cannot carry. */
  denial?: { code: number; reason: string };
  /** The app sent `websocket.close` after accepting. */
  closed?: boolean;
  failed: boolean;
  error?: unknown;
  done: Promise<void>;
  finish(): void;
}

/** Headers the `ws` client writes itself for the handshake. */
const HANDSHAKE = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

type Item = WebSocketFrame | { type: 'error'; error: unknown };

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

async function readBody(res: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch {
    // A cut-short denial body still counts as what arrived.
  }
  return Buffer.concat(chunks);
}

/** Opens the connection; resolves once the app accepts, rejects like the in-process transport. */
export async function openWebSocket(
  request: WebSocketConnectRequest,
  connect: () => Duplex,
  call: Call,
  raise: boolean,
  ended: () => Promise<void>,
): Promise<WebSocketChannel> {
  let WebSocket: typeof WS;
  try {
    ({ WebSocket } = await import('ws'));
  } catch (error) {
    await ended();
    throw new Error('The native TestClient transport needs the `ws` package for WebSockets.', {
      cause: error,
    });
  }
  const headers = Object.fromEntries(request.headers.filter(([k]) => !HANDSHAKE.has(k.toLowerCase())));
  const ws = new WebSocket(request.url.href, request.subprotocols, {
    headers,
    perMessageDeflate: false,
    createConnection: connect as never,
    // `ws` joins offered subprotocols with ','; send them as browsers and the in-process client do.
    // The Connection value is the TestClient's too (`ws` writes 'Upgrade').
    finishRequest: (req) => {
      const connection = request.headers.find(([k]) => k.toLowerCase() === 'connection');
      if (connection) req.setHeader('Connection', connection[1]);
      if (request.subprotocols.length > 0)
        req.setHeader('Sec-WebSocket-Protocol', request.subprotocols.join(', '));
      req.end();
    },
  });
  const channel = new NativeWebSocket(ws, call, ended);
  const settled = () => (call.entered ? call.done : Promise.resolve());
  return new Promise<WebSocketChannel>((resolve, reject) => {
    let denied = false;
    ws.once('open', () => resolve(channel));
    ws.once('unexpected-response', (_req, res) => {
      denied = true;
      void (async () => {
        const body = await readBody(res);
        ws.terminate();
        await settled();
        if (call.failed && raise) return reject(call.error);
        const code = call.failed ? 1011 : (call.denial?.code ?? 1000);
        const reason = call.denial?.reason ?? '';
        reject(new WebSocketDenialResponse(res.statusCode ?? 0, pairs(res.rawHeaders), body, code, reason));
      })();
    });
    ws.once('error', (error) => {
      if (!denied) void settled().then(() => reject(call.failed ? call.error : error));
    });
  });
}

class NativeWebSocket implements WebSocketChannel {
  readonly #ws: WS;
  readonly #call: Call;
  readonly #items = new AsyncQueue<Item>();
  readonly #gone: Promise<void>;
  #closed = false;
  #error: unknown = undefined;
  subprotocol: string | null = null;
  headers: [string, string][] = [];

  constructor(ws: WS, call: Call, ended: () => Promise<void>) {
    this.#ws = ws;
    this.#call = call;
    ws.once('upgrade', (res) => {
      this.subprotocol = res.headers['sec-websocket-protocol'] ?? null;
      // What the app sent with `accept`: everything but the handshake and the core's own headers.
      this.headers = pairs(res.rawHeaders).filter(
        ([k]) => !HANDSHAKE.has(k) && k !== 'sec-websocket-accept' && k !== 'date',
      );
    });
    ws.on('error', (error) => this.#items.push({ type: 'error', error }));
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.#items.push(
        binary
          ? { type: 'websocket.send', bytes: new Uint8Array(data) }
          : { type: 'websocket.send', text: data.toString('utf8') },
      );
    });
    this.#gone = new Promise<void>((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        // The app failed without closing: the core closed with 1011; the test sees the app's error.
        if (call.failed && !call.closed) this.#items.push({ type: 'error', error: call.error });
        else this.#items.push({ type: 'websocket.close', code, reason: reason.toString('utf8') });
        resolve();
      });
    }).then(async () => {
      if (call.entered) await call.done;
      await ended();
    });
  }

  async send(data: { text: string } | { bytes: Uint8Array }): Promise<void> {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const payload = 'text' in data ? data.text : data.bytes;
    await new Promise<void>((resolve) =>
      this.#ws.send(payload, { binary: !('text' in data) }, () => resolve()),
    );
  }

  async receive(): Promise<WebSocketFrame> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) throw new Error('The WebSocket was closed by the app; nothing more to receive.');
    const item = await this.#items.shift();
    if (item.type === 'error') {
      this.#error = item.error;
      throw item.error;
    }
    if (item.type === 'websocket.close') this.#closed = true;
    return item;
  }

  async close(code: number, reason: string): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      try {
        ws.close(code, reason);
      } catch {
        ws.terminate(); // a code `ws` may not send (1005, 1006, ...)
      }
    }
    await this.#gone;
    const error = this.#call.error;
    // The app seeing our own disconnect is the normal way for it to end, not a failure.
    if (this.#call.failed && error !== this.#error && !(error instanceof WebSocketDisconnect)) throw error;
  }
}
