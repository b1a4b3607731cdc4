/**
 * Cross-Origin Resource Sharing: answers preflight requests and adds CORS headers to actual responses.
 */
import type {
  ASGIApp,
  ASGIFunction,
  HeaderLike,
  HTTPScope,
  Receive,
  Scope,
  Send,
  SendMessage,
} from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import { errorResponseHooks, HeaderList, requestHeader, sendResponse } from './_helpers.ts';

const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'QUERY'];
/** Request headers a browser may always send without asking, so a preflight always allows them. */
const SAFELISTED_HEADERS = ['Accept', 'Accept-Language', 'Content-Language', 'Content-Type'];
const PREFLIGHT_VARY =
  'Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network';

export interface CORSOptions {
  /** Origins allowed to make cross-origin requests, exactly as browsers send them; `['*']` allows any. */
  allowOrigins?: readonly string[];
  /** Methods allowed in preflights (default `['GET']`); `['*']` allows the usual ones. */
  allowMethods?: readonly string[];
  /** Request headers allowed in preflights; the CORS-safelisted ones always are; `['*']` allows any. */
  allowHeaders?: readonly string[];
  /** Lets cookies cross origins. The allowed origin is then echoed, never `*`. */
  allowCredentials?: boolean;
  /** A regular expression (source string) that must match the whole origin, e.g. `'https://.*\\.example\\.org'`. */
  allowOriginRegex?: string;
  /** Answers Private Network Access preflights (`Access-Control-Request-Private-Network`). */
  allowPrivateNetwork?: boolean;
  /** Response headers scripts may read (`Access-Control-Expose-Headers`). */
  exposeHeaders?: readonly string[];
  /** How long browsers may cache a preflight, in seconds (default 600). */
  maxAge?: number;
}

/**
 * Adds CORS headers to responses and answers preflight (`OPTIONS` + `Access-Control-Request-Method`)
 * requests itself: `200 OK`, or `400 Disallowed CORS origin, method, headers` naming what failed.
 *
 * Errors: the 500 for an error that escapes the app is sent by ServerErrorMiddleware, outside this
 * layer; so that a browser sees that 500 (custom 500 handler and debug page included) rather than a
 * CORS failure, this middleware leaves its headers for the request in the scope, and
 * ServerErrorMiddleware adds them to whatever 500 it sends. Used without a ServerErrorMiddleware
 * outside (around a bare ASGI app), it sends a plain `Internal Server Error` with its headers itself
 * and rethrows.
 *
 * @example
 * ```ts
 * new Starling({
 *   routes,
 *   middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['https://example.org'], allowCredentials: true })],
 * });
 * ```
 */
export class CORSMiddleware {
  readonly #app: ASGIFunction;
  readonly #allowOrigins: readonly string[];
  readonly #allowMethods: readonly string[];
  readonly #allowHeaders: string[];
  readonly #allowAllOrigins: boolean;
  readonly #allowAllHeaders: boolean;
  readonly #allowCredentials: boolean;
  readonly #explicitOrigin: boolean;
  readonly #originRegex: RegExp | undefined;
  readonly #allowPrivateNetwork: boolean;
  readonly #simpleHeaders: [string, string][] = [];
  readonly #preflightHeaders: [string, string][] = [];

  constructor(app: ASGIApp, options: CORSOptions = {}) {
    this.#app = toASGIFunction(app);
    const allowOrigins = options.allowOrigins ?? [];
    const allowHeaders = options.allowHeaders ?? [];
    this.#allowMethods = (options.allowMethods ?? ['GET']).includes('*')
      ? ALL_METHODS
      : (options.allowMethods ?? ['GET']);
    this.#allowOrigins = allowOrigins;
    this.#allowAllOrigins = allowOrigins.includes('*');
    this.#allowAllHeaders = allowHeaders.includes('*');
    this.#allowCredentials = options.allowCredentials ?? false;
    this.#allowPrivateNetwork = options.allowPrivateNetwork ?? false;
    // Anchored so that `https://.*\.example\.org` cannot be satisfied by `https://a.example.org.evil.com`.
    this.#originRegex =
      options.allowOriginRegex === undefined ? undefined : new RegExp(`^(?:${options.allowOriginRegex})$`);
    // With credentials, browsers reject `*`, so the origin must be echoed even when all are allowed.
    this.#explicitOrigin = !this.#allowAllOrigins || this.#allowCredentials;

    const exposeHeaders = options.exposeHeaders ?? [];
    if (this.#allowAllOrigins) this.#simpleHeaders.push(['access-control-allow-origin', '*']);
    if (this.#allowCredentials) this.#simpleHeaders.push(['access-control-allow-credentials', 'true']);
    if (exposeHeaders.length)
      this.#simpleHeaders.push(['access-control-expose-headers', exposeHeaders.join(', ')]);

    const headerNames = [...new Set([...SAFELISTED_HEADERS, ...allowHeaders])].sort();
    this.#allowHeaders = headerNames.map((h) => h.toLowerCase());
    const preflight = this.#preflightHeaders;
    preflight.push(['vary', PREFLIGHT_VARY]);
    if (!this.#explicitOrigin) preflight.push(['access-control-allow-origin', '*']);
    preflight.push(['access-control-allow-methods', this.#allowMethods.join(', ')]);
    preflight.push(['access-control-max-age', String(options.maxAge ?? 600)]);
    if (!this.#allowAllHeaders) preflight.push(['access-control-allow-headers', headerNames.join(', ')]);
    if (this.#allowCredentials) preflight.push(['access-control-allow-credentials', 'true']);
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http') return this.#app(scope, receive, send);
    const origin = requestHeader(scope, 'origin');
    if (
      origin !== undefined &&
      scope.method === 'OPTIONS' &&
      requestHeader(scope, 'access-control-request-method') !== undefined
    ) {
      return this.#preflight(scope, send, origin);
    }
    return this.#simple(scope, receive, send, origin);
  }

  #isAllowedOrigin(origin: string): boolean {
    if (this.#allowAllOrigins) return true;
    if (this.#originRegex?.test(origin)) return true;
    return this.#allowOrigins.includes(origin);
  }

  async #preflight(scope: HTTPScope, send: Send, origin: string): Promise<void> {
    const method = requestHeader(scope, 'access-control-request-method')!;
    const requestedHeaders = requestHeader(scope, 'access-control-request-headers');
    const privateNetwork = requestHeader(scope, 'access-control-request-private-network');
    const headers = new HeaderList(this.#preflightHeaders);
    const failures: string[] = [];

    if (!this.#isAllowedOrigin(origin)) failures.push('origin');
    else if (this.#explicitOrigin) headers.set('access-control-allow-origin', origin);

    if (!this.#allowMethods.includes(method)) failures.push('method');

    if (requestedHeaders !== undefined) {
      if (this.#allowAllHeaders) headers.set('access-control-allow-headers', requestedHeaders);
      else if (
        requestedHeaders.split(',').some((h) => !this.#allowHeaders.includes(h.trim().toLowerCase()))
      ) {
        failures.push('headers');
      }
    }

    if (privateNetwork !== undefined) {
      if (this.#allowPrivateNetwork) headers.set('access-control-allow-private-network', 'true');
      else failures.push('private-network');
    }

    // A 400 is not required (the browser enforces the policy), but tells a developer what is wrong.
    if (failures.length)
      return sendResponse(scope, send, 400, `Disallowed CORS ${failures.join(', ')}`, headers.toArray());
    return sendResponse(scope, send, 200, 'OK', headers.toArray());
  }

  async #simple(scope: HTTPScope, receive: Receive, send: Send, origin: string | undefined): Promise<void> {
    let started = false;
    const addHeaders = <M extends { headers?: Iterable<HeaderLike> }>(message: M): M => {
      const headers = new HeaderList(message.headers);
      if (origin !== undefined) for (const [name, value] of this.#simpleHeaders) headers.set(name, value);
      const echo =
        origin !== undefined &&
        (this.#allowAllOrigins ? this.#allowCredentials : this.#isAllowedOrigin(origin));
      if (echo) headers.set('access-control-allow-origin', origin);
      // The answer depends on Origin in every case but "all origins, no credentials, no Origin sent";
      // Starlette adds it regardless, and caches are better off with it.
      headers.addVary('Origin');
      return { ...message, headers: headers.toArray() };
    };
    const decorate = (message: SendMessage): SendMessage => {
      if (message.type !== 'http.response.start') return message;
      started = true;
      return addHeaders(message);
    };
    // The 500 for an error that escapes the app is sent outside this layer: leave our headers for it.
    const hooks = errorResponseHooks(scope);
    hooks?.push(addHeaders);
    try {
      await this.#app(scope, receive, (message) => send(decorate(message)));
    } catch (error) {
      if (started || origin === undefined || hooks) throw error;
      await send(
        decorate({
          type: 'http.response.start',
          status: 500,
          headers: [
            ['content-type', 'text/plain; charset=utf-8'],
            ['content-length', '21'],
          ],
        }),
      );
      await send({ type: 'http.response.body', body: 'Internal Server Error', more_body: false });
      throw error;
    }
  }
}
