/**
 * The TestClient's cookie jar: keeps what the app sets and sends it back, honouring Domain, Path,
 * Secure, Max-Age and Expires the way a browser (or httpx) would, so session and auth tests behave
 * like real clients.
 */

interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  expires: number | null;
}

function defaultPath(requestPath: string): string {
  const slash = requestPath.lastIndexOf('/');
  return slash <= 0 ? '/' : requestPath.slice(0, slash);
}

function pathMatches(cookiePath: string, requestPath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(cookie: StoredCookie, host: string): boolean {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

/**
 * Cookies kept across requests by a `TestClient` (`client.cookies`).
 *
 * @example
 * ```ts
 * client.cookies.set('session', 'abc');
 * client.cookies.get('session'); // 'abc'
 * ```
 */
export class CookieJar {
  #cookies: StoredCookie[] = [];
  #defaultDomain: string;

  constructor(defaultDomain: string) {
    this.#defaultDomain = defaultDomain;
  }

  /** Sets a cookie by hand, for every path of the client's host unless told otherwise. */
  set(name: string, value: string, options: { domain?: string; path?: string } = {}): void {
    this.#store({
      name,
      value,
      domain: options.domain ?? this.#defaultDomain,
      hostOnly: options.domain === undefined,
      path: options.path ?? '/',
      secure: false,
      expires: null,
    });
  }

  /** The value of the first live cookie with that name, as the app set it (quoted if it was), or `undefined`. */
  get(name: string): string | undefined {
    this.#expire();
    return this.#cookies.find((c) => c.name === name)?.value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  delete(name: string): void {
    this.#cookies = this.#cookies.filter((c) => c.name !== name);
  }

  clear(): void {
    this.#cookies = [];
  }

  /** Name/value pairs of every live cookie. */
  entries(): [string, string][] {
    this.#expire();
    return this.#cookies.map((c) => [c.name, c.value]);
  }

  /** Reads one `Set-Cookie` header received for `url`. */
  receive(header: string, url: URL): void {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      // Kept exactly as set, quotes and escapes included (as httpx does): the app's own cookie
      // parser undoes them when the value comes back.
      value: pair.slice(eq + 1).trim(),
      domain: url.hostname,
      hostOnly: true,
      path: defaultPath(url.pathname),
      secure: false,
      expires: null,
    };
    let maxAgeSeen = false;
    for (const attribute of attributes) {
      const i = attribute.indexOf('=');
      const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
      const value = i < 0 ? '' : attribute.slice(i + 1).trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'domain' && value) {
        cookie.domain = value.replace(/^\./, '').toLowerCase();
        cookie.hostOnly = false;
      } else if (key === 'secure') cookie.secure = true;
      else if (key === 'max-age' && /^-?\d+$/.test(value)) {
        maxAgeSeen = true;
        cookie.expires = Date.now() + Number(value) * 1000;
      } else if (key === 'expires' && !maxAgeSeen) {
        const when = Date.parse(value);
        if (!Number.isNaN(when)) cookie.expires = when;
      }
    }
    // A cookie for another domain is refused, as a browser would.
    if (!cookie.hostOnly && !domainMatches(cookie, url.hostname)) return;
    this.#store(cookie);
  }

  /** The `Cookie` header value for a request to `url`, or `''`. */
  headerFor(url: URL, extra: Record<string, string> = {}): string {
    this.#expire();
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    const pairs = this.#cookies
      .filter((c) => domainMatches(c, url.hostname) && pathMatches(c.path, url.pathname || '/'))
      .filter((c) => secure || !c.secure)
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => [c.name, c.value] as const)
      .filter(([name]) => !(name in extra));
    for (const [name, value] of Object.entries(extra)) pairs.push([name, value]);
    return pairs.map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #store(cookie: StoredCookie): void {
    this.#cookies = this.#cookies.filter(
      (c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path),
    );
    if (cookie.expires === null || cookie.expires > Date.now()) this.#cookies.push(cookie);
  }

  #expire(): void {
    const now = Date.now();
    this.#cookies = this.#cookies.filter((c) => c.expires === null || c.expires > now);
  }
}
