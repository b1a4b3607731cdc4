/**
 * Authentication primitives: who the user is (`BaseUser`), what they may do (`AuthCredentials` scopes),
 * how a request proves it (`AuthenticationBackend`), and `requires(...)` to guard endpoints.
 */
import { HTTPException } from './exceptions.ts';
import type { HTTPConnection } from './requests.ts';
import { RedirectResponse } from './responses.ts';

/**
 * Thrown by a backend to reject a request's credentials (a malformed token, say): the middleware answers
 * 400 with the message, or calls its `onError`.
 */
export class AuthenticationError extends Error {
  constructor(message = '') {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** The scopes (permissions) a request was granted, such as `'authenticated'` or `'admin'`. */
export class AuthCredentials {
  readonly scopes: string[];

  constructor(scopes: Iterable<string> = []) {
    this.scopes = [...scopes];
  }
}

/** What every user object offers; subclass it for your own user model. */
export abstract class BaseUser {
  abstract get isAuthenticated(): boolean;
  abstract get displayName(): string;
  /** A stable identifier; defaults to the display name. */
  get identity(): string {
    return this.displayName;
  }
}

/**
 * An authenticated user known only by name.
 *
 * @example
 * ```ts
 * return [new AuthCredentials(['authenticated']), new SimpleUser('alice')];
 * ```
 */
export class SimpleUser extends BaseUser {
  constructor(readonly username: string) {
    super();
  }
  get isAuthenticated(): boolean {
    return true;
  }
  get displayName(): string {
    return this.username;
  }
}

/** The user of a request that the backend did not authenticate. */
export class UnauthenticatedUser extends BaseUser {
  get isAuthenticated(): boolean {
    return false;
  }
  get displayName(): string {
    return '';
  }
}

/** The result of a successful authentication: credentials and user. */
export type AuthResult = [AuthCredentials, BaseUser];

/**
 * Decides who makes a request. Return `null` for an anonymous request, or throw `AuthenticationError`
 * to refuse it.
 *
 * @example
 * ```ts
 * class TokenBackend extends AuthenticationBackend {
 *   async authenticate(conn: HTTPConnection) {
 *     const token = conn.headers.get('authorization')?.replace(/^Bearer /, '');
 *     if (!token) return null;
 *     if (token !== 'secret') throw new AuthenticationError('Invalid token');
 *     return [new AuthCredentials(['authenticated']), new SimpleUser('alice')] as AuthResult;
 *   }
 * }
 * ```
 */
export abstract class AuthenticationBackend {
  abstract authenticate(
    conn: HTTPConnection,
  ): Promise<AuthResult | null | undefined> | AuthResult | null | undefined;
}

/** True when the connection's credentials include every one of `scopes`. */
export function hasRequiredScope(conn: { auth: unknown }, scopes: Iterable<string>): boolean {
  const granted = (conn.auth as AuthCredentials | undefined)?.scopes ?? [];
  for (const scope of scopes) if (!granted.includes(scope)) return false;
  return true;
}

/** Starlette's spelling, for code ported from Python. */
export const has_required_scope = hasRequiredScope;

export interface RequiresOptions {
  /** The status of the HTTPException thrown when a scope is missing (default 403). */
  statusCode?: number;
  /** A route name to redirect to (303) instead, with the original URL in `?next=`. */
  redirect?: string;
}

/** A Request or WebSocket, recognised by shape so that this module does not load websockets.ts. */
interface Connection {
  scope: { type: string };
  auth: unknown;
  url: unknown;
  urlFor(name: string, params?: Record<string, unknown>): unknown;
  close?(code?: number): Promise<void>;
}

function findConnection(args: unknown[]): Connection | undefined {
  return args.find((arg): arg is Connection => {
    const type = (arg as { scope?: { type?: unknown } } | null)?.scope?.type;
    return type === 'http' || type === 'websocket';
  });
}

/**
 * Guards an endpoint with required scopes. It wraps request handlers (function or endpoint method,
 * missing scopes → `HTTPException(statusCode)` or a redirect) and websocket handlers (missing scopes →
 * the socket is closed). Use it as a wrapper or as a method decorator.
 *
 * @example
 * ```ts
 * const dashboard = requires('authenticated', { redirect: 'login' })(async (request: Request) => new HTMLResponse('…'));
 * class Admin extends HTTPEndpoint {
 *   @requires(['authenticated', 'admin'])
 *   async get(request: Request) { return new PlainTextResponse('hi'); }
 * }
 * ```
 */
export function requires(scopes: string | readonly string[], options: RequiresOptions = {}) {
  const needed = typeof scopes === 'string' ? [scopes] : [...scopes];
  const statusCode = options.statusCode ?? 403;
  // The second parameter lets this be used as a TC39 method decorator, which gets (method, context).
  return function decorate<F extends (...args: any[]) => any>(endpoint: F, _context?: unknown): F {
    const wrapped = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const conn = findConnection(args);
      if (conn === undefined)
        throw new TypeError(
          `requires(): "${endpoint.name || 'endpoint'}" was not called with a Request or WebSocket`,
        );
      if (hasRequiredScope(conn, needed)) return endpoint.apply(this, args);
      if (conn.scope.type === 'websocket') {
        await conn.close!();
        return undefined;
      }
      if (options.redirect !== undefined) {
        const next = new URLSearchParams({ next: String(conn.url) });
        return new RedirectResponse(`${String(conn.urlFor(options.redirect))}?${next}`, { status: 303 });
      }
      throw new HTTPException(statusCode);
    };
    Object.defineProperty(wrapped, 'name', { value: endpoint.name });
    return wrapped as unknown as F;
  };
}
