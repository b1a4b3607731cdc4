/**
 * Small internal helpers shared by every module: calling apps, byte/string conversions,
 * percent-encoding, media types. Each has its one home here; nothing else defines its own.
 *
 * Not part of the public API (never re-exported from `index.ts`).
 */
import type { ASGIApp, ASGIFunction, ASGIVersions, BytesLike, Receive, Scope, Send } from './asgi.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/**
 * `scope.asgi` of every scope Starling makes (the server's, the TestClient's, the lifespan's): one
 * frozen object, shared.
 */
export const ASGI_VERSIONS: ASGIVersions = Object.freeze({ version: '3.0', spec_version: '2.4' });

/**
 * A promise that is already resolved, handed back by whatever finished its work at once: the server's
 * `send` when it took a message synchronously, and the framework's layers (responses, routes, the
 * router, the error and exception middleware) when everything inside them did. Awaiting it would only
 * yield a microtask, so a caller that gets this very object back goes on without awaiting: a request
 * whose every step completes synchronously then runs without a single promise reaction. Anything else
 * (another promise, a thenable) is awaited as before; the order of messages never changes.
 */
export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The outcome of calling an app, as a promise: `RESOLVED` when it finished synchronously (it returned
 * `RESOLVED`, or no promise at all, as `await` would have treated it).
 */
export function outcome(result: unknown): Promise<void> {
  if (result === RESOLVED || result instanceof Promise) return result as Promise<void>;
  if (isThenable(result)) return Promise.resolve(result as PromiseLike<void>);
  return RESOLVED;
}

/** True for a promise or any other object with a `then` method, as `await` treats it. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

// Three ways to reach an app: `toASGIFunction` once, where an app is stored; `dualApp` where a
// middleware stores the app it wraps (callable both ways); and `callApp` where one is called without
// having been stored (a response an endpoint returned, an app a test hands over).

/**
 * Calls an app in either form (function or object with `.asgi`) as an `async` function would: a
 * synchronous throw becomes a rejection, and the result is `RESOLVED` when the app finished
 * synchronously. Builds no wrapper, so it serves hot paths.
 */
export function callApp(app: ASGIApp, scope: Scope, receive: Receive, send: Send): Promise<void> {
  try {
    if (typeof app === 'function') return outcome(app(scope, receive, send));
    if (isASGIApp(app)) return outcome(app.asgi(scope, receive, send));
    return outcome(toASGIFunction(app)(scope, receive, send)); // throws its TypeError
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Turns an app in either form (function or object with `.asgi`) into a plain ASGI function. */
export function toASGIFunction(app: ASGIApp): ASGIFunction {
  if (typeof app === 'function') return app;
  if (app !== null && typeof app === 'object' && typeof app.asgi === 'function') {
    return (scope, receive, send) => app.asgi(scope, receive, send);
  }
  throw new TypeError('Expected an ASGI app: a function (scope, receive, send) or an object with .asgi');
}

/** An app that is both forms at once: callable, and with `.asgi`. */
export type ASGIDual = ASGIFunction & { asgi: ASGIFunction };

/**
 * Gives middleware an app it can call either way (`this.app(...)` or `this.app.asgi(...)`), so
 * middleware written for Starlette's callable apps and for `.asgi` objects both work.
 */
export function dualApp(app: ASGIApp): ASGIDual {
  if (typeof app === 'function' && typeof (app as Partial<ASGIDual>).asgi === 'function')
    return app as ASGIDual;
  // One hop to the app (not a wrapper calling `toASGIFunction`'s wrapper): this runs on every request.
  let dual: ASGIDual;
  if (typeof app === 'function') dual = ((scope, receive, send) => app(scope, receive, send)) as ASGIDual;
  else {
    toASGIFunction(app); // throws the usual TypeError for something that is not an app
    dual = ((scope, receive, send) => app.asgi(scope, receive, send)) as ASGIDual;
  }
  dual.asgi = dual;
  return dual;
}

/** True when `value` is an ASGI app in either form. */
export function isASGIApp(value: unknown): value is ASGIApp {
  if (typeof value === 'function') return true;
  return (
    value !== null && typeof value === 'object' && typeof (value as { asgi?: unknown }).asgi === 'function'
  );
}

/** Strings up to this many characters are encoded in JS: `TextEncoder` costs more than the copy. */
const SHORT = 64;

/**
 * Short bodies are carved out of a shared 8 KiB `ArrayBuffer`, as Node's `Buffer.allocUnsafe` does from
 * its pool. A small `new Uint8Array(n)` would live on V8's heap, and the first native call that reads
 * it (the server's `respondBytes`) must then give it memory of its own: an allocation, a copy and a
 * backing store for the GC to sweep, per response.
 */
const SLAB_BYTES = 8192;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function slabBytes(n: number): Uint8Array {
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const bytes = new Uint8Array(slab, slabUsed, n);
  // Views start 8-byte aligned, as Buffer's pool keeps them.
  slabUsed = (slabUsed + n + 7) & ~7;
  return bytes;
}

/** UTF-8 encodes a string. */
export function utf8Encode(s: string): Uint8Array {
  const n = s.length;
  if (n > SHORT) return encoder.encode(s);
  // One pass, copying while the text is ASCII; past it, the slab's few bytes are left unused.
  const out = slabBytes(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Encodes a string as latin-1 (one byte per code unit; code points above 0xFF are truncated like Node's
 * 'latin1'), into the same pooled Buffer memory `Buffer.from` would use.
 */
export function latin1Encode(s: string): Uint8Array {
  const n = s.length;
  if (n > 64) return Buffer.from(s, 'latin1');
  // Short strings (paths, most header lines) copied in JS: cheaper than Buffer.from's native write.
  const bytes = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

// Header bytes that recur on every response (names, media types, short lengths), encoded once and
// shared; `latin1Decode` knows their text without decoding them. Bounded, so that an app inventing
// header strings cannot grow them: past the bound, strings are encoded afresh each time.
const interned = new Map<string, Uint8Array>();
const INTERNED_MAX = 2048;
/**
 * The text an interned array came from, kept on the array itself: every response header passes through
 * here, and a property load costs a fraction of a `WeakMap` lookup.
 */
const INTERNED_TEXT = Symbol('starling.internedText');
type Interned = Uint8Array & { [INTERNED_TEXT]?: string };

/**
 * The latin-1 bytes of a header string, shared by every caller asking for the same string (while the
 * table has room). The array must never be written to; header lists replace pairs, never bytes.
 */
export function internLatin1(s: string): Uint8Array {
  let bytes = interned.get(s);
  if (bytes === undefined) {
    bytes = latin1Encode(s);
    // Only strings that survive the round trip: a code point above 0xFF is truncated by latin1Encode.
    if (interned.size < INTERNED_MAX && !/[^\x00-\xff]/.test(s)) {
      interned.set(s, bytes);
      (bytes as Interned)[INTERNED_TEXT] = s;
    }
  }
  return bytes;
}

/** The string an array came from if `internLatin1` made it (such an array is never written to). */
export function internedText(bytes: Uint8Array): string | undefined {
  return (bytes as Interned)[INTERNED_TEXT];
}

/** Decodes bytes as latin-1: every byte maps to the code point of the same value. */
export function latin1Decode(bytes: Uint8Array): string {
  const known = (bytes as Interned)[INTERNED_TEXT];
  if (known !== undefined) return known;
  let out = '';
  if (bytes.length <= SHORT) {
    for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
    return out;
  }
  // Chunked so a large header value does not blow the argument limit of fromCharCode.
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** Bytes from a body-like value: strings are UTF-8. */
export function toBytes(value: BytesLike | null | undefined): Uint8Array {
  if (value == null) return new Uint8Array(0);
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** Bytes from a header-like value: strings are latin-1. */
export function toHeaderBytes(value: BytesLike): Uint8Array {
  return typeof value === 'string' ? latin1Encode(value) : value;
}

/** Text of a header-like value: bytes are latin-1, a string is taken as it is. */
export function toHeaderString(value: BytesLike): string {
  return typeof value === 'string' ? value : latin1Decode(value);
}

/** Concatenates byte chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** True when a value is an async iterable. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value != null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** True when a value is a (sync) iterable. */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/** True for `class X {}` (to be called with `new`), false for plain and arrow functions. */
export function isClass(value: unknown): value is new (...args: any[]) => any {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

// ---- Percent-encoding, with Python's urllib.parse semantics (what Starlette's behaviour is built on) ----

const ALWAYS_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~';
const HEX = '0123456789ABCDEF';

/**
 * Percent-encodes `s` as UTF-8, leaving letters, digits, `_.-~` and the characters of `safe` as they are
 * (Python's `urllib.parse.quote`).
 */
export function quote(s: string, safe = '/'): string {
  let out = '';
  for (const byte of encoder.encode(s)) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && (ALWAYS_SAFE.includes(ch) || safe.includes(ch))) out += ch;
    else out += '%' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

/** Like {@link quote}, but spaces become `+` and `/` is not safe by default (form encoding). */
export function quotePlus(s: string, safe = ''): string {
  return quote(s, safe + ' ').replaceAll(' ', '+');
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

// A leading U+FEFF that an escape spells is text, as in Python; TextDecoder would drop it by default.
const escapedUTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Decodes `%XX` escapes (Python's `urllib.parse.unquote`): each run of escaped bytes is decoded as UTF-8
 * (invalid sequences become U+FFFD) or, with `'latin1'`, a byte per character; malformed escapes and
 * all other characters are kept as they are. Every percent-decoder in Starling is this one.
 */
export function unquote(s: string, encoding: 'utf-8' | 'latin1' = 'utf-8'): string {
  if (!s.includes('%')) return s;
  if (encoding === 'utf-8') {
    // The common case, natively; it throws where Python gives U+FFFD or keeps a malformed escape.
    try {
      return decodeURIComponent(s);
    } catch {}
  }
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length) {
      const bytes = new Uint8Array(pending);
      out += encoding === 'latin1' ? latin1Decode(bytes) : escapedUTF8.decode(bytes);
    }
    pending = [];
  };
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && i + 2 < s.length) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        pending.push(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    flush();
    out += s[i];
  }
  flush();
  return out;
}

/** {@link unquote} after turning `+` into spaces (form decoding). */
export function unquotePlus(s: string): string {
  return unquote(s.replaceAll('+', ' '));
}

/** Parses `a=1&b=&c` into pairs, keeping blank values (Python's `parse_qsl(..., keep_blank_values=True)`). */
export function parseQueryString(qs: string): [string, string][] {
  const pairs: [string, string][] = [];
  if (!qs) return pairs;
  for (const part of qs.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    pairs.push([unquotePlus(name), unquotePlus(value)]);
  }
  return pairs;
}

/** Form-encodes pairs: `a=1&b=x+y` (Python's `urlencode`). */
export function urlencode(pairs: Iterable<readonly [string, unknown]>): string {
  const parts: string[] = [];
  for (const [k, v] of pairs) parts.push(`${quotePlus(String(k))}=${quotePlus(String(v))}`);
  return parts.join('&');
}

/**
 * The path used for routing: `path` without the `root_path` prefix, stripped only on a segment boundary
 * (ASGI's `path` includes `root_path`).
 */
export function getRoutePath(scope: { path: string; root_path?: string }): string {
  const root = scope.root_path ?? '';
  if (!root) return scope.path;
  if (scope.path === root) return '';
  if (scope.path.startsWith(root + '/')) return scope.path.slice(root.length);
  return scope.path;
}

// ---- Media types, for FileResponse and StaticFiles (the common entries of Python's mimetypes table) ----

const MEDIA_TYPES: Record<string, string> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  csv: 'text/csv',
  js: 'text/javascript',
  mjs: 'text/javascript',
  md: 'text/markdown',
  xml: 'text/xml',
  json: 'application/json',
  map: 'application/json',
  webmanifest: 'application/manifest+json',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  wasm: 'application/wasm',
  bin: 'application/octet-stream',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  ico: 'image/vnd.microsoft.icon',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  mp3: 'audio/mpeg',
  wav: 'audio/x-wav',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  flac: 'audio/flac',
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
  mpeg: 'video/mpeg',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  eot: 'application/vnd.ms-fontobject',
  ics: 'text/calendar',
  rtf: 'application/rtf',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** The extension → media type table, packed `ext\0type\0...` for the native core. */
export function packedMediaTypes(): string {
  return Object.entries(MEDIA_TYPES)
    .map(([ext, type]) => `${ext}\0${type}\0`)
    .join('');
}

/** The media type for a file name by its extension, or `null` when unknown. */
export function guessMediaType(path: string): string | null {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0 && !name.startsWith('.')) return null;
  return MEDIA_TYPES[name.slice(dot + 1).toLowerCase()] ?? null;
}
