/**
 * ExceptionMiddleware turns known errors into responses: `HTTPException` into a plain-text error
 * response, `WebSocketException` into a close, and anything with a registered handler into that
 * handler's response. It keeps the handler tables; routes answer errors with the same tables through
 * `callHandlingExceptions` (src/_exception_handler.ts), so a handler gets the very `Request` the
 * endpoint used.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import {
  handleException,
  HANDLERS_KEY,
  handlerEntries,
  type ErrorClass,
  type ExceptionHandler,
  type ExceptionHandlers,
  type HandlerTables,
} from '../_exception_handler.ts';
import { callApp, RESOLVED, toASGIFunction } from '../_utils.ts';
import { HTTPException, WebSocketException } from '../exceptions.ts';
import type { Request } from '../requests.ts';
import { PlainTextResponse, Response } from '../responses.ts';
import type { WebSocket } from '../websockets.ts';

export type { ErrorClass, ExceptionHandler, ExceptionHandlers } from '../_exception_handler.ts';

/** Options of `ExceptionMiddleware`. */
export interface ExceptionMiddlewareOptions {
  handlers?: ExceptionHandlers | null;
  debug?: boolean;
}

/**
 * Answers `HTTPException`/`WebSocketException` and errors with registered handlers. `Starling` installs it
 * just outside the router.
 *
 * @example
 * ```ts
 * const app = new ExceptionMiddleware(router, { handlers: { 404: async () => new PlainTextResponse('nope', { status: 404 }) } });
 * ```
 */
export class ExceptionMiddleware {
  readonly app: ASGIApp;
  readonly debug: boolean;
  readonly #tables: HandlerTables = {
    errors: new Map<ErrorClass, ExceptionHandler>([
      [HTTPException, (request: Request, exc: HTTPException) => this.httpException(request, exc)],
      [WebSocketException, (ws: WebSocket, exc: WebSocketException) => this.websocketException(ws, exc)],
    ]),
    statuses: new Map(),
  };
  readonly #run: ASGIFunction;

  constructor(app: ASGIApp, options: ExceptionMiddlewareOptions = {}) {
    this.app = app;
    this.#run = toASGIFunction(app);
    this.debug = options.debug ?? false;
    for (const [key, handler] of handlerEntries(options.handlers)) this.addExceptionHandler(key, handler);
  }

  addExceptionHandler(key: number | ErrorClass, handler: ExceptionHandler): void {
    if (typeof key === 'number') this.#tables.statuses.set(key, handler);
    else this.#tables.errors.set(key, handler);
  }

  // Not `async`: when the app inside finishes synchronously, so does this (see `RESOLVED`).
  asgi = (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    if (scope.type !== 'http' && scope.type !== 'websocket') return callApp(this.#run, scope, receive, send);
    scope[HANDLERS_KEY] = this.#tables;
    // Not `callHandlingExceptions`, though errors get the same answer (`handleException`): a route runs
    // that one inside this, and one function at two levels of every request (sharing its type feedback,
    // inlined into itself at neither) cost a hello world ~10% more instructions in the framework.
    let started = false;
    const ran = callApp(this.#run, scope, receive, (message) => {
      if (message.type === 'http.response.start') started = true;
      return send(message);
    });
    if (ran === RESOLVED) return RESOLVED;
    // No connection yet: a Request (or WebSocket) is built only when a handler needs one.
    return ran.then(undefined, (exc: unknown) =>
      handleException(exc, this.#tables, null, started, scope, receive, send),
    );
  };

  /** The default `HTTPException` handler: plain-text detail, no body for 204 and 304. */
  httpException(_request: Request, exc: HTTPException): Response {
    const headers = exc.headers ?? undefined;
    if (exc.statusCode === 204 || exc.statusCode === 304)
      return new Response(null, { status: exc.statusCode, headers });
    return new PlainTextResponse(exc.detail, { status: exc.statusCode, headers });
  }

  /** The default `WebSocketException` handler: close with its code and reason. */
  async websocketException(ws: WebSocket, exc: WebSocketException): Promise<void> {
    await ws.close(exc.code, exc.reason);
  }
}
