/**
 * URL and URLPath: immutable URLs with Python `urlsplit` semantics, built from a string, components or a scope.
 */
import type { Scope } from '../asgi.ts';
import { latin1Decode, parseQueryString, urlencode } from '../_utils.ts';

/** The five parts of a URL, as Python's `urlsplit` cuts them. */
export interface URLComponents {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  fragment: string;
}

/** What `new URL(...)` and `url.replace(...)` accept besides the five parts. */
export interface URLReplace extends Partial<URLComponents> {
  hostname?: string | null;
  port?: number | null;
  username?: string | null;
  password?: string | null;
}

const SPLIT_RE = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;
// A Host header is trusted only when it cannot change the path or authority of the URL.
const HOST_RE =
  /^([a-z0-9._~%!$&'()*+,;=-]+|\[(?:[a-f0-9]*:[a-f0-9.:]+|v[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])(?::([0-9]+))?$/i;
const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443 };

function split(url: string): URLComponents {
  const m = SPLIT_RE.exec(url)!;
  return {
    scheme: (m[1] ?? '').toLowerCase(),
    netloc: m[2] ?? '',
    path: m[3] ?? '',
    query: m[4] ?? '',
    fragment: m[5] ?? '',
  };
}

function unsplit({ scheme, netloc, path, query, fragment }: URLComponents): string {
  let url = path;
  if (netloc || (scheme && path.startsWith('//'))) {
    if (url && !url.startsWith('/')) url = '/' + url;
    url = '//' + netloc + url;
  }
  if (scheme) url = scheme + ':' + url;
  if (query) url += '?' + query;
  if (fragment) url += '#' + fragment;
  return url;
}

function fromScope(scope: Scope): string {
  const s = scope as Scope & { server?: [string, number] | null; path: string; query_string?: Uint8Array };
  const scheme = (s.scheme as string | undefined) ?? 'http';
  const path = s.path.replaceAll('?', '%3F').replaceAll('#', '%23').replaceAll('\\', '%5C');
  const query = s.query_string ? latin1Decode(s.query_string) : '';
  let netloc: string | null = null;
  for (const [key, value] of (s.headers as [Uint8Array, Uint8Array][] | undefined) ?? []) {
    if (key.length === 4 && latin1Decode(key).toLowerCase() === 'host') {
      const host = latin1Decode(value);
      const m = HOST_RE.exec(host);
      if (m && (m[2] === undefined || Number(m[2]) <= 65535)) netloc = host;
      break;
    }
  }
  if (netloc === null && s.server) {
    let [host, port] = s.server;
    if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
    netloc = port === DEFAULT_PORTS[scheme] ? host : `${host}:${port}`;
  }
  if (netloc !== null) return unsplit({ scheme, netloc, path, query, fragment: '' });
  // Without a host a leading `//` would read as an authority.
  const p = path.startsWith('//') ? '/%2F' + path.slice(2) : path;
  return query ? `${p}?${query}` : p;
}

/**
 * An immutable URL. Parts are read with properties and changed with `replace`, which returns a new URL.
 *
 * @example
 * ```ts
 * const url = new URL('https://example.org:8000/path?page=1');
 * url.port; // 8000
 * String(url.replace({ port: null }).includeQueryParams({ page: 2 })); // 'https://example.org/path?page=2'
 * ```
 */
export class URL {
  #url: string;
  #components: URLComponents | undefined;

  constructor(url: string | URL = '', options: { scope?: Scope } & URLReplace = {}) {
    const { scope, ...components } = options;
    if (scope !== undefined) this.#url = fromScope(scope);
    else if (Object.keys(components).length) this.#url = String(new URL(String(url)).replace(components));
    else this.#url = String(url);
  }

  /** The URL of the request or WebSocket of `scope`. */
  static fromScope(scope: Scope): URL {
    return new URL('', { scope });
  }

  get components(): URLComponents {
    return (this.#components ??= split(this.#url));
  }
  get scheme(): string {
    return this.components.scheme;
  }
  get netloc(): string {
    return this.components.netloc;
  }
  get path(): string {
    return this.components.path;
  }
  get query(): string {
    return this.components.query;
  }
  get fragment(): string {
    return this.components.fragment;
  }
  get username(): string | null {
    const at = this.netloc.lastIndexOf('@');
    if (at === -1) return null;
    const userinfo = this.netloc.slice(0, at);
    const colon = userinfo.indexOf(':');
    return colon === -1 ? userinfo : userinfo.slice(0, colon);
  }
  get password(): string | null {
    const at = this.netloc.lastIndexOf('@');
    if (at === -1) return null;
    const userinfo = this.netloc.slice(0, at);
    const colon = userinfo.indexOf(':');
    return colon === -1 ? null : userinfo.slice(colon + 1);
  }
  /** The host, lower-cased, without brackets around an IPv6 address; `null` when there is none. */
  get hostname(): string | null {
    const host = this.#hostPort()[0];
    if (!host) return null;
    return (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  }
  /** The explicit port, or `null`. */
  get port(): number | null {
    const port = this.#hostPort()[1];
    if (!port) return null;
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new RangeError(`Port out of range 0-65535: ${port}`);
    return n;
  }
  /** True for `https` and `wss`. */
  get isSecure(): boolean {
    return this.scheme === 'https' || this.scheme === 'wss';
  }

  #hostPort(): [string, string] {
    const hostport = this.netloc.slice(this.netloc.lastIndexOf('@') + 1);
    if (hostport.startsWith('[')) {
      const end = hostport.indexOf(']');
      const rest = hostport.slice(end + 1);
      return [hostport.slice(0, end + 1), rest.startsWith(':') ? rest.slice(1) : ''];
    }
    const colon = hostport.lastIndexOf(':');
    return colon === -1 ? [hostport, ''] : [hostport.slice(0, colon), hostport.slice(colon + 1)];
  }

  /** A new URL with some parts replaced; `hostname`, `port`, `username`, `password` rebuild the netloc. */
  replace(changes: URLReplace): URL {
    const { hostname, port, username, password, ...parts } = changes;
    const next: URLComponents = { ...this.components, ...parts } as URLComponents;
    if ('hostname' in changes || 'port' in changes || 'username' in changes || 'password' in changes) {
      let host: string;
      if (hostname == null) host = this.#hostPort()[0];
      else host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
      const p = 'port' in changes ? port : this.port;
      const user = 'username' in changes ? username : this.username;
      const pass = 'password' in changes ? password : this.password;
      let netloc = p != null ? `${host}:${p}` : host;
      if (user != null) netloc = `${pass != null ? `${user}:${pass}` : user}@${netloc}`;
      next.netloc = netloc;
    }
    return new URL(unsplit(next));
  }

  /** A new URL with these query parameters set (replacing existing values of the same keys). */
  includeQueryParams(params: Record<string, unknown>): URL {
    const pairs = parseQueryString(this.query);
    const keys = new Set(Object.keys(params));
    const kept = pairs.filter(([k]) => !keys.has(k));
    return this.replace({ query: urlencode([...kept, ...Object.entries(params)]) });
  }

  /** A new URL whose query is exactly these parameters. */
  replaceQueryParams(params: Record<string, unknown>): URL {
    return this.replace({ query: urlencode(Object.entries(params)) });
  }

  /** A new URL without these query parameters. */
  removeQueryParams(keys: string | readonly string[]): URL {
    const drop = new Set(typeof keys === 'string' ? [keys] : keys);
    return this.replace({ query: urlencode(parseQueryString(this.query).filter(([k]) => !drop.has(k))) });
  }

  /** True when both URLs have the same string form. */
  equals(other: unknown): boolean {
    return String(this) === String(other);
  }

  toString(): string {
    return this.#url;
  }
  toJSON(): string {
    return this.#url;
  }
  get [Symbol.toStringTag](): string {
    return 'URL';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const url = this.password ? String(this.replace({ password: '********' })) : this.#url;
    return `URL(${JSON.stringify(url)})`;
  }
}

/**
 * A path produced by `urlPathFor`, which knows whether it is for HTTP or WebSocket and can be made absolute.
 *
 * @example
 * ```ts
 * new URLPath('/users/1').makeAbsoluteURL('https://example.org/app/'); // URL('https://example.org/app/users/1')
 * ```
 */
export class URLPath extends String {
  readonly protocol: '' | 'http' | 'websocket';
  readonly host: string;

  constructor(path: string, protocol: '' | 'http' | 'websocket' = '', host = '') {
    super(path);
    this.protocol = protocol;
    this.host = host;
  }

  /** An absolute URL from this path and a base URL (scheme, netloc and path prefix). */
  makeAbsoluteURL(baseUrl: string | URL): URL {
    const base = typeof baseUrl === 'string' ? new URL(baseUrl) : baseUrl;
    let scheme = base.scheme;
    if (this.protocol) {
      const secure = base.isSecure;
      scheme = this.protocol === 'http' ? (secure ? 'https' : 'http') : secure ? 'wss' : 'ws';
    }
    const netloc = this.host || base.netloc;
    const path = base.path.replace(/\/+$/, '') + String(this);
    return new URL(unsplit({ scheme, netloc, path, query: '', fragment: '' }));
  }
}

// A class that extends String leaves `String.prototype` in V8's slow dictionary mode, and with it every
// string method call in the process (about a third of a bare request's cost in bench/framework.bench.ts).
// An inline cache that looks a method up through a URLPath turns the prototype back into a fast object;
// such a cache exists only once its function has run a few times, hence the loop.
const lookUp = (path: URLPath) => path.slice;
for (let i = 0, path = new URLPath(''); i < 64; i++) lookUp(path);
