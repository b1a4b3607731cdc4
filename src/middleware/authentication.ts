/**
 * Runs an authentication backend on every connection and stores the result as `request.auth` and
 * `request.user`.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import {
  AuthCredentials,
  AuthenticationError,
  UnauthenticatedUser,
  type AuthenticationBackend,
} from '../authentication.ts';
import { HTTPConnection } from '../requests.ts';
import { PlainTextResponse, type Response } from '../responses.ts';

export interface AuthenticationOptions {
  /** Decides who makes each request. */
  backend: Pick<AuthenticationBackend, 'authenticate'>;
  /** Builds the response for a rejected request (default: 400 with the error's message). */
  onError?: (conn: HTTPConnection, error: AuthenticationError) => Response | Promise<Response>;
}

/**
 * Calls `backend.authenticate(conn)` for every HTTP and WebSocket connection. `null` means anonymous
 * (`UnauthenticatedUser`, no scopes); an `AuthenticationError` refuses the request with a 400 (or the
 * `onError` response) and, for a WebSocket, closes it with code 1000.
 *
 * @example
 * ```ts
 * new Starling({ routes, middleware: [new Middleware(AuthenticationMiddleware, { backend: new TokenBackend() })] });
 * // in an endpoint: request.user.isAuthenticated, request.auth.scopes
 * ```
 */
export class AuthenticationMiddleware {
  readonly #app: ASGIFunction;
  readonly #backend: AuthenticationOptions['backend'];
  readonly #onError: NonNullable<AuthenticationOptions['onError']>;

  constructor(app: ASGIApp, options: AuthenticationOptions) {
    if (typeof options?.backend?.authenticate !== 'function') {
      throw new TypeError('AuthenticationMiddleware needs a backend with an authenticate(conn) method');
    }
    this.#app = toASGIFunction(app);
    this.#backend = options.backend;
    this.#onError =
      options.onError ?? ((_conn, error) => new PlainTextResponse(error.message, { status: 400 }));
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan') return this.#app(scope, receive, send);
    const conn = new HTTPConnection(scope, receive);
    let result;
    try {
      result = await this.#backend.authenticate(conn);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      if (scope.type === 'websocket') return send({ type: 'websocket.close', code: 1000 });
      const response = await this.#onError(conn, error);
      return response.asgi(scope, receive, send);
    }
    const [auth, user] = result ?? [new AuthCredentials(), new UnauthenticatedUser()];
    scope.auth = auth;
    scope.user = user;
    return this.#app(scope, receive, send);
  }
}
