/**
 * What a wrapped handler takes from the scope: the request target below the mount, as the client
 * spelled it. Scopes other than HTTP are refused, as Starlette's WSGIMiddleware refuses them.
 */
import type { HTTPScope, Receive, Scope, Send } from '../../asgi.ts';
import { getRoutePath, quote, unquote } from '../../_utils.ts';
import { requestHeader } from '../_helpers.ts';
import { toHeaderString } from '../../_utils.ts';

/** Where a request points, split at the mount, each part percent-encoded as the client sent it. */
export interface Target {
  /** The path below the mount plus the query: Node's `req.url` for an app mounted there. */
  url: string;
  /** The mount's prefix (the scope's `root_path`): Express's `req.baseUrl`. */
  base: string;
  /** The whole target: Express's `req.originalUrl`. */
  original: string;
}

// RFC 3986 `pchar`s beside the unreserved ones: what a path keeps unescaped.
const PATH_SAFE = "/!$&'()*+,;=:@";

/** Splits the scope's `raw_path` at `root_path`, so that escapes like `%20` or `%2F` reach the app intact. */
export function requestTarget(scope: HTTPScope): Target {
  const root = scope.root_path ?? '';
  // '' for the bare prefix (`/legacy` under `Mount('/legacy')`), which the mounted app sees as `/`.
  const below = getRoutePath(scope);
  const raw = scope.raw_path?.byteLength ? toHeaderString(scope.raw_path) : '';
  const at = splitAt(raw, below);
  let base = quote(root, PATH_SAFE);
  let path = below === '' ? '' : quote(below, PATH_SAFE);
  if (at !== -1) {
    const head = raw.slice(0, at);
    if (head === root || unquote(head) === root) base = head;
    path = raw.slice(at);
  }
  const query = scope.query_string?.byteLength ? '?' + toHeaderString(scope.query_string) : '';
  return { url: (path || '/') + query, base, original: base + path + query };
}

/** Where in `raw` the part spelling `below` starts, or -1 when no suffix of `raw` decodes to it. */
function splitAt(raw: string, below: string): number {
  if (raw === '') return -1;
  if (below === '') return raw.length;
  if (raw === below) return 0;
  for (let at = raw.indexOf('/'); at !== -1; at = raw.indexOf('/', at + 1)) {
    const tail = raw.slice(at);
    if (tail === below || unquote(tail) === below) return at;
  }
  return -1;
}

/**
 * Whether the request announces a body. One that does not is received before the handler runs (it
 * arrives with the head); one that does is not waited for, since a client may hold its body back
 * until it sees the response begin.
 */
export function declaresBody(scope: HTTPScope): boolean {
  const length = requestHeader(scope, 'content-length');
  if (length !== undefined && length !== '0') return true;
  return requestHeader(scope, 'transfer-encoding') !== undefined;
}

/**
 * Answers a scope a Node or fetch handler cannot serve: a WebSocket handshake is denied (403), and a
 * lifespan scope returns at once, which servers read as "no lifespan here".
 */
export async function refuse(scope: Scope, _receive: Receive, send: Send): Promise<void> {
  if (scope.type === 'websocket') await send({ type: 'websocket.close', code: 1000 });
}
