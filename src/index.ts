/**
 * Starling: Starlette re-imagined for Node.js, on a Rust (hyper/tokio) core.
 *
 * @example
 * ```ts
 * import { Starling, Route, JSONResponse, serve } from 'starlingjs';
 * const app = new Starling({ routes: [new Route('/', async () => new JSONResponse({ hello: 'world' }))] });
 * await serve(app, { port: 8000 });
 * ```
 */

// The ASGI contract
export type * from './asgi.ts';

// Application and routing
export * from './applications.ts';
export * from './routing.ts';
export * from './convertors.ts';
export * from './endpoints.ts';

// Requests, responses, WebSockets
export * from './requests.ts';
export * from './responses.ts';
export * from './websockets.ts';
export * from './datastructures.ts';
export * from './formparsers.ts';
export * from './background.ts';
export * from './exceptions.ts';
export * as status from './status.ts';

// Middleware, authentication, static files, configuration
export * from './middleware/index.ts';
export { ServerErrorMiddleware } from './middleware/errors.ts';
export {
  ExceptionMiddleware,
  type ErrorClass,
  type ExceptionHandler,
  type ExceptionHandlers,
} from './middleware/exceptions.ts';
export { BaseHTTPMiddleware, type CallNext, type DispatchFunction } from './middleware/base.ts';
export { CORSMiddleware, type CORSOptions } from './middleware/cors.ts';
export { SessionMiddleware, type SessionOptions } from './middleware/sessions.ts';
export { TrustedHostMiddleware, type TrustedHostOptions } from './middleware/trustedhost.ts';
export { HTTPSRedirectMiddleware } from './middleware/httpsredirect.ts';
export { AuthenticationMiddleware, type AuthenticationOptions } from './middleware/authentication.ts';
export { GZipMiddleware, type GZipOptions } from './middleware/gzip.ts';
export * from './authentication.ts';
export * from './staticfiles.ts';
export * from './config.ts';

// Existing Node apps (Express, Connect, node:http) and fetch-style apps (Hono) as ASGI apps
export {
  fromNodeHandler,
  fromFetchHandler,
  type NodeHandler,
  type FetchHandler,
} from './middleware/node/index.ts';

// Testing and serving
export * from './testclient.ts';
export { serve, type ServeOptions, type Server } from './server/index.ts';
