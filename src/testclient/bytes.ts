/** Byte and app-calling helpers shared by the TestClient's transports. */
import type { ASGIApp, BytesLike, HeaderLike, ReceiveMessage, Scope, SendMessage } from '../asgi.ts';

/** Calls either form of ASGI app. */
export function callApp(
  app: ASGIApp,
  scope: Scope,
  receive: () => Promise<ReceiveMessage>,
  send: (m: SendMessage) => Promise<void>,
): Promise<void> {
  return typeof app === 'function' ? app(scope, receive, send) : app.asgi(scope, receive, send);
}

export function toBytes(
  value: BytesLike | undefined | null,
  encoding: 'utf8' | 'latin1' = 'utf8',
): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value !== 'string') return value;
  return new Uint8Array(Buffer.from(value, encoding));
}

export function decodeHeaders(headers: Iterable<HeaderLike> | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of headers ?? []) {
    out.push([
      Buffer.from(toBytes(k, 'latin1')).toString('latin1'),
      Buffer.from(toBytes(v, 'latin1')).toString('latin1'),
    ]);
  }
  return out;
}
