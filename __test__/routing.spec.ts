import test from 'ava';
import type { ASGIApp, HTTPScope, Receive, Scope, Send } from '../src/asgi.ts';
import { Starling } from '../src/applications.ts';
import { registerConvertor } from '../src/convertors.ts';
import { HTTPException } from '../src/exceptions.ts';
import { Middleware } from '../src/middleware/index.ts';
import type { Request } from '../src/requests.ts';
import { JSONResponse, PlainTextResponse, Response } from '../src/responses.ts';
import {
  compilePath,
  Host,
  Match,
  Mount,
  NoMatchFound,
  requestResponse,
  Route,
  Router,
  WebSocketRoute,
} from '../src/routing.ts';
import { enterChild, matchPath, type BaseRoute } from '../src/routing/base.ts';
import { TestClient } from '../src/testclient.ts';
import type { WebSocket } from '../src/websockets.ts';

const text = (body: string) => async () => new PlainTextResponse(body);
const params = async (request: Request) => new JSONResponse(request.pathParams);

const rawApp = async (scope: Scope, _receive: Receive, send: Send) => {
  const s = scope as Scope & { path: string; root_path: string };
  await new JSONResponse({ path: s.path, rootPath: s.root_path }).asgi(scope, _receive, send);
};

test('a router dispatches to the first route whose path matches', async (t) => {
  const router = new Router({
    routes: [
      new Route('/', text('home')),
      new Route('/users', text('users')),
      new Route('/users', text('shadowed')),
    ],
  });
  const client = new TestClient(router);
  t.is((await client.get('/')).text, 'home');
  t.is((await client.get('/users')).text, 'users');
});

test('a miss is a plain 404 Not Found', async (t) => {
  const res = await new TestClient(new Router({ routes: [new Route('/', text('home'))] })).get('/nope');
  t.is(res.status, 404);
  t.is(res.text, 'Not Found');
});

test('a wrong method is a 405 with an Allow header listing the methods', async (t) => {
  const router = new Router({ routes: [new Route('/', text('x'), { methods: ['get', 'POST'] })] });
  const res = await new TestClient(router).put('/');
  t.is(res.status, 405);
  t.is(res.text, 'Method Not Allowed');
  t.is(res.headers.get('allow'), 'GET, HEAD, POST');
});

test('a wrong method inside an app raises HTTPException(405) that handlers can render', async (t) => {
  const app = new Starling({
    routes: [new Route('/', text('x'), { methods: ['POST'] })],
    exceptionHandlers: {
      405: async (_r: Request, exc: HTTPException) =>
        new JSONResponse({ allow: exc.headers?.Allow }, { status: 405 }),
    },
  });
  const res = await new TestClient(app).get('/');
  t.is(res.status, 405);
  t.deepEqual(res.json(), { allow: 'POST' });
});

test('a later route with the right method wins over an earlier partial match', async (t) => {
  const router = new Router({
    routes: [new Route('/', text('get')), new Route('/', text('post'), { methods: ['POST'] })],
  });
  const client = new TestClient(router);
  t.is((await client.post('/')).text, 'post');
  t.is((await client.get('/')).text, 'get');
  t.is((await client.delete('/')).status, 405);
});

test('HEAD is served wherever GET is, without a body', async (t) => {
  const route = new Route('/', text('hello'));
  t.deepEqual([...(route.methods ?? [])], ['GET', 'HEAD']);
  const res = await new TestClient(new Router({ routes: [route] })).head('/');
  t.is(res.status, 200);
  t.is(res.headers.get('content-length'), '5');
  t.is(res.text, '');
});

test('path params are converted by their convertor', async (t) => {
  const router = new Router({
    routes: [
      new Route('/int/{x:int}', params),
      new Route('/float/{x:float}', params),
      new Route('/path/{x:path}', params),
      new Route('/uuid/{x:uuid}', params),
      new Route('/str/{x}', params),
      new Route('/two/{a}/{b:int}', params),
    ],
  });
  const client = new TestClient(router);
  t.deepEqual((await client.get('/int/5')).json(), { x: 5 });
  t.is((await client.get('/int/x')).status, 404);
  t.deepEqual((await client.get('/float/2.5')).json(), { x: 2.5 });
  t.deepEqual((await client.get('/path/a/b/c')).json(), { x: 'a/b/c' });
  t.deepEqual((await client.get('/uuid/EC38DF32CEDA4B0E9E5C31F3A8AA3F6A')).json(), {
    x: 'ec38df32-ceda-4b0e-9e5c-31f3a8aa3f6a',
  });
  t.deepEqual((await client.get('/str/a%20b')).json(), { x: 'a b' });
  t.deepEqual((await client.get('/two/x/2')).json(), { a: 'x', b: 2 });
});

test('regex characters and colons in paths are literal', async (t) => {
  const router = new Router({
    routes: [new Route('/{username}:disable', params), new Route('/a.b', text('dot'))],
  });
  const client = new TestClient(router);
  t.deepEqual((await client.get('/bob:disable')).json(), { username: 'bob' });
  t.is((await client.get('/a.b')).text, 'dot');
  t.is((await client.get('/axb')).status, 404);
});

test('custom convertors can be registered and reversed', async (t) => {
  registerConvertor('hex', {
    regex: '[0-9a-f]+',
    convert: (v: string) => parseInt(v, 16),
    toString: (n: number) => n.toString(16),
  });
  const router = new Router({ routes: [new Route('/hex/{n:hex}', params, { name: 'hex' })] });
  t.deepEqual((await new TestClient(router).get('/hex/ff')).json(), { n: 255 });
  t.is(String(router.urlPathFor('hex', { n: 255 })), '/hex/ff');
});

test('compilePath builds a regex, a format and convertors, and rejects duplicates and unknown convertors', (t) => {
  const { regex, format, convertors } = compilePath('/users/{id:int}/{name}');
  t.deepEqual({ ...regex.exec('/users/1/bob')?.groups }, { id: '1', name: 'bob' });
  t.is(format, '/users/{id}/{name}');
  t.deepEqual(Object.keys(convertors), ['id', 'name']);
  t.throws(() => compilePath('/{id}/{id}'), { message: 'Duplicated param name id at path /{id}/{id}' });
  t.throws(() => compilePath('/{a}/{b}/{a}/{b}'), {
    message: 'Duplicated param names a, b at path /{a}/{b}/{a}/{b}',
  });
  t.throws(() => compilePath('/{x:nope}'), { message: /Unknown path convertor 'nope'/ });
  const host = compilePath('{sub}.example.org:8000');
  t.is(host.format, '{sub}.example.org:8000');
  t.truthy(host.regex.exec('API.example.org'));
  t.falsy(host.regex.exec('api.example.org:8000'));
  t.truthy(compilePath('[::1]:8000').regex.exec('[::1]'));
  t.truthy(compilePath('[::1]').regex.exec('[::1]'));
});

test('urlPathFor reverses names with exactly the route params, and names the miss', (t) => {
  const router = new Router({
    routes: [
      new Route('/', text('home'), { name: 'home' }),
      new Route('/users/{id:int}', params, { name: 'user' }),
      new Route('/f/{x:float}', params, { name: 'f' }),
      new Route('/u/{u:uuid}', params, { name: 'u' }),
      new WebSocketRoute('/ws', async () => {}, { name: 'ws' }),
    ],
  });
  t.is(String(router.urlPathFor('home')), '/');
  t.is(String(router.urlPathFor('user', { id: 7 })), '/users/7');
  t.is(String(router.urlPathFor('f', { x: 25.5 })), '/f/25.5');
  t.is(
    String(router.urlPathFor('u', { u: 'EC38DF32CEDA4B0E9E5C31F3A8AA3F6A' })),
    '/u/ec38df32-ceda-4b0e-9e5c-31f3a8aa3f6a',
  );
  t.throws(() => router.urlPathFor('u', { u: 'not-a-uuid' }), { message: 'Not a UUID: not-a-uuid' });
  t.is(router.urlPathFor('ws').protocol, 'websocket');
  const error = t.throws(() => router.urlPathFor('user', { id: 1, extra: 2 }), { instanceOf: NoMatchFound });
  t.is(error?.message, 'No route exists for name "user" and params "id, extra".');
  t.throws(() => router.urlPathFor('nope'), { message: 'No route exists for name "nope" and params "".' });
  t.throws(() => router.urlPathFor('user', { id: -1 }));
  t.throws(() => router.urlPathFor('f', { x: NaN }));
});

test('a route is named after its endpoint function by default', (t) => {
  async function listUsers() {
    return new Response();
  }
  t.is(new Route('/', listUsers).name, 'listUsers');
  t.is(new Route('/', listUsers, { name: null }).name, null);
  t.throws(() => new Route('no-slash', listUsers), { message: /must start with '\/'/ });
});

test('a missing or extra trailing slash redirects (307) to the existing route, keeping the query', async (t) => {
  const router = new Router({ routes: [new Route('/a', text('a')), new Route('/b/', text('b'))] });
  const client = new TestClient(router, { followRedirects: false });
  let res = await client.get('/a/?x=1');
  t.is(res.status, 307);
  t.is(res.headers.get('location'), 'http://testserver/a?x=1');
  res = await client.post('/b');
  t.is(res.status, 307);
  t.is(res.headers.get('location'), 'http://testserver/b/');
  t.is((await new TestClient(router).get('/b')).text, 'b');
});

test('redirectSlashes false turns slash mismatches into 404s', async (t) => {
  const router = new Router({ routes: [new Route('/a', text('a'))], redirectSlashes: false });
  t.is((await new TestClient(router).get('/a/')).status, 404);
});

test('a router defaultApp answers misses', async (t) => {
  const router = new Router({ routes: [], defaultApp: new PlainTextResponse('fallback', { status: 418 }) });
  t.is((await new TestClient(router).get('/x')).status, 418);
});

test('a mount serves a sub-router under its prefix, and the bare prefix too', async (t) => {
  const router = new Router({
    routes: [new Mount('/users', { routes: [new Route('/', text('list')), new Route('/{id:int}', params)] })],
  });
  const client = new TestClient(router, { followRedirects: false });
  t.is((await client.get('/users/')).text, 'list');
  const bare = await client.get('/users');
  t.is(bare.status, 200);
  t.is(bare.text, 'list');
  t.deepEqual((await client.get('/users/3')).json(), { id: 3 });
  t.is((await client.get('/usersx')).status, 404);
});

test('redirectBare leaves the bare prefix to the router, which redirects it as Starlette does', async (t) => {
  const mount = new Mount('/users', { routes: [new Route('/', text('list'))], redirectBare: true });
  const client = new TestClient(new Router({ routes: [mount] }), { followRedirects: false });
  const bare = await client.get('/users?x=1');
  t.is(bare.status, 307);
  t.is(bare.headers.get('location'), 'http://testserver/users/?x=1');
  t.is((await client.get('/users/')).text, 'list');
  const strict = new Router({ routes: [mount], redirectSlashes: false });
  t.is((await new TestClient(strict).get('/users')).status, 404);
});

test('a mounted app sees root_path grow by the prefix and the full path', async (t) => {
  const router = new Router({ routes: [new Mount('/api', { app: rawApp })] });
  const client = new TestClient(router);
  t.deepEqual((await client.get('/api/x/y')).json(), { path: '/api/x/y', rootPath: '/api' });
  t.deepEqual((await new TestClient(router, { rootPath: '/root' }).get('/root/api/x')).json(), {
    path: '/root/api/x',
    rootPath: '/root/api',
  });
});

test('mounts take path params and pass them down', async (t) => {
  const router = new Router({
    routes: [
      new Mount('/org/{org}', { routes: [new Route('/repo/{repo}', params, { name: 'repo' })], name: 'org' }),
    ],
  });
  t.deepEqual((await new TestClient(router).get('/org/acme/repo/web')).json(), { org: 'acme', repo: 'web' });
  t.is(String(router.urlPathFor('org:repo', { org: 'acme', repo: 'web' })), '/org/acme/repo/web');
});

test('urlPathFor reverses through named and unnamed mounts, and to a mount path', (t) => {
  const users = new Mount('/users', {
    routes: [new Route('/', text('x'), { name: 'list' }), new Route('/{id}', params, { name: 'one' })],
    name: 'users',
  });
  const anon = new Mount('/anon', { routes: [new Route('/here', text('x'), { name: 'here' })] });
  const statics = new Mount('/static', { app: rawApp, name: 'static' });
  const router = new Router({ routes: [users, anon, statics] });
  t.is(String(router.urlPathFor('users:list')), '/users/');
  t.is(String(router.urlPathFor('users:one', { id: 'bob' })), '/users/bob');
  t.is(String(router.urlPathFor('here')), '/anon/here');
  t.is(String(router.urlPathFor('static', { path: '/css/app.css' })), '/static/css/app.css');
  t.throws(() => router.urlPathFor('users:nope'), { instanceOf: NoMatchFound });
  t.deepEqual(
    users.routes.map((r) => r.name),
    ['list', 'one'],
  );
  t.deepEqual(statics.routes, []);
});

test('a mount needs exactly one of app or routes', (t) => {
  t.throws(() => new Mount('/x'), { message: /either 'app' or 'routes'/ });
  t.throws(() => new Mount('/x', { app: rawApp, routes: [] }));
  t.throws(() => new Mount('x', { app: rawApp }));
  t.is(new Mount('/x/', { app: rawApp }).path, '/x');
});

test('double mounts reverse and serve through both prefixes', async (t) => {
  const inner = new Mount('/inner', {
    routes: [new Route('/leaf', text('leaf'), { name: 'leaf' })],
    name: 'inner',
  });
  const app = new Starling({ routes: [new Mount('/outer', { routes: [inner], name: 'outer' })] });
  t.is(String(app.urlPathFor('outer:inner:leaf')), '/outer/inner/leaf');
  t.is((await new TestClient(app).get('/outer/inner/leaf')).text, 'leaf');
});

test('request.urlFor builds absolute URLs including the root path', async (t) => {
  const app = new Starling({
    routes: [
      new Route(
        '/users/{id}',
        async (request: Request) => new PlainTextResponse(String(request.urlFor('user', { id: 'me' }))),
        { name: 'user' },
      ),
      new Mount('/sub', {
        routes: [
          new Route('/x', async (r: Request) => new PlainTextResponse(String(r.urlFor('user', { id: 'y' })))),
        ],
      }),
    ],
  });
  t.is((await new TestClient(app).get('/users/1')).text, 'http://testserver/users/me');
  t.is(
    (await new TestClient(app, { rootPath: '/app' }).get('/app/users/1')).text,
    'http://testserver/app/users/me',
  );
  t.is((await new TestClient(app).get('/sub/x')).text, 'http://testserver/users/y');
});

test('hosts route by the Host header, ignoring the port, with params', async (t) => {
  const api = new Router({
    routes: [new Route('/', params, { name: 'root' }), new Route('/n/{n:int}', params, { name: 'n' })],
  });
  const router = new Router({
    routes: [
      new Host('www.example.org', new PlainTextResponse('www'), { name: 'www' }),
      new Host('{sub}.example.org', api, { name: 'subs' }),
    ],
  });
  const client = new TestClient(router, { baseUrl: 'https://foo.example.org:8443' });
  t.deepEqual((await client.get('/')).json(), { sub: 'foo' });
  t.is((await new TestClient(router, { baseUrl: 'http://www.example.org' }).get('/')).text, 'www');
  t.is((await new TestClient(router).get('/')).status, 404);
  const url = router.urlPathFor('subs:root', { sub: 'bar' });
  t.is(url.host, 'bar.example.org');
  t.is(String(url), '/');
  t.is(router.urlPathFor('www', { path: '/x' }).host, 'www.example.org');
  t.throws(() => router.urlPathFor('subs:root'), { instanceOf: NoMatchFound });
  // A child's convertor refusing a value is the caller's error, not a miss.
  t.throws(() => router.urlPathFor('subs:n', { sub: 'bar', n: -1 }), { instanceOf: TypeError });
  t.throws(() => new Host('/bad', api));
});

test('urlFor gives an absolute URL on a Host route', async (t) => {
  const sub = new Router({ routes: [new Route('/', text('sub'), { name: 'home' })] });
  const app = new Starling({
    routes: [
      new Host('{s}.example.org', sub, { name: 'sub' }),
      new Route('/', async (r: Request) => new PlainTextResponse(String(r.urlFor('sub:home', { s: 'api' })))),
    ],
  });
  t.is((await new TestClient(app).get('/')).text, 'http://api.example.org/');
});

test('a Host route with a port keeps the port in reversed absolute URLs', async (t) => {
  const homepage = async (r: Request) => new PlainTextResponse(String(r.urlFor('port:homepage')));
  const mixed = new Router({ routes: [new Route('/', homepage, { name: 'homepage' })] });
  const router = new Router({
    routes: [
      new Host('port.example.org:3600', mixed, { name: 'port' }),
      new Host('{sub}.example.org:3600', mixed, { name: 'sub' }),
    ],
  });
  t.is(
    String(router.urlPathFor('port:homepage').makeAbsoluteURL('https://whatever')),
    'https://port.example.org:3600/',
  );
  t.is(
    String(router.urlPathFor('sub:homepage', { sub: 'x' }).makeAbsoluteURL('https://whatever')),
    'https://x.example.org:3600/',
  );
  for (const baseUrl of ['https://port.example.org:3600', 'https://port.example.org']) {
    t.is((await new TestClient(router, { baseUrl }).get('/')).text, 'https://port.example.org:3600/');
  }
});

test('a Host route matches an IPv6 Host header with or without a port', async (t) => {
  const router = new Router({ routes: [new Host('[::1]', new PlainTextResponse('local'))] });
  for (const baseUrl of ['http://[::1]:8000', 'http://[::1]']) {
    t.is((await new TestClient(router, { baseUrl }).get('/')).text, 'local');
  }
});

test('websocket routes match websocket scopes and close when nothing matches', async (t) => {
  const router = new Router({
    routes: [
      new WebSocketRoute('/ws/{room}', async (ws: WebSocket) => {
        await ws.accept();
        await ws.sendJson(ws.pathParams);
        await ws.close();
      }),
    ],
  });
  const ws = await new TestClient(router).websocketConnect('/ws/lobby');
  t.deepEqual(await ws.receiveJson(), { room: 'lobby' });
  const miss = await t.throwsAsync(() => new TestClient(router).websocketConnect('/nope'));
  t.is((miss as unknown as { code: number }).code, 1000);
});

test('a websocket route inside a mount and host is reachable', async (t) => {
  const echo = new WebSocketRoute('/ws', async (ws: WebSocket) => {
    await ws.accept();
    await ws.sendText(ws.url.path);
    await ws.close();
  });
  const router = new Router({ routes: [new Mount('/m', { routes: [echo] })] });
  const ws = await new TestClient(router).websocketConnect('/m/ws');
  t.is(await ws.receiveText(), '/m/ws');
});

test('routes, mounts and standalone routes are ASGI apps on their own', async (t) => {
  const route = new Route('/', text('alone'));
  t.is((await new TestClient(route).get('/')).text, 'alone');
  t.is((await new TestClient(route).get('/x')).status, 404);
  const postOnly = new Route('/', text('x'), { methods: ['POST'] });
  const res = await new TestClient(postOnly).get('/');
  t.is(res.status, 405);
  t.is(res.headers.get('allow'), 'POST');
  const wsRoute = new WebSocketRoute('/ws', async (ws: WebSocket) => ws.close());
  await t.throwsAsync(() => new TestClient(wsRoute).websocketConnect('/other'));
  const mount = new Mount('/m', { app: rawApp });
  t.is((await new TestClient(mount).get('/m/x')).json().rootPath, '/m');
});

test('ASGI apps, classes and 3-argument functions can be route endpoints for every method', async (t) => {
  const router = new Router({
    routes: [new Route('/fn', rawApp), new Route('/obj', new PlainTextResponse('obj'))],
  });
  const client = new TestClient(router);
  t.is((await client.post('/fn')).json().path, '/fn');
  t.is((await client.delete('/obj')).text, 'obj');
  t.is(new Route('/fn', rawApp).methods, null);
});

test('route middleware wraps only that route and sees handled errors as responses', async (t) => {
  class Tag {
    constructor(
      readonly app: ASGIApp,
      readonly options: { value: string },
    ) {}
    asgi = async (scope: Scope, receive: Receive, send: Send) => {
      const app = typeof this.app === 'function' ? this.app : this.app.asgi;
      await app(scope, receive, async (message) => {
        if (message.type === 'http.response.start')
          message = { ...message, headers: [...(message.headers ?? []), ['x-tag', this.options.value]] };
        await send(message);
      });
    };
  }
  const forbidden = async () => {
    throw new HTTPException(403);
  };
  const app = new Starling({
    routes: [
      new Route('/tagged', text('t'), { middleware: [new Middleware(Tag, { value: 'route' })] }),
      new Route('/plain', text('p')),
      new Mount('/m', {
        routes: [new Route('/x', forbidden)],
        middleware: [new Middleware(Tag, { value: 'mount' })],
      }),
    ],
  });
  const client = new TestClient(app);
  t.is((await client.get('/tagged')).headers.get('x-tag'), 'route');
  t.is((await client.get('/plain')).headers.get('x-tag'), null);
  const res = await client.get('/m/x');
  t.is(res.status, 403);
  t.is(res.headers.get('x-tag'), 'mount');
});

test('router middleware wraps the whole router', async (t) => {
  const seen: string[] = [];
  const logger =
    (app: (s: Scope, r: Receive, w: Send) => Promise<void>) => async (s: Scope, r: Receive, w: Send) => {
      seen.push(s.type);
      await app(s, r, w);
    };
  const router = new Router({ routes: [new Route('/', text('x'))], middleware: [new Middleware(logger)] });
  await new TestClient(router).get('/');
  t.deepEqual(seen, ['http']);
});

test('an error in a mounted app propagates to the client', async (t) => {
  const sub = new Starling({
    routes: [
      new Route('/boom', async () => {
        throw new Error('sub boom');
      }),
    ],
  });
  const app = new Starling({ routes: [new Mount('/sub', { app: sub })] });
  await t.throwsAsync(() => new TestClient(app).get('/sub/boom'), { message: 'sub boom' });
});

test('the router sets scope.router once and routes set endpoint and path_params', async (t) => {
  let seen: Record<string, unknown> = {};
  const inner = new Router({
    routes: [
      new Route('/x/{id}', async (request: Request) => {
        seen = request.scope;
        return new Response();
      }),
    ],
  });
  const outer = new Router({ routes: [new Mount('/m', { app: inner })] });
  await new TestClient(outer).get('/m/x/1');
  t.is(seen.router, outer);
  t.deepEqual(seen.path_params, { id: '1' });
  t.is(typeof seen.endpoint, 'function');
});

test('Match orders NONE < PARTIAL < FULL and route.matches reports it', (t) => {
  t.true(Match.NONE < Match.PARTIAL && Match.PARTIAL < Match.FULL);
  const route = new Route('/', text('x'));
  const scope = { type: 'http', method: 'POST', path: '/', root_path: '', headers: [] } as unknown as Scope;
  t.is(route.matches(scope)[0], Match.PARTIAL);
  t.is(route.matches({ ...scope, method: 'GET' } as Scope)[0], Match.FULL);
  t.is(route.matches({ type: 'lifespan' } as unknown as Scope)[0], Match.NONE);
});

test('a router rejects unknown scope types', async (t) => {
  const router = new Router();
  await t.throwsAsync(
    () =>
      router.asgi(
        { type: 'weird' } as unknown as Scope,
        async () => ({ type: 'http.disconnect' }),
        async () => {},
      ),
    { message: /Unsupported scope type/ },
  );
});

test('router helper methods append routes', async (t) => {
  const router = new Router();
  router.addRoute('/a', text('a'), { name: 'a' });
  router.addWebSocketRoute('/ws', async (ws: WebSocket) => ws.close(), { name: 'ws' });
  router.mount('/m', rawApp, { name: 'm' });
  router.host('h.example.org', rawApp, { name: 'h' });
  t.deepEqual(
    router.routes.map((r) => r.name),
    ['a', 'ws', 'm', 'h'],
  );
  t.is((await new TestClient(router).get('/a')).text, 'a');
});

test('a route regex runs at most once per match, and not at all when the literal prefix differs', (t) => {
  const compiled = compilePath('/users/{id:int}');
  const exec = compiled.regex.exec.bind(compiled.regex);
  let calls = 0;
  compiled.regex.exec = (value: string) => {
    calls++;
    return exec(value);
  };
  t.is(matchPath(compiled, '/users/x'), null);
  t.is(calls, 1);
  t.is(matchPath(compiled, '/other/1'), null);
  t.is(calls, 1);
  t.deepEqual(matchPath(compiled, '/users/7'), { id: 7 });
  t.is(calls, 2);
});

test('a miss allocates nothing: every route answers the same frozen no-match', (t) => {
  const route = new Route('/a', text('a'));
  const miss = route.matches({ type: 'http', path: '/b', method: 'GET' } as unknown as Scope);
  t.is(miss, route.matches({ type: 'http', path: '/c', method: 'GET' } as unknown as Scope));
  t.is(miss[0], Match.NONE);
  t.true(Object.isFrozen(miss) && Object.isFrozen(miss[1]));
});

test('a path without parameters is matched by string comparison, never by its regex', (t) => {
  const compiled = compilePath('/about.html');
  compiled.regex.exec = () => t.fail('regex ran') as never;
  t.deepEqual(matchPath(compiled, '/about.html'), {});
  t.is(matchPath(compiled, '/aboutxhtml'), null);
  t.is(matchPath(compiled, '/about.html/'), null);
});

/** Enough routes after `routes` for a router to index its fixed paths (it scans short lists). */
const indexed = (routes: BaseRoute[]) => [
  ...routes,
  ...Array.from({ length: 8 }, (_, i) => new Route(`/filler/${i}`, text('filler'))),
];

test('a fixed path is served by the first route that matches it, even with earlier parameter routes', async (t) => {
  const router = new Router({
    routes: indexed([
      new Route('/users/{name}', params),
      new Route('/users/me', text('me')),
      new Route('/other', text('other')),
      new Route('/items/{id:int}', params),
      new Route('/items/new', text('new')),
    ]),
  });
  const client = new TestClient(router);
  // `/users/{name}` comes first and matches `/users/me`, as a scan in order finds.
  t.deepEqual((await client.get('/users/me')).json(), { name: 'me' });
  t.is((await client.get('/other')).text, 'other');
  // `{id:int}` cannot match `new`.
  t.is((await client.get('/items/new')).text, 'new');
  t.deepEqual((await client.get('/items/3')).json(), { id: 3 });
});

test('a fixed path after a mount or host that may match it is left to them', async (t) => {
  const sub = new Router({ routes: [new Route('/x', text('mounted'))] });
  const router = new Router({
    routes: indexed([
      new Mount('/api', { app: sub }),
      new Route('/api/x', text('route')),
      new Route('/apix', text('apix')),
      new Host('example.org', new Router({ routes: [new Route('/after-host', text('host'))] })),
      new Route('/after-host', text('after')),
    ]),
  });
  const client = new TestClient(router);
  t.is((await client.get('/api/x')).text, 'mounted');
  t.is((await client.get('/apix')).text, 'apix');
  t.is((await client.get('/after-host')).text, 'after');
  t.is((await client.get('http://example.org/after-host')).text, 'host');
});

test('a fixed path with several routes by method finds the one for the method', async (t) => {
  const router = new Router({
    routes: indexed([
      new Route('/thing', text('get'), { methods: ['GET'] }),
      new WebSocketRoute('/thing', async () => {}),
      new Route('/thing', text('post'), { methods: ['POST'] }),
    ]),
  });
  const client = new TestClient(router);
  t.is((await client.get('/thing')).text, 'get');
  t.is((await client.post('/thing')).text, 'post');
  t.is((await client.put('/thing')).status, 405);
});

test('routes edited in place after the first request are honoured', async (t) => {
  const router = new Router({ routes: indexed([new Route('/a', text('a')), new Route('/b', text('b'))]) });
  const client = new TestClient(router);
  t.is((await client.get('/b')).text, 'b');
  router.routes[0] = new Route('/b', text('replaced'));
  t.is((await client.get('/b')).text, 'replaced');
  router.routes.unshift(new Route('/{any}', text('first')));
  t.is((await client.get('/b')).text, 'first');
  router.routes.splice(0, 2);
  t.is((await client.get('/b')).text, 'b');
  router.addRoute('/c', text('c'));
  t.is((await client.get('/c')).text, 'c');
});

test('a route class that matches its own way hides the fixed paths after it', async (t) => {
  class Everything extends Route {
    override matches(scope: Scope): [Match, Record<string, unknown>] {
      return scope.type === 'http'
        ? [Match.FULL, { endpoint: this.endpoint, path_params: {} }]
        : [Match.NONE, {}];
    }
  }
  const router = new Router({
    routes: indexed([new Everything('/never', text('everything')), new Route('/a', text('a'))]),
  });
  t.is((await new TestClient(router).get('/a')).text, 'everything');
});

test('requestResponse rejects, never throws, when the scope is not HTTP', async (t) => {
  const app = requestResponse(text('x'));
  const result = app({ type: 'websocket' } as Scope, (async () => ({})) as never, async () => {});
  t.true(result instanceof Promise);
  await t.throwsAsync(result, { instanceOf: TypeError });
});

test('a route object that is not a BaseRoute is still matched in order among indexed routes', async (t) => {
  const duck = {
    name: null,
    matches: (scope: Scope) =>
      scope.type === 'http' && (scope as HTTPScope).path === '/duck'
        ? ([Match.FULL, {}] as [Match, Record<string, unknown>])
        : ([Match.NONE, {}] as [Match, Record<string, unknown>]),
    handle: (scope: Scope, receive: Receive, send: Send) =>
      new PlainTextResponse('duck').asgi(scope, receive, send),
    urlPathFor: () => {
      throw new NoMatchFound('x', {});
    },
  } as unknown as BaseRoute;
  const router = new Router({ routes: indexed([duck, new Route('/duck', text('route'))]) });
  const client = new TestClient(router);
  t.is((await client.get('/duck')).text, 'duck');
  t.is((await client.get('/filler/1')).text, 'filler');
});

test('entering a match copies every string key of the child scope over the scope, as dict.update does', (t) => {
  const endpoint = () => undefined;
  const scope = { type: 'http', path: '/a', root_path: '' } as unknown as Scope;
  enterChild(scope, {
    endpoint,
    path_params: { id: 1 },
    root_path: '/api',
    app_root_path: '/api',
    custom: 'x',
  });
  t.like(scope as unknown as Record<string, unknown>, {
    type: 'http',
    endpoint,
    path_params: { id: 1 },
    root_path: '/api',
    app_root_path: '/api',
    custom: 'x',
  });
});
