/**
 * Errors an app throws to produce a response: HTTPException (an HTTP error response) and
 * WebSocketException (closes the socket with a code).
 */
import { statusPhrase } from './status.ts';

/**
 * Thrown to answer with an HTTP error. `detail` defaults to the status phrase (`'Not Found'`).
 *
 * @example
 * ```ts
 * throw new HTTPException(404);
 * throw new HTTPException(401, { detail: 'Login first', headers: { 'WWW-Authenticate': 'Bearer' } });
 * ```
 */
export class HTTPException extends Error {
  readonly statusCode: number;
  readonly detail: string;
  readonly headers: Record<string, string> | null;

  constructor(
    statusCode: number,
    options: { detail?: string | null; headers?: Record<string, string> | null } = {},
  ) {
    const detail = options.detail ?? statusPhrase(statusCode);
    super(`${statusCode}: ${detail}`);
    this.name = 'HTTPException';
    this.statusCode = statusCode;
    this.detail = detail;
    this.headers = options.headers ?? null;
  }

  override toString(): string {
    return `${this.statusCode}: ${this.detail}`;
  }
}

/**
 * Thrown in a WebSocket handler to close the connection with `code` and `reason`.
 *
 * @example
 * ```ts
 * throw new WebSocketException(status.WS_1008_POLICY_VIOLATION, 'Not allowed');
 * ```
 */
export class WebSocketException extends Error {
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason?: string | null) {
    super(`${code}: ${reason ?? ''}`);
    this.name = 'WebSocketException';
    this.code = code;
    this.reason = reason ?? '';
  }

  override toString(): string {
    return `${this.code}: ${this.reason}`;
  }
}
