/**
 * `Router`: dispatches a scope to the first matching route, answers 404/405, redirects a missing or
 * extra trailing slash, and runs the lifespan (its own and its mounted apps').
 */
import type { ASGIApp, ASGIFunction, LifespanScope, Receive, Scope, Send } from '../asgi.ts';
import { outcome, toASGIFunction } from '../_utils.ts';
import { URL, type URLPath } from '../datastructures.ts';
import { HTTPException } from '../exceptions.ts';
import { applyMiddleware, type Middleware } from '../middleware/index.ts';
import { PlainTextResponse, RedirectResponse } from '../responses.ts';
import { WebSocketClose } from '../websockets.ts';
import {
  enterChild,
  FIXED_PATH,
  Match,
  MAY_MATCH_PATH,
  NoMatchFound,
  routePath,
  type BaseRoute,
  type PathParams,
} from './base.ts';
import { enterLifespan, startSubApp, type Lifespan, type Started } from './lifespan.ts';
import { Host, Mount } from './mount.ts';
import {
  Route,
  WebSocketRoute,
  type HTTPEndpointLike,
  type RequestHandler,
  type RouteOptions,
  type WebSocketEndpointLike,
  type WebSocketHandler,
  type WebSocketRouteOptions,
} from './route.ts';

/** Below this many routes, a scan costs no more than a look-up in `FixedPaths`. */
const INDEXED_FROM = 8;

/**
 * The routes with a fixed path (no parameters), by path, for HTTP requests: a route is listed only
 * when no route before it can match its path, so that the first route to match a request is the same
 * as by scanning them in order (Starlette's rule). Routes a path cannot be told for (a `Host`, a route
 * class of the app's own) hide every fixed path after them.
 */
class FixedPaths {
  /** The routes as they were indexed. */
  readonly routes: readonly BaseRoute[];
  readonly index = new Map<string, number>();

  constructor(routes: readonly BaseRoute[]) {
    this.routes = routes.slice();
    // The routes so far without a fixed path: any of them may match a later one's path.
    const before: BaseRoute[] = [];
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      const path = fixedPath(route);
      if (path === undefined) before.push(route);
      else if (!this.index.has(path) && before.every((r) => !mayMatchPath(r, path))) this.index.set(path, i);
    }
  }
}

// A route object may be any object with `matches` and `handle`, not only a `BaseRoute`.
function fixedPath(route: BaseRoute): string | undefined {
  return typeof route[FIXED_PATH] === 'function' ? route[FIXED_PATH]() : undefined;
}

function mayMatchPath(route: BaseRoute, path: string): boolean {
  return typeof route[MAY_MATCH_PATH] === 'function' ? route[MAY_MATCH_PATH](path) : true;
}

let warnedHooksIgnored = false;

/** Starlette's warning (once per process, as Python shows a warning once per place) for `lifespan` with hooks. */
function warnHooksIgnored(): void {
  if (warnedHooksIgnored) return;
  warnedHooksIgnored = true;
  process.emitWarning(
    'The `lifespan` option cannot be used with `onStartup` or `onShutdown`. Both `onStartup` and `onShutdown` will be ignored.',
    { code: 'STARLING_LIFESPAN_HOOKS_IGNORED' },
  );
}

export interface RouterOptions {
  routes?: BaseRoute[];
  /** Redirect `/x/` to `/x` (and back) when only the other one exists. Default `true`. */
  redirectSlashes?: boolean;
  /** What answers when nothing matches; default 404 (or a websocket close). */
  defaultApp?: ASGIApp | null;
  lifespan?: Lifespan | null;
  /** Run at startup, in order; ignored (with a warning) when `lifespan` is given, as in Starlette. */
  onStartup?: (() => unknown)[];
  /** Run at shutdown, in order; ignored (with a warning) when `lifespan` is given, as in Starlette. */
  onShutdown?: (() => unknown)[];
  middleware?: Middleware[];
}

/**
 * A list of routes, itself an ASGI app.
 *
 * @example
 * ```ts
 * const router = new Router({ routes: [new Route('/', home), new Mount('/api', { routes: apiRoutes })] });
 * ```
 */
export class Router {
  readonly routes: BaseRoute[];
  redirectSlashes: boolean;
  readonly defaultApp: ASGIFunction;
  readonly lifespanContext: Lifespan | null;
  readonly onStartup: (() => unknown)[];
  readonly onShutdown: (() => unknown)[];
  readonly #stack: ASGIFunction;
  #fixed: FixedPaths | null = null;

  constructor(options: RouterOptions = {}) {
    this.routes = [...(options.routes ?? [])];
    this.redirectSlashes = options.redirectSlashes ?? true;
    this.defaultApp = options.defaultApp
      ? toASGIFunction(options.defaultApp)
      : (s, r, w) => this.notFound(s, r, w);
    this.lifespanContext = options.lifespan ?? null;
    this.onStartup = [...(options.onStartup ?? [])];
    this.onShutdown = [...(options.onShutdown ?? [])];
    if (this.lifespanContext && (this.onStartup.length > 0 || this.onShutdown.length > 0)) warnHooksIgnored();
    this.#stack = toASGIFunction(
      applyMiddleware((s: Scope, r: Receive, w: Send) => this.app(s, r, w), options.middleware),
    );
  }

  asgi = (scope: Scope, receive: Receive, send: Send): Promise<void> => this.#stack(scope, receive, send);

  /** The routing itself, inside any router middleware. */
  app(scope: Scope, receive: Receive, send: Send): Promise<void> {
    // Not `async`: the route's own promise (or `RESOLVED`) is the answer, without a wrapper around it.
    try {
      return this.#route(scope, receive, send);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #route(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http' && scope.type !== 'websocket' && scope.type !== 'lifespan') {
      throw new Error(`Unsupported scope type: ${String((scope as { type: unknown }).type)}`);
    }
    scope.router ??= this;
    if (scope.type === 'lifespan') return this.lifespan(scope, receive, send);

    // Indexing, not `const [match, child] = ...`: destructuring goes through the iterator protocol.
    const routes = this.routes;
    if (scope.type === 'http' && routes.length >= INDEXED_FROM) {
      // A fixed path with a full match needs no scan: no route before it can match (see `FixedPaths`).
      const route = this.#fixedRoute(routePath(scope));
      if (route !== null) {
        const result = route.matches(scope);
        if (result[0] === Match.FULL) {
          enterChild(scope, result[1]);
          return outcome(route.handle(scope, receive, send));
        }
      }
    }
    let partial: BaseRoute | null = null;
    let partialChild: Record<string, unknown> | null = null;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      const result = route.matches(scope);
      const match = result[0];
      if (match === Match.NONE) continue;
      if (match === Match.FULL) {
        enterChild(scope, result[1]);
        return outcome(route.handle(scope, receive, send));
      }
      if (match === Match.PARTIAL && partial === null) {
        partial = route;
        partialChild = result[1];
      }
    }
    if (partial !== null) {
      enterChild(scope, partialChild!);
      return outcome(partial.handle(scope, receive, send));
    }

    const path = routePath(scope);
    if (scope.type === 'http' && this.redirectSlashes && path !== '/') {
      const toggled = { ...scope };
      toggled.path = scope.path.endsWith('/') ? scope.path.replace(/\/+$/, '') : scope.path + '/';
      if (this.routes.some((route) => route.matches({ ...toggled })[0] !== Match.NONE)) {
        const url = new URL('', { scope: toggled });
        return new RedirectResponse(String(url)).asgi(scope, receive, send);
      }
    }
    return outcome(this.defaultApp(scope, receive, send));
  }

  /** The route serving `path` by the index of fixed paths, or `null` (scan the routes). */
  #fixedRoute(path: string): BaseRoute | null {
    const routes = this.routes;
    let fixed = this.#fixed;
    if (fixed === null || fixed.routes.length !== routes.length) fixed = this.#fixed = new FixedPaths(routes);
    const i = fixed.index.get(path);
    if (i === undefined) return null;
    // `routes` is a public array: when a route up to this one was replaced, index again.
    for (let j = 0; j <= i; j++) {
      if (routes[j] !== fixed.routes[j]) {
        this.#fixed = null;
        return this.#fixedRoute(path);
      }
    }
    return routes[i]!;
  }

  /** The default for a miss: 404 (an `HTTPException` inside an app, so handlers see it) or a close. */
  async notFound(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'websocket') return new WebSocketClose().asgi(scope, receive, send);
    if ('app' in scope) throw new HTTPException(404);
    await new PlainTextResponse('Not Found', { status: 404 }).asgi(scope, receive, send);
  }

  /** Reverses a route name into a path. */
  urlPathFor(name: string, params: PathParams = {}): URLPath {
    for (const route of this.routes) {
      try {
        return route.urlPathFor(name, params);
      } catch (error) {
        if (!(error instanceof NoMatchFound)) throw error;
      }
    }
    throw new NoMatchFound(name, params);
  }

  /** Answers the lifespan protocol: startup hooks or lifespan generator, then mounted apps; shutdown in reverse. */
  async lifespan(scope: LifespanScope, receive: Receive, send: Send): Promise<void> {
    let started = false;
    const app = scope.app ?? this;
    await receive();
    try {
      const exits: Started[] = [];
      // As in Starlette, a lifespan replaces the hooks (the constructor warned when both were given).
      if (!this.lifespanContext) for (const handler of this.onStartup) await handler();
      if (this.lifespanContext) {
        const entered = await enterLifespan(this.lifespanContext, app);
        if (entered.state) {
          if (!scope.state) throw new Error('The server does not support "state" in the lifespan scope.');
          Object.assign(scope.state, entered.state);
        }
        exits.push(entered);
      }
      for (const route of this.routes) {
        const sub = route instanceof Mount ? route.app : route instanceof Host ? route.app : null;
        const entered = sub ? await startSubApp(sub, scope) : null;
        if (entered) exits.push(entered);
      }
      await send({ type: 'lifespan.startup.complete' });
      started = true;
      await receive();
      for (const entered of exits.reverse()) await entered.exit();
      if (!this.lifespanContext) for (const handler of this.onShutdown) await handler();
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      await send({ type: started ? 'lifespan.shutdown.failed' : 'lifespan.startup.failed', message });
      throw error;
    }
    await send({ type: 'lifespan.shutdown.complete' });
  }

  mount(path: string, app: ASGIApp, options: { name?: string | null } = {}): void {
    this.routes.push(new Mount(path, { app, name: options.name ?? null }));
  }

  host(host: string, app: ASGIApp, options: { name?: string | null } = {}): void {
    this.routes.push(new Host(host, app, { name: options.name ?? null }));
  }

  // Overloads, handler first, so that inline `async (request) => ...` is typed (see `Route`).
  addRoute(path: string, endpoint: RequestHandler, options?: RouteOptions): void;
  addRoute(path: string, endpoint: HTTPEndpointLike, options?: RouteOptions): void;
  addRoute(path: string, endpoint: HTTPEndpointLike, options: RouteOptions = {}): void {
    this.routes.push(new Route(path, endpoint, options));
  }

  addWebSocketRoute(path: string, endpoint: WebSocketHandler, options?: WebSocketRouteOptions): void;
  addWebSocketRoute(path: string, endpoint: WebSocketEndpointLike, options?: WebSocketRouteOptions): void;
  addWebSocketRoute(
    path: string,
    endpoint: WebSocketEndpointLike,
    options: WebSocketRouteOptions = {},
  ): void {
    this.routes.push(new WebSocketRoute(path, endpoint, options));
  }
}
