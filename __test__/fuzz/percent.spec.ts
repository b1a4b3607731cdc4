/**
 * Properties of the percent-decoders (`unquote`, `unquotePlus`, `parseQueryString`: scope paths, query
 * strings and urlencoded forms), checked against a line-by-line port of Python's urllib.parse, which is
 * what Starlette's behaviour is built on.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { parseQueryString, quote, quotePlus, unquote, unquotePlus, urlencode } from '../../src/_utils.ts';
import { check, runs, stringOf, text } from './_fuzz.ts';

const replacing = new TextDecoder('utf-8', { ignoreBOM: true });
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/** Python's `unquote_to_bytes` for an ASCII string. */
function pyUnquoteToBytes(s: string): number[] {
  const bytes = (t: string) => [...t].map((c) => c.charCodeAt(0));
  const [first, ...rest] = s.split('%');
  const out = bytes(first!);
  for (const item of rest) {
    if (HEX_PAIR.test(item.slice(0, 2))) out.push(parseInt(item.slice(0, 2), 16), ...bytes(item.slice(2)));
    else out.push(0x25, ...bytes(item));
  }
  return out;
}

/** Python's `urllib.parse.unquote(s, encoding, errors='replace')`. */
function pyUnquote(s: string, encoding: 'utf-8' | 'latin1' = 'utf-8'): string {
  if (!s.includes('%')) return s;
  const bits = s.split(/([\x00-\x7f]+)/);
  let out = bits[0]!;
  for (let i = 1; i < bits.length; i += 2) {
    const bytes = new Uint8Array(pyUnquoteToBytes(bits[i]!));
    out += encoding === 'latin1' ? String.fromCharCode(...bytes) : replacing.decode(bytes);
    out += bits[i + 1]!;
  }
  return out;
}

/** Python's `parse_qsl(qs, keep_blank_values=True)`. */
function pyParseQsl(qs: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const field of qs.split('&')) {
    if (!field) continue;
    const nv = field.split('=');
    const name = nv[0]!;
    const value = nv.length > 1 ? field.slice(name.length + 1) : '';
    pairs.push([pyUnquote(name.replaceAll('+', ' ')), pyUnquote(value.replaceAll('+', ' '))]);
  }
  return pairs;
}

/** Text heavy in escapes, valid and not: `%`, hex digits, `+`, `&`, `=`, other ASCII and non-ASCII. */
const escapey = stringOf([
  ...'%%%%0123456789abcdefABCDEFgG+&=/ ~z\t\0\x7f',
  '%C3',
  '%A9',
  '%E2%82%AC',
  '%F0%9F%98',
  '%80',
  '%ED%A0%80',
  '%EF%BB%BF',
  '%C0%AF',
  'é',
  '\x85',
  '€',
  '😀',
  '\ud800',
  '\udc00',
]);

test('unquote undoes encodeURIComponent and quote for any text', (t) =>
  check(
    t,
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), stringOf("/:@!$&'()*+,;=", 4), (s, safe) => {
      assert.equal(unquote(encodeURIComponent(s)), s);
      assert.equal(unquote(encodeURI(s)), s);
      assert.equal(unquote(quote(s, safe)), s);
      assert.equal(unquotePlus(quotePlus(s)), s);
    }),
    runs(500),
  ));

test('unquote agrees with Python for any string, malformed escapes kept as they are', (t) =>
  check(
    t,
    fc.property(fc.oneof(escapey, fc.string({ unit: 'binary', maxLength: 30 })), (s) => {
      assert.equal(unquote(s), pyUnquote(s), JSON.stringify(s));
      assert.equal(unquote(s, 'latin1'), pyUnquote(s, 'latin1'), JSON.stringify(s));
      assert.equal(unquotePlus(s), pyUnquote(s.replaceAll('+', ' ')), JSON.stringify(s));
    }),
    runs(500),
  ));

test('unquote of a string without a valid escape is the string itself', (t) =>
  check(
    t,
    fc.property(fc.oneof(escapey, fc.string({ unit: 'binary', maxLength: 30 })), (s) => {
      const plain = s.replace(/%(?=[0-9A-Fa-f]{2})/g, '%z');
      assert.equal(unquote(plain), plain);
      assert.equal(unquote(plain, 'latin1'), plain);
    }),
    runs(300),
  ));

test('parseQueryString agrees with Python parse_qsl(keep_blank_values=True)', (t) =>
  check(
    t,
    fc.property(escapey, (qs) => {
      assert.deepEqual(parseQueryString(qs), pyParseQsl(qs), JSON.stringify(qs));
    }),
    runs(500),
  ));

test('query strings round-trip through urlencode and URLSearchParams', (t) =>
  check(
    t,
    fc.property(fc.array(fc.tuple(text(), text()), { maxLength: 8 }), (items) => {
      assert.deepEqual(parseQueryString(urlencode(items)), items);
      assert.deepEqual(parseQueryString(new URLSearchParams(items).toString()), items);
    }),
    runs(500),
  ));
