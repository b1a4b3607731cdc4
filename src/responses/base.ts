/**
 * Response and its simple subclasses: a body known up front, sent as one start and one body message.
 */
import type { HeaderLike, RawHeader, Receive, Scope, Send, SendMessage } from '../asgi.ts';
import { internLatin1, latin1Encode, quote, RESOLVED, utf8Encode } from '../_utils.ts';
import type { BackgroundTask } from '../background.ts';
import { Headers, MutableHeaders } from '../datastructures.ts';
import type { URL } from '../datastructures.ts';
import { formatCookie, type CookieOptions } from './cookies.ts';

/** Headers as a response constructor accepts them. */
export type ResponseHeadersInit = Record<string, string> | Iterable<readonly [string, string]> | Headers;

/** Options shared by every response constructor. */
export interface ResponseOptions {
  status?: number;
  /** Starlette's spelling of `status`. */
  statusCode?: number;
  headers?: ResponseHeadersInit | null;
  mediaType?: string | null;
  background?: BackgroundTask | null;
}

const EMPTY = new Uint8Array(0);
const CONTENT_LENGTH = internLatin1('content-length');
const CONTENT_TYPE = internLatin1('content-type');

// Every response carries these two headers: their values are encoded once (see `internLatin1`),
// looked up by number and by media type, so that no string is built or hashed per response.
const LENGTHS: Uint8Array[] = [];
const UTF8_TYPES = new Map<string, Uint8Array>();

/** The `content-length` value. */
function contentLength(length: number): Uint8Array {
  if (length >= 512) return latin1Encode(String(length));
  return (LENGTHS[length] ??= internLatin1(String(length)));
}

/** The `content-type` value for a media type: `text/*` gets the charset unless it names one. */
function contentType(mediaType: string, charset: string): Uint8Array {
  const known = charset === 'utf-8' ? UTF8_TYPES.get(mediaType) : undefined;
  if (known !== undefined) return known;
  let value = mediaType;
  if (value.startsWith('text/') && !value.toLowerCase().includes('charset=')) value += '; charset=' + charset;
  const bytes = internLatin1(value);
  if (charset === 'utf-8' && UTF8_TYPES.size < 256) UTF8_TYPES.set(mediaType, bytes);
  return bytes;
}

// The pairs themselves, made once too: a response given no headers gets a list of shared pairs,
// which nothing writes into (MutableHeaders replaces a pair it changes, as Python's tuples would
// be replaced), so that a plain response allocates one small array for its headers.
const LENGTH_PAIRS: RawHeader[] = [];
const UTF8_TYPE_PAIRS = new Map<string, RawHeader>();

function lengthPair(length: number): RawHeader {
  if (length >= 512) return [CONTENT_LENGTH, contentLength(length)];
  return (LENGTH_PAIRS[length] ??= [CONTENT_LENGTH, contentLength(length)]);
}

function typePair(mediaType: string, charset: string): RawHeader {
  const known = charset === 'utf-8' ? UTF8_TYPE_PAIRS.get(mediaType) : undefined;
  if (known !== undefined) return known;
  const pair: RawHeader = [CONTENT_TYPE, contentType(mediaType, charset)];
  if (charset === 'utf-8' && UTF8_TYPE_PAIRS.size < 256) UTF8_TYPE_PAIRS.set(mediaType, pair);
  return pair;
}

function headerPairs(headers: ResponseHeadersInit): [string, string][] {
  if (headers instanceof Headers) return headers.items();
  if (Symbol.iterator in headers)
    return [...(headers as Iterable<readonly [string, string]>)].map(([k, v]) => [k, v]);
  return Object.entries(headers);
}

/** Re-types http.response.* messages as websocket.http.response.* so a response can deny a handshake. */
export function websocketDenialSend(send: Send): Send {
  return (message: SendMessage) => {
    if (message.type === 'http.response.start' || message.type === 'http.response.body') {
      return send({ ...message, type: `websocket.${message.type}` } as SendMessage);
    }
    return send(message);
  };
}

/**
 * An HTTP response with a body known up front. It is an ASGI app: `await response.asgi(scope, receive, send)`.
 *
 * @example
 * ```ts
 * const response = new Response('<b>hi</b>', { status: 200, mediaType: 'text/html' });
 * response.headers.set('cache-control', 'no-store');
 * response.setCookie('seen', '1', { maxAge: 3600 });
 * ```
 */
export class Response {
  /** The default media type of the class; subclasses override it. */
  static mediaType: string | null = null;
  /** The charset used to encode string bodies and added to `text/*` media types. */
  static charset = 'utf-8';

  status: number;
  mediaType: string | null;
  background: BackgroundTask | null;
  body: Uint8Array;
  rawHeaders: RawHeader[];
  #headers: MutableHeaders | undefined;

  constructor(content?: unknown, options: ResponseOptions = {}) {
    const ctor = this.constructor as typeof Response;
    this.status = options.status ?? options.statusCode ?? 200;
    this.mediaType = options.mediaType ?? ctor.mediaType;
    this.background = options.background ?? null;
    this.body = this.render(content);
    this.rawHeaders = this.initHeaders(options.headers);
  }

  /** Starlette's spelling of `status`. */
  get statusCode(): number {
    return this.status;
  }
  set statusCode(value: number) {
    this.status = value;
  }

  /** The charset of this response class. */
  get charset(): string {
    return (this.constructor as typeof Response).charset;
  }

  /** Turns `content` into body bytes: nothing is empty, strings are encoded, bytes pass through. */
  render(content: unknown): Uint8Array {
    if (content == null) return EMPTY;
    if (content instanceof Uint8Array) return content;
    if (content instanceof ArrayBuffer) return new Uint8Array(content);
    if (ArrayBuffer.isView(content))
      return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
    if (typeof content === 'string')
      return this.charset === 'utf-8' ? utf8Encode(content) : Buffer.from(content, 'latin1');
    throw new TypeError(`${this.constructor.name} content must be a string or bytes, got ${typeof content}`);
  }

  /**
   * Builds the raw header list: given headers (names lower-cased), then `content-length` and `content-type`
   * unless given. No `content-length` for 1xx, 204 and 304 or when there is no body (streams).
   */
  protected initHeaders(
    headers: ResponseHeadersInit | null | undefined,
    body: Uint8Array | null = this.body,
  ): RawHeader[] {
    const wantsLength = body !== null && !(this.status < 200 || this.status === 204 || this.status === 304);
    const mediaType = this.mediaType;
    if (!headers) {
      // The common case, as one array of shared pairs (no growing, no pair made).
      if (wantsLength && mediaType != null)
        return [lengthPair(body.length), typePair(mediaType, this.charset)];
      if (wantsLength) return [lengthPair(body.length)];
      return mediaType != null ? [typePair(mediaType, this.charset)] : [];
    }
    const raw: RawHeader[] = [];
    let hasLength = false;
    let hasType = false;
    for (const [k, v] of headerPairs(headers)) {
      const name = k.toLowerCase();
      if (name === 'content-length') hasLength = true;
      else if (name === 'content-type') hasType = true;
      raw.push([internLatin1(name), latin1Encode(String(v))]);
    }
    if (wantsLength && !hasLength) raw.push(lengthPair(body.length));
    if (mediaType != null && !hasType) raw.push(typePair(mediaType, this.charset));
    return raw;
  }

  /** The headers, editable in place (a view over `rawHeaders`). */
  get headers(): MutableHeaders {
    return (this.#headers ??= new MutableHeaders({ raw: this.rawHeaders }));
  }

  /** Adds a `Set-Cookie` header; may be called several times. */
  setCookie(key: string, value = '', options: CookieOptions = {}): void {
    this.rawHeaders.push([latin1Encode('set-cookie'), latin1Encode(formatCookie(key, value, options))]);
  }

  /** Adds a `Set-Cookie` header that expires `key` now. */
  deleteCookie(key: string, options: Omit<CookieOptions, 'maxAge' | 'expires'> = {}): void {
    this.setCookie(key, '', { ...options, maxAge: 0, expires: 0 });
  }

  /** Sends the response; `scope` of type websocket sends it as a handshake denial. */
  asgi(scope: Scope, _receive: Receive, send: Send): Promise<void> {
    // Not `async`: when `send` takes both messages at once (it returns `RESOLVED`) and there is no
    // background task, the response is sent without a microtask (see `RESOLVED`).
    try {
      if (scope.type === 'websocket') send = websocketDenialSend(send);
      const started = send({
        type: 'http.response.start',
        status: this.status,
        headers: this.rawHeaders as HeaderLike[],
      });
      if (started !== RESOLVED) return this.#sendRest(started, send);
      const sent = send({ type: 'http.response.body', body: this.body });
      if (sent === RESOLVED && this.background === null) return RESOLVED;
      return this.#finish(sent);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #sendRest(started: Promise<void>, send: Send): Promise<void> {
    await started;
    await send({ type: 'http.response.body', body: this.body });
    if (this.background !== null) await this.background.run();
  }

  async #finish(sent: Promise<void>): Promise<void> {
    await sent;
    if (this.background !== null) await this.background.run();
  }
}

/**
 * An HTML response (`text/html; charset=utf-8`).
 *
 * @example
 * ```ts
 * return new HTMLResponse('<h1>Hello</h1>');
 * ```
 */
export class HTMLResponse extends Response {
  static override mediaType: string | null = 'text/html';
}

/**
 * A plain-text response (`text/plain; charset=utf-8`).
 *
 * @example
 * ```ts
 * return new PlainTextResponse('Hello, world!');
 * ```
 */
export class PlainTextResponse extends Response {
  static override mediaType: string | null = 'text/plain';
}

/**
 * A JSON response: compact output (no spaces), non-ASCII kept as UTF-8, `undefined` sent as `null`.
 *
 * @example
 * ```ts
 * return new JSONResponse({ hello: 'world' }, { status: 201 });
 * ```
 */
export class JSONResponse extends Response {
  static override mediaType: string | null = 'application/json';

  constructor(content: unknown, options: ResponseOptions = {}) {
    super(content, options);
  }

  override render(content: unknown): Uint8Array {
    return utf8Encode(JSON.stringify(content) ?? 'null');
  }
}

/**
 * Starlette's `UJSONResponse`, with JSONResponse's API and output. Starlette's serializes with the ujson
 * package because it beats Python's `json` module; in Node, `JSON.stringify` is already native code and
 * no serializer written in JavaScript beats it in general, so this is JSONResponse under Starlette's
 * other name: a subclass of its own (for `instanceof` and its own static `mediaType`), not a faster one.
 * bench/json.bench.ts measures both.
 *
 * @example
 * ```ts
 * return new UJSONResponse({ hello: 'world' });
 * ```
 */
export class UJSONResponse extends JSONResponse {}

// The characters RedirectResponse leaves unquoted in a Location header.
const LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;";

/**
 * A redirect (307 by default) with an empty body; the URL is percent-encoded where needed.
 *
 * @example
 * ```ts
 * return new RedirectResponse('/login?next=/café', { status: 303 });
 * ```
 */
export class RedirectResponse extends Response {
  constructor(url: string | URL, options: Omit<ResponseOptions, 'mediaType'> = {}) {
    super(null, { ...options, status: options.status ?? options.statusCode ?? 307 });
    this.headers.set('location', quote(String(url), LOCATION_SAFE));
  }
}
