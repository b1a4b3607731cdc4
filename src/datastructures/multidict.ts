/**
 * Multi-valued dictionaries: ImmutableMultiDict, MultiDict, QueryParams and FormData.
 * `get` gives the last value of a key (as in Starlette), `getAll` every value in order.
 */
import { latin1Decode, parseQueryString, urlencode } from '../_utils.ts';
import type { UploadFile } from './uploadfile.ts';

/** What a multi-dict is built from: pairs, a record (array values give several items), or another multi-dict. */
export type MultiDictInit<V> =
  | Iterable<readonly [string, V]>
  | Record<string, V | readonly V[]>
  | ImmutableMultiDict<V>
  | null
  | undefined;

function pairsFrom<V>(init: MultiDictInit<V>): [string, V][] {
  if (init == null) return [];
  if (init instanceof ImmutableMultiDict) return init.multiItems();
  if (Symbol.iterator in init) return [...(init as Iterable<readonly [string, V]>)].map(([k, v]) => [k, v]);
  const pairs: [string, V][] = [];
  for (const [k, v] of Object.entries(init as Record<string, V | readonly V[]>)) {
    if (Array.isArray(v)) for (const item of v) pairs.push([k, item]);
    else pairs.push([k, v as V]);
  }
  return pairs;
}

/**
 * A read-only multi-dict.
 *
 * @example
 * ```ts
 * const d = new ImmutableMultiDict([['a', '1'], ['a', '2'], ['b', '3']]);
 * d.get('a'); // '2'
 * d.getAll('a'); // ['1', '2']
 * d.keys(); // ['a', 'b']
 * ```
 */
export class ImmutableMultiDict<V = string> implements Iterable<[string, V]> {
  protected _list: [string, V][];

  constructor(init?: MultiDictInit<V>) {
    this._list = pairsFrom(init);
  }

  /** The last value of `key`, else `defaultValue` (`null`). */
  get(key: string): V | null;
  get<D>(key: string, defaultValue: D): V | D;
  get(key: string, defaultValue: unknown = null): unknown {
    for (let i = this._list.length - 1; i >= 0; i--) if (this._list[i]![0] === key) return this._list[i]![1];
    return defaultValue;
  }
  /** Every value of `key`, in order. */
  getAll(key: string): V[] {
    return this._list.filter(([k]) => k === key).map(([, v]) => v);
  }
  /** Alias of `getAll`, Starlette's spelling. */
  getlist(key: string): V[] {
    return this.getAll(key);
  }
  has(key: string): boolean {
    return this._list.some(([k]) => k === key);
  }
  /** The distinct keys, in order of first appearance. */
  keys(): string[] {
    return [...new Set(this._list.map(([k]) => k))];
  }
  /** The last value of each distinct key. */
  values(): V[] {
    return this.keys().map((k) => this.get(k) as V);
  }
  /** `[key, last value]` for each distinct key. */
  items(): [string, V][] {
    return this.keys().map((k) => [k, this.get(k) as V]);
  }
  /** Every `[key, value]` pair, duplicates included, in order. */
  multiItems(): [string, V][] {
    return this._list.map(([k, v]) => [k, v]);
  }
  /** Every `[key, value]` pair, as `URLSearchParams.entries` gives them. */
  entries(): [string, V][] {
    return this.multiItems();
  }
  /** The number of distinct keys. */
  get size(): number {
    return this.keys().length;
  }
  [Symbol.iterator](): Iterator<[string, V]> {
    return this.multiItems()[Symbol.iterator]();
  }
  /**
   * True when both hold the same values under each key, in the same order per key (`get` gives the last
   * one, so order counts); keys may come in any order. Plain objects and pairs are compared as a
   * multi-dict, except by a `FormData`: as in Starlette, a form is only equal to another form.
   */
  equals(other: unknown): boolean {
    if (other === null || typeof other !== 'object') return false;
    if (this instanceof FormData !== other instanceof FormData) return false;
    if (!(other instanceof ImmutableMultiDict))
      other = new ImmutableMultiDict(other as MultiDictInit<unknown>);
    // A stable sort by key alone keeps each key's values in their order, as Starlette's `sorted` does.
    const byKey = (pairs: [string, unknown][]) => [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const a = byKey(this._list);
    const b = byKey((other as ImmutableMultiDict<unknown>)._list);
    // Values are compared with `===`: an uploaded file equals only itself.
    return a.length === b.length && a.every(([k, v], i) => k === b[i]![0] && v === b[i]![1]);
  }
  /** A plain object, the last value winning. */
  toJSON(): Record<string, V> {
    return Object.fromEntries(this.items());
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${this.constructor.name}(${JSON.stringify(this._list)})`;
  }
}

/**
 * A multi-dict that can be changed.
 *
 * @example
 * ```ts
 * const d = new MultiDict({ a: '1' });
 * d.append('a', '2');
 * d.set('b', '3');
 * d.getAll('a'); // ['1', '2']
 * ```
 */
export class MultiDict<V = string> extends ImmutableMultiDict<V> {
  /** Replaces every value of `key` with `value`, keeping its position. */
  set(key: string, value: V): void {
    this.setList(key, [value]);
  }
  /** Removes every value of `key`. */
  delete(key: string): void {
    this._list = this._list.filter(([k]) => k !== key);
  }
  /** Removes `key` and returns its last value, else `defaultValue`. */
  pop(key: string, defaultValue: V | null = null): V | null {
    const value = this.get(key, defaultValue);
    this.delete(key);
    return value;
  }
  /** Removes and returns the last pair. */
  popItem(): [string, V] {
    const item = this._list.pop();
    if (item === undefined) throw new Error('popItem(): dictionary is empty');
    this.delete(item[0]);
    return item;
  }
  /** Removes `key` and returns all its values. */
  popList(key: string): V[] {
    const values = this.getAll(key);
    this.delete(key);
    return values;
  }
  clear(): void {
    this._list = [];
  }
  /** Adds `key` with `value` unless present; returns the value now in place. */
  setDefault(key: string, value: V): V {
    if (!this.has(key)) this._list.push([key, value]);
    return this.get(key) as V;
  }
  /** Replaces the values of `key` with `values` (none removes it). */
  setList(key: string, values: readonly V[]): void {
    const index = this._list.findIndex(([k]) => k === key);
    this.delete(key);
    if (values.length === 0) return;
    const items = values.map((v): [string, V] => [key, v]);
    if (index === -1) this._list.push(...items);
    else this._list.splice(index, 0, ...items);
  }
  /** Adds a value, keeping the existing ones. */
  append(key: string, value: V): void {
    this._list.push([key, value]);
  }
  /** Replaces the keys present in `other` with its values. */
  update(other: MultiDictInit<V>): void {
    const pairs = pairsFrom(other);
    const keys = new Set(pairs.map(([k]) => k));
    this._list = this._list.filter(([k]) => !keys.has(k)).concat(pairs);
  }
}

/**
 * The query parameters of a URL, parsed keeping blank values; `String(params)` form-encodes them back.
 *
 * @example
 * ```ts
 * const q = new QueryParams('a=1&a=2&b=');
 * q.get('a'); // '2'
 * q.getAll('a'); // ['1', '2']
 * String(q); // 'a=1&a=2&b='
 * ```
 */
export class QueryParams extends ImmutableMultiDict<string> {
  constructor(init?: string | Uint8Array | MultiDictInit<unknown>) {
    if (typeof init === 'string') super(parseQueryString(init));
    else if (init instanceof Uint8Array) super(parseQueryString(latin1Decode(init)));
    else
      super(
        pairsFrom(init as MultiDictInit<unknown>).map(([k, v]): [string, string] => [String(k), String(v)]),
      );
  }
  override toString(): string {
    return urlencode(this._list);
  }
}

/**
 * A parsed form: string fields and `UploadFile`s, multi-valued.
 *
 * @example
 * ```ts
 * const form = await request.form();
 * const name = form.get('name'); // string | UploadFile | null
 * await form.close(); // closes the uploaded files
 * ```
 */
export class FormData extends ImmutableMultiDict<string | UploadFile> {
  /** Closes every uploaded file. */
  async close(): Promise<void> {
    for (const [, value] of this._list) {
      if (typeof value !== 'string') await value.close();
    }
  }
  /** `await using form = await request.form()` closes the files at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
