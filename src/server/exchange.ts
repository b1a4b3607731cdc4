/**
 * What the HTTP and WebSocket exchanges share: the dispatcher they report to and the errors they
 * raise in the app. Internal.
 */
import type { NativeServer } from './native.ts';

/** The dispatcher as an exchange sees it (implemented by `Bridge`). */
export interface ExchangeHost {
  native: NativeServer;
  /** The exchange is over: later events for its id are dropped. */
  forget(id: number): void;
  /** Reports an error the app raised. */
  onError(error: unknown): void;
}

/** Raised in the app when it breaks the ASGI message order. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

/** Thrown by `send` once the peer is gone; a code like a socket error, so apps treat it as one. */
export class ClientDisconnected extends Error {
  override name = 'ClientDisconnected';
  readonly code = 'ECONNRESET';
}
