/**
 * The data structures requests and responses are made of: URL, Headers, multi-dicts, forms and uploads,
 * State, Address, Secret and CommaSeparatedStrings.
 */
import { inspect } from 'node:util';

export { URL, URLPath, type URLComponents, type URLReplace } from './datastructures/url.ts';
export { Headers, MutableHeaders, type HeadersSource } from './datastructures/headers.ts';
export {
  ImmutableMultiDict,
  MultiDict,
  QueryParams,
  FormData,
  type MultiDictInit,
} from './datastructures/multidict.ts';
export {
  UploadFile,
  SpooledTemporaryFile,
  SPOOL_MAX_SIZE,
  type UploadFileOptions,
} from './datastructures/uploadfile.ts';

/**
 * The `[host, port]` of a client or server, readable as `address.host` / `address.port` or destructured.
 *
 * @example
 * ```ts
 * const { host, port } = request.client!;
 * const [h, p] = request.client!;
 * ```
 */
export class Address implements Iterable<string | number> {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}
  *[Symbol.iterator](): Iterator<string | number> {
    yield this.host;
    yield this.port;
  }
  toJSON(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }
}

/**
 * Arbitrary attributes stored on an object, such as `app.state` or `request.state`. Reads and writes go to
 * the backing object, so a request's state is shared with the scope it came from.
 *
 * @example
 * ```ts
 * const state = new State({ db });
 * state.counter = 1;
 * state.db; // db
 * ```
 */
export interface State {
  [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
export class State {
  constructor(state: Record<string, unknown> = {}) {
    const backing = state;
    return new Proxy(this, {
      get(target, key, receiver) {
        if (typeof key === 'string' && Object.hasOwn(backing, key)) return backing[key];
        if (key === '_state') return backing;
        return Reflect.get(target, key, receiver);
      },
      set(_target, key, value) {
        if (typeof key !== 'string') return false;
        backing[key] = value;
        return true;
      },
      deleteProperty(_target, key) {
        if (typeof key === 'string') delete backing[key];
        return true;
      },
      has(target, key) {
        return (typeof key === 'string' && Object.hasOwn(backing, key)) || Reflect.has(target, key);
      },
      ownKeys() {
        return Reflect.ownKeys(backing).filter((k) => typeof k === 'string');
      },
      getOwnPropertyDescriptor(_target, key) {
        if (typeof key !== 'string' || !Object.hasOwn(backing, key)) return undefined;
        return { value: backing[key], writable: true, enumerable: true, configurable: true };
      },
    });
  }
}

/**
 * A value that should not leak into logs: `String(secret)` gives it, `util.inspect` and JSON hide it.
 *
 * @example
 * ```ts
 * const key = config.get('SECRET_KEY', { cast: Secret });
 * String(key); // the real value
 * console.log(key); // Secret('**********')
 * ```
 */
export class Secret {
  readonly #value: string;
  constructor(value: unknown) {
    this.#value = String(value);
  }
  toString(): string {
    return this.#value;
  }
  valueOf(): string {
    return this.#value;
  }
  toJSON(): string {
    return '**********';
  }
  [inspect.custom](): string {
    return "Secret('**********')";
  }
}

function splitCommas(value: string): string[] {
  // shlex-style: commas separate, quotes group, a backslash escapes the next character.
  const items: string[] = [];
  let current = '';
  let started = false;
  let quote: string | null = null;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < value.length) current += value[++i];
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < value.length) {
      current += value[++i];
      started = true;
    } else if (ch === ',') {
      if (started) items.push(current.trim());
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote !== null) throw new Error('No closing quotation');
  if (started) items.push(current.trim());
  return items;
}

/**
 * A list parsed from a comma-separated string (quotes keep commas inside an item).
 *
 * @example
 * ```ts
 * const hosts = config.get('ALLOWED_HOSTS', { cast: CommaSeparatedStrings });
 * [...new CommaSeparatedStrings('a, "b,c"')]; // ['a', 'b,c']
 * ```
 */
export class CommaSeparatedStrings extends Array<string> {
  constructor(value?: string | Iterable<string> | number) {
    super();
    if (typeof value === 'number')
      this.length = value; // Array methods build instances this way.
    else if (typeof value === 'string') this.push(...splitCommas(value));
    else if (value != null) this.push(...value);
  }
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  override toString(): string {
    return this.map((item) => `'${item}'`).join(', ');
  }
}
