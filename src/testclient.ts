/**
 * `TestClient`: drive any Starling (or raw ASGI) app from tests without a server, the way Starlette's
 * httpx-based client does: cookies persist, redirects are followed, app errors are rethrown.
 */
import type { ASGIApp } from './asgi.ts';
import { CookieJar } from './testclient/cookies.ts';
import {
  encodeBody,
  toPairs,
  urlencode,
  type ContentInit,
  type DataInit,
  type FilesInit,
  type ParamsInit,
} from './testclient/encode.ts';
import { ResponseHeaders, TestResponse } from './testclient/response.ts';
import { ASGITransport, type ASGITransportOptions, type Transport } from './testclient/transport.ts';
import { NativeTransport, nativeAvailable } from './testclient/native.ts';
import { WebSocketTestSession } from './testclient/websocket.ts';

export { TestResponse, ResponseHeaders } from './testclient/response.ts';
export { WebSocketTestSession, WebSocketDenialResponse } from './testclient/websocket.ts';
export type { WebSocketChannel, WebSocketFrame } from './testclient/websocket.ts';
export { ASGITransport } from './testclient/transport.ts';
export { NativeTransport } from './testclient/native.ts';
export type {
  Transport,
  TransportRequest,
  TransportResponse,
  WebSocketConnectRequest,
} from './testclient/transport.ts';
export { CookieJar } from './testclient/cookies.ts';

export type HeadersInit = Record<string, string> | [string, string][];

export interface TestClientOptions {
  /** Default `'http://testserver'`. */
  baseUrl?: string;
  /** Rethrow the app's errors in the test (default), instead of answering 500. */
  raiseServerExceptions?: boolean;
  rootPath?: string;
  followRedirects?: boolean;
  /** Headers sent with every request. */
  headers?: HeadersInit;
  cookies?: Record<string, string>;
  /** The `client` address in the scope; default `['testclient', 50000]`. */
  client?: [string, number];
  /**
   * How requests reach the app: `'native'` through the real core over in-memory connections,
   * `'in-process'` by calling the app directly, or any `Transport`. See `defaultTransport`.
   */
  transport?: Transport | 'native' | 'in-process';
}

export interface RequestOptions {
  params?: ParamsInit;
  headers?: HeadersInit;
  /** Cookies for this request only, on top of the jar. */
  cookies?: Record<string, string>;
  json?: unknown;
  /** An object is sent as a urlencoded form (or multipart with `files`). */
  data?: DataInit | string | Uint8Array;
  files?: FilesInit;
  content?: ContentInit;
  followRedirects?: boolean;
}

export interface WebSocketConnectOptions {
  subprotocols?: string[];
  headers?: HeadersInit;
  cookies?: Record<string, string>;
  params?: ParamsInit;
}

const MAX_REDIRECTS = 20;

/**
 * The transport a `TestClient` uses when none is given: the native core (the production path, through
 * an in-memory connection) whenever its addon loads; in-process when it cannot, or when
 * `STARLING_TESTCLIENT=in-process` asks for it.
 */
export function defaultTransport(): 'native' | 'in-process' {
  return process.env.STARLING_TESTCLIENT !== 'in-process' && nativeAvailable() ? 'native' : 'in-process';
}

function headerPairs(init: HeadersInit | undefined): [string, string][] {
  if (!init) return [];
  return Array.isArray(init)
    ? init.map(([k, v]) => [k, String(v)])
    : Object.entries(init).map(([k, v]) => [k, String(v)]);
}

/** Replaces same-named defaults with explicit headers (case-insensitively), keeping order. */
function mergeHeaders(base: [string, string][], extra: [string, string][]): [string, string][] {
  const names = new Set(extra.map(([k]) => k.toLowerCase()));
  return [...base.filter(([k]) => !names.has(k.toLowerCase())), ...extra];
}

/**
 * A client that drives an app without a port: in-process by default, or through the native core over
 * in-memory connections with `transport: 'native'` (docs/testclient.md, "Transports").
 *
 * @example
 * ```ts
 * const client = new TestClient(app);
 * const res = await client.get('/items', { params: { q: 'x' } });
 * const onCore = new TestClient(app, { transport: 'native' }); // hyper parses and answers
 * t.is(res.status, 200);
 * await TestClient.run(app, async (client) => { ... }); // with lifespan
 * ```
 */
export class TestClient {
  readonly baseUrl: string;
  readonly cookies: CookieJar;
  readonly headers: [string, string][];
  readonly followRedirects: boolean;
  readonly transport: Transport;

  constructor(app: ASGIApp, options: TestClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? 'http://testserver';
    this.followRedirects = options.followRedirects ?? true;
    this.headers = headerPairs(options.headers);
    this.cookies = new CookieJar(new URL(this.baseUrl).hostname);
    for (const [name, value] of Object.entries(options.cookies ?? {})) this.cookies.set(name, value);
    const kind = options.transport ?? defaultTransport();
    const settings = {
      rootPath: options.rootPath ?? '',
      raiseServerExceptions: options.raiseServerExceptions ?? true,
      client: options.client ?? ['testclient', 50000],
    } satisfies ASGITransportOptions;
    if (typeof kind === 'object') this.transport = kind;
    else if (kind === 'native') this.transport = new NativeTransport(app, settings);
    else this.transport = new ASGITransport(app, settings);
  }

  /** Runs `fn` between lifespan startup and shutdown. */
  static async run<T>(
    app: ASGIApp,
    fn: (client: TestClient) => Promise<T>,
    options: TestClientOptions = {},
  ): Promise<T> {
    const client = new TestClient(app, options);
    await client.start();
    try {
      return await fn(client);
    } finally {
      await client.stop();
    }
  }

  /** Sends `lifespan.startup` and waits until the app is ready; rejects if startup fails. */
  start(): Promise<void> {
    return this.transport.startup();
  }

  /** Sends `lifespan.shutdown` and waits for the app to finish. */
  stop(): Promise<void> {
    return this.transport.shutdown();
  }

  #url(path: string, params?: ParamsInit): URL {
    const url = new URL(path, this.baseUrl);
    const extra = toPairs(params);
    if (extra.length > 0) url.search = [url.search.slice(1), urlencode(extra)].filter(Boolean).join('&');
    return url;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    let url = this.#url(path, options.params);
    method = method.toUpperCase();
    let encoded = encodeBody(options);
    const explicit = mergeHeaders(this.headers, headerPairs(options.headers));
    const history: TestResponse[] = [];
    for (;;) {
      const base: [string, string][] = [
        ['host', url.host],
        ['accept', '*/*'],
        ['accept-encoding', 'gzip, deflate'],
        ['connection', 'keep-alive'],
        ['user-agent', 'testclient'],
      ];
      let headers = mergeHeaders(base, explicit);
      const has = (name: string) => headers.some(([k]) => k.toLowerCase() === name);
      if (encoded && encoded.length === null && !has('transfer-encoding'))
        headers.push(['transfer-encoding', 'chunked']);
      else if (encoded && !has('content-length')) headers.push(['content-length', String(encoded.length)]);
      else if (!encoded && ['POST', 'PUT', 'PATCH'].includes(method) && !has('content-length'))
        headers.push(['content-length', '0']);
      if (encoded?.contentType && !has('content-type')) headers.push(['content-type', encoded.contentType]);
      const cookie = this.cookies.headerFor(url, options.cookies);
      if (cookie && !has('cookie')) headers.push(['cookie', cookie]);
      headers = headers.map(([k, v]) => [k.toLowerCase(), v]);

      const body = encoded ? encoded.body : null;
      const raw = await this.transport.request({ method, url, headers, body });
      const sent = {
        method,
        url: url.href,
        headers: new ResponseHeaders(headers),
        content: body instanceof Uint8Array ? body : new Uint8Array(0),
      };
      const response = new TestResponse({ ...raw, url: url.href, request: sent });
      for (const header of response.headers.getAll('set-cookie')) this.cookies.receive(header, url);
      response.history = [...history];

      const follow = options.followRedirects ?? this.followRedirects;
      if (!follow || !response.isRedirect || history.length >= MAX_REDIRECTS) return response;
      history.push(response);
      url = new URL(response.headers.get('location') as string, url);
      // 301/302/303 turn into a body-less GET (except HEAD), as browsers and httpx do; 307/308 resend.
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST')
      ) {
        if (method !== 'HEAD') method = 'GET';
        encoded = null;
      }
    }
  }

  get(
    path: string,
    options?: Omit<RequestOptions, 'json' | 'data' | 'files' | 'content'>,
  ): Promise<TestResponse> {
    return this.request('GET', path, options);
  }
  head(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request('HEAD', path, options);
  }
  options(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request('OPTIONS', path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request('DELETE', path, options);
  }
  post(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request('POST', path, options);
  }
  put(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request('PUT', path, options);
  }
  patch(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request('PATCH', path, options);
  }

  /**
   * Opens a WebSocket to the app. Rejects with a `WebSocketDenialResponse` when the app refuses the
   * handshake, or with the app's own error.
   */
  async websocketConnect(path: string, options: WebSocketConnectOptions = {}): Promise<WebSocketTestSession> {
    const url = this.#url(path, options.params);
    url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
    const subprotocols = options.subprotocols ?? [];
    const base: [string, string][] = [
      ['host', url.host],
      ['accept', '*/*'],
      ['accept-encoding', 'gzip, deflate'],
      ['connection', 'upgrade'],
      ['user-agent', 'testclient'],
      ['sec-websocket-key', 'testserver=='],
      ['sec-websocket-version', '13'],
    ];
    if (subprotocols.length > 0) base.push(['sec-websocket-protocol', subprotocols.join(', ')]);
    const headers = mergeHeaders(base, mergeHeaders(this.headers, headerPairs(options.headers)));
    const cookie = this.cookies.headerFor(url, options.cookies);
    if (cookie && !headers.some(([k]) => k.toLowerCase() === 'cookie')) headers.push(['cookie', cookie]);
    const channel = await this.transport.websocket({
      url,
      headers: headers.map(([k, v]) => [k.toLowerCase(), v]),
      subprotocols,
    });
    return new WebSocketTestSession(channel);
  }
}
