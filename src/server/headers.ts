/**
 * Headers across the bridge: requests' headers arrive as one `name\0value\0...` span of the batch
 * string and are parsed only when an app reads them; responses' headers go back packed the same way.
 */
import type { BytesLike, HeaderLike, RawHeader } from '../asgi.ts';
import { internedText, latin1Decode, latin1Encode } from '../_utils.ts';
import { RuntimeError } from './exchange.ts';

/** A span of the batch string holding `name\0value\0...`. */
export interface RawHeaders {
  strs: string;
  at: number;
  len: number;
}

/**
 * `s` as a string of its own. V8 makes a slice of 13 or more characters a view that keeps its whole
 * parent alive (here, a batch's string); prefixing a character makes V8 copy the text (it flattens
 * the pair), and the final slice views only that copy.
 */
export function ownCopy(s: string): string {
  return (' ' + s).slice(1);
}

/** Calls `each` with the name and value of every field of `raw`, in order, as latin1 text. */
function eachField(raw: RawHeaders, each: (name: string, value: string) => void): void {
  const { strs } = raw;
  let at = raw.at;
  const end = at + raw.len;
  while (at < end) {
    const nameEnd = strs.indexOf('\0', at);
    const valueEnd = strs.indexOf('\0', nameEnd + 1);
    // The core ends every name and value with `\0`. In a span without them (a corrupt batch), `at`
    // would go back to the start of the string and this loop would never end.
    if (nameEnd === -1 || valueEnd === -1)
      throw new RuntimeError('Malformed header block in an event batch.');
    each(strs.slice(at, nameEnd), strs.slice(nameEnd + 1, valueEnd));
    at = valueEnd + 1;
  }
}

/** Appends the `[name, value]` pairs of `raw` to `into`. */
export function parseHeaders(raw: RawHeaders, into: RawHeader[]): void {
  eachField(raw, (name, value) => into.push([latin1Encode(name), latin1Encode(value)]));
}

/** The values of the fields of `raw` named `name` (lower case, as the core sends names). */
export function headerValues(raw: RawHeaders, name: string): string[] {
  const values: string[] = [];
  eachField(raw, (field, value) => field === name && values.push(value));
  return values;
}

/** `scope.headers` of the request whose header span `raw` is: parsed on first touch (see `LazyHeaders`). */
export function lazyHeaders(raw: RawHeaders): RawHeader[] {
  return new Proxy([], new LazyHeaders(raw.strs, raw.at, raw.len));
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

/** A header name: one or more token characters (RFC 9110 §5.6.2). */
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * What no header value may hold: control characters but HTAB (so CR, LF and NUL), DEL, and anything
 * past latin1. uvicorn's `HEADER_VALUE_RE` refuses the same bytes, Starlette's latin-1 encoding the rest.
 */
const BAD_VALUE = /[\0-\x08\n-\x1f\x7f\u0100-\uffff]/;

/**
 * Names and values found valid before: responses repeat a few strings (often the very same objects,
 * whose hash V8 keeps), and a lookup costs a few ns where a scan costs about 2 ns a character.
 * Bounded, as `internLatin1`'s table is; past the bound, strings are checked afresh each time.
 */
const validNames = new Set<string>();
const validValues = new Set<string>();
const VALID_MAX = 512;

/** Remembers a valid string by a copy of its own: a slice of some big string must not keep it alive. */
function remember(valid: Set<string>, s: string): void {
  if (valid.size < VALID_MAX && s.length <= 256) valid.add(ownCopy(s));
}

/**
 * Packs headers as `name\0value\0...` (latin1 text), the form the core takes. Throws on a name or
 * value that is not valid HTTP, as uvicorn does: the core would otherwise drop the header (or, for
 * a NUL, read the pairs shifted), so the app must learn of it while it can still answer a 500.
 */
export function packHeaders(headers: Iterable<HeaderLike> | undefined): string | null {
  if (Array.isArray(headers)) {
    const known = joinedFor(headers as HeaderLike[]);
    if (known !== undefined) return known.text;
  }
  return packAfresh(headers);
}

/** `packHeaders` for a list not packed before. */
function packAfresh(headers: Iterable<HeaderLike> | undefined): string | null {
  if (!headers) return null;
  let out = '';
  if (Array.isArray(headers)) {
    // Indexing, not `for...of` with destructuring: no iterator objects on every response.
    let interned = headers.length > 0;
    for (let i = 0; i < headers.length; i++) {
      let pair = headers[i] as HeaderLike;
      if (!Array.isArray(pair)) {
        pair = [...(pair as Iterable<BytesLike>)] as HeaderLike;
        interned = false;
      }
      const name = nameField(pair[0]);
      out += name + valueField(pair[1], name);
      interned &&= isInterned(pair[0]) && isInterned(pair[1]);
    }
    if (interned) rememberPacked(headers as HeaderLike[], out);
    return out;
  }
  for (const [name, value] of headers) {
    const field = nameField(name);
    out += field + valueField(value, field);
  }
  return out;
}

/**
 * A header list made only of interned arrays (a `Response`'s own headers: `content-length` and
 * `content-type` with their values) is packed once: its text is kept on the first value array, with
 * the arrays it came from, and a later list of the same arrays in the same order gets the same string
 * object. Packing it afresh costs the concatenations and, when the core reads it, V8 flattening the
 * concatenated string (about 600 instructions a response, more than the rest of the packing).
 */
const JOINED = Symbol('starling.joinedHeaders');
interface Joined {
  /** Name, value, name, value...: the arrays of the list. */
  fields: BytesLike[];
  text: string;
  /** Its id in the addon's table of lists (`answerHeaders`), `NOT_ASKED`, or -1 if the table was full. */
  id: number;
}
type Keyed = Uint8Array & { [JOINED]?: Joined };
const NOT_ASKED = -2;

function isInterned(field: BytesLike): boolean {
  return field instanceof Uint8Array && internedText(field) !== undefined;
}

/** What was kept for a list packed before from the very same arrays, if it was. */
function joinedFor(headers: HeaderLike[]): Joined | undefined {
  const key = headers[0]?.[1];
  if (!(key instanceof Uint8Array)) return undefined;
  const joined = (key as Keyed)[JOINED];
  if (joined === undefined || joined.fields.length !== headers.length * 2) return undefined;
  const fields = joined.fields;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    if (pair[0] !== fields[2 * i] || pair[1] !== fields[2 * i + 1]) return undefined;
  }
  return joined;
}

/** Keeps `text` as the packing of `headers` (all interned arrays), replacing any list kept before. */
function rememberPacked(headers: HeaderLike[], text: string): void {
  const fields: BytesLike[] = [];
  for (let i = 0; i < headers.length; i++) fields.push(headers[i]![0], headers[i]![1]);
  (headers[0]![1] as Keyed)[JOINED] = { fields, text, id: NOT_ASKED };
}

/** The text of every list the addon holds, by id. */
const registeredTexts: string[] = [];

/**
 * `packHeaders` for an answer. A list packed once before travels as the id the addon keeps its text
 * under (crates/node/src/header_lists.rs; `register` files it the second time the list is seen), so
 * that the core copies bytes it holds instead of reading a string out of V8; any other list as text.
 */
export function answerHeaders(
  headers: Iterable<HeaderLike> | undefined,
  register: (text: string) => number,
): string | number | null {
  if (Array.isArray(headers)) {
    const joined = joinedFor(headers as HeaderLike[]);
    if (joined !== undefined) {
      if (joined.id === NOT_ASKED) {
        joined.id = register(joined.text);
        if (joined.id >= 0) registeredTexts[joined.id] = joined.text;
      }
      return joined.id >= 0 ? joined.id : joined.text;
    }
  }
  return packAfresh(headers);
}

/** The text of an answer's headers (see `answerHeaders`), for the calls that take text only. */
export function headersText(headers: string | number | null): string | null {
  return typeof headers === 'number' ? registeredTexts[headers]! : headers;
}

/** What a header name, or a header value, must pass, and the strings and arrays that passed. */
interface FieldRule {
  invalid: (s: string) => boolean;
  /** The error's message for `s`; `name` is the packed name the value goes with. */
  error: (s: string, name: string) => string;
  /** Strings found valid before (see `remember`). */
  valid: Set<string>;
  /** This rule's slot in an interned array's `PACKED` pair. */
  slot: 0 | 1;
}
/**
 * An interned array (see `internLatin1`: never written to) found valid before keeps its packed text
 * (`text\0`) under this key, as a name in slot 0 and as a value in slot 1: the headers a `Response`
 * makes are such arrays, so each of a response's fields costs one property load (one key for both
 * rules, so the load site stays monomorphic), without decoding or checking it again.
 */
const PACKED = Symbol('starling.packedField');
type Packed = Uint8Array & { [PACKED]?: [string | undefined, string | undefined] };
const NAME_RULE: FieldRule = {
  invalid: (s) => !NAME.test(s),
  error: (s) => `Invalid HTTP header name: ${JSON.stringify(s)}.`,
  valid: validNames,
  slot: 0,
};
const VALUE_RULE: FieldRule = {
  invalid: (s) => BAD_VALUE.test(s),
  error: (_, name) => `Invalid HTTP header value for '${name.slice(0, -1)}'.`,
  valid: validValues,
  slot: 1,
};

/** `field\0`, once it passed `rule` (`name` is the packed name a value goes with, for the error). */
function packField(field: BytesLike, rule: FieldRule, name = ''): string {
  const bytes = field instanceof Uint8Array;
  if (bytes) {
    const known = (field as Packed)[PACKED]?.[rule.slot];
    if (known !== undefined) return known;
  }
  const s = text(field);
  if (!rule.valid.has(s)) {
    if (rule.invalid(s)) throw new RuntimeError(rule.error(s, name));
    remember(rule.valid, s);
  }
  const packed = s + '\0';
  if (bytes && internedText(field) !== undefined)
    ((field as Packed)[PACKED] ??= [undefined, undefined])[rule.slot] = packed;
  return packed;
}

const nameField = (name: BytesLike): string => packField(name, NAME_RULE);
const valueField = (value: BytesLike, name: string): string => packField(value, VALUE_RULE, name);

function text(value: BytesLike): string {
  if (typeof value === 'string') return value;
  return value instanceof Uint8Array ? latin1Decode(value) : Buffer.from(value).toString('latin1');
}
