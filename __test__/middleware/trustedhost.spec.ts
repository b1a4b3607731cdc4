import test from 'ava';
import { TrustedHostMiddleware } from '../../src/middleware/trustedhost.ts';
import { call, textApp } from '../_asgi.ts';

test('allowed hosts pass and others get 400 Invalid host header', async (t) => {
  const app = new TrustedHostMiddleware(textApp('OK'), { allowedHosts: ['testserver', '*.testserver'] });
  t.is((await call(app, '/')).text, 'OK');
  t.is((await call(app, '/', { headers: { host: 'testserver:8000' } })).status, 200, 'the port is ignored');
  t.is((await call(app, '/', { headers: { host: 'API.testserver' } })).status, 200, 'subdomains and case');
  const bad = await call(app, '/', { headers: { host: 'invalidhost' } });
  t.is(bad.status, 400);
  t.is(bad.text, 'Invalid host header');
});

test('a subdomain wildcard does not match the bare domain or a lookalike', async (t) => {
  const app = new TrustedHostMiddleware(textApp('OK'), { allowedHosts: ['*.example.com'] });
  t.is((await call(app, '/', { headers: { host: 'example.com' } })).status, 400);
  t.is((await call(app, '/', { headers: { host: 'evilexample.com' } })).status, 400);
  t.is((await call(app, '/', { headers: { host: 'a.b.example.com' } })).status, 200);
});

test('a missing or malformed Host header is refused', async (t) => {
  const app = new TrustedHostMiddleware(textApp('OK'), { allowedHosts: ['testserver'] });
  t.is((await call(app, '/', { headers: { host: 'testserver/evil' } })).status, 400);
  t.is((await call(app, '/', { headers: { host: '' } })).status, 400);
});

test('the default allows every host', async (t) => {
  const app = new TrustedHostMiddleware(textApp('OK'));
  t.is((await call(app, '/', { headers: { host: 'anything.example' } })).status, 200);
});

test('a bare domain is redirected to its allowed www name, keeping path and query', async (t) => {
  const app = new TrustedHostMiddleware(textApp('OK'), { allowedHosts: ['www.example.com'] });
  const res = await call(app, '/path?q=1', { headers: { host: 'example.com' }, scheme: 'https' });
  t.is(res.status, 307);
  t.is(res.header('location'), 'https://www.example.com/path?q=1');
  const off = new TrustedHostMiddleware(textApp('OK'), {
    allowedHosts: ['www.example.com'],
    wwwRedirect: false,
  });
  t.is((await call(off, '/', { headers: { host: 'example.com' } })).status, 400);
});

test('a websocket handshake to a wrong host is denied with a 400 response', async (t) => {
  const app = new TrustedHostMiddleware(textApp('OK'), { allowedHosts: ['example.com'] });
  const res = await call(app, '/ws', { type: 'websocket' });
  t.is(res.messages[0]!.type, 'websocket.http.response.start');
  t.is(res.status, 400);
  t.is(res.text, 'Invalid host header');
});

test('wildcards anywhere but a leading "*." are rejected', (t) => {
  for (const pattern of ['example.*', '*example.com', 'a.*.example.com', '*.*.example.com']) {
    t.throws(
      () => new TrustedHostMiddleware(textApp(), { allowedHosts: [pattern] }),
      { message: /\*\.example\.com/ },
      pattern,
    );
  }
  t.notThrows(() => new TrustedHostMiddleware(textApp(), { allowedHosts: ['*', '*.example.com'] }));
});

test('lifespan passes through', async (t) => {
  let seen = false;
  const app = new TrustedHostMiddleware(
    { asgi: async () => void (seen = true) },
    { allowedHosts: ['example.com'] },
  );
  await app.asgi(
    { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } },
    async () => ({ type: 'lifespan.startup' }),
    async () => {},
  );
  t.true(seen);
});
