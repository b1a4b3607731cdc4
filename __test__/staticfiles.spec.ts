import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { HTTPException } from '../src/exceptions.ts';
import { StaticFiles } from '../src/staticfiles.ts';
import { call, type CallOptions } from './_asgi.ts';

/** A fresh temporary directory holding the given files (paths relative to it). */
function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'starling-static-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}

/** Calls the app as if mounted at `/static` in a bare router (no exception middleware). */
const get = (app: StaticFiles, path: string, options: CallOptions = {}) =>
  call(app, path, { rootPath: '/static', ...options });

test('a file is served with its media type, length and validators', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'example.txt': '<file content>' }) });
  const res = await get(app, '/example.txt');
  t.is(res.status, 200);
  t.is(res.text, '<file content>');
  t.regex(res.header('content-type')!, /^text\/plain/);
  t.is(res.header('content-length'), '14');
  t.truthy(res.header('etag'));
  t.truthy(res.header('last-modified'));
});

test('nested files are found and HEAD sends headers only', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'css/site.css': 'body{}' }) });
  const res = await get(app, '/css/site.css', { method: 'HEAD' });
  t.is(res.status, 200);
  t.is(res.header('content-length'), '6');
  t.is(res.text, '');
});

test('a missing file is a 404 and other methods a 405', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'a.txt': 'a' }) });
  const missing = await get(app, '/nope.txt');
  t.is(missing.status, 404);
  t.is(missing.text, 'Not Found');
  const post = await get(app, '/a.txt', { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.text, 'Method Not Allowed');
});

test('inside an app, misses and wrong methods are thrown as HTTPException for its handlers', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'a.txt': 'a' }) });
  const inApp = { scope: { app: {} } };
  await t.throwsAsync(get(app, '/nope.txt', inApp), { instanceOf: HTTPException, message: /404/ });
  await t.throwsAsync(get(app, '/a.txt', { ...inApp, method: 'DELETE' }), {
    instanceOf: HTTPException,
    message: /405/,
  });
});

test('path traversal outside the directory is a 404', async (t) => {
  const outside = tree({ 'secret.txt': 'secret' });
  const root = join(outside, 'public');
  mkdirSync(root);
  writeFileSync(join(root, 'ok.txt'), 'ok');
  const app = new StaticFiles({ directory: root });
  for (const path of [
    '/../secret.txt',
    '/..%2Fsecret.txt',
    '/%2e%2e/secret.txt',
    '/ok.txt/../../secret.txt',
    '/a\0b',
  ]) {
    const res = await get(app, path);
    t.is(res.status, 404, path);
  }
  t.is((await get(app, '/./ok.txt')).text, 'ok');
});

test('a symlink escaping the directory is a 404 unless followSymlink is set', async (t) => {
  const outside = tree({ 'secret.txt': 'secret' });
  const root = tree({});
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
  t.is((await get(new StaticFiles({ directory: root }), '/link.txt')).status, 404);
  const res = await get(new StaticFiles({ directory: root, followSymlink: true }), '/link.txt');
  t.is(res.status, 200);
  t.is(res.text, 'secret');
});

test('a symlink inside the directory is served', async (t) => {
  const root = tree({ 'real.txt': 'real' });
  symlinkSync(join(root, 'real.txt'), join(root, 'alias.txt'));
  t.is((await get(new StaticFiles({ directory: root }), '/alias.txt')).text, 'real');
});

test('html mode serves index.html for directories and redirects to the trailing slash', async (t) => {
  const app = new StaticFiles({
    directory: tree({ 'index.html': '<h1>Home</h1>', 'docs/index.html': '<h1>Docs</h1>' }),
    html: true,
  });
  t.is((await get(app, '/')).text, '<h1>Home</h1>');
  const redirect = await get(app, '/docs?x=1');
  t.is(redirect.status, 307);
  t.is(redirect.header('location'), 'http://testserver/static/docs/?x=1');
  const page = await get(app, '/docs/');
  t.is(page.text, '<h1>Docs</h1>');
  t.regex(page.header('content-type')!, /^text\/html/);
});

test('html mode serves 404.html with status 404 for misses', async (t) => {
  const app = new StaticFiles({ directory: tree({ '404.html': '<h1>Custom</h1>' }), html: true });
  const res = await get(app, '/missing');
  t.is(res.status, 404);
  t.is(res.text, '<h1>Custom</h1>');
  const plain = new StaticFiles({ directory: tree({ 'sub/x.txt': 'x' }), html: true });
  t.is((await get(plain, '/sub')).status, 404, 'a directory without index.html');
  t.is((await get(plain, '/missing')).text, 'Not Found');
});

test('without html mode a directory is a 404', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'index.html': 'x' }) });
  t.is((await get(app, '/')).status, 404);
});

test('If-None-Match and If-Modified-Since give 304', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'a.txt': 'abc' }), cacheControl: 'public, max-age=60' });
  const first = await get(app, '/a.txt');
  t.is(first.header('cache-control'), 'public, max-age=60');
  const byEtag = await get(app, '/a.txt', { headers: { 'if-none-match': first.header('etag')! } });
  t.is(byEtag.status, 304);
  t.is(byEtag.text, '');
  t.is(byEtag.header('cache-control'), 'public, max-age=60');
  const byDate = await get(app, '/a.txt', {
    headers: { 'if-modified-since': first.header('last-modified')! },
  });
  t.is(byDate.status, 304);
  const stale = await get(app, '/a.txt', { headers: { 'if-none-match': '"other"' } });
  t.is(stale.status, 200);
});

test('a byte range is answered with 206', async (t) => {
  const app = new StaticFiles({ directory: tree({ 'a.txt': '0123456789' }) });
  const res = await get(app, '/a.txt', { headers: { range: 'bytes=2-4' } });
  t.is(res.status, 206);
  t.is(res.text, '234');
  t.is(res.header('content-range'), 'bytes 2-4/10');
});

test('precompressed siblings are sent to clients that accept them', async (t) => {
  const text = 'hello '.repeat(100);
  const root = tree({ 'app.js': text, 'app.js.gz': gzipSync(text), 'app.js.br': brotliCompressSync(text) });
  const app = new StaticFiles({ directory: root });
  const br = await get(app, '/app.js', { headers: { 'accept-encoding': 'gzip, br' } });
  t.is(br.header('content-encoding'), 'br');
  t.regex(br.header('content-type')!, /^text\/javascript/);
  t.is(br.header('vary'), 'Accept-Encoding');
  const gz = await get(app, '/app.js', { headers: { 'accept-encoding': 'gzip, br;q=0' } });
  t.is(gz.header('content-encoding'), 'gzip');
  t.is(gunzipSync(gz.body).toString(), text);
  const plain = await get(app, '/app.js');
  t.is(plain.header('content-encoding'), undefined);
  t.is(plain.header('vary'), 'Accept-Encoding');
  t.is(plain.text, text);
});

test('several directories and packages are searched in order', async (t) => {
  const first = tree({ 'a.txt': 'first' });
  const cwd = process.cwd();
  const project = tree({
    'node_modules/widgets/package.json': '{"name":"widgets"}',
    'node_modules/widgets/statics/w.txt': 'widget',
    'node_modules/widgets/public/p.txt': 'public',
  });
  process.chdir(project);
  try {
    const app = new StaticFiles({ directory: first, packages: ['widgets', ['widgets', 'public']] });
    t.is((await get(app, '/a.txt')).text, 'first');
    t.is((await get(app, '/w.txt')).text, 'widget');
    t.is((await get(app, '/p.txt')).text, 'public');
    t.throws(() => new StaticFiles({ packages: [['widgets', 'missing']] }), {
      message: /could not be found/,
    });
    t.is((await get(new StaticFiles({ packages: ['widgets'] }), '/b.txt')).status, 404);
  } finally {
    process.chdir(cwd);
  }
});

test('a missing directory is an error at construction, or at the first request without checkDir', async (t) => {
  const missing = join(tree({}), 'nope');
  t.throws(() => new StaticFiles({ directory: missing }), { message: /does not exist/ });
  const lazy = new StaticFiles({ directory: missing, checkDir: false });
  await t.throwsAsync(get(lazy, '/a.txt'), { message: `StaticFiles directory '${missing}' does not exist.` });
  const file = join(tree({ 'f.txt': 'x' }), 'f.txt');
  await t.throwsAsync(get(new StaticFiles({ directory: file, checkDir: false }), '/'), {
    message: /is not a directory/,
  });
});

test('an unreadable file is a 401', async (t) => {
  if (process.getuid?.() === 0) {
    t.pass('root reads every file');
    return;
  }
  const root = tree({ 'locked/a.txt': 'x' });
  chmodSync(join(root, 'locked'), 0o000);
  const res = await get(new StaticFiles({ directory: root }), '/locked/a.txt', { scope: { app: {} } }).catch(
    (e: HTTPException) => e,
  );
  chmodSync(join(root, 'locked'), 0o755);
  t.is((res as HTTPException).statusCode, 401);
});

test('websocket connections are closed', async (t) => {
  const res = await call(new StaticFiles({ directory: tree({}) }), '/', { type: 'websocket' });
  t.deepEqual(res.messages, [{ type: 'websocket.close', code: 1000 }]);
});
