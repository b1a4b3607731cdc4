/**
 * Headers across the bridge: requests' headers arrive as one `name\0value\0...` span of the batch
 * string and are parsed only when an app reads them; responses' headers go back packed the same way.
 */
import type { BytesLike, HeaderLike, RawHeader } from '../asgi.ts';
import { latin1Decode } from '../_utils.ts';

/** A span of the batch string holding `name\0value\0...`. */
export interface RawHeaders {
  strs: string;
  at: number;
  len: number;
}

/** Bytes of a latin1 string (one byte per char, as the core wrote them). */
export function latin1(s: string): Uint8Array {
  const n = s.length;
  if (n > 64) return Buffer.from(s, 'latin1');
  // Short strings (paths, most header lines) copied in JS: cheaper than Buffer.from's native write.
  // The same pooled Buffer as Buffer.from would give.
  const bytes = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** Appends the `[name, value]` pairs of `raw` to `into`. */
export function parseHeaders(raw: RawHeaders, into: RawHeader[]): void {
  const { strs } = raw;
  let at = raw.at;
  const end = at + raw.len;
  while (at < end) {
    const nameEnd = strs.indexOf('\0', at);
    const valueEnd = strs.indexOf('\0', nameEnd + 1);
    into.push([latin1(strs.slice(at, nameEnd)), latin1(strs.slice(nameEnd + 1, valueEnd))]);
    at = valueEnd + 1;
  }
}

/**
 * `scope.headers` is a real array behind a Proxy that fills it on first touch: apps that never read
 * headers never pay for them, and spreading or copying the scope keeps working (the value is an
 * ordinary own property). Every trap fills first, then forwards.
 */
export class LazyHeaders implements ProxyHandler<RawHeader[]> {
  #strs: string | null;
  readonly #at: number;
  readonly #len: number;
  /** Headers at `strs[at .. at + len]`. */
  constructor(strs: string, at: number, len: number) {
    this.#strs = strs;
    this.#at = at;
    this.#len = len;
  }
  #fill(target: RawHeader[]): RawHeader[] {
    if (this.#strs !== null) {
      parseHeaders({ strs: this.#strs, at: this.#at, len: this.#len }, target);
      this.#strs = null;
    }
    return target;
  }
  get(target: RawHeader[], key: string | symbol): unknown {
    const filled = this.#fill(target);
    const value = Reflect.get(filled, key, filled);
    // Array methods must run against the real array, not the proxy, to stay fast.
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(filled) : value;
  }
  set(target: RawHeader[], key: string | symbol, value: unknown): boolean {
    return Reflect.set(this.#fill(target), key, value);
  }
  has(target: RawHeader[], key: string | symbol): boolean {
    return Reflect.has(this.#fill(target), key);
  }
  ownKeys(target: RawHeader[]): ArrayLike<string | symbol> {
    return Reflect.ownKeys(this.#fill(target));
  }
  getOwnPropertyDescriptor(target: RawHeader[], key: string | symbol): PropertyDescriptor | undefined {
    return Reflect.getOwnPropertyDescriptor(this.#fill(target), key);
  }
  deleteProperty(target: RawHeader[], key: string | symbol): boolean {
    return Reflect.deleteProperty(this.#fill(target), key);
  }
  defineProperty(target: RawHeader[], key: string | symbol, desc: PropertyDescriptor): boolean {
    return Reflect.defineProperty(this.#fill(target), key, desc);
  }
}

/** Packs headers as `name\0value\0...` (latin1 text), the form the core takes. */
export function packHeaders(headers: Iterable<HeaderLike> | undefined): string | null {
  if (!headers) return null;
  let out = '';
  if (Array.isArray(headers)) {
    // Indexing, not `for...of` with destructuring: no iterator objects on every response.
    for (let i = 0; i < headers.length; i++) {
      let pair = headers[i] as HeaderLike;
      if (!Array.isArray(pair)) pair = [...(pair as Iterable<BytesLike>)] as HeaderLike;
      out += text(pair[0]) + '\0' + text(pair[1]) + '\0';
    }
    return out;
  }
  for (const [name, value] of headers) out += text(name) + '\0' + text(value) + '\0';
  return out;
}

function text(value: BytesLike): string {
  if (typeof value === 'string') return value;
  return value instanceof Uint8Array ? latin1Decode(value) : Buffer.from(value).toString('latin1');
}
