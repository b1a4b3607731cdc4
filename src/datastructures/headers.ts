/**
 * Headers (read-only) and MutableHeaders: case-insensitive, multi-valued and order-preserving views over a
 * list of latin-1 `[name, value]` byte pairs, the form ASGI carries them in.
 */
import type { HeaderLike, RawHeader } from '../asgi.ts';
import { latin1Decode, latin1Encode, toHeaderBytes } from '../_utils.ts';

/** What a `Headers` can be built from: a record, pairs of strings, raw byte pairs or a scope/message. */
export type HeadersSource =
  | Record<string, string>
  | Iterable<readonly [string, string]>
  | { raw: RawHeader[] }
  | { scope: { headers?: Iterable<HeaderLike> } }
  | Headers
  | null
  | undefined;

function isOptions(
  init: object,
): init is { raw: RawHeader[] } | { scope: { headers?: Iterable<HeaderLike> } } {
  const keys = Object.keys(init);
  if (keys.length !== 1) return false;
  const value = (init as Record<string, unknown>)[keys[0]!];
  // Header values are strings, so an array or object under `raw`/`scope` can only be the option.
  return (keys[0] === 'raw' || keys[0] === 'scope') && typeof value === 'object' && value !== null;
}

/** Normalises a header list so that every pair is bytes (apps may send strings): in place, unless frozen. */
function normalise(list: Iterable<HeaderLike>): RawHeader[] {
  let arr = (Array.isArray(list) ? list : [...list]) as HeaderLike[];
  for (let i = 0; i < arr.length; i++) {
    const [k, v] = arr[i]!;
    if (typeof k === 'string' || typeof v === 'string') {
      if (Object.isFrozen(arr)) arr = arr.slice();
      arr[i] = [toHeaderBytes(k), toHeaderBytes(v)];
    }
  }
  return arr as RawHeader[];
}

/** True when the raw name `k` equals `name` (already lower-case), ignoring ASCII case, without decoding. */
function sameName(k: Uint8Array, name: string): boolean {
  if (k.length !== name.length) return false;
  for (let i = 0; i < k.length; i++) {
    let c = k[i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

function rawFrom(init: HeadersSource): RawHeader[] {
  if (init == null) return [];
  if (init instanceof Headers) return init.raw.slice();
  if (isOptions(init)) {
    if ('raw' in init) return normalise(init.raw);
    const scope = init.scope as { headers?: Iterable<HeaderLike> };
    // Like Starlette, the scope's (or message's) header list becomes the live backing list.
    const raw = normalise(scope.headers ?? []);
    if (raw !== scope.headers) scope.headers = raw;
    return raw;
  }
  const pairs: Iterable<readonly [string, string]> =
    Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
  const raw: RawHeader[] = [];
  for (const [k, v] of pairs) raw.push([latin1Encode(String(k).toLowerCase()), latin1Encode(String(v))]);
  return raw;
}

/**
 * Request or response headers: `get` gives the first value, `getAll` every value, lookups ignore case.
 *
 * @example
 * ```ts
 * const headers = new Headers({ 'Content-Type': 'text/plain' });
 * headers.get('content-type'); // 'text/plain'
 * headers.getAll('x-missing'); // []
 * ```
 */
export class Headers implements Iterable<[string, string]> {
  protected _raw: RawHeader[];

  constructor(init?: HeadersSource) {
    this._raw = rawFrom(init);
  }

  /** The live list of `[name, value]` byte pairs. */
  get raw(): RawHeader[] {
    return this._raw;
  }

  /** Every `[name, value]` pair, decoded as latin-1, names lower-cased, duplicates kept. */
  items(): [string, string][] {
    return this._raw.map(([k, v]) => [latin1Decode(k).toLowerCase(), latin1Decode(v)]);
  }
  /** Same as `items()`: every pair, in order. */
  entries(): [string, string][] {
    return this.items();
  }
  /** Every name, duplicates kept. */
  keys(): string[] {
    return this._raw.map(([k]) => latin1Decode(k).toLowerCase());
  }
  /** Every value, in order. */
  values(): string[] {
    return this._raw.map(([, v]) => latin1Decode(v));
  }

  /** The first value of `key` (any case), else `defaultValue` (`null`). */
  get(key: string): string | null;
  get<D>(key: string, defaultValue: D): string | D;
  get(key: string, defaultValue: unknown = null): unknown {
    const name = key.toLowerCase();
    for (const [k, v] of this._raw) if (sameName(k, name)) return latin1Decode(v);
    return defaultValue;
  }

  /** Every value of `key`, in order. */
  getAll(key: string): string[] {
    const name = key.toLowerCase();
    const out: string[] = [];
    for (const [k, v] of this._raw) if (sameName(k, name)) out.push(latin1Decode(v));
    return out;
  }
  /** Alias of `getAll`, Starlette's spelling. */
  getlist(key: string): string[] {
    return this.getAll(key);
  }

  has(key: string): boolean {
    const name = key.toLowerCase();
    return this._raw.some(([k]) => sameName(k, name));
  }

  /** The number of pairs, duplicates included. */
  get size(): number {
    return this._raw.length;
  }
  get length(): number {
    return this._raw.length;
  }

  /** A mutable copy. */
  mutableCopy(): MutableHeaders {
    return new MutableHeaders({ raw: this._raw.slice() });
  }

  /** True when both hold the same pairs, in any order. */
  equals(other: unknown): boolean {
    if (!(other instanceof Headers)) return false;
    const a = this.items()
      .map((p) => p.join('\0'))
      .sort();
    const b = other
      .items()
      .map((p) => p.join('\0'))
      .sort();
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.items()[Symbol.iterator]();
  }

  /** A plain object, the last value winning for repeated names. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.items());
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${this.constructor.name}(${JSON.stringify(this.items())})`;
  }
}

/**
 * Headers that can be changed in place; `raw` stays the same live list (so a message's headers can be edited).
 *
 * @example
 * ```ts
 * const headers = new MutableHeaders({ scope: message }); // edits message.headers
 * headers.set('cache-control', 'no-store');
 * headers.append('set-cookie', 'a=1');
 * headers.addVaryHeader('Origin');
 * ```
 */
export class MutableHeaders extends Headers {
  /** The scope or message whose header list this edits, if built from one. */
  readonly #source: { headers?: Iterable<HeaderLike> } | null;

  constructor(init?: HeadersSource) {
    super(init);
    this.#source = init != null && isOptions(init) && 'scope' in init ? init.scope : null;
  }

  /**
   * The list to edit. A frozen (or sealed) one, such as a constant list a response shares, is copied on
   * the first write, and the copy replaces the list in the scope or message, as Starlette always copies.
   */
  #writable(): RawHeader[] {
    if (Object.isExtensible(this._raw)) return this._raw;
    this._raw = this._raw.slice();
    if (this.#source !== null) this.#source.headers = this._raw;
    return this._raw;
  }

  /** Sets `key` to `value`: the first occurrence is replaced and the others removed. */
  set(key: string, value: string): void {
    const raw = this.#writable();
    const name = key.toLowerCase();
    const encodedValue = latin1Encode(String(value));
    let found = -1;
    for (let i = raw.length - 1; i >= 0; i--) {
      if (sameName(raw[i]![0], name)) {
        if (found !== -1) raw.splice(found, 1);
        found = i;
      }
    }
    if (found === -1) raw.push([latin1Encode(name), encodedValue]);
    else raw[found] = [raw[found]![0], encodedValue];
  }

  /** Removes every occurrence of `key`. */
  delete(key: string): void {
    if (!this.has(key)) return;
    const raw = this.#writable();
    const name = key.toLowerCase();
    for (let i = raw.length - 1; i >= 0; i--) {
      if (sameName(raw[i]![0], name)) raw.splice(i, 1);
    }
  }

  /** Sets `key` only if absent; returns the value now in place. */
  setDefault(key: string, value: string): string {
    const existing = this.get(key);
    if (existing !== null) return existing;
    this.#writable().push([latin1Encode(key.toLowerCase()), latin1Encode(String(value))]);
    return value;
  }

  /** Sets every key of `other`, replacing existing values. */
  update(other: Record<string, string> | Iterable<readonly [string, string]>): void {
    const pairs =
      Symbol.iterator in other ? (other as Iterable<readonly [string, string]>) : Object.entries(other);
    for (const [k, v] of pairs) this.set(k, v);
  }

  /** Adds a pair, keeping existing ones with the same name (for `set-cookie`). */
  append(key: string, value: string): void {
    this.#writable().push([latin1Encode(key.toLowerCase()), latin1Encode(String(value))]);
  }

  /** Adds `vary` to the `Vary` header, after any existing value. */
  addVaryHeader(vary: string): void {
    const existing = this.get('vary');
    this.set('vary', existing !== null ? `${existing}, ${vary}` : vary);
  }
}
