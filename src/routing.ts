/**
 * Routing: `Router`, `Route`, `WebSocketRoute`, `Mount`, `Host`, and their helpers.
 *
 * @example
 * ```ts
 * import { Router, Route, Mount } from 'starlingjs';
 * const router = new Router({ routes: [new Route('/', home), new Mount('/api', { routes: api })] });
 * ```
 */
export {
  BaseRoute,
  compilePath,
  getName,
  Match,
  NoMatchFound,
  type CompiledPath,
  type PathParams,
} from './routing/base.ts';
export {
  Route,
  WebSocketRoute,
  requestResponse,
  websocketSession,
  type RouteOptions,
  type WebSocketRouteOptions,
  type RequestHandler,
  type WebSocketHandler,
  type EndpointClass,
  type HTTPEndpointLike,
  type WebSocketEndpointLike,
} from './routing/route.ts';
export { Mount, Host, type MountOptions, type HostOptions } from './routing/mount.ts';
export { Router, type RouterOptions } from './routing/router.ts';
export type { Lifespan } from './routing/lifespan.ts';
