/**
 * Signed-cookie sessions, readable and writable by Python Starlette apps that share the secret.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send } from '../asgi.ts';
import { toASGIFunction, toHeaderString } from '../_utils.ts';
import { HeaderList } from './_helpers.ts';
import { pythonJSON, TimestampSigner } from './_signing.ts';

/** Browsers drop a cookie whose name and value exceed this many bytes, without telling anyone. */
export const MAX_COOKIE_SIZE = 4096;

export interface SessionOptions {
  /** Signs new cookies. A `Secret` (from `Config`) works too: its string form is used. */
  secretKey: string | { toString(): string };
  /** Former secrets still accepted when reading, so a key can be rotated without logging everyone out. */
  oldSecretKeys?: readonly (string | { toString(): string })[];
  /** The cookie name (default `session`). */
  sessionCookie?: string;
  /** Lifetime in seconds (default 14 days); `null` makes a browser-session cookie with no Max-Age. */
  maxAge?: number | null;
  path?: string;
  sameSite?: 'lax' | 'strict' | 'none';
  /** Adds `secure`: the browser then sends the cookie over HTTPS only. */
  httpsOnly?: boolean;
  domain?: string;
  partitioned?: boolean;
}

/** The bookkeeping behind one request's session object. */
interface Tracked {
  data: Record<string, unknown>;
  accessed: boolean;
  modified: boolean;
}

/**
 * Gives every request a `request.session` object kept in a signed cookie (signed, not encrypted: do not
 * put secrets in it). A cookie that is tampered with, signed with an unknown key or expired gives an
 * empty session. The cookie is written only when the session changed, and a session too large for a
 * cookie throws an error (so the developer sees a 500) instead of being silently dropped by the browser.
 *
 * @example
 * ```ts
 * const app = new Starling({
 *   routes: [new Route('/', async (request) => {
 *     request.session.visits = ((request.session.visits as number) ?? 0) + 1;
 *     return new JSONResponse(request.session);
 *   })],
 *   middleware: [new Middleware(SessionMiddleware, { secretKey: process.env.SECRET_KEY! })],
 * });
 * ```
 */
export class SessionMiddleware {
  readonly #app: ASGIFunction;
  readonly #signer: TimestampSigner;
  readonly #cookie: string;
  readonly #maxAge: number | null;
  readonly #path: string;
  readonly #flags: string;

  constructor(app: ASGIApp, options: SessionOptions) {
    if (options?.secretKey === undefined || String(options.secretKey) === '') {
      throw new TypeError('SessionMiddleware needs a secretKey');
    }
    this.#app = toASGIFunction(app);
    this.#signer = new TimestampSigner(String(options.secretKey), (options.oldSecretKeys ?? []).map(String));
    this.#cookie = options.sessionCookie ?? 'session';
    this.#maxAge = options.maxAge === undefined ? 14 * 24 * 60 * 60 : options.maxAge;
    this.#path = options.path ?? '/';
    let flags = `httponly; samesite=${options.sameSite ?? 'lax'}`;
    if (options.httpsOnly) flags += '; secure';
    if (options.domain !== undefined) flags += `; domain=${options.domain}`;
    if (options.partitioned) flags += '; partitioned';
    this.#flags = flags;
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan') return this.#app(scope, receive, send);

    const loaded = this.#load(scope);
    const initialJSON = pythonJSON(loaded.data);
    const tracked: Tracked = { data: loaded.data, accessed: false, modified: false };
    scope.session = trackSession(tracked);

    await this.#app(scope, receive, async (message) => {
      if (message.type !== 'http.response.start') return send(message);
      const headers = new HeaderList(message.headers);
      if (tracked.accessed) headers.addVary('Cookie');
      // Comparing JSON also catches nested changes (`session.cart.push(x)`) that no trap sees.
      const json = pythonJSON(tracked.data);
      const changed = tracked.modified || json !== initialJSON || loaded.rotated;
      const empty = Object.keys(tracked.data).length === 0;
      if (changed && !empty) headers.append('set-cookie', this.#setCookie(json));
      else if (changed && !loaded.empty) {
        headers.append(
          'set-cookie',
          `${this.#cookie}=null; path=${this.#path}; expires=Thu, 01 Jan 1970 00:00:00 GMT; ${this.#flags}`,
        );
      }
      return send({ ...message, headers: headers.toArray() });
    });
  }

  #load(scope: Scope): { data: Record<string, unknown>; empty: boolean; rotated: boolean } {
    const raw = readCookie(scope, this.#cookie);
    const fresh = { data: {}, empty: true, rotated: false };
    if (raw === undefined) return fresh;
    const unsigned = this.#signer.unsign(raw, this.#maxAge);
    if (unsigned === null) return fresh;
    try {
      const data: unknown = JSON.parse(Buffer.from(unsigned.value, 'base64').toString('utf8'));
      if (data === null || typeof data !== 'object' || Array.isArray(data)) return fresh;
      return {
        data: data as Record<string, unknown>,
        empty: Object.keys(data).length === 0,
        rotated: unsigned.rotated,
      };
    } catch {
      return fresh;
    }
  }

  #setCookie(json: string): string {
    const value = this.#signer.sign(Buffer.from(json, 'utf8').toString('base64'));
    const size = Buffer.byteLength(this.#cookie) + 1 + value.length;
    if (size > MAX_COOKIE_SIZE) {
      throw new RangeError(
        `The session cookie would be ${size} bytes, over the ${MAX_COOKIE_SIZE} browsers keep: ` +
          'store less in request.session (an id pointing to server-side data, for example).',
      );
    }
    const maxAge = this.#maxAge === null ? '' : `Max-Age=${this.#maxAge}; `;
    return `${this.#cookie}=${value}; path=${this.#path}; ${maxAge}${this.#flags}`;
  }
}

/** The session object the app sees: a plain-looking object whose reads and writes are noted. */
function trackSession(tracked: Tracked): Record<string, unknown> {
  return new Proxy(tracked.data, {
    get(target, key, receiver) {
      tracked.accessed = true;
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      tracked.accessed = true;
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      tracked.accessed = true;
      return Reflect.ownKeys(target);
    },
    set(target, key, value, receiver) {
      tracked.accessed = tracked.modified = true;
      return Reflect.set(target, key, value, receiver);
    },
    deleteProperty(target, key) {
      tracked.accessed = true;
      if (Object.hasOwn(target, key)) tracked.modified = true;
      return Reflect.deleteProperty(target, key);
    },
    defineProperty(target, key, descriptor) {
      tracked.accessed = tracked.modified = true;
      return Reflect.defineProperty(target, key, descriptor);
    },
  });
}

/** One cookie's value from the request's `Cookie` headers (the last one wins, as in Starlette). */
function readCookie(scope: Scope, name: string): string | undefined {
  let found: string | undefined;
  for (const [key, value] of (scope as { headers: [Uint8Array, Uint8Array][] }).headers) {
    if (toHeaderString(key).toLowerCase() !== 'cookie') continue;
    for (const chunk of toHeaderString(value).split(';')) {
      const at = chunk.indexOf('=');
      const key = (at === -1 ? '' : chunk.slice(0, at)).trim();
      if (key !== name) continue;
      let text = chunk.slice(at + 1).trim();
      if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
      found = text;
    }
  }
  return found;
}
