/**
 * BaseHTTPMiddleware: write middleware as `async dispatch(request, callNext)` instead of raw ASGI.
 * Better than Starlette's on the known sore points: the body read in `dispatch` is replayed to the
 * endpoint, the response streams chunk by chunk with backpressure, and background tasks finish before
 * the request does.
 */
import type { ASGIApp, HeaderLike, Receive, ReceiveMessage, Scope, Send, SendMessage } from '../asgi.ts';
import { RESOLVED, toASGIFunction, toBytes, toHeaderBytes } from '../_utils.ts';
import { AsyncQueue } from '../_queue.ts';
import { Request } from '../requests.ts';
import { StreamingResponse, type Response } from '../responses.ts';

/** Runs the rest of the stack and resolves with its response once it starts. */
export type CallNext = (request: Request) => Promise<Response>;
export type DispatchFunction = (request: Request, callNext: CallNext) => Response | Promise<Response>;

type Chunk = { chunk: Uint8Array; ack: () => void } | { error: unknown } | null;

const DISCONNECT: ReceiveMessage = Object.freeze({ type: 'http.disconnect' });

/**
 * The app's body chunks as the response takes them; `delivered` is called before an app error is
 * thrown into the response. One generator function for every request: a generator declared inside
 * `asgi` would be a new function per request, and each one gives its generators a prototype (and
 * V8 a hidden class) of their own.
 */
async function* streamChunks(chunks: AsyncQueue<Chunk>, delivered: () => void): AsyncGenerator<Uint8Array> {
  for (;;) {
    const item = await chunks.shift();
    if (item === null) return;
    if ('error' in item) {
      delivered();
      throw item.error;
    }
    item.ack();
    yield item.chunk;
  }
}

/**
 * Subclass and override `dispatch`, or pass `{ dispatch }`.
 *
 * @example
 * ```ts
 * class Timing extends BaseHTTPMiddleware {
 *   override async dispatch(request: Request, callNext: CallNext) {
 *     const started = performance.now();
 *     const response = await callNext(request);
 *     response.headers.set('x-time', String(performance.now() - started));
 *     return response;
 *   }
 * }
 * new Starling({ middleware: [new Middleware(Timing)] });
 * ```
 */
export class BaseHTTPMiddleware {
  readonly app: ASGIApp;
  readonly #dispatch: DispatchFunction | null;

  constructor(app: ASGIApp, options: { dispatch?: DispatchFunction } = {}) {
    this.app = app;
    this.#dispatch = options.dispatch ?? null;
  }

  /** Override me: return `await callNext(request)` (possibly changed) or your own response. */
  async dispatch(request: Request, callNext: CallNext): Promise<Response> {
    if (!this.#dispatch) throw new Error('Override dispatch() or pass { dispatch }');
    return this.#dispatch(request, callNext);
  }

  asgi = async (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    const run = toASGIFunction(this.app);
    if (scope.type !== 'http') return run(scope, receive, send);

    // A disconnect read by dispatch or the app is remembered for the outer response, which must
    // not read `receive` while they may (a message would go to one reader only).
    let clientGone = false;
    let markGone!: () => void;
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    const watched: Receive = async () => {
      const message = await receive();
      if (message.type === 'http.disconnect') {
        clientGone = true;
        markGone();
      }
      return message;
    };
    // Body messages read by dispatch are remembered so the app downstream can read them again.
    const seen: ReceiveMessage[] = [];
    const tapped: Receive = async () => {
      const message = await watched();
      if (message.type === 'http.request') seen.push(message);
      return message;
    };
    let replayed = 0;
    const downstreamReceive: Receive = async () =>
      replayed < seen.length ? (seen[replayed++] as ReceiveMessage) : watched();

    let appDone: Promise<void> | null = null;
    let abandoned = false;
    const pendingAcks = new Set<() => void>();
    const chunks = new AsyncQueue<Chunk>();
    let appError: { error: unknown; delivered: boolean } | null = null;

    const callNext: CallNext = () =>
      new Promise<Response>((resolve, reject) => {
        let started = false;
        // Wait until the chunk is taken, so a slow client slows the app down (streaming with backpressure).
        const pushChunk = async (chunk: Uint8Array, last: boolean): Promise<void> => {
          await new Promise<void>((resolve) => {
            const ack = () => {
              pendingAcks.delete(ack);
              resolve();
            };
            pendingAcks.add(ack);
            chunks.push({ chunk, ack });
          });
          if (last) chunks.push(null);
        };
        // Not `async`: only a chunk waits (see `RESOLVED`).
        const appSend = (message: SendMessage): Promise<void> => {
          try {
            if (message.type === 'http.response.start') {
              started = true;
              const response = new StreamingResponse(
                streamChunks(chunks, () => {
                  if (appError) appError.delivered = true;
                }),
                { status: message.status },
              );
              response.rawHeaders = [...(message.headers ?? [])].map(([k, v]: HeaderLike) => [
                toHeaderBytes(k),
                toHeaderBytes(v),
              ]);
              resolve(response);
            } else if (message.type === 'http.response.body' && !abandoned) {
              const body = toBytes(message.body);
              if (body.length > 0) return pushChunk(body, !message.more_body);
              if (!message.more_body) chunks.push(null);
            }
            return RESOLVED;
          } catch (error) {
            return Promise.reject(error);
          }
        };
        appDone = run(scope, downstreamReceive, appSend).then(
          () => {
            if (!started) reject(new Error('No response returned.'));
            chunks.push(null);
          },
          (error: unknown) => {
            appError = { error, delivered: !started };
            if (!started) reject(error);
            else chunks.push({ error });
          },
        );
      });

    const request = new Request(scope, tapped, send);
    const response = await this.dispatch(request, callNext);
    // The outer response hears of the client leaving, never of the app finishing: an app that is done
    // has sent every chunk, and the response must forward them all and then end the body. While the
    // app runs it owns `receive`; once it is done, the outer response reads `receive` itself.
    const outerReceive: Receive = async () => {
      if (appDone && !clientGone) await Promise.race([appDone, gone]);
      return clientGone ? DISCONNECT : watched();
    };
    try {
      await response.asgi(scope, outerReceive, send);
    } finally {
      // If dispatch replaced the app's response, let the app finish without anyone reading its body.
      abandoned = true;
      for (const ack of [...pendingAcks]) ack();
    }
    if (appDone) await appDone;
    // An error after the response went out (a failing background task) still reaches the error middleware.
    const late = appError as { error: unknown; delivered: boolean } | null;
    if (late && !late.delivered) throw late.error;
  };
}
