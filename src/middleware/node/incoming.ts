/**
 * The `IncomingMessage` a wrapped Node handler gets: a real one (Express swaps its prototype for its
 * own, which inherits from Node's), filled from the scope, its body read from `receive()` on demand.
 */
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { HTTPScope } from '../../asgi.ts';
import { toHeaderString } from '../../_utils.ts';
import { BodySource, GONE } from './body.ts';
import type { ScopeSocket } from './socket.ts';
import type { Target } from './scope.ts';

/** Node's own header joining (`set-cookie` an array, `cookie` joined by `; `, others by `, `). */
interface HeaderLines {
  _addHeaderLines(headers: string[], n: number): void;
}

/**
 * Builds the request. Own properties, not subclass methods, carry what differs from Node's (`_read`),
 * since Express replaces the prototype; Express keeps `originalUrl` and `baseUrl` when set, so a
 * mounted Express app behaves as an Express sub-app does.
 */
export function incomingMessage(scope: HTTPScope, socket: ScopeSocket, target: Target): IncomingMessage {
  const req = new IncomingMessage(socket as unknown as Socket);
  req.method = scope.method;
  req.url = target.url;
  Object.assign(req, { originalUrl: target.original, baseUrl: target.base });
  const version = scope.http_version === '2' ? '2.0' : scope.http_version || '1.1';
  const [major, minor] = version.split('.').map(Number);
  req.httpVersion = version;
  req.httpVersionMajor = major ?? 1;
  req.httpVersionMinor = minor ?? 0;
  const raw: string[] = [];
  for (const [name, value] of scope.headers) raw.push(toHeaderString(name), toHeaderString(value));
  // Sets `rawHeaders` and lets `headers` and `headersDistinct` be built lazily, exactly as Node does.
  (req as unknown as HeaderLines)._addHeaderLines(raw, raw.length);
  return req;
}

/**
 * Feeds `req` from `source`: each `_read` pulls messages until `push` says the buffer is full, so
 * the client is read no faster than the handler reads (`receive()` is only called on demand).
 * Resolves once the first message is in; a body complete with it (every GET) is pushed whole by
 * then, so the handler finds `req.complete` set, as Node's parser sets it before calling the handler.
 */
export async function feedBody(req: IncomingMessage, source: BodySource): Promise<void> {
  let wanted = false;
  let pulling = false;
  const pull = async () => {
    pulling = true;
    try {
      while (wanted && !req.destroyed) {
        wanted = false;
        const chunk = await source.read();
        if (req.destroyed || chunk === GONE) return;
        if (chunk === null) {
          req.complete = true;
          req.push(null);
          return;
        }
        // `push` may call `_read` again from inside (a 'data' listener reading): `wanted` catches it.
        if (req.push(chunk)) wanted = true;
      }
    } catch (error) {
      req.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      pulling = false;
    }
  };
  req._read = () => {
    wanted = true;
    if (!pulling) void pull();
  };
  try {
    await source.prime();
  } catch {
    return; // the first read meets the same error and destroys `req` with it
  }
  if (!source.complete || pulling) return;
  // Only what `prime()` holds is read: no further `receive()` happens once the body is complete.
  wanted = true;
  await pull();
}
