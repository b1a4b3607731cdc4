import test from 'ava';
import type { ASGIFunction, Scope } from '../../src/asgi.ts';
import {
  AuthCredentials,
  AuthenticationBackend,
  AuthenticationError,
  BaseUser,
  hasRequiredScope,
  has_required_scope,
  requires,
  SimpleUser,
  UnauthenticatedUser,
  type AuthResult,
} from '../../src/authentication.ts';
import { HTTPException } from '../../src/exceptions.ts';
import { AuthenticationMiddleware } from '../../src/middleware/authentication.ts';
import { HTTPConnection, Request } from '../../src/requests.ts';
import { PlainTextResponse, RedirectResponse, Response } from '../../src/responses.ts';
import { call, makeScope } from '../_asgi.ts';

/** Accepts `Authorization: Basic user:scope1,scope2` (not base64, for readable tests); `bad` is refused. */
class TestBackend extends AuthenticationBackend {
  async authenticate(conn: HTTPConnection): Promise<AuthResult | null> {
    const header = conn.headers.get('authorization');
    if (!header) return null;
    if (header === 'bad') throw new AuthenticationError('Invalid credentials');
    const [user = '', scopes = ''] = header.replace(/^Basic /, '').split(':');
    return [
      new AuthCredentials(['authenticated', ...scopes.split(',').filter(Boolean)]),
      new SimpleUser(user),
    ];
  }
}

/** An app that reports who the middleware says the user is. */
const whoami: ASGIFunction = async (scope, receive, send) => {
  const request = new Request(scope, receive);
  const user = request.user as BaseUser;
  const auth = request.auth as AuthCredentials;
  await new PlainTextResponse(`${user.isAuthenticated}|${user.displayName}|${auth.scopes.join(',')}`).asgi(
    scope,
    receive,
    send,
  );
};

test('an anonymous request gets an UnauthenticatedUser and no scopes', async (t) => {
  const res = await call(new AuthenticationMiddleware(whoami, { backend: new TestBackend() }), '/');
  t.is(res.text, 'false||');
});

test('an authenticated request gets the backend user and scopes', async (t) => {
  const res = await call(new AuthenticationMiddleware(whoami, { backend: new TestBackend() }), '/', {
    headers: { authorization: 'Basic alice:admin' },
  });
  t.is(res.text, 'true|alice|authenticated,admin');
});

test('an AuthenticationError answers 400 with its message, or the onError response', async (t) => {
  const res = await call(new AuthenticationMiddleware(whoami, { backend: new TestBackend() }), '/', {
    headers: { authorization: 'bad' },
  });
  t.is(res.status, 400);
  t.is(res.text, 'Invalid credentials');
  const custom = new AuthenticationMiddleware(whoami, {
    backend: new TestBackend(),
    onError: (conn, error) => new Response(`${conn.url.path}: ${error.message}`, { status: 401 }),
  });
  const res2 = await call(custom, '/x', { headers: { authorization: 'bad' } });
  t.is(res2.status, 401);
  t.is(res2.text, '/x: Invalid credentials');
});

test('other backend errors propagate', async (t) => {
  const backend = { authenticate: async () => Promise.reject(new Error('database down')) };
  await t.throwsAsync(call(new AuthenticationMiddleware(whoami, { backend }), '/'), {
    message: 'database down',
  });
});

test('a websocket refused by the backend is closed with code 1000', async (t) => {
  const res = await call(new AuthenticationMiddleware(whoami, { backend: new TestBackend() }), '/ws', {
    type: 'websocket',
    headers: { authorization: 'bad' },
  });
  t.deepEqual(res.messages, [{ type: 'websocket.close', code: 1000 }]);
});

test('websocket connections are authenticated too and lifespan passes through', async (t) => {
  let user: unknown;
  const app = new AuthenticationMiddleware(async (scope: Scope) => void (user = scope.user ?? scope.type), {
    backend: new TestBackend(),
  });
  await call(app, '/ws', { type: 'websocket', headers: { authorization: 'Basic bob:' } });
  t.is((user as SimpleUser).username, 'bob');
  await app.asgi(
    { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.4' } },
    async () => ({ type: 'lifespan.startup' }),
    async () => {},
  );
  t.is(user, 'lifespan');
});

test('a backend is required', (t) => {
  t.throws(() => new AuthenticationMiddleware(whoami, {} as never), { instanceOf: TypeError });
});

test('users describe themselves', (t) => {
  const alice = new SimpleUser('alice');
  t.true(alice.isAuthenticated);
  t.is(alice.displayName, 'alice');
  t.is(alice.identity, 'alice');
  const anonymous = new UnauthenticatedUser();
  t.false(anonymous.isAuthenticated);
  t.is(anonymous.displayName, '');
  t.deepEqual(new AuthCredentials().scopes, []);
  t.is(new AuthenticationError().message, '');
});

/** A Request whose scope carries the given scopes, as AuthenticationMiddleware would leave it. */
function requestWith(scopes: string[], path = '/dashboard'): Request {
  const scope = makeScope(path);
  scope.auth = new AuthCredentials(scopes);
  scope.user = new SimpleUser('u');
  return new Request(scope);
}

test('requires lets a request with every scope through', async (t) => {
  const endpoint = requires(['authenticated', 'admin'])(async function dashboard(request: Request) {
    return new PlainTextResponse(`hi ${request.url.path}`);
  });
  t.is(endpoint.name, 'dashboard');
  const res = (await endpoint(requestWith(['authenticated', 'admin']))) as PlainTextResponse;
  t.is(new TextDecoder().decode(res.body), 'hi /dashboard');
  t.true(hasRequiredScope(requestWith(['a', 'b']), ['a']));
  t.false(has_required_scope(requestWith(['a']), ['a', 'b']));
});

test('requires throws HTTPException with the status code when a scope is missing', async (t) => {
  const endpoint = requires('admin')(async (_request: Request) => new PlainTextResponse('secret'));
  const error = await t.throwsAsync(endpoint(requestWith(['authenticated'])), { instanceOf: HTTPException });
  t.is(error.statusCode, 403);
  const custom = requires('admin', { statusCode: 404 })(
    async (_request: Request) => new PlainTextResponse('secret'),
  );
  t.is((await t.throwsAsync(custom(requestWith([])), { instanceOf: HTTPException })).statusCode, 404);
});

test('requires redirects (303) to a named route with the original URL in next', async (t) => {
  const request = requestWith([], '/dashboard');
  (request.scope as Record<string, unknown>).router = {
    urlPathFor: () => ({ makeAbsoluteUrl: () => 'http://testserver/login' }),
  };
  Object.defineProperty(request, 'urlFor', { value: (name: string) => `http://testserver/${name}` });
  const endpoint = requires('authenticated', { redirect: 'login' })(
    async (_request: Request) => new PlainTextResponse('secret'),
  );
  const res = (await endpoint(request)) as RedirectResponse;
  t.is(res.status, 303);
  t.is(res.headers.get('location'), 'http://testserver/login?next=http%3A%2F%2Ftestserver%2Fdashboard');
});

test('requires works as a method decorator on endpoint classes', async (t) => {
  class Admin {
    greeting = 'hello';
    @requires('admin')
    async get(_request: Request) {
      return new PlainTextResponse(this.greeting);
    }
  }
  const admin = new Admin();
  const res = (await admin.get(requestWith(['admin']))) as PlainTextResponse;
  t.is(new TextDecoder().decode(res.body), 'hello');
  await t.throwsAsync(admin.get(requestWith([])), { instanceOf: HTTPException });
});

test('requires closes a websocket that lacks a scope', async (t) => {
  const closed: number[] = [];
  const ws = {
    scope: { type: 'websocket' },
    auth: new AuthCredentials(['authenticated']),
    url: 'ws://x/',
    urlFor: () => '',
    close: async (code = 1000) => void closed.push(code),
  };
  let ran = false;
  const handler = requires('admin')(async (_ws: typeof ws) => void (ran = true));
  await handler(ws);
  t.false(ran);
  t.deepEqual(closed, [1000]);
  await requires('authenticated')(async (_ws: typeof ws) => void (ran = true))(ws);
  t.true(ran);
});

test('requires needs a request or websocket argument', async (t) => {
  await t.throwsAsync(requires('x')(async (_n: number) => 1)(5), {
    instanceOf: TypeError,
    message: /Request or WebSocket/,
  });
});
