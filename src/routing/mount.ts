/**
 * `Mount` (a sub-app or sub-router under a path prefix) and `Host` (a sub-app for a host pattern).
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import { BODY_LIMIT_KEY, bodyLimitOption, limitBody, rejectDeclaredTooLarge } from '../_bodylimit.ts';
import { toASGIFunction } from '../_utils.ts';
import { Headers, URLPath } from '../datastructures.ts';
import { applyMiddleware, type Middleware } from '../middleware/index.ts';
import {
  BaseRoute,
  compilePath,
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
  withoutPort,
  type PathParams,
} from './base.ts';
import { Router } from './router.ts';

/** Reverses `name` inside child routes; `rest` is the part of the name after `prefix:` (or all of it). */
function reverseChild(routes: BaseRoute[], rest: string, params: PathParams): URLPath {
  for (const route of routes) {
    try {
      return route.urlPathFor(rest, params);
    } catch (error) {
      if (!(error instanceof NoMatchFound)) throw error;
    }
  }
  throw new NoMatchFound(rest, params);
}

export interface MountOptions {
  /** The mounted app (a `Router`, another `Starling`, `StaticFiles`, any ASGI app). */
  app?: ASGIApp;
  /** Or routes, which build a `Router`. */
  routes?: BaseRoute[];
  name?: string | null;
  middleware?: Middleware[];
  /** Largest request body in bytes under this mount (413 past it); a route inside may set its own. */
  maxBodySize?: number | null;
  /**
   * Leave the bare prefix (`/api`) unmatched, so the router redirects it to `/api/` as Starlette does.
   * Default `false`: the bare prefix is served as the child's `/`.
   */
  redirectBare?: boolean;
}

/**
 * Serves `app` (or `routes`) under a path prefix. `/api` itself is served too (as the child's `/`),
 * without Starlette's redirect to `/api/` (`redirectBare: true` brings the redirect back).
 *
 * @example
 * ```ts
 * new Mount('/api', { routes: [new Route('/users', listUsers)], name: 'api' });
 * new Mount('/static', { app: new StaticFiles({ directory: 'static' }), name: 'static' });
 * ```
 */
export class Mount extends BaseRoute {
  readonly path: string;
  readonly name: string | null;
  /** The mounted app before any per-mount middleware. */
  readonly innerApp: ASGIApp;
  readonly app: ASGIFunction;
  /** Whether per-mount middleware wraps `innerApp` (the server's native static path needs none). */
  readonly hasMiddleware: boolean;
  readonly maxBodySize: number | null;
  readonly redirectBare: boolean;
  readonly #compiled: CompiledPath;
  // A mounted app without routes is the endpoint itself: the declared body length is checked here.
  readonly #leaf: boolean;

  constructor(path: string, options: MountOptions = {}) {
    super();
    if (path !== '' && !path.startsWith('/')) throw new Error("Routed paths must start with '/'");
    if ((options.app === undefined) === (options.routes === undefined))
      throw new Error("Mount needs either 'app' or 'routes', not both");
    this.path = path.replace(/\/+$/, '');
    this.name = options.name ?? null;
    this.innerApp = options.app ?? new Router({ routes: options.routes ?? [] });
    this.app = toASGIFunction(applyMiddleware(this.innerApp, options.middleware));
    this.hasMiddleware = (options.middleware?.length ?? 0) > 0;
    this.maxBodySize = bodyLimitOption(options.maxBodySize);
    this.redirectBare = options.redirectBare ?? false;
    this.#leaf = !('routes' in (this.innerApp as object));
    this.#compiled = compilePath(this.path + '/{path:path}');
  }

  /** The child routes, when the mounted app has any (a `Router` or `Starling`). */
  get routes(): BaseRoute[] {
    return ((this.innerApp as { routes?: BaseRoute[] }).routes ?? []) as BaseRoute[];
  }

  matches(scope: Scope): [Match, Record<string, unknown>] {
    if (scope.type !== 'http' && scope.type !== 'websocket') return NO_MATCH;
    const path = routePath(scope);
    // The bare prefix is the child's '/', so '/api' works like '/api/' (no redirect needed).
    const bare = path === this.path && !this.redirectBare;
    const params = matchPath(this.#compiled, bare ? path + '/' : path);
    if (!params) return NO_MATCH;
    const remaining = '/' + String(params.path);
    delete params.path;
    const matched = bare ? path : path.slice(0, path.length - remaining.length);
    const rootPath = (scope.root_path as string | undefined) ?? '';
    return [
      Match.FULL,
      {
        path_params: mergePathParams(scope, params),
        app_root_path: scope.app_root_path ?? rootPath,
        root_path: rootPath + matched,
        endpoint: this.app,
      },
    ];
  }

  override [MAY_MATCH_PATH](path: string): boolean {
    if (this.matches !== Mount.prototype.matches) return true;
    const bare = path === this.path && !this.redirectBare;
    return pathMayMatch(this.#compiled, bare ? path + '/' : path);
  }

  urlPathFor(name: string, params: PathParams = {}): URLPath {
    if (this.name !== null && name === this.name && 'path' in params) {
      // Reverse the mount itself: its prefix plus the given sub-path.
      const { path, ...rest } = params;
      const [prefix, remaining] = replaceParams(this.#compiled.format, this.#compiled.convertors, {
        ...rest,
        path: String(path).replace(/^\//, ''),
      });
      if (Object.keys(remaining).length === 0) return new URLPath(prefix);
    } else if (this.name === null || name.startsWith(`${this.name}:`)) {
      const rest = this.name === null ? name : name.slice(this.name.length + 1);
      const ownKeys = Object.keys(this.#compiled.convertors).filter((k) => k !== 'path');
      const own = Object.fromEntries(Object.entries(params).filter(([k]) => ownKeys.includes(k)));
      const childParams = Object.fromEntries(Object.entries(params).filter(([k]) => !ownKeys.includes(k)));
      const [prefix, remaining] = replaceParams(this.#compiled.format, this.#compiled.convertors, {
        ...own,
        path: '',
      });
      if (Object.keys(remaining).length === 0 && ownKeys.every((k) => k in own)) {
        try {
          const child = reverseChild(this.routes, rest, childParams);
          return new URLPath(prefix.replace(/\/$/, '') + String(child), child.protocol, child.host);
        } catch (error) {
          if (!(error instanceof NoMatchFound)) throw error;
        }
      }
    }
    throw new NoMatchFound(name, params);
  }

  async handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (this.maxBodySize !== null) receive = limitBody(scope, receive, this.maxBodySize);
    if (
      this.#leaf &&
      scope[BODY_LIMIT_KEY] !== undefined &&
      (await rejectDeclaredTooLarge(scope, receive, send))
    )
      return;
    await this.app(scope, receive, send);
  }
}

export interface HostOptions {
  name?: string | null;
}

/**
 * Serves `app` for requests whose `Host` header (port ignored) matches a pattern, with `{params}`.
 *
 * @example
 * ```ts
 * new Host('{subdomain}.example.org', subdomainApp, { name: 'sub' });
 * ```
 */
export class Host extends BaseRoute {
  readonly host: string;
  readonly name: string | null;
  readonly app: ASGIApp;
  readonly #run: ASGIFunction;
  readonly #compiled: CompiledPath;

  constructor(host: string, app: ASGIApp, options: HostOptions = {}) {
    super();
    if (host.startsWith('/')) throw new Error("Host must not start with '/'");
    this.host = host;
    this.app = app;
    this.#run = toASGIFunction(app);
    this.name = options.name ?? null;
    this.#compiled = compilePath(host);
  }

  get routes(): BaseRoute[] {
    return ((this.app as { routes?: BaseRoute[] }).routes ?? []) as BaseRoute[];
  }

  matches(scope: Scope): [Match, Record<string, unknown>] {
    if (scope.type !== 'http' && scope.type !== 'websocket') return NO_MATCH;
    const host = withoutPort(new Headers({ scope }).get('host') ?? '');
    const params = matchPath(this.#compiled, host);
    if (!params) return NO_MATCH;
    return [Match.FULL, { path_params: mergePathParams(scope, params), endpoint: this.app }];
  }

  urlPathFor(name: string, params: PathParams = {}): URLPath {
    const hostKeys = Object.keys(this.#compiled.convertors);
    const own = Object.fromEntries(Object.entries(params).filter(([k]) => hostKeys.includes(k)));
    const rest = Object.fromEntries(Object.entries(params).filter(([k]) => !hostKeys.includes(k)));
    const complete = hostKeys.every((k) => k in own);
    if (this.name !== null && name === this.name && 'path' in params && complete) {
      const [host] = replaceParams(this.#compiled.format, this.#compiled.convertors, own);
      return new URLPath(String(params.path), '', host);
    }
    if (complete && (this.name === null || name.startsWith(`${this.name}:`))) {
      const childName = this.name === null ? name : name.slice(this.name.length + 1);
      try {
        const child = reverseChild(this.routes, childName, rest);
        const [host] = replaceParams(this.#compiled.format, this.#compiled.convertors, own);
        return new URLPath(String(child), child.protocol, host);
      } catch (error) {
        if (!(error instanceof NoMatchFound)) throw error;
      }
    }
    throw new NoMatchFound(name, params);
  }

  async handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    await this.#run(scope, receive, send);
  }
}
