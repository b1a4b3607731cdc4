import test from 'ava';
import { inspect } from 'node:util';
import { existsSync } from 'node:fs';
import {
  Address,
  CommaSeparatedStrings,
  FormData,
  Headers,
  ImmutableMultiDict,
  MultiDict,
  MutableHeaders,
  QueryParams,
  Secret,
  SpooledTemporaryFile,
  State,
  UploadFile,
  URL,
  URLPath,
} from '../src/datastructures.ts';
import type { HTTPScope } from '../src/asgi.ts';

const enc = (s: string) => Buffer.from(s, 'latin1');

function scope(overrides: Partial<HTTPScope> = {}): HTTPScope {
  return {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.4' },
    http_version: '1.1',
    method: 'GET',
    scheme: 'http',
    path: '/path/to/somewhere',
    raw_path: enc('/path/to/somewhere'),
    query_string: enc('abc=123'),
    root_path: '',
    headers: [],
    client: null,
    server: ['example.org', 123],
    ...overrides,
  };
}

test('URL exposes every component of an absolute URL', (t) => {
  const u = new URL('https://example.org:123/path/to/somewhere?abc=123#anchor');
  t.is(u.scheme, 'https');
  t.is(u.hostname, 'example.org');
  t.is(u.port, 123);
  t.is(u.netloc, 'example.org:123');
  t.is(u.username, null);
  t.is(u.password, null);
  t.is(u.path, '/path/to/somewhere');
  t.is(u.query, 'abc=123');
  t.is(u.fragment, 'anchor');
  t.true(u.isSecure);
  t.deepEqual(u.components, {
    scheme: 'https',
    netloc: 'example.org:123',
    path: '/path/to/somewhere',
    query: 'abc=123',
    fragment: 'anchor',
  });
});

test('URL.replace changes parts and rebuilds the netloc from hostname, port and credentials', (t) => {
  const u = new URL('https://example.org:123/path/to/somewhere?abc=123#anchor');
  t.is(String(u.replace({ scheme: 'http' })), 'http://example.org:123/path/to/somewhere?abc=123#anchor');
  t.is(String(u.replace({ port: null })), 'https://example.org/path/to/somewhere?abc=123#anchor');
  t.is(
    String(u.replace({ hostname: 'example.com' })),
    'https://example.com:123/path/to/somewhere?abc=123#anchor',
  );
  t.is(
    String(u.replace({ username: 'u', password: 'p' })),
    'https://u:p@example.org:123/path/to/somewhere?abc=123#anchor',
  );
  t.is(String(u.replace({ username: 'u' })), 'https://u@example.org:123/path/to/somewhere?abc=123#anchor');
  t.is(String(new URL('http://[::1]:8000/').replace({ port: 9000 })), 'http://[::1]:9000/');
  t.is(String(new URL('http://a/').replace({ hostname: '::1' })), 'http://[::1]/');
  t.is(new URL('http://[::1]:8000/').hostname, '::1');
  t.is(new URL('http://u:p@Example.ORG/').hostname, 'example.org');
  t.is(new URL('http://u:p@example.org/').password, 'p');
});

test('URL.replace on a URL without authority keeps it relative or adds one', (t) => {
  const u = new URL('/path?x=1');
  t.is(u.hostname, null);
  t.is(u.port, null);
  t.is(String(u.replace({ scheme: 'https', netloc: 'example.org' })), 'https://example.org/path?x=1');
  t.is(String(new URL('http://a.b/').replace({ path: 'c' })), 'http://a.b/c');
});

test('URL query helpers include, replace and remove parameters', (t) => {
  const u = new URL('https://example.org/path/?page=3');
  t.is(String(u.includeQueryParams({ page: 4 })), 'https://example.org/path/?page=4');
  t.is(String(u.includeQueryParams({ search: 'a b' })), 'https://example.org/path/?page=3&search=a+b');
  t.is(String(u.replaceQueryParams({ order: 'name' })), 'https://example.org/path/?order=name');
  t.is(String(u.removeQueryParams('page')), 'https://example.org/path/');
  t.is(String(new URL('/p?a=1&b=2&c=3').removeQueryParams(['a', 'c'])), '/p?b=2');
});

test('URL equality, JSON and inspect hide nothing but the password', (t) => {
  const u = new URL('https://user:secret@example.org/');
  t.true(u.equals('https://user:secret@example.org/'));
  t.false(u.equals(new URL('https://example.org/')));
  t.is(JSON.stringify({ u }), '{"u":"https://user:secret@example.org/"}');
  t.is(inspect(u), 'URL("https://user:********@example.org/")');
  t.is(inspect(new URL('/x')), 'URL("/x")');
  t.is(Object.prototype.toString.call(u), '[object URL]');
  t.throws(() => new URL('http://a:99999/').port, { instanceOf: RangeError });
});

test('URL can be built from components', (t) => {
  t.is(String(new URL('', { scheme: 'https', netloc: 'example.org', path: '/p' })), 'https://example.org/p');
});

test('URL from a scope uses a valid Host header, else the server address', (t) => {
  t.is(String(new URL('', { scope: scope() })), 'http://example.org:123/path/to/somewhere?abc=123');
  t.is(
    String(URL.fromScope(scope({ server: ['example.org', 80] }))),
    'http://example.org/path/to/somewhere?abc=123',
  );
  t.is(
    String(URL.fromScope(scope({ scheme: 'https', server: ['example.org', 443] }))),
    'https://example.org/path/to/somewhere?abc=123',
  );
  t.is(
    String(URL.fromScope(scope({ headers: [[enc('host'), enc('example.com:8000')]] }))),
    'http://example.com:8000/path/to/somewhere?abc=123',
  );
  t.is(
    String(URL.fromScope(scope({ server: ['::1', 8000] }))),
    'http://[::1]:8000/path/to/somewhere?abc=123',
  );
  t.is(String(URL.fromScope(scope({ server: null, query_string: enc('') }))), '/path/to/somewhere');
  t.is(String(URL.fromScope(scope({ server: null }))), '/path/to/somewhere?abc=123');
});

test('URL from a scope ignores a Host header that could change the path or authority', (t) => {
  const evil = URL.fromScope(scope({ headers: [[enc('host'), enc('evil.com/x?')]] }));
  t.is(evil.netloc, 'example.org:123');
  const badPort = URL.fromScope(scope({ headers: [[enc('host'), enc('a.com:99999')]] }));
  t.is(badPort.netloc, 'example.org:123');
  const path = URL.fromScope(scope({ path: '/a?b#c' }));
  t.is(path.path, '/a%3Fb%23c');
  t.is(
    String(URL.fromScope(scope({ server: null, path: '//evil.com', query_string: enc('') }))),
    '/%2Fevil.com',
  );
});

test('URLPath makes absolute URLs matching the protocol and base security', (t) => {
  const p = new URLPath('/ws/chat', 'websocket');
  t.is(String(p.makeAbsoluteURL('https://example.org/app/')), 'wss://example.org/app/ws/chat');
  t.is(String(p.makeAbsoluteURL(new URL('http://example.org'))), 'ws://example.org/ws/chat');
  t.is(String(new URLPath('/x', 'http').makeAbsoluteURL('https://a.org')), 'https://a.org/x');
  t.is(String(new URLPath('/x', 'http').makeAbsoluteURL('http://a.org')), 'http://a.org/x');
  t.is(String(new URLPath('/x', '', 'sub.a.org').makeAbsoluteURL('ftp://a.org')), 'ftp://sub.a.org/x');
  t.is(String(new URLPath('/x')), '/x');
  t.is(`${new URLPath('/y')}`, '/y');
});

test('Headers are case-insensitive and keep duplicates in order', (t) => {
  const h = new Headers({
    raw: [
      [enc('a'), enc('123')],
      [enc('a'), enc('456')],
      [enc('b'), enc('789')],
    ],
  });
  t.true(h.has('A'));
  t.false(h.has('c'));
  t.is(h.get('a'), '123');
  t.is(h.get('c'), null);
  t.is(h.get('c', 'x'), 'x');
  t.deepEqual(h.getAll('a'), ['123', '456']);
  t.deepEqual(h.getlist('b'), ['789']);
  t.deepEqual(h.keys(), ['a', 'a', 'b']);
  t.deepEqual(h.values(), ['123', '456', '789']);
  t.deepEqual(h.items(), [
    ['a', '123'],
    ['a', '456'],
    ['b', '789'],
  ]);
  t.deepEqual([...h], h.entries());
  t.is(h.size, 3);
  t.is(h.length, 3);
  t.deepEqual(h.toJSON(), { a: '456', b: '789' });
  t.true(
    h.equals(
      new Headers([
        ['b', '789'],
        ['a', '456'],
        ['a', '123'],
      ]),
    ),
  );
  t.false(h.equals(new Headers({ a: '123' })));
  t.false(h.equals({}));
  t.is(inspect(new Headers({ A: '1' })), 'Headers([["a","1"]])');
});

test('Headers accept records, pairs, other Headers and nothing', (t) => {
  t.is(new Headers({ 'Content-Type': 'text/plain' }).get('content-type'), 'text/plain');
  t.is(new Headers([['X-A', '1']]).get('x-a'), '1');
  const copy = new Headers(new Headers({ a: '1' }));
  t.is(copy.get('a'), '1');
  t.is(new Headers().size, 0);
  t.is(new Headers(null).size, 0);
  t.is(new Headers({ raw: 'x' as never }).get('raw'), 'x');
});

test('Headers from a scope read its header list, converting string pairs to bytes in place', (t) => {
  const message = { headers: [['content-type', 'text/plain'] as [string, string]] };
  const h = new MutableHeaders({ scope: message });
  t.is(h.get('content-type'), 'text/plain');
  h.set('x-y', 'z');
  t.true((message.headers[0]![0] as unknown) instanceof Uint8Array);
  t.is(Buffer.from(message.headers[1]![1] as never).toString(), 'z');
  const empty: { headers?: unknown } = {};
  new MutableHeaders({ scope: empty as never }).append('a', 'b');
  t.is((empty.headers as unknown[]).length, 1);
  const iter = { headers: new Set([['a', 'b']]) as unknown as [string, string][] };
  t.is(new Headers({ scope: iter }).get('a'), 'b');
});

test('MutableHeaders over a frozen header list copy it on the first write, into the message', (t) => {
  const frozen = Object.freeze([Object.freeze([enc('a'), enc('1')])]) as unknown as [
    Uint8Array,
    Uint8Array,
  ][];
  const message = { headers: frozen };
  const h = new MutableHeaders({ scope: message });
  t.is(h.raw, frozen);
  h.delete('missing');
  t.is(message.headers, frozen);
  h.update({ b: '2' });
  t.deepEqual(h.items(), [
    ['a', '1'],
    ['b', '2'],
  ]);
  t.not(message.headers, frozen);
  t.is(message.headers, h.raw);
  t.is(frozen.length, 1);
  for (const edit of [
    (m: MutableHeaders) => m.set('a', '2'),
    (m: MutableHeaders) => m.append('a', '2'),
    (m: MutableHeaders) => m.setDefault('c', '2'),
    (m: MutableHeaders) => m.delete('a'),
    (m: MutableHeaders) => m.addVaryHeader('Origin'),
  ]) {
    const raw = Object.freeze([[enc('a'), enc('1')]]) as unknown as [Uint8Array, Uint8Array][];
    const m = new MutableHeaders({ raw });
    edit(m);
    t.is(raw.length, 1);
    t.not(m.raw, raw);
  }
  const strings = { headers: Object.freeze([['x', 'y']]) as unknown as [string, string][] };
  t.is(new Headers({ scope: strings }).get('x'), 'y');
  t.true((strings.headers[0]![0] as unknown) instanceof Uint8Array);
});

test('MutableHeaders set, delete, setDefault, update, append and addVaryHeader edit the raw list', (t) => {
  const h = new MutableHeaders({
    raw: [
      [enc('a'), enc('1')],
      [enc('b'), enc('2')],
      [enc('a'), enc('3')],
    ],
  });
  h.set('A', 'x');
  t.deepEqual(h.items(), [
    ['a', 'x'],
    ['b', '2'],
  ]);
  h.set('c', 'y');
  t.deepEqual(h.getAll('c'), ['y']);
  h.delete('b');
  t.false(h.has('b'));
  t.is(h.setDefault('a', 'no'), 'x');
  t.is(h.setDefault('d', 'yes'), 'yes');
  h.update({ a: 'z', e: 'new' });
  h.update([['f', '1']]);
  t.is(h.get('a'), 'z');
  t.is(h.get('f'), '1');
  h.append('set-cookie', 'a=1');
  h.append('set-cookie', 'b=2');
  t.deepEqual(h.getAll('set-cookie'), ['a=1', 'b=2']);
  h.addVaryHeader('Origin');
  h.addVaryHeader('Accept-Encoding');
  t.is(h.get('vary'), 'Origin, Accept-Encoding');
  const copy = h.mutableCopy();
  copy.delete('a');
  t.true(h.has('a'));
});

test('ImmutableMultiDict gives the last value and keeps every pair', (t) => {
  const d = new ImmutableMultiDict([
    ['a', '123'],
    ['a', '456'],
    ['b', '789'],
  ]);
  t.is(d.get('a'), '456');
  t.is(d.get('c'), null);
  t.is(d.get('c', 'd'), 'd');
  t.deepEqual(d.getAll('a'), ['123', '456']);
  t.deepEqual(d.getlist('b'), ['789']);
  t.deepEqual(d.keys(), ['a', 'b']);
  t.deepEqual(d.values(), ['456', '789']);
  t.deepEqual(d.items(), [
    ['a', '456'],
    ['b', '789'],
  ]);
  t.deepEqual(d.multiItems(), [
    ['a', '123'],
    ['a', '456'],
    ['b', '789'],
  ]);
  t.deepEqual(d.entries(), d.multiItems());
  t.deepEqual([...d], d.multiItems());
  t.is(d.size, 2);
  t.true(d.has('a'));
  t.false(d.has('z'));
  t.true(
    d.equals(
      new ImmutableMultiDict([
        ['b', '789'],
        ['a', '123'],
        ['a', '456'],
      ]),
    ),
  );
  t.false(d.equals(new ImmutableMultiDict({ a: '1' })));
  t.false(d.equals('x'));
  t.false(d.equals(null));
  t.true(new QueryParams('a=123&b=456').equals({ b: '456', a: '123' }));
  t.true(new QueryParams().equals({}));
  t.true(
    new QueryParams([
      ['a', '1'],
      ['a', '2'],
    ]).equals(new QueryParams('a=1&a=2')),
  );
  t.deepEqual(d.toJSON(), { a: '456', b: '789' });
  t.is(inspect(new ImmutableMultiDict({ a: ['1', '2'] })), 'ImmutableMultiDict([["a","1"],["a","2"]])');
  t.deepEqual(new ImmutableMultiDict(d).multiItems(), d.multiItems());
  t.is(new ImmutableMultiDict().size, 0);
});

test('MultiDict can be changed like Starlette’s', (t) => {
  const d = new MultiDict([
    ['a', '1'],
    ['b', '2'],
    ['a', '3'],
  ]);
  d.set('a', 'x');
  t.deepEqual(d.multiItems(), [
    ['a', 'x'],
    ['b', '2'],
  ]);
  d.append('a', 'y');
  t.deepEqual(d.getAll('a'), ['x', 'y']);
  t.is(d.pop('a'), 'y');
  t.is(d.pop('a', 'none'), 'none');
  t.is(d.pop('zz'), null);
  d.setList('c', ['1', '2']);
  t.deepEqual(d.popList('c'), ['1', '2']);
  d.setList('b', []);
  t.false(d.has('b'));
  t.is(d.setDefault('e', '5'), '5');
  t.is(d.setDefault('e', '6'), '5');
  d.append('f', '1');
  t.deepEqual(d.popItem(), ['f', '1']);
  d.update({ e: 'new', g: '7' });
  t.deepEqual(d.multiItems(), [
    ['e', 'new'],
    ['g', '7'],
  ]);
  d.delete('e');
  t.deepEqual(d.keys(), ['g']);
  d.clear();
  t.is(d.size, 0);
  t.throws(() => d.popItem(), { message: /empty/ });
});

test('QueryParams parse strings and bytes keeping blank values, and encode back', (t) => {
  const q = new QueryParams('a=123&a=456&b=789&empty=&flag');
  t.is(q.get('a'), '456');
  t.deepEqual(q.getAll('a'), ['123', '456']);
  t.is(q.get('empty'), '');
  t.is(q.get('flag'), '');
  t.is(String(q), 'a=123&a=456&b=789&empty=&flag=');
  t.is(new QueryParams(enc('x=%C3%A9&y=a+b')).get('x'), 'é');
  t.is(new QueryParams('y=a+b%2B').get('y'), 'a b+');
  t.is(String(new QueryParams({ a: '1', b: ['2', '3'] })), 'a=1&b=2&b=3');
  t.is(String(new QueryParams([['q', 'a&b c']])), 'q=a%26b+c');
  t.is(String(new QueryParams({ n: 1 })), 'n=1');
  t.is(new QueryParams().size, 0);
  t.is(new QueryParams('a=%zz%').get('a'), '%zz%');
  t.is(new QueryParams('a=%ff').get('a'), '\ufffd');
  t.is(new QueryParams('&&a=1&').get('a'), '1');
});

test('a FormData equals only another FormData with the same values, files compared by identity', async (t) => {
  const upload = new UploadFile({ filename: 'file', file: 'data' });
  const form = new FormData([
    ['a', '123'],
    ['a', '456'],
    ['b', upload],
  ]);
  t.true(new FormData(form).equals(form));
  t.true(
    new FormData({ a: '123', b: '789' }).equals(
      new FormData([
        ['a', '123'],
        ['b', '789'],
      ]),
    ),
  );
  t.false(new FormData({ a: '123', b: '789' }).equals({ a: '123', b: '789' }));
  t.false(new FormData({ a: '123' }).equals([['a', '123']]));
  t.false(new FormData({ a: '123' }).equals(new ImmutableMultiDict({ a: '123' })));
  t.false(new ImmutableMultiDict({ a: '123' }).equals(new FormData({ a: '123' })));
  const other = new UploadFile({ filename: 'file', file: 'data' });
  t.false(new FormData({ b: upload }).equals(new FormData({ b: other })));
  await upload.close();
  await other.close();
});

test("multi-dicts are unequal when a key's values come in another order, as get() tells them apart", (t) => {
  const ab = new QueryParams('a=1&a=2&b=3');
  t.true(ab.equals(new QueryParams('b=3&a=1&a=2')));
  t.false(ab.equals(new QueryParams('a=2&a=1&b=3')));
  t.false(new MultiDict({ a: ['1', '2'] }).equals(new MultiDict({ a: ['2', '1'] })));
});

test('FormData closes every uploaded file', async (t) => {
  const file = new UploadFile({ filename: 'a.txt', file: 'abc' });
  const form = new FormData([
    ['name', 'x'],
    ['upload', file],
  ]);
  t.is(form.get('name'), 'x');
  await form.close();
  t.true(file.file.closed);
});

test('UploadFile reads, seeks and writes, tracking a known size', async (t) => {
  const file = new UploadFile({
    filename: 'a.txt',
    size: 0,
    headers: new Headers({ 'content-type': 'text/plain' }),
  });
  t.is(file.contentType, 'text/plain');
  t.is(file.size, 0);
  await file.write('hello ');
  await file.write(new Uint8Array([119, 111, 114, 108, 100]));
  t.is(file.size, 11);
  await file.seek(0);
  t.is(Buffer.from(await file.read(5)).toString(), 'hello');
  t.is(Buffer.from(await file.read()).toString(), ' world');
  t.is((await file.read()).length, 0);
  await file.close();
  await t.throwsAsync(file.read(), { message: 'I/O operation on closed file.' });
  t.is(new UploadFile().contentType, null);
});

test('UploadFile built from bytes starts with that content', async (t) => {
  const file = new UploadFile({ file: new Uint8Array([1, 2, 3]) });
  t.is(file.size, null);
  t.deepEqual([...(await file.read())], [1, 2, 3]);
  await file.seek(1);
  t.deepEqual([...(await file.read(1))], [2]);
  const fresh = new UploadFile({ file: 'xyz' });
  await fresh.seek(2);
  t.is(Buffer.from(await fresh.read()).toString(), 'z');
  const appended = new UploadFile({ file: 'ab', size: 2 });
  await appended.seek(2);
  await appended.write('c');
  await appended.seek(0);
  t.is(Buffer.from(await appended.read()).toString(), 'abc');
  t.is(appended.size, 3);
  const unknown = new UploadFile({ file: 'data' });
  await unknown.write(' and more');
  t.is(unknown.size, null);
  t.regex(inspect(new UploadFile({ filename: 'f' })), /UploadFile\(filename="f"/);
  await new UploadFile({ file: 'never read' }).close();
});

test('SpooledTemporaryFile rolls over to a temporary file past its size and deletes it on close', async (t) => {
  const spool = new SpooledTemporaryFile(10);
  await spool.write('12345');
  t.false(spool.rolledToDisk);
  t.is(spool.path, null);
  await spool.write('6789012');
  t.true(spool.rolledToDisk);
  const path = spool.path!;
  t.true(existsSync(path));
  t.is(spool.length, 12);
  t.is(spool.tell(), 12);
  await spool.seek(-2, 2);
  t.is(Buffer.from(await spool.read()).toString(), '12');
  await spool.seek(0);
  await spool.seek(3, 1);
  t.is(Buffer.from(await spool.read(4)).toString(), '4567');
  await t.throwsAsync(spool.seek(-1), { instanceOf: RangeError });
  await spool.close();
  await spool.close();
  t.false(existsSync(path));
});

test('SpooledTemporaryFile grows its memory buffer and supports overwriting', async (t) => {
  const spool = new SpooledTemporaryFile();
  for (let i = 0; i < 100; i++) await spool.write('x'.repeat(100));
  t.false(spool.rolledToDisk);
  await spool.seek(0);
  await spool.write('y');
  t.is(spool.length, 10000);
  await spool.seek(0);
  const all = await spool.read();
  t.is(all.length, 10000);
  t.is(all[0], 121);
  t.is(all[1], 120);
  await spool.close();
});

test('State reads and writes the object it wraps', (t) => {
  const backing: Record<string, unknown> = { a: 1 };
  const state = new State(backing);
  t.is(state.a, 1);
  state.b = 2;
  t.is(backing.b, 2);
  t.true('b' in state);
  t.false('z' in state);
  t.is(state.z, undefined);
  delete state.a;
  t.false('a' in backing);
  t.deepEqual(Object.keys(state), ['b']);
  t.deepEqual({ ...state }, { b: 2 });
  t.is(JSON.stringify(state), '{"b":2}');
  t.is(state._state, backing);
  t.true((state as object) instanceof State);
  t.is(Object.getOwnPropertyDescriptor(state, 'nope'), undefined);
  t.false(Reflect.set(state, Symbol('s'), 1));
  t.true(Reflect.deleteProperty(state, Symbol('s')));
  t.is(typeof new State().toString, 'function');
});

test('Address reads as host and port and destructures as a pair', (t) => {
  const a = new Address('127.0.0.1', 8000);
  t.is(a.host, '127.0.0.1');
  t.is(a.port, 8000);
  const [host, port] = a;
  t.deepEqual([host, port], ['127.0.0.1', 8000]);
  t.deepEqual(JSON.parse(JSON.stringify(a)), { host: '127.0.0.1', port: 8000 });
});

test('Secret shows its value only when turned into a string', (t) => {
  const s = new Secret('hunter2');
  t.is(String(s), 'hunter2');
  t.is(`${s}`, 'hunter2');
  t.is(inspect(s), "Secret('**********')");
  t.is(JSON.stringify({ s }), '{"s":"**********"}');
  t.is(s.valueOf(), 'hunter2');
});

test('CommaSeparatedStrings splits on commas, honouring quotes and escapes', (t) => {
  t.deepEqual([...new CommaSeparatedStrings('a, b,c')], ['a', 'b', 'c']);
  t.deepEqual([...new CommaSeparatedStrings('"a,b", c')], ['a,b', 'c']);
  t.deepEqual([...new CommaSeparatedStrings('a,,b')], ['a', 'b']);
  t.deepEqual([...new CommaSeparatedStrings("'x y' ,z")], ['x y', 'z']);
  t.deepEqual([...new CommaSeparatedStrings(' a  b , c')], ['a  b', 'c']);
  t.deepEqual([...new CommaSeparatedStrings('a\\,b')], ['a,b']);
  t.deepEqual([...new CommaSeparatedStrings('"a\\"b"')], ['a"b']);
  t.deepEqual([...new CommaSeparatedStrings(['x', 'y'])], ['x', 'y']);
  t.is(new CommaSeparatedStrings().length, 0);
  const c = new CommaSeparatedStrings('a, b');
  t.is(String(c), "'a', 'b'");
  t.is(c.length, 2);
  t.deepEqual(
    c.map((x) => x.toUpperCase()),
    ['A', 'B'],
  );
  t.is(new CommaSeparatedStrings(3).length, 3);
  t.throws(() => new CommaSeparatedStrings('"open'), { message: 'No closing quotation' });
});

test('FormData closes its files when disposed', async (t) => {
  const file = new UploadFile({ filename: 'a.txt', file: 'abc' });
  {
    await using form = new FormData([['upload', file]]);
    t.is((form.get('upload') as UploadFile).filename, 'a.txt');
  }
  t.true(file.file.closed);
});
