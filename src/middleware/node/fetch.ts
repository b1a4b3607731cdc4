/**
 * `fromFetchHandler`: a fetch-style handler (`(request: Request) => Response`, Hono's `app.fetch`)
 * as an ASGI app.
 */
import type { ASGIFunction, HTTPScope, HeaderLike, Send } from '../../asgi.ts';
import { parseHost, requestHeader } from '../_helpers.ts';
import { toHeaderString } from '../../_utils.ts';
import { BodySource, GONE } from './body.ts';
import { declaresBody, refuse, requestTarget } from './scope.ts';

/**
 * A fetch-style handler: Hono's `app.fetch`, or any `(request) => Response`.
 *
 * @example
 * ```ts
 * const hello: FetchHandler = (request) => new Response(`hello from ${new URL(request.url).pathname}`);
 * ```
 */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

const EMPTY = new Uint8Array(0);
const NO_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

function origin(scope: HTTPScope): string {
  const scheme = scope.scheme === 'https' ? 'https' : 'http';
  const host = requestHeader(scope, 'host');
  if (host !== undefined && parseHost(host) !== null) return `${scheme}://${host}`;
  if (!scope.server) return `${scheme}://localhost`;
  const [name, port] = scope.server;
  return `${scheme}://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** The `Request`: URL below the mount, the client's headers, a body pulled from `receive()` on demand. */
function toRequest(scope: HTTPScope, source: BodySource, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of scope.headers) headers.append(toHeaderString(name), toHeaderString(value));
  const method = scope.method;
  let body: ReadableStream<Uint8Array> | null = null;
  if (method !== 'GET' && method !== 'HEAD') {
    body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const chunk = await source.read();
          if (chunk === GONE) controller.error(signal.reason);
          else if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
      },
      // Nothing is read ahead of the handler: each of its reads is one `receive()`.
      { highWaterMark: 0 },
    );
  }
  const url = origin(scope) + requestTarget(scope).url;
  return new Request(url, { method, headers, body, signal, duplex: 'half' });
}

/**
 * Response headers as ASGI pairs, one per `Set-Cookie` (a `Headers` folds the others). A
 * `Transfer-Encoding` is dropped (Hono's `streamText` sets one): framing is the server's business.
 */
function responseHeaders(headers: Headers): HeaderLike[] {
  const list: HeaderLike[] = [];
  for (const [name, value] of headers)
    if (name !== 'set-cookie' && name !== 'transfer-encoding') list.push([name, value]);
  for (const cookie of headers.getSetCookie()) list.push(['set-cookie', cookie]);
  return list;
}

const TURN: unique symbol = Symbol('turn');
/** The most the first message gathers before the body is streamed anyway. */
const FIRST_PIECE = 64 * 1024;
/** Resolves on the next turn of the event loop: whatever the body had ready by then is in. */
const nextTurn = () => new Promise<typeof TURN>((resolve) => setImmediate(resolve, TURN));

/**
 * Sends the response. What the body yields within one turn of the event loop (up to 64 KiB) goes
 * out as one message; a body complete by then (`c.json(...)`, `new Response('text')`) gets a
 * Content-Length.
 */
async function sendResponse(
  response: Response,
  send: Send,
  source: BodySource,
  skipBody: boolean,
  setReader: (reader: ReadableStreamDefaultReader<Uint8Array>) => void,
): Promise<void> {
  const headers = responseHeaders(response.headers);
  const start = { type: 'http.response.start', status: response.status, headers } as const;
  if (response.body === null || skipBody) {
    if (response.body !== null) void response.body.cancel().catch(() => {});
    await send(start);
    await send({ type: 'http.response.body', body: EMPTY, more_body: false });
    return;
  }
  const reader = response.body.getReader();
  setReader(reader);
  const turn = nextTurn();
  const ready: Uint8Array[] = [];
  let size = 0;
  let next = reader.read();
  let done = false;
  while (size < FIRST_PIECE) {
    const result = await Promise.race([next, turn]);
    if (result === TURN) break;
    if (result.done) {
      done = true;
      break;
    }
    ready.push(result.value);
    size += result.value.byteLength;
    next = reader.read();
  }
  if (source.gone) return;
  const first = ready.length === 1 ? ready[0]! : Buffer.concat(ready);
  if (done) {
    if (!response.headers.has('content-length')) headers.push(['content-length', String(first.byteLength)]);
    await send(start);
    await send({ type: 'http.response.body', body: first, more_body: false });
    return;
  }
  await send(start);
  if (first.byteLength > 0) await send({ type: 'http.response.body', body: first, more_body: true });
  for (;;) {
    const result = await next;
    if (source.gone) return;
    if (result.done) break;
    // Awaiting `send` before reading on is the backpressure: the body is pulled as the client takes it.
    await send({ type: 'http.response.body', body: result.value, more_body: true });
    next = reader.read();
  }
  await send({ type: 'http.response.body', body: EMPTY, more_body: false });
}

/**
 * Runs a fetch-style handler as an ASGI app: Hono's `app.fetch` (or any `(request) => Response`)
 * inside Starling. Under a `Mount`, the `Request` URL is the path below the mount; the request body
 * is a stream read from the client as the handler reads it, the response body is sent as the client
 * takes it, and `request.signal` aborts when the client disconnects (cancelling the response body).
 * A handler that throws, or a body that errors, fails the request: a 500 when nothing was sent, a cut
 * connection otherwise.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { Starling, Mount, fromFetchHandler } from 'starlingjs';
 *
 * const hono = new Hono();
 * hono.get('/hello', (c) => c.text('Hello from Hono'));
 * const app = new Starling({ routes: [new Mount('/hono', { app: fromFetchHandler(hono.fetch) })] });
 * ```
 */
export function fromFetchHandler(handler: FetchHandler): ASGIFunction {
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return refuse(scope, receive, send);
    const controller = new AbortController();
    let response: Response | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let sent = false;
    const source = new BodySource(receive, () => {
      const reason = new DOMException('The client disconnected', 'AbortError');
      controller.abort(reason);
      void reader?.cancel(reason).catch(() => {});
    });
    try {
      const primed = source.prime();
      // A declared body is not waited for (its first read meets any error of this receive).
      if (declaresBody(scope)) primed.catch(() => {});
      else await primed;
      const returned: unknown = await handler(toRequest(scope, source, controller.signal));
      if (!(returned instanceof Response))
        throw new TypeError(`A fetch handler must return a Response, not ${String(returned)}`);
      response = returned;
      if (source.gone) return;
      const skipBody = scope.method === 'HEAD' || NO_BODY_STATUS.has(response.status);
      await sendResponse(response, send, source, skipBody, (r) => (reader = r));
      sent = true;
    } finally {
      source.stop();
      // A body left unsent (client gone, send failed) is cancelled, so its producer stops.
      if (!sent) void (reader ? reader.cancel() : response?.body?.cancel())?.catch(() => {});
    }
  };
}
