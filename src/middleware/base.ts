/**
 * BaseHTTPMiddleware: write middleware as `async dispatch(request, callNext)` instead of raw ASGI.
 * Better than Starlette's on the known sore points: the body read in `dispatch` is replayed to the
 * endpoint, the response streams message by message with backpressure, and background tasks finish
 * before the request does.
 */
import { createReadStream } from 'node:fs';
import type {
  ASGIApp,
  HeaderLike,
  HTTPRequestEvent,
  HTTPResponseStartEvent,
  Receive,
  ReceiveMessage,
  Scope,
  Send,
  SendMessage,
} from '../asgi.ts';
import { RESOLVED, toASGIFunction, toBytes, toHeaderBytes } from '../_utils.ts';
import { AsyncQueue } from '../_queue.ts';
import { Request } from '../requests.ts';
import { StreamingResponse, type Response } from '../responses.ts';

/** Runs the rest of the stack and resolves with its response once it starts. */
export type CallNext = (request: Request) => Promise<Response>;
export type DispatchFunction = (request: Request, callNext: CallNext) => Response | Promise<Response>;

const EMPTY = new Uint8Array(0);
const DISCONNECT: ReceiveMessage = Object.freeze({ type: 'http.disconnect' });
const END_OF_BODY: HTTPRequestEvent = Object.freeze({ type: 'http.request', body: EMPTY, more_body: false });

/**
 * The request's messages, shared by dispatch's Request and the app, with one `receive()` at a time so
 * no message goes to the wrong reader. A body message read for dispatch is queued for the app as well
 * (the replay); one read for the app alone is the app's. A disconnect, whoever reads it, is
 * remembered and reported to both from then on.
 */
class Inbox {
  readonly #receive: Receive;
  #reading: Promise<void> | null = null;
  #forDispatch = false;
  readonly #toDispatch: ReceiveMessage[] = [];
  readonly #toApp: ReceiveMessage[] = [];
  /** Dispatch has read some of the body; all of it. */
  dispatchStarted = false;
  dispatchEnded = false;
  /** The app has read body that dispatch did not; the app has the last body message. */
  appAlone = false;
  appEnded = false;
  #gone = false;
  #closed = false;
  /** Settles when the client leaves or the response is over. */
  readonly over: Promise<void>;
  #over!: () => void;

  constructor(receive: Receive) {
    this.#receive = receive;
    this.over = new Promise((resolve) => (this.#over = resolve));
  }

  forDispatch: Receive = async () => {
    for (;;) {
      const queued = this.#toDispatch.shift();
      if (queued) return queued;
      if (this.#gone) return DISCONNECT;
      // Dispatch stopped in the middle of the body and the app read the rest: dispatch's stream ends.
      if (this.appEnded && this.dispatchStarted && !this.dispatchEnded) {
        this.dispatchEnded = true;
        return END_OF_BODY;
      }
      this.#forDispatch = true;
      await (this.#reading ??= this.#pull());
    }
  };

  forApp: Receive = async () => {
    for (;;) {
      const queued = this.#toApp.shift();
      if (queued) return queued;
      // After the response, as in Starlette, the app hears that the request is over.
      if (this.#gone || this.#closed) return DISCONNECT;
      await Promise.race([(this.#reading ??= this.#pull()), this.over]);
    }
  };

  /** The response went out: the app's reads end. */
  close(): void {
    this.#closed = true;
    this.#over();
  }

  async #pull(): Promise<void> {
    let message: ReceiveMessage;
    try {
      message = await this.#receive();
    } finally {
      this.#reading = null;
    }
    const forDispatch = this.#forDispatch;
    this.#forDispatch = false;
    if (message.type === 'http.disconnect') {
      this.#gone = true;
      this.#over();
      return;
    }
    const last = message.type === 'http.request' && !message.more_body;
    if (forDispatch) {
      this.#toDispatch.push(message);
      this.dispatchStarted = true;
      if (last) this.dispatchEnded = true;
    } else this.appAlone = true;
    this.#toApp.push(message);
    if (last) this.appEnded = true;
  }
}

/** The Request that `dispatch` gets: it knows when the app has read the body before it did. */
class DispatchRequest extends Request {
  readonly #inbox: Inbox;

  constructor(scope: Scope, inbox: Inbox, send: Send) {
    super(scope, inbox.forDispatch, send);
    this.#inbox = inbox;
  }

  override async *stream(): AsyncGenerator<Uint8Array, void, undefined> {
    // As in Starlette: once the app has read the body, there is none left here.
    if (this.#inbox.appAlone && !this.#inbox.dispatchStarted) throw new Error('Stream consumed');
    yield* super.stream();
  }
}

/** What the app sent after its response start: a message, its return, or its error. */
type Sent =
  | { kind: 'message'; message: SendMessage; forwarded: () => void }
  | { kind: 'end' }
  | { kind: 'error'; error: unknown };

/** The app's side of one response: its messages in order, and whether anyone still takes them. */
class AppMessages {
  readonly queue = new AsyncQueue<Sent>();
  /** Sends not yet forwarded; released when the response is over so the app does not wait forever. */
  readonly waiting = new Set<() => void>();
  /** The body was read through `bodyIterator`. */
  iterated = false;
  finished = false;
  error: { error: unknown; delivered: boolean } | null = null;
  /** What `sending()` handed out, settled by the next push. */
  #sent: { promise: Promise<void>; resolve: () => void } | null = null;

  push(message: SendMessage): Promise<void> {
    if (this.finished) return RESOLVED;
    return new Promise((resolve) => {
      const forwarded = () => {
        this.waiting.delete(forwarded);
        resolve();
      };
      this.waiting.add(forwarded);
      this.queue.push({ kind: 'message', message, forwarded });
      this.#sent?.resolve();
      this.#sent = null;
    });
  }

  /** Settles once the app waits for a message of its own to be taken: then it is not reading `receive`. */
  sending(): Promise<void> {
    if (this.waiting.size > 0) return RESOLVED;
    // One promise for every reader waiting meanwhile: a second one must not orphan the first.
    if (this.#sent === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#sent = { promise, resolve };
    }
    return this.#sent.promise;
  }

  /** The error is about to be thrown into the response, so it must not be thrown again later. */
  take(item: { error: unknown }): never {
    if (this.error) this.error.delivered = true;
    throw item.error;
  }

  finish(): void {
    this.finished = true;
    for (const forwarded of [...this.waiting]) forwarded();
  }
}

const ends = (message: SendMessage): boolean =>
  message.type === 'http.response.pathsend' || (message.type === 'http.response.body' && !message.more_body);

/**
 * The app's body as chunks, for a dispatch that reads `response.bodyIterator` (a pathsend is read from
 * the file). Each send of the app resolves once its chunk has been taken and the next one asked for.
 * One generator function for every request: one declared inside `asgi` would be a new function per
 * request, and each one gives its generators a prototype (and V8 a hidden class) of their own.
 */
async function* appBody(app: AppMessages): AsyncGenerator<Uint8Array> {
  app.iterated = true;
  let taken: (() => void) | null = null;
  try {
    for (;;) {
      const item = await app.queue.shift();
      taken?.();
      if (item.kind === 'end') return;
      if (item.kind === 'error') app.take(item);
      taken = item.forwarded;
      const message = item.message;
      if (message.type === 'http.response.pathsend') {
        for await (const chunk of createReadStream(message.path)) yield chunk as Uint8Array;
      } else if (message.type === 'http.response.body') {
        const body = toBytes(message.body);
        if (body.length > 0) yield body;
      }
      // Trailers have no place in a body of chunks: dropped.
      if (ends(message)) return;
    }
  } finally {
    taken?.();
  }
}

/**
 * The response `callNext` resolves with: the app's messages, forwarded as they came unless `dispatch`
 * read or replaced `bodyIterator`, in which case it is a plain StreamingResponse of those chunks.
 */
class AppResponse extends StreamingResponse {
  readonly #app: AppMessages;
  readonly #body: AsyncGenerator<Uint8Array>;
  readonly #trailers: boolean;

  constructor(start: HTTPResponseStartEvent, app: AppMessages) {
    const body = appBody(app);
    super(body, { status: start.status });
    this.#app = app;
    this.#body = body;
    this.#trailers = start.trailers === true;
    this.rawHeaders = [...(start.headers ?? [])].map(([k, v]: HeaderLike) => [
      toHeaderBytes(k),
      toHeaderBytes(v),
    ]);
  }

  override asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (this.bodyIterator !== this.#body || this.#app.iterated) return super.asgi(scope, receive, send);
    return this.#forward(send);
  }

  // Every message goes out as the app sent it (a pathsend too), and the app's send resolves once it has:
  // so the app's background tasks start after its last body message was forwarded.
  async #forward(send: Send): Promise<void> {
    const start: HTTPResponseStartEvent = {
      type: 'http.response.start',
      status: this.status,
      headers: this.rawHeaders as HeaderLike[],
    };
    if (this.#trailers) start.trailers = true;
    await send(start);
    let ended = false;
    while (!ended) {
      const item = await this.#app.queue.shift();
      if (item.kind === 'end') break;
      if (item.kind === 'error') this.#app.take(item);
      try {
        await send(item.message);
      } finally {
        item.forwarded();
      }
      ended = ends(item.message);
    }
    // An app that returned without ending its body: end it.
    if (!ended) await send({ type: 'http.response.body', body: EMPTY, more_body: false });
    if (this.background !== null) await this.background.run();
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

    const inbox = new Inbox(receive);
    const app = new AppMessages();
    let appDone: Promise<void> | null = null;

    const callNext: CallNext = () =>
      new Promise<Response>((resolve, reject) => {
        let started = false;
        // Not `async`: a message that needs no waiting returns `RESOLVED`.
        const appSend = (message: SendMessage): Promise<void> => {
          if (started) return app.push(message);
          // Anything before the start (an early hint) goes straight out.
          if (message.type !== 'http.response.start') return send(message);
          let response: AppResponse;
          try {
            response = new AppResponse(message, app);
          } catch (error) {
            // Not started: the app may still send a start of its own (a 500), as with the server.
            return Promise.reject(error);
          }
          started = true;
          resolve(response);
          return RESOLVED;
        };
        appDone = run(scope, inbox.forApp, appSend).then(
          () => {
            if (!started) reject(new Error('No response returned.'));
            app.queue.push({ kind: 'end' });
          },
          (error: unknown) => {
            app.error = { error, delivered: !started };
            if (!started) reject(error);
            else app.queue.push({ kind: 'error', error });
          },
        );
      });

    try {
      const response = await this.dispatch(new DispatchRequest(scope, inbox, send), callNext);
      // A response of dispatch's own hears of the client leaving, never of the app finishing. While the
      // app may be reading `receive` it owns it; once it is done, or waits for its own response to be
      // taken (which a response that replaced it never does), the response may read it.
      const outerReceive: Receive = async () => {
        const running = appDone as Promise<void> | null;
        if (running) await Promise.race([running, inbox.over, app.sending()]);
        return inbox.forApp();
      };
      await response.asgi(scope, outerReceive, send);
    } finally {
      // If dispatch replaced the app's response, let the app finish without anyone taking its messages.
      app.finish();
      inbox.close();
    }
    if (appDone) await appDone;
    // An error after the response went out (a failing background task) still reaches the error middleware.
    const late = app.error as { error: unknown; delivered: boolean } | null;
    if (late && !late.delivered) throw late.error;
  };
}
