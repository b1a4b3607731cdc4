/**
 * ExceptionMiddleware turns known errors into responses: `HTTPException` into a plain-text error
 * response, `WebSocketException` into a close, and anything with a registered handler into that
 * handler's response. Routes apply the same lookup (`wrapAppHandlingExceptions`), so a handler gets the
 * very `Request` the endpoint used.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send, SendMessage } from '../asgi.ts';
import { callApp, outcome, RESOLVED, toASGIFunction } from '../_utils.ts';
import { HTTPException, WebSocketException } from '../exceptions.ts';
import { Request } from '../requests.ts';
import { PlainTextResponse, Response } from '../responses.ts';
import { WebSocket } from '../websockets.ts';

/** A class of errors: the key of a class-based exception handler. */
export type ErrorClass = abstract new (...args: any[]) => unknown;
/** `(request | websocket, error) => response | undefined`. */
export type ExceptionHandler = (conn: any, exc: any) => unknown;
/** Handlers keyed by status code or error class: an object keyed by status, a Map, or pairs. */
export type ExceptionHandlers =
  | Record<number, ExceptionHandler>
  | Map<number | ErrorClass, ExceptionHandler>
  | Iterable<readonly [number | ErrorClass, ExceptionHandler]>;

/** The scope key where the handler tables travel from the middleware to the routes. */
export const HANDLERS_KEY = 'starling.exception_handlers';

export interface HandlerTables {
  errors: Map<ErrorClass, ExceptionHandler>;
  statuses: Map<number, ExceptionHandler>;
}

/** Normalises every accepted form of handlers into ordered pairs. */
export function handlerEntries(
  handlers: ExceptionHandlers | null | undefined,
): [number | ErrorClass, ExceptionHandler][] {
  if (!handlers) return [];
  if (handlers instanceof Map || Symbol.iterator in handlers) {
    return [...(handlers as Iterable<readonly [number | ErrorClass, ExceptionHandler]>)].map(([k, v]) => [
      k,
      v,
    ]);
  }
  return Object.entries(handlers).map(([k, v]) => [Number(k), v as ExceptionHandler]);
}

function lookup(errors: Map<ErrorClass, ExceptionHandler>, exc: unknown): ExceptionHandler | undefined {
  if (exc === null || (typeof exc !== 'object' && typeof exc !== 'function')) return undefined;
  // Walk the prototype chain: the nearest registered class wins, like Python's MRO lookup.
  for (let proto = Object.getPrototypeOf(exc); proto; proto = Object.getPrototypeOf(proto)) {
    const handler = errors.get(proto.constructor as ErrorClass);
    if (handler) return handler;
  }
  return undefined;
}

/** Sends a handler's result if it is a response (anything with `.asgi`). */
async function sendResult(result: unknown, scope: Scope, receive: Receive, send: Send): Promise<void> {
  if (result && typeof (result as Response).asgi === 'function')
    await (result as Response).asgi(scope, receive, send);
}

const NO_TABLES: HandlerTables = { errors: new Map(), statuses: new Map() };

/** The handler tables that `ExceptionMiddleware` left in the scope (empty ones outside an app). */
export function scopeHandlers(scope: Scope): HandlerTables {
  return (scope[HANDLERS_KEY] as HandlerTables | undefined) ?? NO_TABLES;
}

/**
 * Answers `exc` with the handler registered for it in `tables`, called with `conn` (or what `conn()`
 * builds: the connection object is only made when an error needs it). Errors without a handler, and
 * errors after the response started, propagate.
 */
export async function handleException(
  exc: unknown,
  tables: HandlerTables,
  conn: { scope: Scope } | (() => { scope: Scope }),
  started: boolean,
  scope: Scope,
  receive: Receive,
  send: Send,
): Promise<void> {
  let handler: ExceptionHandler | undefined;
  if (exc instanceof HTTPException) handler = tables.statuses.get(exc.statusCode);
  handler ??= lookup(tables.errors, exc);
  if (!handler) throw exc;
  if (started) throw new Error('Caught handled exception, but response already started.', { cause: exc });
  await sendResult(await handler(typeof conn === 'function' ? conn() : conn, exc), scope, receive, send);
}

/**
 * Runs `app`, and on error answers with the handler registered (in the scope) for it.
 * Errors without a handler, and errors after the response started, propagate.
 */
export function wrapAppHandlingExceptions(app: ASGIApp, conn: { scope: Scope }): ASGIFunction {
  const run = toASGIFunction(app);
  const tables = scopeHandlers(conn.scope);
  return async (scope, receive, send) => {
    let started = false;
    try {
      await run(scope, receive, (message: SendMessage) => {
        if (message.type === 'http.response.start') started = true;
        return send(message);
      });
    } catch (exc) {
      await handleException(exc, tables, conn, started, scope, receive, send);
    }
  };
}

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
    const run = this.#run;
    if (scope.type !== 'http' && scope.type !== 'websocket') return callApp(run, scope, receive, send);
    scope[HANDLERS_KEY] = this.#tables;
    let started = false;
    let ran: Promise<void>;
    try {
      ran = outcome(
        run(scope, receive, (message: SendMessage) => {
          if (message.type === 'http.response.start') started = true;
          return send(message);
        }),
      );
    } catch (exc) {
      return this.#handle(exc, started, scope, receive, send);
    }
    if (ran === RESOLVED) return RESOLVED;
    return ran.then(undefined, (exc: unknown) => this.#handle(exc, started, scope, receive, send));
  };

  #handle(exc: unknown, started: boolean, scope: Scope, receive: Receive, send: Send): Promise<void> {
    // The Request (or WebSocket) is built only when a handler needs it, not on every request.
    const conn = () =>
      scope.type === 'http' ? new Request(scope, receive, send) : new WebSocket(scope, receive, send);
    return handleException(exc, this.#tables, conn, started, scope, receive, send);
  }

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
