/**
 * A minimal in-process ASGI driver for tests of ASGI-level components: builds a scope, feeds the request
 * body, and collects what the app sends. Kept independent of TestClient so middleware tests run alone.
 */
import type { ASGIApp, HTTPScope, ReceiveMessage, Scope, SendMessage, WebSocketScope } from '../src/asgi.ts';

export interface CallOptions {
  method?: string;
  headers?: Record<string, string> | [string, string][];
  body?: string | Uint8Array | (string | Uint8Array)[];
  scheme?: string;
  type?: 'http' | 'websocket';
  rootPath?: string;
  server?: [string, number] | null;
  extensions?: Record<string, Record<string, unknown>>;
  scope?: Record<string, unknown>;
}

export interface CallResult {
  status: number;
  headers: [string, string][];
  header(name: string): string | undefined;
  headerAll(name: string): string[];
  body: Buffer;
  text: string;
  messages: SendMessage[];
  scope: Scope;
}

const bytes = (v: string | Uint8Array | undefined) =>
  v === undefined ? Buffer.alloc(0) : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v);

export function makeScope(url: string, options: CallOptions = {}): HTTPScope | WebSocketScope {
  const [rawPath, query = ''] = url.split('?', 2) as [string, string?];
  const path = decodeURIComponent(rawPath);
  const headerPairs = Array.isArray(options.headers)
    ? options.headers
    : Object.entries(options.headers ?? {});
  if (!headerPairs.some(([k]) => k.toLowerCase() === 'host')) headerPairs.unshift(['host', 'testserver']);
  const type = options.type ?? 'http';
  const base = {
    asgi: { version: '3.0', spec_version: '2.4' },
    http_version: '1.1',
    scheme: options.scheme ?? (type === 'http' ? 'http' : 'ws'),
    path: (options.rootPath ?? '') + path,
    raw_path: Buffer.from((options.rootPath ?? '') + rawPath),
    query_string: Buffer.from(query),
    root_path: options.rootPath ?? '',
    headers: headerPairs.map(
      ([k, v]) => [Buffer.from(k.toLowerCase(), 'latin1'), Buffer.from(v, 'latin1')] as [Buffer, Buffer],
    ),
    client: ['127.0.0.1', 50000] as [string, number],
    server: options.server === undefined ? (['testserver', 80] as [string, number]) : options.server,
    extensions: options.extensions ?? {},
    ...options.scope,
  };
  return type === 'http'
    ? { ...base, type, method: options.method ?? 'GET' }
    : { ...base, type, subprotocols: [] };
}

export async function call(app: ASGIApp, url = '/', options: CallOptions = {}): Promise<CallResult> {
  const scope = makeScope(url, options);
  const chunks = Array.isArray(options.body) ? options.body.map(bytes) : [bytes(options.body)];
  let sent = false;
  let index = 0;
  const receive = async (): Promise<ReceiveMessage> => {
    if (scope.type === 'websocket') {
      if (index++ === 0) return { type: 'websocket.connect' };
      return new Promise(() => {});
    }
    if (index < chunks.length) {
      const body = chunks[index]!;
      index++;
      return { type: 'http.request', body, more_body: index < chunks.length };
    }
    // After the body, a request only ends by disconnecting; wait until the response is out.
    await new Promise<void>((resolve) => {
      const poll = () => (sent ? resolve() : setTimeout(poll, 1));
      poll();
    });
    return { type: 'http.disconnect' };
  };
  const messages: SendMessage[] = [];
  const send = async (message: SendMessage) => {
    messages.push(message);
    if (
      (message.type === 'http.response.body' || message.type === 'websocket.http.response.body') &&
      !message.more_body
    )
      sent = true;
  };
  await (typeof app === 'function' ? app(scope, receive, send) : app.asgi(scope, receive, send));
  sent = true;
  return collect(scope, messages);
}

export function collect(scope: Scope, messages: SendMessage[]): CallResult {
  const start = messages.find(
    (m) => m.type === 'http.response.start' || m.type === 'websocket.http.response.start',
  ) as { status: number; headers?: Iterable<[string | Uint8Array, string | Uint8Array]> } | undefined;
  const headers: [string, string][] = [...(start?.headers ?? [])].map(([k, v]) => [
    (typeof k === 'string' ? k : Buffer.from(k).toString('latin1')).toLowerCase(),
    typeof v === 'string' ? v : Buffer.from(v).toString('latin1'),
  ]);
  const body = Buffer.concat(
    messages
      .filter((m) => m.type === 'http.response.body' || m.type === 'websocket.http.response.body')
      .map((m) => bytes((m as { body?: string | Uint8Array }).body)),
  );
  return {
    status: start?.status ?? 0,
    headers,
    header: (name) => headers.find(([k]) => k === name)?.[1],
    headerAll: (name) => headers.filter(([k]) => k === name).map(([, v]) => v),
    body,
    text: body.toString('utf8'),
    messages,
    scope,
  };
}

/** An app that answers every request with a fixed plain text body and optional extra headers. */
export function textApp(body = 'Homepage', status = 200, headers: [string, string][] = []) {
  return async (scope: Scope, _receive: unknown, send: (m: SendMessage) => Promise<void>) => {
    if (scope.type !== 'http') return;
    const bytes = Buffer.from(body);
    await send({
      type: 'http.response.start',
      status,
      headers: [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(bytes.length)],
        ...headers,
      ],
    });
    await send({ type: 'http.response.body', body: bytes });
  };
}
