/**
 * `Starling`, the application: a router wrapped in the middleware stack
 * ServerErrorMiddleware → user middleware → ExceptionMiddleware → router.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from './asgi.ts';
import { bodyLimitOption, limitBody } from './_bodylimit.ts';
import { toASGIFunction } from './_utils.ts';
import { State, type URLPath } from './datastructures.ts';
import { Middleware, type MiddlewareFactory } from './middleware/index.ts';
import { ServerErrorMiddleware } from './middleware/errors.ts';
import {
  handlerEntries,
  type ErrorClass,
  type ExceptionHandler,
  type ExceptionHandlers,
} from './_exception_handler.ts';
import { ExceptionMiddleware } from './middleware/exceptions.ts';
import type { BaseRoute, PathParams } from './routing/base.ts';
import type { Lifespan } from './routing/lifespan.ts';
import type {
  HTTPEndpointLike,
  RequestHandler,
  RouteOptions,
  WebSocketEndpointLike,
  WebSocketHandler,
  WebSocketRouteOptions,
} from './routing/route.ts';
import { Router } from './routing/router.ts';

export interface StarlingOptions {
  /** Show error details (stack traces) in 500 responses. */
  debug?: boolean;
  routes?: BaseRoute[];
  /** Applied outermost first. */
  middleware?: Middleware[];
  /** Keyed by status code or error class: `{ 404: h }`, a `Map`, or `[[ValueError, h]]`. */
  exceptionHandlers?: ExceptionHandlers;
  /** `async function* (app) { ...startup; yield state; ...shutdown }`. */
  lifespan?: Lifespan<Starling> | null;
  /** Run at startup, in order; ignored (with a warning) when `lifespan` is given, as in Starlette. */
  onStartup?: (() => unknown)[];
  /** Run at shutdown, in order; ignored (with a warning) when `lifespan` is given, as in Starlette. */
  onShutdown?: (() => unknown)[];
  /**
   * Largest request body in bytes: a larger `content-length` gets 413 before the endpoint runs, and
   * reading a streamed body that grows past it throws `HTTPException(413)`. A mount's or route's own
   * `maxBodySize` replaces it. Default: no limit (the server's `maxBodySize` still applies).
   */
  maxBodySize?: number | null;
}

/**
 * The application.
 *
 * @example
 * ```ts
 * const app = new Starling({
 *   routes: [new Route('/', async () => new JSONResponse({ hello: 'world' }))],
 *   exceptionHandlers: { 404: async () => new PlainTextResponse('nothing here', { status: 404 }) },
 * });
 * ```
 */
export class Starling {
  debug: boolean;
  readonly state: State;
  readonly router: Router;
  readonly exceptionHandlers: Map<number | ErrorClass, ExceptionHandler>;
  readonly userMiddleware: Middleware[];
  middlewareStack: ASGIFunction | null = null;
  readonly maxBodySize: number | null;

  constructor(options: StarlingOptions = {}) {
    this.debug = options.debug ?? false;
    this.state = new State();
    this.router = new Router({
      routes: options.routes ?? [],
      lifespan: options.lifespan ?? null,
      onStartup: options.onStartup ?? [],
      onShutdown: options.onShutdown ?? [],
    });
    this.exceptionHandlers = new Map(handlerEntries(options.exceptionHandlers));
    this.userMiddleware = [...(options.middleware ?? [])];
    this.maxBodySize = bodyLimitOption(options.maxBodySize);
  }

  /** Builds the layers; 500 and `Error` handlers go to the outermost layer, the rest inside. */
  buildMiddlewareStack(): ASGIFunction {
    let errorHandler: ExceptionHandler | null = null;
    const handlers = new Map<number | ErrorClass, ExceptionHandler>();
    for (const [key, handler] of this.exceptionHandlers) {
      if (key === 500 || key === Error) errorHandler = handler;
      else handlers.set(key, handler);
    }
    // Unlike Starlette, `throw new HTTPException(500)` reaches the 500/Error handler too.
    if (errorHandler) handlers.set(500, this.exceptionHandlers.get(500) ?? errorHandler);
    const middleware = [
      new Middleware(ServerErrorMiddleware, { handler: errorHandler, debug: this.debug }),
      ...this.userMiddleware,
      new Middleware(ExceptionMiddleware, { handlers, debug: this.debug }),
    ];
    let app: ASGIApp = this.router;
    for (const m of [...middleware].reverse()) app = m.build(app);
    return toASGIFunction(app);
  }

  /** The ASGI entry point (bound, so `app.asgi` can be passed around alone). */
  asgi = (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    scope.app = this;
    if (this.maxBodySize !== null) receive = limitBody(scope, receive, this.maxBodySize);
    // Not `async`: once built, the stack (ServerErrorMiddleware, an async function) is called directly.
    if (this.middlewareStack !== null) return this.middlewareStack(scope, receive, send);
    return this.#start(scope, receive, send);
  };

  async #start(scope: Scope, receive: Receive, send: Send): Promise<void> {
    this.middlewareStack ??= this.buildMiddlewareStack();
    await this.middlewareStack(scope, receive, send);
  }

  get routes(): BaseRoute[] {
    return this.router.routes;
  }

  urlPathFor(name: string, params: PathParams = {}): URLPath {
    return this.router.urlPathFor(name, params);
  }

  /** Adds a middleware as the new outermost user middleware; only before the app starts. */
  addMiddleware<O>(cls: MiddlewareFactory<O>, options?: O): void {
    if (this.middlewareStack !== null)
      throw new Error('Cannot add middleware after an application has started');
    this.userMiddleware.unshift(new Middleware(cls, options));
  }

  addExceptionHandler(key: number | ErrorClass, handler: ExceptionHandler): void {
    this.exceptionHandlers.set(key, handler);
  }

  mount(path: string, app: ASGIApp, options: { name?: string | null } = {}): void {
    this.router.mount(path, app, options);
  }

  host(host: string, app: ASGIApp, options: { name?: string | null } = {}): void {
    this.router.host(host, app, options);
  }

  /** Adds a `Route` (the `@app.route` of Starlette's early days). */
  route(path: string, endpoint: RequestHandler, options?: RouteOptions): void;
  route(path: string, endpoint: HTTPEndpointLike, options?: RouteOptions): void;
  route(path: string, endpoint: HTTPEndpointLike, options: RouteOptions = {}): void {
    this.router.addRoute(path, endpoint, options);
  }

  addRoute(path: string, endpoint: RequestHandler, options?: RouteOptions): void;
  addRoute(path: string, endpoint: HTTPEndpointLike, options?: RouteOptions): void;
  addRoute(path: string, endpoint: HTTPEndpointLike, options: RouteOptions = {}): void {
    this.router.addRoute(path, endpoint, options);
  }

  websocketRoute(path: string, endpoint: WebSocketHandler, options?: WebSocketRouteOptions): void;
  websocketRoute(path: string, endpoint: WebSocketEndpointLike, options?: WebSocketRouteOptions): void;
  websocketRoute(path: string, endpoint: WebSocketEndpointLike, options: WebSocketRouteOptions = {}): void {
    this.router.addWebSocketRoute(path, endpoint, options);
  }

  addWebSocketRoute(path: string, endpoint: WebSocketHandler, options?: WebSocketRouteOptions): void;
  addWebSocketRoute(path: string, endpoint: WebSocketEndpointLike, options?: WebSocketRouteOptions): void;
  addWebSocketRoute(
    path: string,
    endpoint: WebSocketEndpointLike,
    options: WebSocketRouteOptions = {},
  ): void {
    this.router.addWebSocketRoute(path, endpoint, options);
  }
}
