/**
 * One case list, two ways in: each case runs once through the TestClient (native or in-process, as
 * `STARLING_TESTCLIENT` says) and once through `serve()` on 127.0.0.1 with `fetch`.
 */
import test, { type ExecutionContext } from 'ava';
import type { ASGIApp, ASGIFunction, ReceiveMessage, SendMessage } from '../../../src/asgi.ts';
import { serve } from '../../../src/server/index.ts';
import { TestClient } from '../../../src/testclient.ts';
import { makeScope } from '../../_asgi.ts';

export interface Reply {
  status: number;
  header(name: string): string | null;
  headerAll(name: string): string[];
  text: string;
}

export interface Init {
  headers?: Record<string, string>;
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
}

export interface Client {
  kind: 'testclient' | 'server';
  request(method: string, path: string, init?: Init): Promise<Reply>;
}

export interface ServerClient extends Client {
  kind: 'server';
  url: string;
  /** The raw `fetch` answer, for reading a body as it arrives or seeing a connection cut. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export interface OpenOptions {
  /** TestClient only: rethrow the app's errors (default) or answer 500 as a server does. */
  raise?: boolean;
}

export type Open = (app: ASGIApp, options?: OpenOptions) => Promise<Client | ServerClient>;

function openTestClient(app: ASGIApp, options: OpenOptions = {}): Promise<Client> {
  const client = new TestClient(app, { raiseServerExceptions: options.raise ?? true });
  return Promise.resolve({
    kind: 'testclient',
    async request(method, path, init = {}) {
      const res = await client.request(method, path, { headers: init.headers, content: init.body });
      return {
        status: res.status,
        header: (name) => res.headers.get(name),
        headerAll: (name) => res.headers.getAll(name),
        text: res.text,
      };
    },
  });
}

async function openServer(t: ExecutionContext, app: ASGIApp): Promise<ServerClient> {
  const server = await serve(app, {
    host: '127.0.0.1',
    port: 0,
    accessLog: false,
    logLevel: 'critical',
    lifespan: 'off',
  });
  t.teardown(() => server.close());
  const url = server.url;
  const fetchPath = (path: string, init?: RequestInit) => fetch(url + path, { redirect: 'manual', ...init });
  return {
    kind: 'server',
    url,
    fetch: fetchPath,
    async request(method, path, init = {}) {
      const body = init.body;
      const res = await fetchPath(path, {
        method,
        headers: init.headers,
        body: body as RequestInit['body'],
        ...(body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)
          ? { duplex: 'half' }
          : {}),
      });
      const text = await res.text();
      return {
        status: res.status,
        header: (name) => res.headers.get(name),
        headerAll: (name) =>
          name.toLowerCase() === 'set-cookie'
            ? res.headers.getSetCookie()
            : res.headers.has(name)
              ? [res.headers.get(name)!]
              : [],
        text,
      };
    },
  };
}

/** Registers `title` twice: through the TestClient and through a real server. */
export function bothWays(title: string, run: (t: ExecutionContext, open: Open) => Promise<void>): void {
  test(`${title} (TestClient)`, (t) => run(t, (app, options) => openTestClient(app, options)));
  test(`${title} (server)`, (t) => run(t, (app) => openServer(t, app)));
}

/** Registers `title` through a real server only (what the TestClient cannot show: timing, aborts). */
export function serverOnly(
  title: string,
  run: (t: ExecutionContext, open: (app: ASGIApp) => Promise<ServerClient>) => Promise<void>,
): void {
  test(`${title} (server)`, (t) => run(t, (app) => openServer(t, app)));
}

/** A promise with its resolver, for handlers that wait on the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Bytes counted as they are produced, in `chunk`-sized pieces. */
export function upload(
  total: number,
  chunk: number,
): { body: AsyncIterable<Uint8Array>; produced: () => number } {
  let produced = 0;
  const piece = new Uint8Array(chunk).map((_, i) => i % 251);
  async function* body() {
    while (produced < total) {
      produced += chunk;
      yield piece;
    }
  }
  return { body: body(), produced: () => produced };
}

/** How `drive` feeds and records an app. */
export interface DriveOptions {
  url?: string;
  method?: string;
  scheme?: string;
  /** Answers each send in place of the default (which records, and may hold body messages). */
  send?: (message: SendMessage) => Promise<void>;
  headers?: [string, string][];
  incoming?: ReceiveMessage[];
  hold?: Promise<ReceiveMessage>;
  blockSends?: boolean;
}

/**
 * Drives an adapter at the ASGI level: `receive` hands out `incoming` then waits for `hold`, and
 * `send` records (and, while `blockSends` holds, leaves body messages pending until released).
 */
export function drive(app: ASGIFunction, options: DriveOptions = {}) {
  const scope = makeScope(options.url ?? '/', {
    method: options.method ?? 'GET',
    headers: options.headers,
    scheme: options.scheme,
  });
  const incoming = [
    ...(options.incoming ?? [{ type: 'http.request', body: new Uint8Array(0), more_body: false }]),
  ];
  let receives = 0;
  const sent: SendMessage[] = [];
  const pending: (() => void)[] = [];
  let hold = options.hold;
  const receive = () => {
    receives++;
    const next = incoming.shift();
    if (next) return Promise.resolve(next);
    // `hold` answers one call; after it, the request waits for ever, as a connection left open does.
    const held = hold ?? new Promise<ReceiveMessage>(() => {});
    hold = undefined;
    return held;
  };
  const send = (message: SendMessage) => {
    sent.push(message);
    if (options.send) return options.send(message);
    if (options.blockSends && message.type === 'http.response.body' && message.more_body)
      return new Promise<void>((resolve) => pending.push(resolve));
    return Promise.resolve();
  };
  const done = app(scope, receive, send);
  return {
    done,
    sent,
    receives: () => receives,
    /** Releases every send waiting so far. */
    release: () => pending.splice(0).forEach((resolve) => resolve()),
    body: () =>
      Buffer.concat(
        sent.flatMap((m) => (m.type === 'http.response.body' && m.body ? [Buffer.from(m.body)] : [])),
      ).toString(),
  };
}
