/**
 * Properties of header blocks across the bridge (src/server/headers.ts): `packHeaders` packs valid
 * headers given in any form to exactly `name\0value\0...`, which `parseHeaders` and a scope's lazy
 * headers read back byte for byte; a header that is not valid HTTP throws a RuntimeError, whatever
 * else the list holds.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import type { HeaderLike, RawHeader } from '../../src/asgi.ts';
import { RuntimeError } from '../../src/server/exchange.ts';
import { LazyHeaders, packHeaders, parseHeaders } from '../../src/server/headers.ts';
import { check, runs, stringOf } from './_fuzz.ts';

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** RFC 9110 §5.6.2: a name is one or more token characters. */
const validName = (name: string) => name.length > 0 && [...name].every((c) => TCHAR.includes(c));
/** RFC 9110 §5.5: a value is visible latin1 characters, spaces and tabs; no other control character. */
const validValue = (value: string) =>
  [...value].every((c) => {
    const code = c.charCodeAt(0);
    return code === 9 || (code >= 0x20 && code <= 0xff && code !== 0x7f);
  });

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

const goodName = stringOf(TCHAR, 20).filter((s) => s.length > 0);
const goodValue = fc.string({
  unit: fc
    .integer({ min: 0, max: 0xff })
    .filter((c) => c === 9 || (c >= 0x20 && c !== 0x7f))
    .map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
/** Mostly valid names and values, some anything at all. */
const anyName = fc.oneof({ weight: 4, arbitrary: goodName }, fc.string({ unit: 'binary', maxLength: 8 }));
const anyValue = fc.oneof(
  { weight: 4, arbitrary: goodValue },
  fc.string({ unit: 'binary', maxLength: 8 }),
  stringOf('ab\r\n\0\x7f\x01\t\u0100', 6),
);

/** A header as an app may give it: each half as a string or as latin1 bytes. */
const asGiven = (name: string, value: string) =>
  fc.tuple(fc.boolean(), fc.boolean()).map(([nameBytes, valueBytes]): HeaderLike => {
    // A string past latin1 has no bytes form: it stays a string.
    const form = (s: string, bytes: boolean) =>
      bytes && !/[^\x00-\xff]/.test(s) ? Buffer.from(s, 'latin1') : s;
    return [form(name, nameBytes), form(value, valueBytes)];
  });

const headerList = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(name, value), { maxLength: 8 })
    .chain((pairs) =>
      fc.tuple(
        fc.constant(pairs),
        pairs.length ? fc.tuple(...pairs.map(([n, v]) => asGiven(n, v))) : fc.constant<HeaderLike[]>([]),
      ),
    );

/** The list as an array, a Set, a generator, or an array of pairs that are iterables but not arrays. */
const containers = (given: HeaderLike[]): Iterable<HeaderLike>[] => [
  given,
  new Set(given),
  (function* () {
    yield* given;
  })(),
  given.map(
    ([name, value]) =>
      (function* () {
        yield name;
        yield value;
      })() as unknown as HeaderLike,
  ),
];

test('valid headers in any form pack to name\\0value\\0 and parse back byte for byte', (t) =>
  check(
    t,
    fc.property(headerList(goodName, goodValue), ([pairs, given]) => {
      const expected = pairs.map(([n, v]) => `${n}\0${v}\0`).join('');
      const packed = packHeaders(given);
      assert.equal(packed, expected);
      assert.equal(packHeaders(new Set(given)), expected);
      assert.equal(
        packHeaders(
          (function* () {
            yield* given;
          })(),
        ),
        expected,
      );
      const parsed: RawHeader[] = [];
      parseHeaders({ strs: packed!, at: 0, len: packed!.length }, parsed);
      assert.deepEqual(
        parsed.map(([n, v]) => [latin1(n), latin1(v)]),
        pairs,
      );
      // Within a bigger batch string, as the core sends them, through the scope's lazy array.
      const strs = `GET/x${packed}127.0.0.1\0`;
      const lazy = new Proxy<RawHeader[]>([], new LazyHeaders(strs, 5, packed!.length));
      assert.equal(lazy.length, pairs.length);
      assert.deepEqual(
        [...lazy].map(([n, v]) => [latin1(n), latin1(v)]),
        pairs,
      );
    }),
    runs(400),
  ));

test('packing throws a RuntimeError exactly when some header is not valid HTTP', (t) =>
  check(
    t,
    fc.property(headerList(anyName, anyValue), ([pairs, given]) => {
      const bad = pairs.find(([n, v]) => !validName(n) || !validValue(v));
      for (const headers of containers(given)) {
        if (!bad) {
          assert.equal(typeof packHeaders(headers), 'string');
          continue;
        }
        assert.throws(
          () => packHeaders(headers),
          (error: unknown) =>
            error instanceof RuntimeError && /^Invalid HTTP header (name: |value for ')/.test(error.message),
        );
      }
    }),
    runs(400),
  ));

test('parsing any span of any string ends, with its pairs or a RuntimeError', (t) =>
  check(
    t,
    fc.property(
      fc.string({ unit: fc.constantFrom('a', 'b', '\0', ':', 'é'), maxLength: 30 }),
      fc.nat({ max: 40 }),
      fc.nat({ max: 40 }),
      (strs, at, len) => {
        const into: RawHeader[] = [];
        try {
          parseHeaders({ strs, at, len }, into);
        } catch (error) {
          assert.ok(error instanceof RuntimeError);
          assert.equal(error.message, 'Malformed header block in an event batch.');
          return;
        }
        // Every pair read ends with its `\0`s inside the string.
        const nuls = strs.slice(at).split('\0').length - 1;
        assert.ok(into.length * 2 <= nuls);
      },
    ),
    runs(500),
  ));
