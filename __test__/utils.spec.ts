import test from 'ava';
import {
  ASGI_VERSIONS,
  callApp,
  concatBytes,
  getRoutePath,
  guessMediaType,
  internLatin1,
  isASGIApp,
  isAsyncIterable,
  isClass,
  isIterable,
  latin1Decode,
  latin1Encode,
  outcome,
  parseQueryString,
  quote,
  quotePlus,
  RESOLVED,
  toASGIFunction,
  toBytes,
  toHeaderBytes,
  toHeaderString,
  unquote,
  unquotePlus,
  urlencode,
  utf8Decode,
  utf8Encode,
} from '../src/_utils.ts';
import type { Receive, Scope, Send } from '../src/asgi.ts';

test('toASGIFunction accepts a function or an object with asgi', async (t) => {
  const calls: string[] = [];
  const fn = async () => void calls.push('fn');
  t.is(toASGIFunction(fn), fn);
  const obj = {
    name: 'obj',
    async asgi(_s: Scope, _r: Receive, _x: Send) {
      calls.push(this.name);
    },
  };
  await toASGIFunction(obj)({} as Scope, (async () => ({})) as unknown as Receive, async () => {});
  t.deepEqual(calls, ['obj']);
  t.throws(() => toASGIFunction({} as never), { instanceOf: TypeError });
  t.throws(() => toASGIFunction(null as never), { instanceOf: TypeError });
  t.true(isASGIApp(fn));
  t.true(isASGIApp(obj));
  t.false(isASGIApp({}));
  t.false(isASGIApp(null));
});

test('latin-1 and UTF-8 conversions round-trip', (t) => {
  t.deepEqual([...latin1Encode('é\u00ff')], [0xe9, 0xff]);
  t.is(latin1Decode(new Uint8Array([0x63, 0x61, 0x66, 0xe9])), 'café');
  const long = 'x'.repeat(20000);
  t.is(latin1Decode(latin1Encode(long)), long);
  t.deepEqual([...utf8Encode('é')], [0xc3, 0xa9]);
  t.is(utf8Decode(new Uint8Array([0xc3, 0xa9])), 'é');
  t.deepEqual([...toBytes('é')], [0xc3, 0xa9]);
  t.deepEqual([...toBytes(null)], []);
  const bytes = new Uint8Array([1]);
  t.is(toBytes(bytes), bytes);
  t.deepEqual([...toHeaderBytes('é')], [0xe9]);
  t.is(toHeaderBytes(bytes), bytes);
});

test('short strings are encoded and decoded in JS with the same bytes as the long way', (t) => {
  const encoder = new TextEncoder();
  for (const s of [
    '',
    'Hello, World!',
    'é',
    'x'.repeat(63) + 'é',
    'x'.repeat(64),
    'x'.repeat(65),
    '\ud800',
    '😀',
  ]) {
    t.deepEqual([...utf8Encode(s)], [...encoder.encode(s)], JSON.stringify(s));
    t.is(utf8Encode(s).constructor, Uint8Array);
  }
  for (const n of [0, 1, 64, 65, 300]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
    t.is(latin1Decode(bytes), Buffer.from(bytes).toString('latin1'));
  }
});

test('short strings keep their bytes when the shared 8 KiB slab fills and a new one starts', (t) => {
  // 200 strings of 64 bytes are 12.5 KiB: at least one turn to a fresh slab, and earlier views untouched.
  const strings = Array.from({ length: 200 }, (_, i) => String(i).padStart(64, '.'));
  const encoded = strings.map((s) => utf8Encode(s));
  t.true(new Set(encoded.map((bytes) => bytes.buffer)).size > 1);
  t.deepEqual(
    encoded.map((bytes) => Buffer.from(bytes).toString('latin1')),
    strings,
  );
});

test('internLatin1 shares one array per header string, whose text latin1Decode knows', (t) => {
  const bytes = internLatin1('text/x-interned; charset=utf-8');
  t.is(internLatin1('text/x-interned; charset=utf-8'), bytes);
  t.deepEqual([...bytes], [...latin1Encode('text/x-interned; charset=utf-8')]);
  t.is(latin1Decode(bytes), 'text/x-interned; charset=utf-8');
  // A string that latin-1 cannot hold is encoded (truncated) afresh each time, never shared.
  t.not(internLatin1('x-€'), internLatin1('x-€'));
  t.is(latin1Decode(internLatin1('x-€')), latin1Decode(latin1Encode('x-€')));
});

test('outcome and callApp give a promise for any app result, RESOLVED for a synchronous finish', async (t) => {
  t.is(outcome(RESOLVED), RESOLVED);
  t.is(outcome(undefined), RESOLVED);
  const pending = Promise.resolve();
  t.is(outcome(pending), pending);
  const thenable = { then: (resolve: (v: number) => void) => resolve(1) };
  t.is(await outcome(thenable), 1 as never);
  const scope = { type: 'http' } as Scope;
  const receive = (async () => ({})) as unknown as Receive;
  const send = (async () => {}) as Send;
  t.is(
    callApp(() => RESOLVED, scope, receive, send),
    RESOLVED,
  );
  const error = new Error('sync');
  const failed = callApp(
    () => {
      throw error;
    },
    scope,
    receive,
    send,
  );
  t.true(failed instanceof Promise);
  t.is(await t.throwsAsync(failed), error);
  const object = { asgi: () => RESOLVED };
  t.is(callApp(object, scope, receive, send), RESOLVED);
  await t.throwsAsync(callApp({} as never, scope, receive, send), { instanceOf: TypeError });
});

test('isClass tells classes from functions', (t) => {
  t.true(isClass(class {}));
  t.true(isClass(class X extends Error {}));
  t.false(isClass(function () {}));
  t.false(isClass(() => {}));
  t.false(isClass(Number));
  t.false(isClass({}));
});

test('header values read as text: bytes are latin-1, strings as they are', (t) => {
  t.is(toHeaderString(new Uint8Array([0x63, 0xe9])), 'cé');
  t.is(toHeaderString('ok'), 'ok');
  t.is(ASGI_VERSIONS.version, '3.0');
  t.true(Object.isFrozen(ASGI_VERSIONS));
});

test('concatBytes joins chunks', (t) => {
  const one = new Uint8Array([1]);
  t.is(concatBytes([one]), one);
  t.deepEqual([...concatBytes([one, new Uint8Array([2, 3])])], [1, 2, 3]);
  t.deepEqual([...concatBytes([])], []);
});

test('iterable checks tell sync and async iterables apart', (t) => {
  t.true(isIterable([]));
  t.false(isIterable(null));
  t.true(isAsyncIterable((async function* () {})()));
  t.false(isAsyncIterable([]));
});

test('quote and unquote follow Python urllib.parse', (t) => {
  t.is(quote('/a b/é?'), '/a%20b/%C3%A9%3F');
  t.is(quote('a/b', ''), 'a%2Fb');
  t.is(quotePlus('a b&c/d'), 'a+b%26c%2Fd');
  t.is(unquote('a%20b%C3%A9'), 'a bé');
  t.is(unquote('100%'), '100%');
  t.is(unquote('%zz'), '%zz');
  t.is(unquote('%e9'), '\ufffd');
  t.is(unquotePlus('a+b%2B'), 'a b+');
  t.is(unquote('plain'), 'plain');
  // Escaped runs decode together, malformed escapes stay, other text is kept as it is.
  t.is(unquote('%C3x%A9%4'), '\ufffdx\ufffd%4');
  t.is(unquote('é%20'), 'é ');
  t.is(unquote('%EF%BB%BFa'), '\ufeffa');
  t.is(unquote('%EF%BB%BF%zz'), '\ufeff%zz');
  t.is(unquote('%E9t%E9', 'latin1'), 'été');
  t.is(unquote('%C3%A9%zz', 'latin1'), 'Ã©%zz');
});

test('query strings parse with blank values and encode back', (t) => {
  t.deepEqual(parseQueryString('a=1&b=&c&&d=x+y'), [
    ['a', '1'],
    ['b', ''],
    ['c', ''],
    ['d', 'x y'],
  ]);
  t.deepEqual(parseQueryString(''), []);
  t.is(
    urlencode([
      ['a', 1],
      ['b c', 'd&e'],
    ]),
    'a=1&b+c=d%26e',
  );
});

test('getRoutePath strips root_path only on a segment boundary', (t) => {
  t.is(getRoutePath({ path: '/api/users', root_path: '/api' }), '/users');
  t.is(getRoutePath({ path: '/api', root_path: '/api' }), '');
  t.is(getRoutePath({ path: '/apiary', root_path: '/api' }), '/apiary');
  t.is(getRoutePath({ path: '/x', root_path: '' }), '/x');
  t.is(getRoutePath({ path: '/x' }), '/x');
});

test('guessMediaType knows common extensions', (t) => {
  t.is(guessMediaType('a/b/index.HTML'), 'text/html');
  t.is(guessMediaType('C:\\x\\app.js'), 'text/javascript');
  t.is(guessMediaType('photo.jpeg'), 'image/jpeg');
  t.is(guessMediaType('README'), null);
  t.is(guessMediaType('x.unknownext'), null);
  t.is(guessMediaType('.hidden'), null);
});
