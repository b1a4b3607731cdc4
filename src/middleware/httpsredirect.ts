/**
 * Sends plain-HTTP and plain-WebSocket requests to their secure URL.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import { formatURL, parseHost, scopeURL, sendRedirect, sendResponse } from './_helpers.ts';

const SECURE: Record<string, string> = { http: 'https', ws: 'wss' };

/**
 * Redirects (307) `http://` to `https://` and `ws://` to `wss://`, keeping path and query. Ports 80 and
 * 443 are dropped from the new URL, any other port kept. It trusts `scope.scheme`: behind a proxy that
 * terminates TLS, serve with `proxyHeaders` so the scheme is the client's.
 *
 * @example
 * ```ts
 * new Starling({ routes, middleware: [new Middleware(HTTPSRedirectMiddleware)] });
 * ```
 */
export class HTTPSRedirectMiddleware {
  readonly #app: ASGIFunction;

  constructor(app: ASGIApp) {
    this.#app = toASGIFunction(app);
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan' || !(scope.scheme in SECURE)) return this.#app(scope, receive, send);
    const url = scopeURL(scope);
    const parsed = parseHost(url.netloc);
    if (!url.netloc || parsed === null) return sendResponse(scope, send, 400, 'Invalid host header');
    const netloc = parsed.port === '80' || parsed.port === '443' ? parsed.host : url.netloc;
    return sendRedirect(scope, send, formatURL({ ...url, scheme: SECURE[scope.scheme]!, netloc }));
  }
}
