/**
 * ASGI scopes from `Request` records: the request line, headers and addresses are spans of the
 * batch string (layout in wire.ts). Internal; used by `Bridge`.
 */
import type { HTTPScope, WebSocketScope } from '../asgi.ts';
import { ASGI_VERSIONS, latin1Encode, unquote } from '../_utils.ts';
import { headerValues, lazyHeaders, ownCopy, type RawHeaders } from './headers.ts';
import { Request, RequestFlag } from './wire.ts';

const EMPTY = new Uint8Array(0);
/** By the two version bits of `Request.flags`. */
const VERSIONS = ['1.0', '1.1', '2'];

/** The value of an extension the core announces: nothing to configure (shared, so frozen). */
const SUPPORTED = Object.freeze({}) as Record<string, never>;

/** The client, server and scheme of a connection. */
interface Addresses {
  /** The connection's serial (`Request.conn`). */
  conn: number;
  /** Frozen: every request of the connection shares them. */
  client: [string, number] | null;
  server: [string, number] | null;
  scheme: string;
}

/**
 * The addresses of recent connections, by serial modulo the size: a connection's requests all carry
 * the same addresses, so they are parsed on its first request only. Two live connections whose
 * serials collide here only cost each other a parse.
 */
const recent: (Addresses | undefined)[] = new Array<Addresses | undefined>(1024);

/** The addresses of the record at `meta[i]`: those kept for its connection, or parsed now. */
function addressesOf(meta: Uint32Array, i: number, strs: string): Addresses {
  const conn = meta[i + Request.conn]!;
  const slot = conn & (recent.length - 1);
  const kept = recent[slot];
  if (kept !== undefined && kept.conn === conn) return kept;
  return (recent[slot] = addresses(conn, strs, meta[i + Request.addrsAt]!, meta[i + Request.addrsLen]!));
}

/**
 * Parses the `Request.addrs` span: client host, client port, server host, server port and scheme,
 * `\0`-separated in the order crates/node/src/encode.rs writes them (an unknown address is two empty
 * parts). Found with `indexOf` in the batch string: cheaper than slicing the span and splitting it.
 */
function addresses(conn: number, strs: string, at: number, len: number): Addresses {
  const clientPort = strs.indexOf('\0', at) + 1;
  const serverHost = strs.indexOf('\0', clientPort) + 1;
  const serverPort = strs.indexOf('\0', serverHost) + 1;
  const scheme = strs.indexOf('\0', serverPort) + 1;
  return {
    conn,
    client: address(strs, at, clientPort, serverHost),
    server: address(strs, serverHost, serverPort, scheme),
    scheme: strs.slice(scheme, at + len),
  };
}

/** `[host, port]` from the parts at `host` and `port` (each ends with `\0` before `end`), or `null`. */
function address(strs: string, host: number, port: number, end: number): [string, number] | null {
  if (port - 1 === host) return null;
  // The core writes the port in decimal digits: read them without making a string.
  let number = 0;
  for (let i = port; i < end - 1; i++) number = number * 10 + strs.charCodeAt(i) - 48;
  return Object.freeze([strs.slice(host, port - 1), number]) as [string, number];
}

/**
 * The method of a request, as the same string object every time for the common ones: routes look
 * methods up in `Set`s, and a string made afresh per request is hashed and compared character by
 * character there, where a literal's hash is kept and compares by identity.
 */
function methodOf(strs: string, at: number, len: number): string {
  switch (strs.charCodeAt(at)) {
    case 71: // G
      if (len === 3 && strs.startsWith('GET', at)) return 'GET';
      break;
    case 80: // P
      if (len === 4 && strs.startsWith('POST', at)) return 'POST';
      if (len === 3 && strs.startsWith('PUT', at)) return 'PUT';
      if (len === 5 && strs.startsWith('PATCH', at)) return 'PATCH';
      break;
    case 72: // H
      if (len === 4 && strs.startsWith('HEAD', at)) return 'HEAD';
      break;
    case 68: // D
      if (len === 6 && strs.startsWith('DELETE', at)) return 'DELETE';
      break;
    case 79: // O
      if (len === 7 && strs.startsWith('OPTIONS', at)) return 'OPTIONS';
      break;
  }
  return strs.slice(at, at + len);
}

/**
 * `raw` with its text copied out of the batch's string: a WebSocket's scope lives as long as the
 * socket, and a slice would keep the whole batch's string (every request of that batch) alive.
 */
function ownHeaders(raw: RawHeaders): RawHeaders {
  return { strs: ownCopy(raw.strs.slice(raw.at, raw.at + raw.len)), at: 0, len: raw.len };
}

/**
 * What a request path gives its scope: the decoded `path` and the `raw_path` bytes. The core names
 * the paths of recent requests by slot (crates/node/src/paths.rs), and the bridge keeps one of
 * these per slot, so the requests of a path share them: a Buffer costs some 500 instructions to
 * make, hashing a fresh path string to look it up some 200. The bytes are shared as Python's
 * immutable `bytes` would be: `raw_path` is read, or replaced, never written into.
 */
export interface PathParts {
  readonly path: string;
  readonly rawPath: Uint8Array;
}

/** The path parts of the request whose record starts at `meta[i]`, made from its text. */
export function pathParts(meta: Uint32Array, i: number, strs: string): PathParts {
  const pathAt = meta[i + Request.pathAt]!;
  // A string of its own: a slice would keep the whole batch string alive.
  const rawPath = ownCopy(strs.slice(pathAt, pathAt + meta[i + Request.pathLen]!));
  return { path: unquote(rawPath), rawPath: latin1Encode(rawPath) };
}

/** The header span of the request record at `meta[i]`. */
function headersOf(meta: Uint32Array, i: number, strs: string): RawHeaders {
  return { strs, at: meta[i + Request.headersAt]!, len: meta[i + Request.headersLen]! };
}

/** The scope of the HTTP request whose record starts at `meta[i]`; headers are parsed when first read. */
export function httpScope(
  meta: Uint32Array,
  i: number,
  strs: string,
  rootPath: string,
  state: Record<string, unknown>,
  { path, rawPath }: PathParts = pathParts(meta, i, strs),
): HTTPScope {
  const flags = meta[i + Request.flags]!;
  const methodAt = meta[i + Request.methodAt]!;
  const queryAt = meta[i + Request.queryAt]!;
  const query = strs.slice(queryAt, queryAt + meta[i + Request.queryLen]!);
  const addrs = addressesOf(meta, i, strs);
  return {
    type: 'http',
    asgi: ASGI_VERSIONS,
    http_version: VERSIONS[(flags >> RequestFlag.versionShift) & 3] ?? '1.1',
    method: methodOf(strs, methodAt, meta[i + Request.methodLen]!),
    scheme: addrs.scheme || 'http',
    path: rootPath ? rootPath + path : path,
    raw_path: rawPath,
    query_string: query ? latin1Encode(query) : EMPTY,
    root_path: rootPath,
    headers: lazyHeaders(headersOf(meta, i, strs)),
    client: addrs.client,
    server: addrs.server,
    state: { ...state },
    // What the core supports; a new object per scope (a literal costs a few ns), as an app or
    // middleware may announce an extension of its own in it.
    extensions: {
      'http.response.pathsend': SUPPORTED,
      // GZipMiddleware marks responses and the core compresses them (crates/core/src/compress.rs).
      'starling.compression': SUPPORTED,
    },
  };
}

/** The scope of the WebSocket handshake whose record starts at `meta[i]`; headers as for HTTP. */
export function websocketScope(
  meta: Uint32Array,
  i: number,
  strs: string,
  rootPath: string,
  state: Record<string, unknown>,
  { path, rawPath }: PathParts = pathParts(meta, i, strs),
): WebSocketScope {
  const queryAt = meta[i + Request.queryAt]!;
  const query = strs.slice(queryAt, queryAt + meta[i + Request.queryLen]!);
  const addrs = addressesOf(meta, i, strs);
  const raw = ownHeaders(headersOf(meta, i, strs));
  const offered = headerValues(raw, 'sec-websocket-protocol')
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  return {
    type: 'websocket',
    asgi: ASGI_VERSIONS,
    http_version: '1.1',
    scheme: addrs.scheme === 'https' ? 'wss' : 'ws',
    path: rootPath ? rootPath + path : path,
    raw_path: rawPath,
    query_string: query ? latin1Encode(query) : EMPTY,
    root_path: rootPath,
    // Kept lazy for the socket's whole life: an idle WebSocket that never reads its headers holds
    // no parsed copy of them (about 1.5 KiB of byte arrays).
    headers: lazyHeaders(raw),
    client: addrs.client,
    server: addrs.server,
    subprotocols: offered,
    state: { ...state },
    // A new object per scope, as for HTTP.
    extensions: { 'websocket.http.response': SUPPORTED },
  };
}
