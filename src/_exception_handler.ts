/**
 * Exception handling, written once: `ExceptionMiddleware` keeps the handler tables and leaves them in
 * the scope; routes, WebSocket sessions and `HTTPEndpoint` run through `callHandlingExceptions`, so that
 * a handler gets the very connection the endpoint used, and the middleware answers what reaches it with
 * the same `handleException` (Starlette's `starlette/_exception_handler.py`).
 */
import type { ASGIApp, Receive, Scope, Send } from './asgi.ts';
import { callApp, isThenable, RESOLVED } from './_utils.ts';
import { HTTPException } from './exceptions.ts';
import { Request } from './requests.ts';
import type { Response } from './responses.ts';
import { WebSocket } from './websockets.ts';

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

/** The connection a handler is called with. */
export type Connection = Request | WebSocket;

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

const NO_TABLES: HandlerTables = { errors: new Map(), statuses: new Map() };

/** The handler tables that `ExceptionMiddleware` left in the scope (empty ones outside an app). */
function scopeHandlers(scope: Scope): HandlerTables {
  return (scope[HANDLERS_KEY] as HandlerTables | undefined) ?? NO_TABLES;
}

/**
 * Calls `fn(conn)`, an endpoint, as `callHandlingExceptions` wants its answer: what it throws comes back
 * as a rejected promise.
 */
export function callEndpoint<C>(fn: (conn: C) => unknown, conn: C): ASGIApp | PromiseLike<ASGIApp> {
  try {
    return fn(conn) as ASGIApp | PromiseLike<ASGIApp>;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs `app` (or, given a promise of one, such as an endpoint's pending response, awaits it first) and
 * answers what it throws with the handler registered for the error (by status for an `HTTPException`,
 * else by the nearest class), called with `conn`, or, when `conn` is `null`, with a `Request` or
 * `WebSocket` built only then. Errors without a handler, and errors after the response started,
 * propagate. Starlette's `wrap_app_handling_exceptions`, called rather than built, so that a request
 * costs nothing more than the `send` that notes whether the response started.
 *
 * Not `async`: when `app` finishes synchronously, so does this (see `RESOLVED`).
 *
 * @example
 * ```ts
 * const request = new Request(scope, receive, send);
 * await callHandlingExceptions(callEndpoint(endpoint, request), request, scope, receive, send);
 * ```
 */
export function callHandlingExceptions(
  app: ASGIApp | PromiseLike<ASGIApp>,
  conn: Connection | null,
  scope: Scope,
  receive: Receive,
  send: Send,
): Promise<void> {
  const tables = scopeHandlers(scope);
  if (isThenable(app)) return respondLater(app, tables, conn, scope, receive, send);
  let started = false;
  // The tracking `send`s are inline arrows: a named one costs a `defineProperty` per request under tsx.
  const sent = callApp(app, scope, receive, (message) => {
    if (message.type === 'http.response.start') started = true;
    return send(message);
  });
  if (sent === RESOLVED) return RESOLVED;
  return sent.then(undefined, (exc: unknown) =>
    handleException(exc, tables, conn, started, scope, receive, send),
  );
}

/** `callHandlingExceptions` for an app still to come: one async call does the rest. */
async function respondLater(
  app: PromiseLike<ASGIApp>,
  tables: HandlerTables,
  conn: Connection | null,
  scope: Scope,
  receive: Receive,
  send: Send,
): Promise<void> {
  let started = false;
  try {
    const sent = callApp(await app, scope, receive, (message) => {
      if (message.type === 'http.response.start') started = true;
      return send(message);
    });
    if (sent !== RESOLVED) await sent;
  } catch (exc) {
    await handleException(exc, tables, conn, started, scope, receive, send);
  }
}

/**
 * Answers `exc` with the handler registered for it in `tables`, called with `conn` (when `null`, a
 * `Request` or `WebSocket` built now); rethrows it when there is none, and throws when the response
 * has already started.
 */
export async function handleException(
  exc: unknown,
  tables: HandlerTables,
  conn: Connection | null,
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
  // The connection is made only now that a handler needs it (`ExceptionMiddleware` passes none).
  conn ??= scope.type === 'http' ? new Request(scope, receive, send) : new WebSocket(scope, receive, send);
  const response = await handler(conn, exc);
  // A handler's result is sent when it is a response (anything with `.asgi`).
  if (response && typeof (response as Response).asgi === 'function')
    await (response as Response).asgi(scope, receive, send);
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
