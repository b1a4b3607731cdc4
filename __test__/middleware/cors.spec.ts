import test from 'ava';
import { CORSMiddleware } from '../../src/middleware/cors.ts';
import { call, textApp } from '../_asgi.ts';

const PREFLIGHT_VARY =
  'Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network';
const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'GET', ...extra },
});

test('a preflight with all origins allowed answers 200 OK with a wildcard origin', async (t) => {
  const app = new CORSMiddleware(textApp(), {
    allowOrigins: ['*'],
    allowHeaders: ['*'],
    allowMethods: ['*'],
    exposeHeaders: ['X-Status'],
  });
  const res = await call(
    app,
    '/',
    preflight('https://example.org', { 'access-control-request-headers': 'X-Example' }),
  );
  t.is(res.status, 200);
  t.is(res.text, 'OK');
  t.is(res.header('access-control-allow-origin'), '*');
  t.is(res.header('access-control-allow-headers'), 'X-Example');
  t.is(res.header('access-control-allow-methods'), 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY');
  t.is(res.header('access-control-max-age'), '600');
  t.is(res.header('access-control-allow-credentials'), undefined);
  t.true(res.header('vary')!.startsWith('Origin, Access-Control-Request-Method'));
});

test('a simple request with all origins allowed gets a wildcard origin and exposed headers', async (t) => {
  const app = new CORSMiddleware(textApp(), { allowOrigins: ['*'], exposeHeaders: ['X-Status', 'X-Other'] });
  const res = await call(app, '/', { headers: { origin: 'https://example.org' } });
  t.is(res.status, 200);
  t.is(res.text, 'Homepage');
  t.is(res.header('access-control-allow-origin'), '*');
  t.is(res.header('access-control-expose-headers'), 'X-Status, X-Other');
});

test('a request without an Origin header gets no CORS headers', async (t) => {
  const app = new CORSMiddleware(textApp(), { allowOrigins: ['*'], allowCredentials: true });
  const res = await call(app, '/');
  t.is(res.header('access-control-allow-origin'), undefined);
  t.is(res.header('access-control-allow-credentials'), undefined);
});

test('credentials with all origins echo the origin instead of a wildcard', async (t) => {
  const app = new CORSMiddleware(textApp(), { allowOrigins: ['*'], allowCredentials: true });
  const res = await call(app, '/', { headers: { origin: 'https://example.org' } });
  t.is(res.header('access-control-allow-origin'), 'https://example.org');
  t.is(res.header('access-control-allow-credentials'), 'true');
  t.is(res.header('vary'), 'Origin');
  const pre = await call(app, '/', preflight('https://example.org'));
  t.is(pre.status, 200);
  t.is(pre.header('access-control-allow-origin'), 'https://example.org');
  t.is(pre.header('access-control-allow-credentials'), 'true');
});

test('with all origins, a Cookie alone keeps the wildcard: allowCredentials decides the echo', async (t) => {
  // Current Starlette (checked header by header against it): older releases echoed the origin whenever
  // a Cookie came, which browsers reject anyway without Access-Control-Allow-Credentials.
  const headers = { origin: 'https://example.org', cookie: 'star_cookie=sugar' };
  const open = new CORSMiddleware(textApp(), { allowOrigins: ['*'] });
  const res = await call(open, '/', { headers });
  t.is(res.header('access-control-allow-origin'), '*');
  t.is(res.header('access-control-allow-credentials'), undefined);
  t.is(res.header('vary'), 'Origin');
  const pre = await call(open, '/', preflight('https://example.org', { cookie: 'a=b' }));
  t.is(pre.header('access-control-allow-origin'), '*');
  t.is(pre.header('vary'), PREFLIGHT_VARY);
  const credentialed = new CORSMiddleware(textApp(), { allowOrigins: ['*'], allowCredentials: true });
  const echoed = await call(credentialed, '/', { headers });
  t.is(echoed.header('access-control-allow-origin'), 'https://example.org');
  t.is(echoed.header('access-control-allow-credentials'), 'true');
  t.is(echoed.header('vary'), 'Origin');
});

test('explicit origins are echoed when allowed and omitted when not', async (t) => {
  const app = new CORSMiddleware(textApp(), { allowOrigins: ['https://example.org'] });
  const ok = await call(app, '/', { headers: { origin: 'https://example.org' } });
  t.is(ok.header('access-control-allow-origin'), 'https://example.org');
  t.is(ok.header('vary'), 'Origin');
  const other = await call(app, '/', { headers: { origin: 'https://another.org' } });
  t.is(other.status, 200);
  t.is(other.header('access-control-allow-origin'), undefined);
  t.is(other.header('vary'), 'Origin');
});

test('Vary from the app is kept and Origin appended', async (t) => {
  const app = new CORSMiddleware(textApp('x', 200, [['vary', 'Accept-Encoding']]), {
    allowOrigins: ['https://example.org'],
  });
  const res = await call(app, '/', { headers: { origin: 'https://example.org' } });
  t.is(res.header('vary'), 'Accept-Encoding, Origin');
});

test('a disallowed preflight answers 400 naming the origin, method and headers that failed', async (t) => {
  const app = new CORSMiddleware(textApp(), {
    allowOrigins: ['https://example.org'],
    allowHeaders: ['X-Example'],
  });
  const res = await call(
    app,
    '/',
    preflight('https://another.org', {
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'X-Nope',
    }),
  );
  t.is(res.status, 400);
  t.is(res.text, 'Disallowed CORS origin, method, headers');
  t.is(res.header('access-control-allow-origin'), undefined);
  t.is(
    res.header('access-control-allow-headers'),
    'Accept, Accept-Language, Content-Language, Content-Type, X-Example',
  );
});

test('requested headers are allowed case-insensitively and the safelisted ones always', async (t) => {
  const app = new CORSMiddleware(textApp(), {
    allowOrigins: ['https://example.org'],
    allowHeaders: ['X-Example'],
  });
  const res = await call(
    app,
    '/',
    preflight('https://example.org', { 'access-control-request-headers': 'x-example, Content-Type' }),
  );
  t.is(res.status, 200);
  t.is(res.header('access-control-allow-origin'), 'https://example.org');
});

test('the preflight never reaches the app', async (t) => {
  let called = false;
  const app = new CORSMiddleware(async () => void (called = true), { allowOrigins: ['*'] });
  await call(app, '/', preflight('https://example.org'));
  t.false(called);
});

test('an OPTIONS request without Access-Control-Request-Method is passed to the app', async (t) => {
  const app = new CORSMiddleware(textApp('from app'), { allowOrigins: ['*'] });
  const res = await call(app, '/', { method: 'OPTIONS', headers: { origin: 'https://example.org' } });
  t.is(res.text, 'from app');
});

test('allowOriginRegex must match the whole origin', async (t) => {
  const app = new CORSMiddleware(textApp(), { allowOriginRegex: 'https://.*\\.example\\.org' });
  const ok = await call(app, '/', { headers: { origin: 'https://api.example.org' } });
  t.is(ok.header('access-control-allow-origin'), 'https://api.example.org');
  const evil = await call(app, '/', { headers: { origin: 'https://api.example.org.evil.com' } });
  t.is(evil.header('access-control-allow-origin'), undefined);
  const pre = await call(app, '/', preflight('https://api.example.org.evil.com'));
  t.is(pre.status, 400);
  t.is(pre.text, 'Disallowed CORS origin');
});

test('private network preflights need allowPrivateNetwork', async (t) => {
  const headers = { 'access-control-request-private-network': 'true' };
  const denied = await call(
    new CORSMiddleware(textApp(), { allowOrigins: ['*'] }),
    '/',
    preflight('https://a.org', headers),
  );
  t.is(denied.status, 400);
  t.is(denied.text, 'Disallowed CORS private-network');
  const allowed = await call(
    new CORSMiddleware(textApp(), { allowOrigins: ['*'], allowPrivateNetwork: true }),
    '/',
    preflight('https://a.org', headers),
  );
  t.is(allowed.status, 200);
  t.is(allowed.header('access-control-allow-private-network'), 'true');
});

test('the default options allow only GET preflights and a custom max age is sent', async (t) => {
  const app = new CORSMiddleware(textApp(), { allowOrigins: ['https://a.org'], maxAge: 5 });
  const res = await call(app, '/', preflight('https://a.org', { 'access-control-request-method': 'DELETE' }));
  t.is(res.status, 400);
  t.is(res.text, 'Disallowed CORS method');
  t.is(res.header('access-control-allow-methods'), 'GET');
  t.is(res.header('access-control-max-age'), '5');
});

test('an error before the response still reaches the browser as a 500 with CORS headers', async (t) => {
  const app = new CORSMiddleware(
    async () => {
      throw new Error('boom');
    },
    { allowOrigins: ['https://example.org'] },
  );
  const messages: unknown[] = [];
  const scope = (await import('../_asgi.ts')).makeScope('/', { headers: { origin: 'https://example.org' } });
  await t.throwsAsync(
    app.asgi(
      scope,
      async () => ({ type: 'http.disconnect' }),
      async (m) => void messages.push(m),
    ),
    { message: 'boom' },
  );
  const res = (await import('../_asgi.ts')).collect(scope, messages as never);
  t.is(res.status, 500);
  t.is(res.text, 'Internal Server Error');
  t.is(res.header('access-control-allow-origin'), 'https://example.org');
});

test('an error without an Origin header, or after the response started, is only rethrown', async (t) => {
  const failing = new CORSMiddleware(
    async () => {
      throw new Error('boom');
    },
    { allowOrigins: ['*'] },
  );
  await t.throwsAsync(call(failing, '/'), { message: 'boom' });
  const late = new CORSMiddleware(
    async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      throw new Error('late');
    },
    { allowOrigins: ['*'] },
  );
  await t.throwsAsync(call(late, '/', { headers: { origin: 'https://a.org' } }), { message: 'late' });
});

test('non-http scopes pass through untouched', async (t) => {
  let seen = '';
  const app = new CORSMiddleware(
    { asgi: async (scope) => void (seen = scope.type) },
    { allowOrigins: ['*'] },
  );
  await app.asgi(
    { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } },
    async () => ({ type: 'lifespan.startup' }),
    async () => {},
  );
  t.is(seen, 'lifespan');
});

test('inside an app, an unhandled error still gives the browser a 500 with CORS headers', async (t) => {
  const { Starling } = await import('../../src/applications.ts');
  const { Route } = await import('../../src/routing.ts');
  const { Middleware } = await import('../../src/middleware/index.ts');
  const { TestClient } = await import('../../src/testclient.ts');
  const app = new Starling({
    routes: [
      new Route('/fail', async () => {
        throw new Error('boom');
      }),
    ],
    middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['https://example.org'] })],
  });
  const res = await new TestClient(app, { raiseServerExceptions: false }).get('/fail', {
    headers: { origin: 'https://example.org' },
  });
  t.is(res.status, 500);
  t.is(res.headers.get('access-control-allow-origin'), 'https://example.org');
});

// ---- CORS headers on 500s: the server-error layer outside adds them to whatever 500 it sends ----

const corsOn500 = async (options: { debug?: boolean; handler?: boolean; credentials?: boolean } = {}) => {
  const { Starling } = await import('../../src/applications.ts');
  const { Route } = await import('../../src/routing.ts');
  const { Middleware } = await import('../../src/middleware/index.ts');
  const { JSONResponse } = await import('../../src/responses.ts');
  const { TestClient } = await import('../../src/testclient.ts');
  const app = new Starling({
    debug: options.debug ?? false,
    routes: [
      new Route('/fail', async () => {
        throw new Error('boom');
      }),
    ],
    middleware: [
      new Middleware(CORSMiddleware, {
        allowOrigins: ['https://example.org'],
        allowCredentials: options.credentials ?? false,
        exposeHeaders: ['X-Request-Id'],
      }),
    ],
    exceptionHandlers: options.handler
      ? {
          500: (_request: unknown, error: Error) =>
            new JSONResponse({ error: error.message }, { status: 500 }),
        }
      : {},
  });
  return new TestClient(app, { raiseServerExceptions: false });
};

test('a custom 500 handler answers a cross-origin request, with the CORS headers', async (t) => {
  const client = await corsOn500({ handler: true, credentials: true });
  const res = await client.get('/fail', { headers: { origin: 'https://example.org' } });
  t.is(res.status, 500);
  t.deepEqual(res.json(), { error: 'boom' });
  t.is(res.headers.get('content-type'), 'application/json');
  t.is(res.headers.get('access-control-allow-origin'), 'https://example.org');
  t.is(res.headers.get('access-control-allow-credentials'), 'true');
  t.is(res.headers.get('access-control-expose-headers'), 'X-Request-Id');
  t.is(res.headers.get('vary'), 'Origin');
});

test('the debug page answers a cross-origin request, with the CORS headers', async (t) => {
  const client = await corsOn500({ debug: true });
  const html = await client.get('/fail', { headers: { origin: 'https://example.org', accept: 'text/html' } });
  t.is(html.status, 500);
  t.true(html.text.includes('<title>Starling Debugger</title>'));
  t.is(html.headers.get('access-control-allow-origin'), 'https://example.org');
  const text = await client.get('/fail', { headers: { origin: 'https://example.org' } });
  t.regex(text.text, /^Error: boom\n/);
  t.is(text.headers.get('access-control-allow-origin'), 'https://example.org');
});

test('a plain 500 carries the CORS headers; a disallowed origin gets none', async (t) => {
  const client = await corsOn500();
  const res = await client.get('/fail', { headers: { origin: 'https://example.org' } });
  t.is(res.status, 500);
  t.is(res.text, 'Internal Server Error');
  t.is(res.headers.get('access-control-allow-origin'), 'https://example.org');
  t.is(res.headers.get('access-control-expose-headers'), 'X-Request-Id');
  const other = await client.get('/fail', { headers: { origin: 'https://evil.example' } });
  t.is(other.status, 500);
  t.is(other.headers.get('access-control-allow-origin'), null);
  t.is(other.headers.get('vary'), 'Origin');
  const sameOrigin = await client.get('/fail');
  t.is(sameOrigin.headers.get('access-control-allow-origin'), null);
});

test('the error is still rethrown once, past the CORS layer, for the server to log', async (t) => {
  const { Starling } = await import('../../src/applications.ts');
  const { Route } = await import('../../src/routing.ts');
  const { Middleware } = await import('../../src/middleware/index.ts');
  const { TestClient } = await import('../../src/testclient.ts');
  const app = new Starling({
    routes: [
      new Route('/fail', async () => {
        throw new Error('boom');
      }),
    ],
    middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['*'] })],
  });
  await t.throwsAsync(new TestClient(app).get('/fail', { headers: { origin: 'https://a.org' } }), {
    message: 'boom',
  });
});

test('CORS in a mount and at the top both decorate the 500, as they would any response', async (t) => {
  const { Starling } = await import('../../src/applications.ts');
  const { Mount, Route } = await import('../../src/routing.ts');
  const { Middleware } = await import('../../src/middleware/index.ts');
  const { TestClient } = await import('../../src/testclient.ts');
  const app = new Starling({
    routes: [
      new Mount('/api', {
        routes: [
          new Route('/fail', async () => {
            throw new Error('boom');
          }),
        ],
        middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['*'], exposeHeaders: ['X-Inner'] })],
      }),
    ],
    middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['*'], exposeHeaders: ['X-Outer'] })],
  });
  const res = await new TestClient(app, { raiseServerExceptions: false }).get('/api/fail', {
    headers: { origin: 'https://a.org' },
  });
  t.is(res.status, 500);
  t.is(res.headers.get('access-control-allow-origin'), '*');
  // The outer layer runs last, as it would on a normal response.
  t.is(res.headers.get('access-control-expose-headers'), 'X-Outer');
  t.is(res.headers.get('vary'), 'Origin');
});
