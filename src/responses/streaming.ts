/**
 * StreamingResponse: a body produced chunk by chunk from a sync or async iterable, stopped when the client
 * goes away.
 */
import type { HeaderLike, Receive, Scope, Send } from '../asgi.ts';
import { isAsyncIterable, RESOLVED, toBytes } from '../_utils.ts';
import { ClientDisconnect } from '../requests.ts';
import { Response, websocketDenialSend, type ResponseOptions } from './base.ts';

/** What a streaming response accepts: chunks are strings (UTF-8) or bytes. */
export type StreamContent = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

const DISCONNECTED: unique symbol = Symbol('disconnected');

function toAsyncIterator(content: StreamContent): AsyncIterator<Uint8Array | string> {
  if (isAsyncIterable(content)) return content[Symbol.asyncIterator]();
  const it = (content as Iterable<Uint8Array | string>)[Symbol.iterator]();
  return {
    next: async () => it.next(),
    return: async (value?: unknown) => it.return?.(value) ?? { done: true, value: undefined },
  };
}

/**
 * A response whose body comes from an iterable. There is no `content-length` unless given.
 *
 * @example
 * ```ts
 * async function* numbers() {
 *   for (let i = 0; i < 3; i++) yield `${i}\n`;
 * }
 * return new StreamingResponse(numbers(), { mediaType: 'text/plain' });
 * ```
 */
export class StreamingResponse extends Response {
  bodyIterator: StreamContent;

  constructor(content: StreamContent, options: ResponseOptions = {}) {
    super(null, options);
    this.bodyIterator = content;
  }

  protected override initHeaders(headers: ResponseOptions['headers']) {
    return super.initHeaders(headers, null);
  }

  override async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    const isWebSocket = scope.type === 'websocket';
    if (isWebSocket) send = websocketDenialSend(send);
    // Listen for http.disconnect while streaming so that a long or endless stream stops when the client leaves.
    let gone = false;
    let disconnected: Promise<typeof DISCONNECTED> | null = null;
    if (!isWebSocket) {
      disconnected = (async (): Promise<typeof DISCONNECTED> => {
        for (;;) {
          const message = await receive();
          if (message.type === 'http.disconnect') {
            gone = true;
            return DISCONNECTED;
          }
        }
      })().catch(() => new Promise<never>(() => {}));
    }
    const iterator = toAsyncIterator(this.bodyIterator);
    // Let the generator run its `finally` blocks; a pending next() may keep it busy, so do not wait.
    const stop = () => void iterator.return?.().catch(() => {});
    // A `send` that took a message at once returns `RESOLVED`: no need to wait for it.
    const started = send({
      type: 'http.response.start',
      status: this.status,
      headers: this.rawHeaders as HeaderLike[],
    });
    if (started !== RESOLVED) await started;
    let completed = false;
    while (!gone) {
      const pending = iterator.next();
      // If the disconnect wins the race, a later rejection of this chunk must not go unhandled.
      if (disconnected) pending.catch(() => {});
      const next = disconnected ? await Promise.race([pending, disconnected]) : await pending;
      // The flag catches a disconnect that lost the race to an already-settled chunk.
      if (next === DISCONNECTED || gone) break;
      if (next.done) {
        completed = true;
        break;
      }
      try {
        const sent = send({ type: 'http.response.body', body: toBytes(next.value), more_body: true });
        if (sent !== RESOLVED) await sent;
      } catch (error) {
        stop();
        throw isConnectionError(error) ? new ClientDisconnect() : error;
      }
    }
    if (!completed) stop();
    else await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
    if (this.background !== null) await this.background.run();
  }
}

// Error codes a server's send may fail with once the peer has gone.
const CONNECTION_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
]);

function isConnectionError(error: unknown): boolean {
  if (error instanceof ClientDisconnect) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_ERRORS.has(code);
}
