/**
 * `maxBodySize` for apps, mounts and routes. The first layer with a limit wraps `receive` once and
 * leaves a mutable limit in the scope; inner layers only replace the number, so the innermost limit
 * wins even over a larger outer one (a route may accept more than its app). The declared
 * `content-length` is checked where the request reaches its endpoint; the bytes that arrive are counted
 * as they are read, so a chunked body fails the read that crosses the limit.
 */
import type { Receive, ReceiveMessage, Scope, Send } from './asgi.ts';
import { latin1Decode } from './_utils.ts';
import { HTTPException } from './exceptions.ts';
import { PlainTextResponse } from './responses.ts';

/** The scope key of the request's current body limit. */
export const BODY_LIMIT_KEY = 'starling.body_limit';

interface BodyLimit {
  max: number;
  received: number;
}

/** Validates a `maxBodySize` option (`null`/`undefined`: no limit). */
export function bodyLimitOption(size: number | null | undefined): number | null {
  if (size === null || size === undefined) return null;
  if (!Number.isSafeInteger(size) || size < 0)
    throw new TypeError(`maxBodySize must be a non-negative integer, got ${String(size)}`);
  return size;
}

function tooLarge(): HTTPException {
  return new HTTPException(413);
}

/** The request's declared `content-length`, or null when absent or unreadable. */
function declaredLength(scope: Scope): number | null {
  for (const [name, value] of (scope as { headers?: Iterable<[Uint8Array, Uint8Array]> }).headers ?? []) {
    if (name.length === 14 && latin1Decode(name).toLowerCase() === 'content-length') {
      const text = latin1Decode(value).trim();
      return /^\d+$/.test(text) ? Number(text) : null;
    }
  }
  return null;
}

/**
 * Sets `max` as the body limit of this request and returns the `receive` that enforces it: the given
 * one when an outer layer already counts the bytes, otherwise one that throws `HTTPException(413)`
 * once more than the limit has arrived (or the declared length is over it).
 */
export function limitBody(scope: Scope, receive: Receive, max: number): Receive {
  if (scope.type !== 'http') return receive;
  const existing = scope[BODY_LIMIT_KEY] as BodyLimit | undefined;
  if (existing !== undefined) {
    existing.max = max;
    return receive;
  }
  const limit: BodyLimit = { max, received: 0 };
  scope[BODY_LIMIT_KEY] = limit;
  let first = true;
  return async (): Promise<ReceiveMessage> => {
    if (first) {
      first = false;
      const declared = declaredLength(scope);
      if (declared !== null && declared > limit.max) throw tooLarge();
    }
    const message = await receive();
    if (message.type === 'http.request' && message.body) {
      limit.received += message.body.length;
      if (limit.received > limit.max) throw tooLarge();
    }
    return message;
  };
}

/**
 * At an endpoint: answers 413 (an `HTTPException` inside an app, so handlers see it) and returns true
 * when the declared length is over the request's limit.
 */
export async function rejectDeclaredTooLarge(scope: Scope, receive: Receive, send: Send): Promise<boolean> {
  const limit = scope[BODY_LIMIT_KEY] as BodyLimit | undefined;
  if (limit === undefined) return false;
  const declared = declaredLength(scope);
  if (declared === null || declared <= limit.max) return false;
  if ('app' in scope) throw tooLarge();
  await new PlainTextResponse('Content Too Large', { status: 413 }).asgi(scope, receive, send);
  return true;
}
