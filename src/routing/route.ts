/**
 * `Route` (HTTP) and `WebSocketRoute`, and the wrappers that turn a `(request) => response` or
 * `(websocket) => void` function into an ASGI app.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import { BODY_LIMIT_KEY, bodyLimitOption, limitBody, rejectDeclaredTooLarge } from '../_bodylimit.ts';
import { callEndpoint, callHandlingExceptions } from '../_exception_handler.ts';
import { callApp, isClass, isThenable, RESOLVED, toASGIFunction } from '../_utils.ts';
import { URLPath } from '../datastructures.ts';
import { HTTPException } from '../exceptions.ts';
import { applyMiddleware, type Middleware } from '../middleware/index.ts';
import { Request } from '../requests.ts';
import { PlainTextResponse, type Response } from '../responses.ts';
import { WebSocket } from '../websockets.ts';
import {
  BaseRoute,
  compilePath,
  FIXED_PATH,
  getName,
  Match,
  matchPath,
  MAY_MATCH_PATH,
  mergePathParams,
  NO_MATCH,
  NoMatchFound,
  pathMayMatch,
  replaceParams,
  routePath,
  type CompiledPath,
  type PathParams,
} from './base.ts';

/** An HTTP endpoint function: takes the request, returns (a promise of) a response. */
export type RequestHandler = (request: Request) => Response | Promise<Response>;
/** A WebSocket endpoint function. */
export type WebSocketHandler = (websocket: WebSocket) => unknown;
/** A class endpoint (`HTTPEndpoint`/`WebSocketEndpoint` subclass): built per connection, then dispatched. */
export type EndpointClass = new (scope: any, receive: Receive, send: Send) => { dispatch(): Promise<void> };
/** Anything a `Route` serves: a `RequestHandler`, an `HTTPEndpoint` subclass, or an ASGI app. */
export type HTTPEndpointLike = RequestHandler | EndpointClass | ASGIApp;
/** Anything a `WebSocketRoute` serves: a `WebSocketHandler`, a `WebSocketEndpoint` subclass, or an ASGI app. */
export type WebSocketEndpointLike = WebSocketHandler | EndpointClass | ASGIApp;

/**
 * Turns `(request) => response` into an ASGI app; errors go through the app's exception handlers with
 * the same `Request` object.
 *
 * @example
 * ```ts
 * const app = requestResponse(async (request) => new PlainTextResponse(request.url.path));
 * ```
 */
export function requestResponse(fn: RequestHandler): ASGIFunction {
  // Not `async`: an endpoint that returns its response synchronously, sent by a `send` that takes it
  // at once, completes without a microtask (see `RESOLVED`).
  return (scope, receive, send) => {
    let request: Request;
    try {
      request = new Request(scope, receive, send);
    } catch (error) {
      return Promise.reject(error);
    }
    return callHandlingExceptions(callEndpoint(fn, request), request, scope, receive, send);
  };
}

/** What a session answers with once it is over: nothing more to send. */
const SESSION_OVER: ASGIFunction = () => RESOLVED;

/**
 * Turns `(websocket) => Promise<void>` into an ASGI app, with the app's exception handlers. No async
 * frames of its own: a session lasts as long as its socket, and each frame suspended for that long is
 * memory held per open socket.
 */
export function websocketSession(fn: WebSocketHandler): ASGIFunction {
  const over = (): ASGIFunction => SESSION_OVER;
  return (scope, receive, send) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(scope, receive, send);
    } catch (error) {
      return Promise.reject(error);
    }
    // What the handler throws, at once or later, goes to the exception handlers alike.
    const session = callEndpoint(fn, ws);
    const ended = isThenable(session) ? session.then(over) : SESSION_OVER;
    return callHandlingExceptions(ended, ws, scope, receive, send);
  };
}

function classApp(cls: EndpointClass): ASGIFunction {
  return async (scope, receive, send) => {
    await new cls(scope, receive, send).dispatch();
  };
}

/** Classes are built per connection; objects and 3-argument functions are ASGI apps; other functions are handlers. */
function endpointApp(endpoint: unknown, wrap: (fn: any) => ASGIFunction): [ASGIFunction, boolean] {
  if (isClass(endpoint)) return [classApp(endpoint as EndpointClass), false];
  if (typeof endpoint === 'function' && endpoint.length < 3) return [wrap(endpoint), true];
  return [toASGIFunction(endpoint as ASGIApp), false];
}

export interface RouteOptions {
  /** Allowed methods; default `['GET']` for functions, every method for classes and ASGI apps. HEAD comes with GET. */
  methods?: string[] | null;
  name?: string | null;
  includeInSchema?: boolean;
  /** Middleware wrapping only this route, first = outermost. */
  middleware?: Middleware[];
  /** An OpenAPI fragment for `starlingjs/schemas`. */
  openapi?: unknown;
  /** Largest request body in bytes for this route (413 past it); replaces the app's or mount's limit. */
  maxBodySize?: number | null;
}

/**
 * An HTTP route.
 *
 * @example
 * ```ts
 * new Route('/users/{id:int}', async (request) => new JSONResponse({ id: request.pathParams.id }), { name: 'user' });
 * ```
 */
export class Route extends BaseRoute {
  readonly path: string;
  readonly endpoint: unknown;
  readonly name: string | null;
  readonly includeInSchema: boolean;
  readonly methods: Set<string> | null;
  readonly app: ASGIFunction;
  readonly openapi: unknown;
  readonly maxBodySize: number | null;
  readonly #compiled: CompiledPath;

  // Overloads, handler first: a union parameter would leave `async (request) => ...` untyped (TS7006).
  constructor(path: string, endpoint: RequestHandler, options?: RouteOptions);
  constructor(path: string, endpoint: HTTPEndpointLike, options?: RouteOptions);
  constructor(path: string, endpoint: HTTPEndpointLike, options: RouteOptions = {}) {
    super();
    if (!path.startsWith('/')) throw new Error("Routed paths must start with '/'");
    this.path = path;
    this.endpoint = endpoint;
    this.name = options.name === undefined ? getName(endpoint) : options.name;
    this.includeInSchema = options.includeInSchema ?? true;
    this.openapi = options.openapi;
    this.maxBodySize = bodyLimitOption(options.maxBodySize);
    const [app, isHandler] = endpointApp(endpoint, requestResponse);
    this.app = toASGIFunction(applyMiddleware(app, options.middleware));
    const methods = options.methods ?? (isHandler ? ['GET'] : null);
    if (methods === null) this.methods = null;
    else {
      this.methods = new Set<string>();
      for (const method of methods.map((m) => m.toUpperCase())) {
        this.methods.add(method);
        if (method === 'GET') this.methods.add('HEAD');
      }
    }
    this.#compiled = compilePath(path);
  }

  /** The path's parameter names, in order. */
  get paramConvertors() {
    return this.#compiled.convertors;
  }

  matches(scope: Scope): [Match, Record<string, unknown>] {
    if (scope.type !== 'http') return NO_MATCH;
    const params = matchPath(this.#compiled, routePath(scope));
    if (params === null) return NO_MATCH;
    const child = { endpoint: this.endpoint, path_params: mergePathParams(scope, params) };
    if (this.methods !== null && !this.methods.has(scope.method)) return [Match.PARTIAL, child];
    return [Match.FULL, child];
  }

  // Only when `matches` is this class's own: a subclass may match differently.
  override [FIXED_PATH](): string | undefined {
    return this.matches === Route.prototype.matches ? this.#compiled.literal : undefined;
  }

  override [MAY_MATCH_PATH](path: string): boolean {
    return this.matches !== Route.prototype.matches || pathMayMatch(this.#compiled, path);
  }

  urlPathFor(name: string, params: PathParams = {}): URLPath {
    const expected = Object.keys(this.#compiled.convertors).sort().join();
    if (name !== this.name || Object.keys(params).sort().join() !== expected)
      throw new NoMatchFound(name, params);
    const [path] = replaceParams(this.#compiled.format, this.#compiled.convertors, params);
    return new URLPath(path, 'http');
  }

  handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    // Not `async` on the common path: the endpoint's own promise (or `RESOLVED`) is the answer.
    if (
      (this.methods === null || scope.type !== 'http' || this.methods.has(scope.method)) &&
      this.maxBodySize === null &&
      scope[BODY_LIMIT_KEY] === undefined
    ) {
      return callApp(this.app, scope, receive, send);
    }
    return this.#handleChecked(scope, receive, send);
  }

  /** `handle` with a 405 to answer or a body limit to apply. */
  async #handleChecked(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (this.methods && scope.type === 'http' && !this.methods.has(scope.method)) {
      const headers = { Allow: [...this.methods].join(', ') };
      if ('app' in scope) throw new HTTPException(405, { headers });
      await new PlainTextResponse('Method Not Allowed', { status: 405, headers }).asgi(scope, receive, send);
      return;
    }
    if (this.maxBodySize !== null) receive = limitBody(scope, receive, this.maxBodySize);
    if (scope[BODY_LIMIT_KEY] !== undefined && (await rejectDeclaredTooLarge(scope, receive, send))) return;
    await this.app(scope, receive, send);
  }
}

export interface WebSocketRouteOptions {
  name?: string | null;
  middleware?: Middleware[];
}

/**
 * A WebSocket route.
 *
 * @example
 * ```ts
 * new WebSocketRoute('/ws', async (ws) => { await ws.accept(); await ws.sendText('hi'); await ws.close(); });
 * ```
 */
export class WebSocketRoute extends BaseRoute {
  readonly path: string;
  readonly endpoint: unknown;
  readonly name: string | null;
  readonly app: ASGIFunction;
  readonly #compiled: CompiledPath;

  // Overloads, handler first, so that `async (ws) => ...` is typed (see `Route`).
  constructor(path: string, endpoint: WebSocketHandler, options?: WebSocketRouteOptions);
  constructor(path: string, endpoint: WebSocketEndpointLike, options?: WebSocketRouteOptions);
  constructor(path: string, endpoint: WebSocketEndpointLike, options: WebSocketRouteOptions = {}) {
    super();
    if (!path.startsWith('/')) throw new Error("Routed paths must start with '/'");
    this.path = path;
    this.endpoint = endpoint;
    this.name = options.name === undefined ? getName(endpoint) : options.name;
    const [app] = endpointApp(endpoint, websocketSession);
    this.app = toASGIFunction(applyMiddleware(app, options.middleware));
    this.#compiled = compilePath(path);
  }

  matches(scope: Scope): [Match, Record<string, unknown>] {
    if (scope.type !== 'websocket') return NO_MATCH;
    const params = matchPath(this.#compiled, routePath(scope));
    if (params === null) return NO_MATCH;
    return [Match.FULL, { endpoint: this.endpoint, path_params: mergePathParams(scope, params) }];
  }

  // It never matches an HTTP request, unless a subclass matches differently.
  override [MAY_MATCH_PATH](): boolean {
    return this.matches !== WebSocketRoute.prototype.matches;
  }

  urlPathFor(name: string, params: PathParams = {}): URLPath {
    const expected = Object.keys(this.#compiled.convertors).sort().join();
    if (name !== this.name || Object.keys(params).sort().join() !== expected)
      throw new NoMatchFound(name, params);
    const [path] = replaceParams(this.#compiled.format, this.#compiled.convertors, params);
    return new URLPath(path, 'websocket');
  }

  // Not `async`: the session's own promise is the answer (an async frame here would stay suspended,
  // holding memory, for as long as the socket is open).
  handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    return callApp(this.app, scope, receive, send);
  }
}
