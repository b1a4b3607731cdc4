/**
 * `proxyHeaders`: behind a trusted proxy, a request's scheme and client are the ones the proxy saw,
 * read from `X-Forwarded-Proto` and `X-Forwarded-For` (uvicorn's `ProxyHeadersMiddleware`). Applied
 * by `Bridge` to HTTP and WebSocket scopes alike. Internal.
 */
import type { HTTPScope, WebSocketScope } from '../asgi.ts';

/** Rewrites a scope's `scheme` and `client` in place when its peer is a trusted proxy. */
export type ProxyRewrite = (scope: HTTPScope | WebSocketScope) => void;

const SCHEMES = new Set(['http', 'https', 'ws', 'wss']);

/**
 * The rewrite for `trusted` (addresses, or `*` for any peer), as `forwardedAllowIps` or the
 * `FORWARDED_ALLOW_IPS` environment variable give them.
 */
export function trustedProxy(trusted: string | string[]): ProxyRewrite {
  const allowed = new Set((Array.isArray(trusted) ? trusted : trusted.split(',')).map((s) => s.trim()));
  const any = allowed.has('*');
  const isTrusted = (host: string | undefined) => any || (host !== undefined && allowed.has(host));
  return (scope) => {
    if (!isTrusted(scope.client?.[0])) return;
    let proto: string | undefined;
    let forwardedFor: string | undefined;
    for (const [name, value] of scope.headers) {
      const key = Buffer.from(name).toString('latin1');
      if (key === 'x-forwarded-proto') proto = Buffer.from(value).toString('latin1');
      else if (key === 'x-forwarded-for') {
        const hops = Buffer.from(value).toString('latin1');
        forwardedFor = forwardedFor === undefined ? hops : `${forwardedFor}, ${hops}`;
      }
    }
    if (proto !== undefined) {
      proto = proto.trim().toLowerCase();
      if (SCHEMES.has(proto)) {
        scope.scheme = scope.type === 'websocket' ? proto.replace('http', 'ws') : proto;
      }
    }
    if (forwardedFor !== undefined) {
      const client = clientOf(forwardedFor, any ? undefined : isTrusted);
      if (client[0]) scope.client = client;
    }
  };
}

/**
 * The client in an `X-Forwarded-For` chain: each proxy appends the address it saw, so it is the
 * last hop that is not a trusted proxy, or the first hop when all are (or when any peer is trusted).
 */
function clientOf(chain: string, isTrusted?: (host: string) => boolean): [string, number] {
  const hops = chain.split(',').map((hop) => hostPort(hop.trim()));
  if (isTrusted) {
    for (let i = hops.length - 1; i >= 0; i--) if (!isTrusted(hops[i]![0])) return hops[i]!;
  }
  return hops[0]!;
}

/** `host`, `host:port` or `[v6]:port`, as uvicorn reads a hop; anything odd is a host without port. */
function hostPort(hop: string): [string, number] {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    if (end < 0) return [hop, 0];
    const rest = hop.slice(end + 1);
    if (rest === '') return [hop.slice(1, end), 0];
    if (!rest.startsWith(':')) return [hop, 0];
    return [hop.slice(1, end), Math.max(port(rest.slice(1)), 0)];
  }
  const colon = hop.indexOf(':');
  if (colon < 0 || colon !== hop.lastIndexOf(':')) return [hop, 0];
  const number = port(hop.slice(colon + 1));
  return number < 0 ? [hop, 0] : [hop.slice(0, colon), number];
}

/** A decimal port, or -1. */
function port(digits: string): number {
  return /^\d{1,5}$/.test(digits) ? Number(digits) : -1;
}
