/**
 * Small ASGI-level helpers shared by the middleware, static files and authentication modules.
 *
 * Private: not exported from the package. The middleware work on raw messages rather than on Request and
 * Response objects so that a request passing through them allocates as little as possible.
 */
import type { HeaderLike, HTTPResponseStartEvent, RawHeader, Scope, Send } from '../asgi.ts';
import { toHeaderString } from '../_utils.ts';

/** The first value of a request header, or `undefined`. `name` must be lower-case. */
export function requestHeader(scope: Scope, name: string): string | undefined {
  const headers = (scope as { headers?: RawHeader[] }).headers ?? [];
  for (const [key, value] of headers)
    if (toHeaderString(key).toLowerCase() === name) return toHeaderString(value);
  return undefined;
}

/**
 * Response headers as mutable `[name, value]` strings, for rewriting an `http.response.start` message.
 * Names are compared case-insensitively and written lower-case.
 */
export class HeaderList {
  readonly #items: [string, string][] = [];

  constructor(init?: Iterable<HeaderLike>) {
    for (const [name, value] of init ?? [])
      this.#items.push([toHeaderString(name).toLowerCase(), toHeaderString(value)]);
  }

  get(name: string): string | undefined {
    return this.#items.find(([key]) => key === name)?.[1];
  }

  getAll(name: string): string[] {
    return this.#items.filter(([key]) => key === name).map(([, value]) => value);
  }

  has(name: string): boolean {
    return this.#items.some(([key]) => key === name);
  }

  /** Replaces every header of that name by one. */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const at = this.#items.findIndex(([k]) => k === key);
    this.delete(key);
    if (at === -1) this.#items.push([key, value]);
    else this.#items.splice(at, 0, [key, value]);
  }

  append(name: string, value: string): void {
    this.#items.push([name.toLowerCase(), value]);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    for (let i = this.#items.length - 1; i >= 0; i--)
      if (this.#items[i]![0] === key) this.#items.splice(i, 1);
  }

  /** Adds `value` to `Vary` unless it is already listed, folding every `Vary` header into one. */
  addVary(value: string): void {
    const current = this.getAll('vary').flatMap((v) => v.split(','));
    const tokens = current.map((v) => v.trim()).filter(Boolean);
    if (tokens.some((v) => v.toLowerCase() === value.toLowerCase())) return;
    this.set('vary', [...tokens, value].join(', '));
  }

  toArray(): [string, string][] {
    return this.#items.map(([k, v]) => [k, v]);
  }
}

/** Rewrites the `http.response.start` of a response that some outer layer sends on an inner one's behalf. */
export type StartHook = (message: HTTPResponseStartEvent) => HTTPResponseStartEvent;

/**
 * Private scope key: the hooks that ServerErrorMiddleware applies to the 500 it sends. It puts one
 * shared array in the scope before calling the app (copies of the scope share it); middleware inside
 * that must decorate every response, such as CORS, push a hook so the error page gets their headers
 * too. `Symbol.for`, so that two copies of the package still cooperate.
 */
export const ERROR_RESPONSE_HOOKS: unique symbol = Symbol.for('starling.error_response_hooks');

/** The error-response hooks of this request, or `undefined` when no ServerErrorMiddleware is outside. */
export function errorResponseHooks(scope: Scope): StartHook[] | undefined {
  return (scope as unknown as { [ERROR_RESPONSE_HOOKS]?: StartHook[] })[ERROR_RESPONSE_HOOKS];
}

/** Starts a fresh hook list for this request (ServerErrorMiddleware's part). */
export function openErrorResponseHooks(scope: Scope): StartHook[] {
  const hooks: StartHook[] = [];
  (scope as unknown as { [ERROR_RESPONSE_HOOKS]: StartHook[] })[ERROR_RESPONSE_HOOKS] = hooks;
  return hooks;
}

/**
 * Sends a complete response with a text body. On a websocket scope it goes out as a denial response
 * (`websocket.http.response.*`), which is how Starlette refuses a handshake from middleware.
 */
export async function sendResponse(
  scope: Scope,
  send: Send,
  status: number,
  body: string,
  headers: Iterable<[string, string]> = [],
  contentType = 'text/plain; charset=utf-8',
): Promise<void> {
  const bytes = Buffer.from(body, 'utf8');
  const list: [string, string][] = [...headers];
  if (body !== '' || status !== 304) list.push(['content-length', String(bytes.byteLength)]);
  if (body !== '') list.push(['content-type', contentType]);
  if (scope.type === 'websocket') {
    await send({ type: 'websocket.http.response.start', status, headers: list });
    await send({ type: 'websocket.http.response.body', body: bytes, more_body: false });
    return;
  }
  await send({ type: 'http.response.start', status, headers: list });
  await send({ type: 'http.response.body', body: bytes, more_body: false });
}

/** Sends a redirect (307 unless told otherwise) with an empty body. */
export function sendRedirect(scope: Scope, send: Send, location: string, status = 307): Promise<void> {
  return sendResponse(scope, send, status, '', [['location', location]]);
}

const HOST_RE = /^(?:[A-Za-z0-9-._~%!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?$/;

/** A `Host` header split into host (lower-case, IPv6 brackets kept) and port, or `null` if malformed. */
export function parseHost(header: string | undefined): { host: string; port: string } | null {
  if (header === undefined || !HOST_RE.test(header)) return null;
  const at = header.startsWith('[') ? header.indexOf(']') + 1 : header.indexOf(':');
  if (at <= 0 || at >= header.length) return { host: header.toLowerCase(), port: '' };
  return { host: header.slice(0, at).toLowerCase(), port: header.slice(at + 1) };
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443 };

/** The parts of the URL a request was made to, rebuilt from its scope as Starlette's `URL(scope=...)` does. */
export function scopeURL(scope: Scope): { scheme: string; netloc: string; path: string; query: string } {
  const s = scope as {
    scheme?: string;
    server?: [string, number] | null;
    path?: string;
    query_string?: Uint8Array;
  };
  const scheme = s.scheme ?? 'http';
  let netloc = '';
  const host = requestHeader(scope, 'host');
  if (host !== undefined && parseHost(host) !== null) netloc = host;
  else if (s.server) {
    const [name, port] = s.server;
    netloc = DEFAULT_PORTS[scheme] === port ? name : `${name}:${port}`;
  }
  const path = encodeURI(s.path ?? '/')
    .replace(/\?/g, '%3F')
    .replace(/#/g, '%23');
  const query = s.query_string && s.query_string.byteLength ? toHeaderString(s.query_string) : '';
  return { scheme, netloc, path, query };
}

/** Joins URL parts back into a string. */
export function formatURL(parts: { scheme: string; netloc: string; path: string; query: string }): string {
  const base = parts.netloc ? `${parts.scheme}://${parts.netloc}${parts.path}` : parts.path;
  return parts.query ? `${base}?${parts.query}` : base;
}
