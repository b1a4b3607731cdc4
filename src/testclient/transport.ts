/**
 * How the TestClient reaches an app. `Transport` is the seam: the in-process `ASGITransport` below
 * calls the app directly through receive/send; `NativeTransport` (native.ts) drives the real core over
 * in-memory connections with the same TestClient on top, and runs lifespan through this one.
 */
import { readFile } from 'node:fs/promises';
import type { ASGIApp, HTTPScope, ReceiveMessage, SendMessage, WebSocketScope } from '../asgi.ts';
import { LifespanRunner } from '../_lifespan.ts';
import { ASGI_VERSIONS, callApp, latin1Encode, toBytes, unquote } from '../_utils.ts';
import { decodeHeaders } from './headers.ts';
import { InProcessWebSocket, type WebSocketChannel } from './websocket.ts';

export interface TransportRequest {
  method: string;
  url: URL;
  headers: [string, string][];
  body: Uint8Array | AsyncIterable<Uint8Array> | null;
}

export interface TransportResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

export interface WebSocketConnectRequest {
  url: URL;
  headers: [string, string][];
  subprotocols: string[];
}

/** What a TestClient needs from whatever carries its requests to the app. */
export interface Transport {
  request(request: TransportRequest): Promise<TransportResponse>;
  /** Resolves once the app accepts; rejects with a `WebSocketDenialResponse` or the app's error. */
  websocket(request: WebSocketConnectRequest): Promise<WebSocketChannel>;
  /** Runs lifespan startup; rejects when the app reports failure. */
  startup(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface ASGITransportOptions {
  rootPath?: string;
  raiseServerExceptions?: boolean;
  client?: [string, number];
}

/** The in-process transport: the app runs in the test's own event loop. */
export class ASGITransport implements Transport {
  readonly #app: ASGIApp;
  readonly #rootPath: string;
  readonly #raise: boolean;
  readonly #client: [string, number];
  #state: Record<string, unknown> = {};
  #lifespan: LifespanRunner | null = null;

  constructor(app: ASGIApp, options: ASGITransportOptions = {}) {
    this.#app = app;
    this.#rootPath = options.rootPath ?? '';
    this.#raise = options.raiseServerExceptions ?? true;
    this.#client = options.client ?? ['testclient', 50000];
  }

  #baseScope(url: URL, headers: [string, string][]) {
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    return {
      asgi: ASGI_VERSIONS,
      http_version: '1.1',
      scheme: url.protocol.slice(0, -1),
      path: unquote(url.pathname),
      raw_path: latin1Encode(url.pathname),
      query_string: latin1Encode(url.search.slice(1)),
      root_path: this.#rootPath,
      headers: headers.map(
        ([k, v]) => [latin1Encode(k.toLowerCase()), latin1Encode(v)] as [Uint8Array, Uint8Array],
      ),
      client: [...this.#client] as [string, number],
      server: [url.hostname, port] as [string, number],
      state: { ...this.#state },
    };
  }

  async request(request: TransportRequest): Promise<TransportResponse> {
    const scope: HTTPScope = {
      type: 'http',
      method: request.method,
      ...this.#baseScope(request.url, request.headers),
      extensions: {},
    };
    const head = request.method === 'HEAD';
    let status = 0;
    let headers: [string, string][] = [];
    const chunks: Uint8Array[] = [];
    let started = false;
    let complete = false;
    let markComplete!: () => void;
    const completed = new Promise<void>((resolve) => (markComplete = resolve));

    const body = request.body;
    const iterator = body === null || body instanceof Uint8Array ? null : body[Symbol.asyncIterator]();
    let bodySent = false;
    const receive = async (): Promise<ReceiveMessage> => {
      // Once the response is out the client has gone, as with a real server: a body the app left
      // unread is not delivered any more.
      if (complete) return { type: 'http.disconnect' };
      if (!bodySent) {
        if (iterator) {
          const next = await iterator.next();
          if (!next.done) return { type: 'http.request', body: next.value, more_body: true };
        }
        bodySent = true;
        return {
          type: 'http.request',
          body: body instanceof Uint8Array ? body : new Uint8Array(0),
          more_body: false,
        };
      }
      await completed;
      return { type: 'http.disconnect' };
    };
    const send = async (message: SendMessage): Promise<void> => {
      if (message.type === 'http.response.start') {
        if (started) throw new Error('Response already started: "http.response.start" sent twice.');
        started = true;
        status = message.status;
        headers = decodeHeaders(message.headers);
      } else if (message.type === 'http.response.body' || message.type === 'http.response.pathsend') {
        if (!started) throw new Error('"http.response.start" must be sent before the body.');
        if (complete) throw new Error('The response body was already complete.');
        const chunk =
          message.type === 'http.response.body'
            ? toBytes(message.body)
            : new Uint8Array(await readFile(message.path));
        if (!head) chunks.push(chunk);
        if (message.type === 'http.response.pathsend' || !message.more_body) {
          complete = true;
          markComplete();
        }
      }
    };

    try {
      await callApp(this.#app, scope, receive, send);
    } catch (error) {
      if (this.#raise) throw error;
      if (!started) return { status: 500, headers: [], body: new Uint8Array(0) };
    }
    if (!started) {
      if (this.#raise) throw new Error('TestClient did not receive any response.');
      return { status: 500, headers: [], body: new Uint8Array(0) };
    }
    return { status, headers, body: Buffer.concat(chunks) };
  }

  websocket(request: WebSocketConnectRequest): Promise<WebSocketChannel> {
    const scope: WebSocketScope = {
      type: 'websocket',
      ...this.#baseScope(request.url, request.headers),
      subprotocols: request.subprotocols,
      extensions: { 'websocket.http.response': {} },
    };
    return InProcessWebSocket.connect(
      (receive, send) => callApp(this.#app, scope, receive, send),
      this.#raise,
    );
  }

  async startup(): Promise<void> {
    // A fresh state for each run; an app's own errors are rethrown, as Starlette's TestClient does.
    const lifespan = new LifespanRunner(this.#app, { unsupported: 'raise' });
    this.#lifespan = lifespan;
    this.#state = lifespan.state;
    await lifespan.startup();
  }

  async shutdown(): Promise<void> {
    const lifespan = this.#lifespan;
    this.#lifespan = null;
    // After answering, the app is let finish, as Starlette's TestClient waits for its lifespan task.
    if (lifespan && (await lifespan.shutdown())) await lifespan.finished;
  }
}
