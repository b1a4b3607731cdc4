/**
 * Properties of `cookieParser`: it never throws, and it agrees with a port of Starlette's
 * `cookie_parser` (with Python's `http.cookies._unquote`) on generated headers.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { cookieParser, HTTPConnection } from '../../src/requests.ts';
import { check, runs, stringOf } from './_fuzz.ts';

/**
 * The characters Python's `str.strip()` removes that JavaScript's `trim()` does not (`\x1c`-`\x1f`,
 * `\x85`) and the reverse (`\ufeff`). None can reach a parsed header: the core refuses control
 * characters in header values, and latin1 text has no `\ufeff`. `\x85` (a latin1 byte) is the one
 * difference a client could send; browsers strip only spaces and tabs (RFC 6265 §5.2), so no one
 * relies on it.
 */
const PY_ONLY_SPACE = /[\x1c-\x1f\x85\ufeff]/;
/** What Python's `str.isspace()` is true for. */
const SPACE = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');

/** Python's `http.cookies._unquote`: `\ooo` octal and `\c` escapes inside a double-quoted value. */
function pyCookieUnquote(s: string): string {
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') return s;
  const inner = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    // Python's `.` matches anything but `\n`.
    if (inner[i] === '\\' && i + 1 < inner.length && inner[i + 1] !== '\n') {
      const octal = inner.slice(i + 1, i + 4);
      if (/^[0-3][0-7][0-7]$/.test(octal)) {
        out += String.fromCharCode(parseInt(octal, 8));
        i += 3;
      } else out += inner[++i];
    } else out += inner[i];
  }
  return out;
}

/** Starlette's `cookie_parser`. */
function pyCookieParser(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const chunk of header.split(';')) {
    const eq = chunk.indexOf('=');
    const key = (eq === -1 ? '' : chunk.slice(0, eq)).replace(PY_SPACE, '');
    const value = (eq === -1 ? chunk : chunk.slice(eq + 1)).replace(PY_SPACE, '');
    if (key || value) cookies.set(key, pyCookieUnquote(value));
  }
  return cookies;
}

const byKey = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
/** A parsed record's own entries (a cookie named `__proto__` included), in key order. */
const entries = (record: Record<string, string>) =>
  Object.getOwnPropertyNames(record)
    .map((k): [string, string] => [k, record[k]!])
    .sort(byKey);

/** Cookie headers with what makes parsing interesting: separators, quotes, escapes, odd whitespace. */
const header = fc.oneof(
  stringOf([...'ab=;; ="\\\\01234567\t\r\n', '\\"', '\\0', '\\377', '\\400', '\xa0', 'é', '__proto__'], 50),
  fc
    .array(
      fc.tuple(stringOf('abc_-. ', 6), stringOf('xyz"\\01 %=', 10)).map(([k, v]) => `${k}=${v}`),
      { maxLength: 6 },
    )
    .map((pairs) => pairs.join('; ')),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

test('cookieParser never throws and agrees with Starlette on any header', (t) =>
  check(
    t,
    fc.property(header, (h) => {
      fc.pre(!PY_ONLY_SPACE.test(h));
      assert.deepEqual(entries(cookieParser(h)), [...pyCookieParser(h)].sort(byKey), JSON.stringify(h));
    }),
    runs(500),
  ));

test('cookies a server sets quoted come back as they were', (t) =>
  check(
    t,
    fc.property(
      fc.uniqueArray(
        fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), fc.string({ unit: 'binary-ascii' })),
        {
          selector: ([k]) => k,
          maxLength: 6,
        },
      ),
      (cookies) => {
        // Python's `_quote`: `"` and `\` escaped, `;`, `,` and non-printables as `\ooo`.
        const quoted = (v: string) =>
          '"' +
          v.replace(/["\\]|[;,]|[^\x20-\x7e]/g, (c) =>
            c === '"' || c === '\\' ? '\\' + c : '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'),
          ) +
          '"';
        const parsed = cookieParser(cookies.map(([k, v]) => `${k}=${quoted(v)}`).join('; '));
        assert.deepEqual(entries(parsed), cookies.sort(byKey));
      },
    ),
    runs(300),
  ));

test('request.cookies merges every Cookie header, a later cookie winning', (t) =>
  check(
    t,
    fc.property(fc.array(header, { maxLength: 3 }), (headers) => {
      fc.pre(!headers.some((h) => PY_ONLY_SPACE.test(h) || /[^\x00-\xff]/.test(h)));
      const scope = {
        type: 'http',
        headers: headers.map((h) => [Buffer.from('cookie'), Buffer.from(h, 'latin1')]),
      };
      const merged = new Map(headers.flatMap((h) => [...pyCookieParser(h)]));
      const cookies = new HTTPConnection(scope as never).cookies;
      assert.deepEqual(entries(cookies), [...merged].sort(byKey));
    }),
    runs(300),
  ));

test('a cookie named __proto__ and an escaped CR are read as Starlette reads them (found above)', (t) => {
  const cookies = cookieParser('__proto__=1; a="x\\\ry"');
  t.deepEqual(Object.entries(cookies), [
    ['__proto__', '1'],
    ['a', 'x\ry'],
  ]);
  t.is(Object.getPrototypeOf(cookies), Object.prototype);
});
