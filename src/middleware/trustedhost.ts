/**
 * Refuses requests whose `Host` header is not one of the app's own names (Host-header attacks).
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import { formatURL, parseHost, requestHeader, scopeURL, sendRedirect, sendResponse } from './_helpers.ts';

const WILDCARD_RULE = "Domain wildcard patterns must be like '*.example.com'.";

export interface TrustedHostOptions {
  /** Host names to accept: exact (`example.com`), subdomain wildcards (`*.example.com`), or `*` (default). */
  allowedHosts?: readonly string[];
  /** Redirect `example.com` to `www.example.com` when only the latter is allowed (default `true`). */
  wwwRedirect?: boolean;
}

/**
 * Answers `400 Invalid host header` unless the request's host (port ignored) is allowed. `*.example.com`
 * matches every subdomain but not `example.com` itself. Applies to HTTP and WebSocket connections (a
 * refused handshake gets the 400 as a denial response).
 *
 * @example
 * ```ts
 * new Middleware(TrustedHostMiddleware, { allowedHosts: ['example.com', '*.example.com'] })
 * ```
 */
export class TrustedHostMiddleware {
  readonly #app: ASGIFunction;
  readonly #allowedHosts: string[];
  readonly #allowAny: boolean;
  readonly #wwwRedirect: boolean;

  constructor(app: ASGIApp, options: TrustedHostOptions = {}) {
    const allowed = options.allowedHosts ?? ['*'];
    for (const pattern of allowed) {
      const wildcard = pattern.indexOf('*');
      if (
        pattern !== '*' &&
        wildcard !== -1 &&
        (wildcard !== 0 || !pattern.startsWith('*.') || pattern.includes('*', 1))
      ) {
        throw new TypeError(WILDCARD_RULE);
      }
    }
    this.#app = toASGIFunction(app);
    this.#allowedHosts = allowed.map((p) => p.toLowerCase());
    this.#allowAny = allowed.includes('*');
    this.#wwwRedirect = options.wwwRedirect ?? true;
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (this.#allowAny || scope.type === 'lifespan') return this.#app(scope, receive, send);
    const parsed = parseHost(requestHeader(scope, 'host'));
    if (parsed === null) return sendResponse(scope, send, 400, 'Invalid host header');

    let wwwMatch = false;
    for (const pattern of this.#allowedHosts) {
      if (parsed.host === pattern || (pattern.startsWith('*.') && parsed.host.endsWith(pattern.slice(1)))) {
        return this.#app(scope, receive, send);
      }
      if (`www.${parsed.host}` === pattern) wwwMatch = true;
    }
    if (wwwMatch && this.#wwwRedirect) {
      const url = scopeURL(scope);
      return sendRedirect(scope, send, formatURL({ ...url, netloc: `www.${url.netloc}` }));
    }
    return sendResponse(scope, send, 400, 'Invalid host header');
  }
}
