import test from 'ava';
import { HTTPSRedirectMiddleware } from '../../src/middleware/httpsredirect.ts';
import { call, textApp } from '../_asgi.ts';

const app = new HTTPSRedirectMiddleware(textApp('OK'));

test('https requests pass through', async (t) => {
  const res = await call(app, '/', { scheme: 'https' });
  t.is(res.status, 200);
  t.is(res.text, 'OK');
});

test('http requests are redirected to https with path and query kept', async (t) => {
  const res = await call(app, '/a%20b/c?x=1&y=2');
  t.is(res.status, 307);
  t.is(res.header('location'), 'https://testserver/a%20b/c?x=1&y=2');
});

test('default ports are dropped and other ports kept', async (t) => {
  t.is(
    (await call(app, '/', { headers: { host: 'testserver:80' } })).header('location'),
    'https://testserver/',
  );
  t.is(
    (await call(app, '/', { headers: { host: 'testserver:443' } })).header('location'),
    'https://testserver/',
  );
  t.is(
    (await call(app, '/', { headers: { host: 'testserver:123' } })).header('location'),
    'https://testserver:123/',
  );
});

test('without a Host header the server address is used', async (t) => {
  const res = await call(app, '/', { headers: [], scope: { headers: [] }, server: ['example.com', 8080] });
  t.is(res.header('location'), 'https://example.com:8080/');
  const none = await call(app, '/', { scope: { headers: [] }, server: null });
  t.is(none.status, 400);
});

test('ws connections are redirected to wss through a denial response', async (t) => {
  const res = await call(app, '/ws?t=1', { type: 'websocket' });
  t.is(res.messages[0]!.type, 'websocket.http.response.start');
  t.is(res.status, 307);
  t.is(res.header('location'), 'wss://testserver/ws?t=1');
  const secure = await call(
    new HTTPSRedirectMiddleware(async (_s, _r, send) => send({ type: 'websocket.accept' })),
    '/ws',
    { type: 'websocket', scheme: 'wss' },
  );
  t.is(secure.messages[0]!.type, 'websocket.accept');
});

test('lifespan passes through', async (t) => {
  let seen = false;
  const mw = new HTTPSRedirectMiddleware(async () => void (seen = true));
  await mw.asgi(
    { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } },
    async () => ({ type: 'lifespan.startup' }),
    async () => {},
  );
  t.true(seen);
});
