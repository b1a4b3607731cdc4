/**
 * The native transport: the TestClient's requests go through the real core (hyper) over in-memory
 * connections (`serve(app, { memory: true })`), so tests run the production path without a port.
 * The app is wrapped to give the scope what the in-process transport gives it (client, server,
 * scheme, root_path, lifespan state) and to catch its errors for `raiseServerExceptions`.
 */
import { createRequire } from 'node:module';
import http from 'node:http';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import type { ASGIApp, ASGIFunction, RawHeader, Receive, Scope, Send } from '../asgi.ts';
import { loadAddon, serve, type Server } from '../server/index.ts';
import { Starling } from '../applications.ts';
import { callApp, toHeaderString } from '../_utils.ts';
import {
  ASGITransport,
  type ASGITransportOptions,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type WebSocketConnectRequest,
} from './transport.ts';
import { openWebSocket, type Call } from './nativews.ts';
import type { WebSocketChannel } from './websocket.ts';

/** Carries the call's id from the transport to the wrapped app; removed before the app sees headers. */
const CALL_HEADER = 'x-starling-testclient-call';
const EMPTY = new Uint8Array(0);

/** True when the native addon loads here (a prebuilt binary or a local build). */
export function nativeAvailable(): boolean {
  try {
    loadAddon();
    // WebSocket sessions over the core need the `ws` client (an optional peer): without it the
    // in-process transport serves HTTP and WebSockets alike, rather than mixing the two.
    createRequire(import.meta.url).resolve('ws');
    return true;
  } catch {
    return false;
  }
}

/**
 * Drives the app through the native core, one in-memory connection per request. A client used
 * without `start()` gets a server per burst of requests (closed when none is in flight, so nothing
 * keeps the process alive); after `start()` one server lives until `stop()`.
 *
 * @example
 * ```ts
 * const client = new TestClient(app, { transport: 'native' });
 * t.is((await client.get('/')).status, 200);
 * ```
 */
export class NativeTransport implements Transport {
  readonly #app: ASGIApp;
  readonly #rootPath: string;
  readonly #raise: boolean;
  readonly #client: [string, number];
  /** Runs lifespan exactly as the in-process transport does; the served app sees its state. */
  readonly #lifespan: ASGITransport;
  #state: Record<string, unknown> = {};
  readonly #calls = new Map<number, Call>();
  #nextId = 0;
  #server: Promise<Server> | null = null;
  #users = 0;
  #started = false;

  constructor(app: ASGIApp, options: ASGITransportOptions = {}) {
    this.#app = app;
    this.#rootPath = options.rootPath ?? '';
    this.#raise = options.raiseServerExceptions ?? true;
    this.#client = options.client ?? ['testclient', 50000];
    const lifespanApp: ASGIFunction = (scope, receive, send) => {
      if (scope.type === 'lifespan') this.#state = scope.state ?? {};
      return callApp(app, scope, receive, send);
    };
    this.#lifespan = new ASGITransport(lifespanApp, options);
  }

  /** The app the core serves: our scope fixes and error capture around the user's app. */
  #wrapped: ASGIFunction = async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'lifespan') return;
    let call: Call | undefined;
    const headers: RawHeader[] = [];
    for (const header of scope.headers) {
      if (toHeaderString(header[0]) === CALL_HEADER)
        call = this.#calls.get(Number(toHeaderString(header[1])));
      else headers.push(header as RawHeader);
    }
    if (!call) return callApp(this.#app, scope, receive, send);
    const { url } = call;
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    Object.assign(scope, {
      headers,
      scheme: url.protocol.slice(0, -1),
      client: [...this.#client],
      server: [url.hostname, url.port ? Number(url.port) : secure ? 443 : 80],
      root_path: this.#rootPath,
      state: { ...this.#state },
    });
    const tracked: Send = (message) => {
      const type = message.type;
      if (type === 'http.response.start' || type === 'websocket.accept') call.responded = true;
      else if (type === 'websocket.http.response.start') call.responded = true;
      else if (type === 'websocket.close' && call.responded) call.closed = true;
      else if (type === 'websocket.close')
        call.denial = { code: message.code ?? 1000, reason: message.reason ?? '' };
      return send(message);
    };
    call.entered = true;
    try {
      await callApp(this.#app, scope, receive, tracked);
    } catch (error) {
      call.failed = true;
      call.error = error;
      throw error;
    } finally {
      call.finish();
    }
  };

  /** A server for the duration of one use; a client used without `start()` closes it when idle. */
  async #acquire(): Promise<Server> {
    this.#users++;
    const server = (this.#server ??= this.#serve());
    try {
      return await server;
    } catch (error) {
      // No addon, say: the next request tries again rather than inheriting this failure.
      this.#users--;
      if (this.#server === server) this.#server = null;
      throw error;
    }
  }

  async #release(): Promise<void> {
    if (--this.#users > 0 || this.#started || !this.#server) return;
    const server = this.#server;
    this.#server = null;
    await (await server).close();
  }

  #serve(): Promise<Server> {
    const app = this.#app;
    // Keep a Starling's identity (routes, middleware) so the core still serves its static mounts.
    const served: ASGIApp =
      app instanceof Starling ? Object.create(app, { asgi: { value: this.#wrapped } }) : this.#wrapped;
    return serve(served, { memory: true, lifespan: 'off', logLevel: 'critical', serverHeader: '' });
  }

  #track(url: URL): [number, Call] {
    const id = ++this.#nextId;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const call: Call = { url, entered: false, responded: false, failed: false, done, finish };
    this.#calls.set(id, call);
    return [id, call];
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    const server = await this.#acquire();
    const [id, call] = this.#track(request.url);
    try {
      let response: TransportResponse | null = null;
      let failure: unknown;
      try {
        response = await exchange(server, request, [CALL_HEADER, String(id)]);
      } catch (error) {
        failure = error;
      }
      if (call.entered) await call.done;
      if (call.failed && this.#raise) throw call.error;
      if (call.entered && !call.failed && !call.responded && this.#raise)
        throw new Error('TestClient did not receive any response.');
      if (response) return response;
      if (call.failed) return { status: 500, headers: [], body: EMPTY };
      throw failure;
    } finally {
      this.#calls.delete(id);
      await this.#release();
    }
  }

  async websocket(request: WebSocketConnectRequest): Promise<WebSocketChannel> {
    const server = await this.#acquire();
    const [id, call] = this.#track(request.url);
    const headers: [string, string][] = [...request.headers, [CALL_HEADER, String(id)]];
    const ended = () => {
      this.#calls.delete(id);
      return this.#release();
    };
    return openWebSocket({ ...request, headers }, () => server.connect(), call, this.#raise, ended);
  }

  async startup(): Promise<void> {
    await this.#lifespan.startup();
    try {
      await this.#acquire();
    } catch (error) {
      await this.#lifespan.shutdown();
      throw error;
    }
    this.#users--;
    this.#started = true;
  }

  async shutdown(): Promise<void> {
    // Like serve(): stop serving (in-flight requests finish), then lifespan shutdown. A connection
    // still open (a WebSocket) keeps the server until it ends.
    if (this.#started) {
      this.#started = false;
      const server = this.#server;
      if (server && this.#users === 0) {
        this.#server = null;
        await (await server).close();
      }
    }
    await this.#lifespan.shutdown();
  }
}

/** One request over a fresh in-memory connection; the body comes back exactly as sent (no decoding). */
function exchange(server: Server, request: TransportRequest, extra: [string, string]) {
  return new Promise<TransportResponse>((resolve, reject) => {
    const req = http.request({
      method: request.method,
      path: request.url.pathname + request.url.search,
      headers: [...request.headers, extra].flat(),
      createConnection: () => server.connect() as Socket,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const finish = () => {
        req.destroy();
        const raw = res.rawHeaders;
        const headers: [string, string][] = [];
        for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A response cut short (the app failed mid-body) still resolves with what arrived.
      res.on('end', finish);
      res.on('error', finish);
      res.on('close', finish);
    });
    req.on('error', reject);
    writeBody(req, request.body).catch(() => undefined);
  });
}

async function writeBody(req: http.ClientRequest, body: TransportRequest['body']): Promise<void> {
  if (body === null || body instanceof Uint8Array) {
    req.end(body ?? undefined);
    return;
  }
  for await (const chunk of body) if (!req.write(chunk)) await once(req, 'drain');
  req.end();
}
