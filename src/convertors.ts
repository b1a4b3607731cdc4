/**
 * Path parameter convertors: each turns a matched URL segment into a value (`convert`) and a value back
 * into a URL segment (`toString`, used by `urlPathFor`). Register your own with `registerConvertor`.
 */

/**
 * A path parameter type: the regex its segment must match, and the conversions both ways.
 *
 * @example
 * ```ts
 * const date: Convertor<Date> = {
 *   regex: '[0-9]{4}-[0-9]{2}-[0-9]{2}',
 *   convert: (value) => new Date(value),
 *   toString: (value) => value.toISOString().slice(0, 10),
 * };
 * registerConvertor('date', date); // new Route('/day/{d:date}', ...)
 * ```
 */
export interface Convertor<T = any> {
  readonly regex: string;
  convert(value: string): T;
  toString(value: T): string;
}

/** `{name}` or `{name:str}`: one non-empty segment without `/`. */
export class StringConvertor implements Convertor<string> {
  readonly regex = '[^/]+';
  convert(value: string): string {
    return value;
  }
  toString(value: string): string {
    value = String(value);
    if (value.includes('/')) throw new TypeError('May not contain path separators');
    if (value.length === 0) throw new TypeError('Must not be empty');
    return value;
  }
}

/** `{name:path}`: the rest of the path, slashes included. */
export class PathConvertor implements Convertor<string> {
  readonly regex = '.*';
  convert(value: string): string {
    return value;
  }
  toString(value: string): string {
    return String(value);
  }
}

/** `{name:int}`: a non-negative integer, converted to a number. */
export class IntegerConvertor implements Convertor<number> {
  readonly regex = '[0-9]+';
  convert(value: string): number {
    return Number.parseInt(value, 10);
  }
  toString(value: number): string {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new TypeError(`Not an integer: ${String(value)}`);
    if (n < 0) throw new TypeError('Negative integers are not supported');
    return String(n);
  }
}

/** `{name:float}`: a non-negative decimal number, converted to a number. */
export class FloatConvertor implements Convertor<number> {
  readonly regex = '[0-9]+(?:\\.[0-9]+)?';
  convert(value: string): number {
    return Number.parseFloat(value);
  }
  toString(value: number): string {
    const n = Number(value);
    if (Number.isNaN(n)) throw new TypeError('NaN values are not supported');
    if (!Number.isFinite(n)) throw new TypeError('Infinite values are not supported');
    if (n < 0) throw new TypeError('Negative floats are not supported');
    // Fixed notation, never exponent notation, with the noise zeros trimmed: 25.5 -> "25.5".
    const fixed = n < 1e21 ? n.toFixed(20) : BigInt(n).toString();
    return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  }
}

/** `{name:uuid}`: a UUID (hyphens optional, any case), converted to its canonical lower-case form. */
export class UUIDConvertor implements Convertor<string> {
  readonly regex = '[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}';
  convert(value: string): string {
    const hex = value.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  toString(value: string): string {
    const text = String(value);
    if (!new RegExp(`^${this.regex}$`).test(text)) throw new TypeError(`Not a UUID: ${text}`);
    return this.convert(text);
  }
}

/** The convertors known by name; `registerConvertor` adds to it. */
export const CONVERTOR_TYPES: Record<string, Convertor> = {
  str: new StringConvertor(),
  path: new PathConvertor(),
  int: new IntegerConvertor(),
  float: new FloatConvertor(),
  uuid: new UUIDConvertor(),
};

/**
 * Makes `{param:name}` available in route paths compiled from now on.
 *
 * @example
 * ```ts
 * registerConvertor('hex', { regex: '[0-9a-f]+', convert: (v) => parseInt(v, 16), toString: (n) => n.toString(16) });
 * ```
 */
export function registerConvertor(name: string, convertor: Convertor): void {
  CONVERTOR_TYPES[name] = convertor;
}

/** Starlette's spelling of `registerConvertor`. */
export const registerUrlConvertor = registerConvertor;
