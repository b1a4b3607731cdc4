/**
 * HTTPConnection (what HTTP requests and WebSockets share) and Request (the body, forms and disconnects).
 */
import type {
  HTTPRequestEvent,
  HTTPScope,
  Receive,
  ReceiveMessage,
  Scope,
  Send,
  WebSocketScope,
} from './asgi.ts';
import { concatBytes, utf8Decode } from './_utils.ts';
import { Address, FormData, Headers, QueryParams, State, URL, URLPath } from './datastructures.ts';
import { HTTPException } from './exceptions.ts';
import { FormParser, MultiPartException, MultiPartParser, type FormLimits } from './formparsers.ts';

/** Thrown by `request.stream()` (and so `body()`, `form()`) when the client disconnects mid-body. */
export class ClientDisconnect extends Error {
  constructor(message = 'Client disconnected') {
    super(message);
    this.name = 'ClientDisconnect';
  }
}

// `[^\n]` is Python's `.` (JavaScript's `.` also stops at `\r`, U+2028 and U+2029).
const OCTAL_OR_CHAR = /\\(?:([0-3][0-7][0-7])|([^\n]))/g;

/**
 * Parses a `Cookie` header leniently, as browsers send them: `;`-separated, a chunk without `=` has an
 * empty name, quoted values are unquoted, a later duplicate wins.
 *
 * @example
 * ```ts
 * cookieParser('a=1; b="x y"'); // { a: '1', b: 'x y' }
 * ```
 */
export function cookieParser(cookieString: string): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const chunk of cookieString.split(';')) {
    const eq = chunk.indexOf('=');
    const key = (eq === -1 ? '' : chunk.slice(0, eq)).trim();
    let value = (eq === -1 ? chunk : chunk.slice(eq + 1)).trim();
    if (!key && !value) continue;
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value
        .slice(1, -1)
        .replace(OCTAL_OR_CHAR, (_m, octal: string | undefined, ch: string | undefined) =>
          octal !== undefined ? String.fromCharCode(parseInt(octal, 8)) : ch!,
        );
    }
    // Defined, not assigned: assigning `__proto__` would set the prototype and lose the cookie.
    Object.defineProperty(cookies, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return cookies;
}

/** Anything that can give a URL path for a route name (a Router or an app). */
interface URLPathProvider {
  urlPathFor(name: string, params?: Record<string, unknown>): URLPath | string;
}

/**
 * What an HTTP request and a WebSocket have in common: URL, headers, query, cookies, client, state...
 *
 * @example
 * ```ts
 * const conn = new HTTPConnection(scope);
 * conn.url.path; conn.headers.get('host'); conn.queryParams.get('q');
 * ```
 */
export class HTTPConnection {
  readonly scope: HTTPScope | WebSocketScope;
  #url: URL | undefined;
  #baseUrl: URL | undefined;
  #headers: Headers | undefined;
  #queryParams: QueryParams | undefined;
  #cookies: Record<string, string> | undefined;
  #state: State | undefined;

  constructor(scope: Scope, _receive?: Receive) {
    if (scope.type !== 'http' && scope.type !== 'websocket') {
      throw new TypeError(`HTTPConnection needs an http or websocket scope, got ${scope.type}`);
    }
    this.scope = scope;
  }

  /** The application (`scope.app`). */
  get app(): any {
    return this.scope.app;
  }
  get url(): URL {
    return (this.#url ??= new URL('', { scope: this.scope }));
  }
  /** The URL of the application root (scheme, host and root path), used to build absolute URLs. */
  get baseUrl(): URL {
    if (this.#baseUrl === undefined) {
      const root = (this.scope.app_root_path as string | undefined) ?? this.scope.root_path ?? '';
      const scope = {
        ...this.scope,
        path: root.endsWith('/') ? root : root + '/',
        query_string: new Uint8Array(0),
      };
      this.#baseUrl = new URL('', { scope: scope as Scope });
    }
    return this.#baseUrl;
  }
  get headers(): Headers {
    return (this.#headers ??= new Headers({ scope: this.scope }));
  }
  get queryParams(): QueryParams {
    return (this.#queryParams ??= new QueryParams(this.scope.query_string ?? ''));
  }
  get pathParams(): Record<string, any> {
    return (this.scope.path_params as Record<string, any> | undefined) ?? {};
  }
  /** Cookies from every `Cookie` header. */
  get cookies(): Record<string, string> {
    if (this.#cookies === undefined) {
      let cookies: Record<string, string> = {};
      // Spread, not Object.assign: a cookie named `__proto__` stays a cookie.
      for (const header of this.headers.getAll('cookie')) cookies = { ...cookies, ...cookieParser(header) };
      this.#cookies = cookies;
    }
    return this.#cookies;
  }
  /** The client's `{ host, port }`, or `null` when unknown. */
  get client(): Address | null {
    const client = this.scope.client;
    return client ? new Address(client[0], client[1]) : null;
  }
  /** The session dict; needs SessionMiddleware. */
  get session(): Record<string, any> {
    if (!('session' in this.scope))
      throw new Error('SessionMiddleware must be installed to access request.session');
    const session = this.scope.session as Record<string, any> & { markAccessed?: () => void };
    if (typeof session.markAccessed === 'function') session.markAccessed();
    return session;
  }
  /** The credentials set by AuthenticationMiddleware. */
  get auth(): any {
    if (!('auth' in this.scope))
      throw new Error('AuthenticationMiddleware must be installed to access request.auth');
    return this.scope.auth;
  }
  /** The user set by AuthenticationMiddleware. */
  get user(): any {
    if (!('user' in this.scope))
      throw new Error('AuthenticationMiddleware must be installed to access request.user');
    return this.scope.user;
  }
  /** Per-request state, backed by `scope.state` (which starts as a copy of the lifespan state). */
  get state(): State {
    return (this.#state ??= new State((this.scope.state ??= {})));
  }

  /** The absolute URL of the route called `name`. */
  urlFor(name: string, params: Record<string, unknown> = {}): URL {
    const provider = (this.scope.router ?? this.scope.app) as URLPathProvider | undefined;
    if (!provider)
      throw new Error('The `urlFor` method can only be used inside a Starling application or with a router.');
    const path = provider.urlPathFor(name, params);
    const urlPath = path instanceof URLPath ? path : new URLPath(String(path));
    return urlPath.makeAbsoluteURL(this.baseUrl);
  }
}

const NOT_READY = Symbol('not ready');
const EMPTY = new Uint8Array(0);

async function noReceive(): Promise<never> {
  throw new Error('Receive channel has not been made available');
}
async function noSend(): Promise<never> {
  throw new Error('Send channel has not been made available');
}

/**
 * An incoming HTTP request.
 *
 * @example
 * ```ts
 * async function create(request: Request) {
 *   const data = await request.json();
 *   return new JSONResponse({ id: request.pathParams.id, ...data });
 * }
 * ```
 */
export class Request extends HTTPConnection {
  declare readonly scope: HTTPScope;
  readonly #receive: Receive;
  readonly #send: Send;
  #body: Uint8Array | undefined;
  #json: { value: unknown } | undefined;
  #form: FormData | undefined;
  #streamConsumed = false;
  #isDisconnected = false;
  // Body messages isDisconnected() read past, kept for stream() in order.
  readonly #early: ReceiveMessage[] = [];
  // A receive() started by isDisconnected() that had not resolved yet: the next reader takes it over.
  #pending: Promise<ReceiveMessage> | null = null;

  constructor(scope: Scope, receive: Receive = noReceive, send: Send = noSend) {
    super(scope, receive);
    if (scope.type !== 'http') throw new TypeError(`Request needs an http scope, got ${scope.type}`);
    this.#receive = receive;
    this.#send = send;
  }

  get method(): string {
    return this.scope.method;
  }
  get receive(): Receive {
    return this.#receive;
  }
  get send(): Send {
    return this.#send;
  }

  #next(): Promise<ReceiveMessage> {
    if (this.#early.length > 0) return Promise.resolve(this.#early.shift()!);
    const pending = this.#pending;
    this.#pending = null;
    return pending ?? this.#receive();
  }

  /** The body, chunk by chunk. After `body()` it replays the cached body; otherwise it can be read once. */
  async *stream(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#body !== undefined) {
      yield this.#body;
      yield EMPTY;
      return;
    }
    if (this.#streamConsumed) throw new Error('Stream consumed');
    while (!this.#streamConsumed) {
      const message = await this.#next();
      if (message.type === 'http.request') {
        if (!message.more_body) this.#streamConsumed = true;
        if (message.body && message.body.length) yield message.body;
      } else if (message.type === 'http.disconnect') {
        this.#isDisconnected = true;
        throw new ClientDisconnect();
      }
    }
    yield EMPTY;
  }

  /** The whole body, read once and cached. */
  async body(): Promise<Uint8Array> {
    if (this.#body === undefined) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of this.stream()) if (chunk.length) chunks.push(chunk);
      this.#body = chunks.length ? concatBytes(chunks) : EMPTY;
    }
    return this.#body;
  }

  /** The body decoded as UTF-8. */
  async text(): Promise<string> {
    return utf8Decode(await this.body());
  }

  /** The body parsed as JSON, cached. */
  async json<T = any>(): Promise<T> {
    this.#json ??= { value: JSON.parse(utf8Decode(await this.body())) };
    return this.#json.value as T;
  }

  /**
   * The body parsed as a form (`multipart/form-data` or urlencoded; anything else gives an empty form).
   * Limits default to 1000 files, 1000 fields and 1 MiB per non-file part; breaking one is a 400.
   */
  async form(limits: FormLimits = {}): Promise<FormData> {
    if (this.#form === undefined) {
      const contentType = (this.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      try {
        if (contentType === 'multipart/form-data') {
          this.#form = await new MultiPartParser(this.headers, this.stream(), limits).parse();
        } else if (contentType === 'application/x-www-form-urlencoded') {
          this.#form = await new FormParser(this.headers, this.stream(), limits).parse();
        } else {
          this.#form = new FormData();
        }
      } catch (error) {
        if (error instanceof MultiPartException && 'app' in this.scope) {
          throw new HTTPException(400, { detail: error.message });
        }
        throw error;
      }
    }
    return this.#form;
  }

  /** Closes the files of a parsed form. */
  async close(): Promise<void> {
    if (this.#form !== undefined) await this.#form.close();
  }

  /**
   * True once the client has gone. Looks only at messages ready now and never waits for one: body
   * messages it reads past are kept for a later `stream()`/`body()`, and a `receive()` still pending
   * is kept for the next call, so polling this in a loop notices a disconnect as soon as it arrives.
   */
  async isDisconnected(): Promise<boolean> {
    while (!this.#isDisconnected) {
      const pending = this.#pending ?? this.#receive();
      this.#pending = null;
      const message = await Promise.race([
        pending,
        new Promise<typeof NOT_READY>((resolve) => setImmediate(resolve, NOT_READY)),
      ]);
      if (message === NOT_READY) {
        this.#pending = pending;
        break;
      }
      if (message.type === 'http.disconnect') this.#isDisconnected = true;
      else if (message.type === 'http.request' && !this.#bodyOver()) this.#early.push(message);
      else break; // a stray message after the body: nothing more to learn now (and no endless loop)
    }
    return this.#isDisconnected;
  }

  /** Whether the last body message has been read, so only a disconnect can come next. */
  #bodyOver(): boolean {
    if (this.#streamConsumed || this.#body !== undefined) return true;
    const last = this.#early[this.#early.length - 1] as HTTPRequestEvent | undefined;
    return last !== undefined && !last.more_body;
  }

  /** Sends an HTTP/2 server push for `path` when the server supports it; otherwise does nothing. */
  async sendPushPromise(path: string): Promise<void> {
    if (this.scope.extensions?.['http.response.push'] === undefined) return;
    const headers: [string, string][] = [];
    for (const name of ['accept', 'accept-encoding', 'accept-language', 'cache-control', 'user-agent']) {
      for (const value of this.headers.getAll(name)) headers.push([name, value]);
    }
    await this.#send({ type: 'http.response.push', path, headers } as never);
  }
}
