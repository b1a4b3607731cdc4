/**
 * The ASGI contract, spelled for TypeScript: scopes, messages, `receive`, `send` and apps.
 *
 * Types only. Every message is a member of a discriminated union on `type`, with the field names of the
 * ASGI specification (`more_body`, `status`, `headers`, `subprotocol`, `code`, `reason`), so an app that
 * sends a wrong field does not compile.
 *
 * @example
 * ```ts
 * import type { Scope, Receive, Send } from 'starlingjs';
 * export async function app(scope: Scope, receive: Receive, send: Send) {
 *   if (scope.type !== 'http') return;
 *   await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
 *   await send({ type: 'http.response.body', body: 'Hello, world!' });
 * }
 * ```
 */

/** Bytes as they cross the contract. */
export type Bytes = Uint8Array;

/** What an app may send where bytes are expected: bytes, or a string (UTF-8 for bodies, latin1 for headers). */
export type BytesLike = Uint8Array | string;

/** A header as received: lower-case name and value, both bytes. */
export type RawHeader = [name: Bytes, value: Bytes];

/** A header as an app may send it. */
export type HeaderLike = [name: BytesLike, value: BytesLike];

/** `[host, port]` of a client or server, or `null` when unknown (a Unix socket). */
export type ScopeAddress = [host: string, port: number] | null;

/** The spec version block shared by every scope. */
export interface ASGIVersions {
  readonly version: string;
  readonly spec_version: string;
}

/** Extensions the server supports, announced in every scope. An empty object means "supported". */
export interface Extensions {
  'http.response.pathsend'?: Record<string, never>;
  'http.response.trailers'?: Record<string, never>;
  'http.response.zerocopysend'?: Record<string, never>;
  'websocket.http.response'?: Record<string, never>;
  [name: string]: Record<string, unknown> | undefined;
}

interface ConnectionScope {
  asgi: ASGIVersions;
  http_version: string;
  scheme: string;
  /** The percent-decoded path, without `root_path`'s prefix removed (as in ASGI 3). */
  path: string;
  raw_path: Bytes;
  query_string: Bytes;
  root_path: string;
  headers: RawHeader[];
  client: ScopeAddress;
  server: ScopeAddress;
  /** A copy of the lifespan state, per request. */
  state?: Record<string, unknown>;
  extensions?: Extensions;
  /** Frameworks store their own keys on the scope (`app`, `router`, `endpoint`, `path_params`, ...). */
  [key: string]: unknown;
}

/** The scope of one HTTP request. */
export interface HTTPScope extends ConnectionScope {
  type: 'http';
  method: string;
}

/** The scope of one WebSocket connection. */
export interface WebSocketScope extends ConnectionScope {
  type: 'websocket';
  subprotocols: string[];
}

/** The scope of the application's lifespan. */
export interface LifespanScope {
  type: 'lifespan';
  asgi: ASGIVersions;
  state?: Record<string, unknown>;
  [key: string]: unknown;
}

export type Scope = HTTPScope | WebSocketScope | LifespanScope;

// ---- HTTP ----------------------------------------------------------------------------------------

export interface HTTPRequestEvent {
  type: 'http.request';
  body: Bytes;
  more_body: boolean;
}

export interface HTTPDisconnectEvent {
  type: 'http.disconnect';
}

export interface HTTPResponseStartEvent {
  type: 'http.response.start';
  status: number;
  headers?: Iterable<HeaderLike>;
  trailers?: boolean;
}

export interface HTTPResponseBodyEvent {
  type: 'http.response.body';
  body?: BytesLike;
  more_body?: boolean;
}

export interface HTTPResponseTrailersEvent {
  type: 'http.response.trailers';
  headers?: Iterable<HeaderLike>;
  more_trailers?: boolean;
}

/** The `http.response.pathsend` extension: the server sends the file at `path` as the body. */
export interface HTTPResponsePathsendEvent {
  type: 'http.response.pathsend';
  path: string;
}

// ---- WebSocket -----------------------------------------------------------------------------------

export interface WebSocketConnectEvent {
  type: 'websocket.connect';
}

export interface WebSocketReceiveEvent {
  type: 'websocket.receive';
  bytes?: Bytes | null;
  text?: string | null;
}

export interface WebSocketDisconnectEvent {
  type: 'websocket.disconnect';
  code: number;
  reason?: string | null;
}

export interface WebSocketAcceptEvent {
  type: 'websocket.accept';
  subprotocol?: string | null;
  headers?: Iterable<HeaderLike>;
}

export interface WebSocketSendEvent {
  type: 'websocket.send';
  bytes?: BytesLike | null;
  text?: string | null;
}

export interface WebSocketCloseEvent {
  type: 'websocket.close';
  code?: number;
  reason?: string | null;
}

/** `websocket.http.response.start`: deny the handshake with an HTTP response. */
export interface WebSocketResponseStartEvent {
  type: 'websocket.http.response.start';
  status: number;
  headers?: Iterable<HeaderLike>;
}

export interface WebSocketResponseBodyEvent {
  type: 'websocket.http.response.body';
  body?: BytesLike;
  more_body?: boolean;
}

// ---- Lifespan ------------------------------------------------------------------------------------

export interface LifespanStartupEvent {
  type: 'lifespan.startup';
}
export interface LifespanShutdownEvent {
  type: 'lifespan.shutdown';
}
export interface LifespanStartupCompleteEvent {
  type: 'lifespan.startup.complete';
}
export interface LifespanStartupFailedEvent {
  type: 'lifespan.startup.failed';
  message?: string;
}
export interface LifespanShutdownCompleteEvent {
  type: 'lifespan.shutdown.complete';
}
export interface LifespanShutdownFailedEvent {
  type: 'lifespan.shutdown.failed';
  message?: string;
}

// ---- Unions --------------------------------------------------------------------------------------

export type HTTPReceiveMessage = HTTPRequestEvent | HTTPDisconnectEvent;
export type HTTPSendMessage =
  HTTPResponseStartEvent | HTTPResponseBodyEvent | HTTPResponseTrailersEvent | HTTPResponsePathsendEvent;

export type WebSocketReceiveMessage =
  WebSocketConnectEvent | WebSocketReceiveEvent | WebSocketDisconnectEvent;
export type WebSocketSendMessage =
  | WebSocketAcceptEvent
  | WebSocketSendEvent
  | WebSocketCloseEvent
  | WebSocketResponseStartEvent
  | WebSocketResponseBodyEvent;

export type LifespanReceiveMessage = LifespanStartupEvent | LifespanShutdownEvent;
export type LifespanSendMessage =
  | LifespanStartupCompleteEvent
  | LifespanStartupFailedEvent
  | LifespanShutdownCompleteEvent
  | LifespanShutdownFailedEvent;

export type ReceiveMessage = HTTPReceiveMessage | WebSocketReceiveMessage | LifespanReceiveMessage;
export type SendMessage = HTTPSendMessage | WebSocketSendMessage | LifespanSendMessage;

/** Awaits the next message from the server. */
export type Receive = () => Promise<ReceiveMessage>;
/** Sends one message to the server; resolves when the server can take more. */
export type Send = (message: SendMessage) => Promise<void>;

/** An ASGI application: a function of scope, receive and send. */
export type ASGIFunction = (scope: Scope, receive: Receive, send: Send) => Promise<void>;

/** An object that is an ASGI application (Starling, Router, middleware, responses...). */
export interface ASGIObject {
  asgi(scope: Scope, receive: Receive, send: Send): Promise<void>;
}

/** Every place that takes an app accepts either form. */
export type ASGIApp = ASGIFunction | ASGIObject;
