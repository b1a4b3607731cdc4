import test from 'ava';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Starling } from '../src/applications.ts';
import { Mount, Route } from '../src/routing.ts';
import { StaticFiles } from '../src/staticfiles.ts';
import { PlainTextResponse } from '../src/responses.ts';
import { Middleware } from '../src/middleware/index.ts';
import { GZipMiddleware } from '../src/middleware/gzip.ts';
import { nativeStatics } from '../src/server/statics.ts';
import { serve } from '../src/server/index.ts';
import type { ASGIApp } from '../src/asgi.ts';
import { counting } from './_counting.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-native-static-'));
writeFileSync(join(dir, 'app.css'), 'body { color: red }');
writeFileSync(join(dir, 'data.bin'), Buffer.alloc(300 * 1024, 3));
writeFileSync(join(dir, 'big.js'), 'x'.repeat(5000));
writeFileSync(join(dir, 'big.js.gz'), gzipSync('x'.repeat(5000)));
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'sub', 'index.html'), '<p>index</p>');
const outside = mkdtempSync(join(tmpdir(), 'starling-outside-'));
writeFileSync(join(outside, 'secret.txt'), 'secret');
symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));

async function withApp(app: ASGIApp, run: (url: string) => Promise<void>) {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
  try {
    await run(server.url);
  } finally {
    await server.close();
  }
}

test('only plain top-level StaticFiles mounts with no user middleware go native', (t) => {
  const files = new StaticFiles({ directory: dir });
  t.deepEqual(nativeStatics(new Starling({ routes: [new Mount('/static', { app: files })] }))?.staticMounts, [
    { prefix: '/static', directories: [dir], followSymlink: false, cacheControl: undefined },
  ]);
  t.is(
    nativeStatics(
      new Starling({
        routes: [new Mount('/static', { app: files })],
        middleware: [new Middleware(GZipMiddleware)],
      }),
    ),
    null,
  );
  t.is(
    nativeStatics(
      new Starling({
        routes: [
          new Route('/static/app.css', () => new PlainTextResponse('x')),
          new Mount('/static', { app: files }),
        ],
      }),
    ),
    null,
  );
  t.is(
    nativeStatics(
      new Starling({
        routes: [new Route('/{any}/x', () => new PlainTextResponse('x')), new Mount('/s', { app: files })],
      }),
    ),
    null,
  );
});

test('the core serves files itself with the same headers, 304s and precompressed siblings', async (t) => {
  const { app, hits } = counting(
    new Starling({ routes: [new Mount('/static', { app: new StaticFiles({ directory: dir }) })] }),
  );
  await withApp(app, async (url) => {
    const css = await fetch(`${url}/static/app.css`);
    t.is(css.status, 200);
    t.is(css.headers.get('content-type'), 'text/css; charset=utf-8');
    t.is(css.headers.get('accept-ranges'), 'bytes');
    t.is(await css.text(), 'body { color: red }');
    const etag = css.headers.get('etag')!;
    t.regex(etag, /^"[0-9a-f]+-13"$/);
    const again = await fetch(`${url}/static/app.css`, { headers: { 'if-none-match': etag } });
    t.is(again.status, 304);
    const since = await fetch(`${url}/static/app.css`, {
      headers: { 'if-modified-since': css.headers.get('last-modified')! },
    });
    t.is(since.status, 304);
    const bin = await fetch(`${url}/static/data.bin`);
    t.is((await bin.arrayBuffer()).byteLength, 300 * 1024);
    const js = await fetch(`${url}/static/big.js`, { headers: { 'accept-encoding': 'gzip' } });
    t.is(js.headers.get('content-encoding'), 'gzip');
    t.is(js.headers.get('vary'), 'Accept-Encoding');
    t.is((await js.text()).length, 5000);
    t.is(hits(), 0, 'no request entered JS');
  });
});

test('misses, directories, ranges, escapes and other methods fall through to the app', async (t) => {
  const { app, hits } = counting(
    new Starling({
      routes: [new Mount('/static', { app: new StaticFiles({ directory: dir, html: true }) })],
    }),
  );
  await withApp(app, async (url) => {
    t.is((await fetch(`${url}/static/missing.txt`)).status, 404);
    const index = await fetch(`${url}/static/sub/`);
    t.is(await index.text(), '<p>index</p>');
    const range = await fetch(`${url}/static/data.bin`, { headers: { range: 'bytes=0-9' } });
    t.is(range.status, 206);
    t.is((await range.arrayBuffer()).byteLength, 10);
    t.is((await fetch(`${url}/static/link.txt`)).status, 404);
    t.is((await fetch(`${url}/static/app.css`, { method: 'POST' })).status, 405);
    t.is(hits(), 5);
  });
});

test('cacheControl and Vary come with 200s and 304s alike; a directory named like a sibling is no sibling', async (t) => {
  const site = mkdtempSync(join(tmpdir(), 'starling-native-cc-'));
  writeFileSync(join(site, 'big.js'), 'y'.repeat(5000));
  writeFileSync(join(site, 'big.js.br'), 'not really brotli');
  writeFileSync(join(site, 'page.html'), '<p>page</p>');
  mkdirSync(join(site, 'page.html.gz'));
  const { app, hits } = counting(
    new Starling({
      routes: [
        new Mount('/static', {
          app: new StaticFiles({ directory: site, cacheControl: 'public, max-age=60' }),
        }),
      ],
    }),
  );
  await withApp(app, async (url) => {
    const js = await fetch(`${url}/static/big.js`);
    t.is(js.headers.get('cache-control'), 'public, max-age=60');
    t.is(js.headers.get('vary'), 'Accept-Encoding');
    t.is(js.headers.get('content-encoding'), null);
    t.is((await js.text()).length, 5000);
    const again = await fetch(`${url}/static/big.js`, {
      headers: { 'if-none-match': js.headers.get('etag')! },
    });
    t.is(again.status, 304);
    t.is(again.headers.get('cache-control'), 'public, max-age=60');
    t.is(again.headers.get('vary'), 'Accept-Encoding');
    const page = await fetch(`${url}/static/page.html`, { headers: { 'accept-encoding': 'gzip' } });
    t.is(await page.text(), '<p>page</p>');
    t.is(page.headers.get('content-encoding'), null);
    t.is(page.headers.get('vary'), null);
    t.is(hits(), 0, 'no request entered JS');
  });
});

test('with followSymlink the core serves a link out of the directory; a NUL in the path is left to the app', async (t) => {
  const { app, hits } = counting(
    new Starling({
      routes: [new Mount('/static', { app: new StaticFiles({ directory: dir, followSymlink: true }) })],
    }),
  );
  await withApp(app, async (url) => {
    t.is(await (await fetch(`${url}/static/link.txt`)).text(), 'secret');
    t.is(hits(), 0);
    t.is((await fetch(`${url}/static/app.css%00.txt`)).status, 404);
    t.is(hits(), 1);
  });
});
