/**
 * Existing Node apps inside Starling, as Starlette's `WSGIMiddleware` runs WSGI apps: a Node
 * `(req, res)` handler (Express, Connect, `node:http`) or a fetch-style handler (Hono) becomes an
 * ASGI app, mountable anywhere. See docs/node-apps.md.
 *
 * @example
 * ```ts
 * import { Mount, fromNodeHandler, fromFetchHandler } from 'starlingjs';
 * new Mount('/legacy', { app: fromNodeHandler((req, res) => res.end(`you asked for ${req.url}`)) });
 * new Mount('/edge', { app: fromFetchHandler((request) => new Response(new URL(request.url).pathname)) });
 * ```
 */
export { fromNodeHandler, type NodeHandler } from './handler.ts';
export { fromFetchHandler, type FetchHandler } from './fetch.ts';
