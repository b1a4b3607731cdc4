import test from 'ava';
import type { Receive, Scope, Send } from '../../src/asgi.ts';
import { generateHtml, generatePlainText, ServerErrorMiddleware } from '../../src/middleware/errors.ts';
import type { Request } from '../../src/requests.ts';
import { JSONResponse, PlainTextResponse } from '../../src/responses.ts';
import { TestClient } from '../../src/testclient.ts';

const boom = async (scope: Scope) => {
  if (scope.type === 'websocket') throw new Error('ws boom');
  throw new Error('boom <b>');
};

test('an unhandled error becomes a plain 500 and is rethrown', async (t) => {
  const app = new ServerErrorMiddleware(boom);
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: 'boom <b>' });
  const res = await new TestClient(app, { raiseServerExceptions: false }).get('/');
  t.is(res.status, 500);
  t.is(res.text, 'Internal Server Error');
});

test('the handler answers in production', async (t) => {
  const handler = async (request: Request, error: Error) =>
    new JSONResponse({ path: request.url.path, error: error.message }, { status: 500 });
  const res = await new TestClient(new ServerErrorMiddleware(boom, { handler }), {
    raiseServerExceptions: false,
  }).get('/x');
  t.deepEqual(res.json(), { path: '/x', error: 'boom <b>' });
  const quiet = new ServerErrorMiddleware(boom, { handler: () => null });
  t.is((await new TestClient(quiet, { raiseServerExceptions: false }).get('/')).status, 500);
});

test('debug gives browsers an HTML page with the escaped error and stack', async (t) => {
  const res = await new TestClient(new ServerErrorMiddleware(boom, { debug: true }), {
    raiseServerExceptions: false,
  }).get('/', {
    headers: { accept: 'text/html,application/xhtml+xml' },
  });
  t.is(res.status, 500);
  t.true(res.text.includes('<title>Starling Debugger</title>'));
  t.true(res.text.includes('Error: boom &lt;b&gt;'));
  t.true(res.text.includes('errors.spec.ts'));
});

test('debug gives other clients the stack as plain text', async (t) => {
  const res = await new TestClient(new ServerErrorMiddleware(boom, { debug: true }), {
    raiseServerExceptions: false,
  }).get('/');
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain/);
  t.true(res.text.startsWith('Error: boom <b>\n    at '));
});

test('nothing is sent when the response already started', async (t) => {
  const late = async (_s: Scope, _r: Receive, send: Send) => {
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body: 'partial', more_body: true });
    throw new Error('late');
  };
  const res = await new TestClient(new ServerErrorMiddleware(late, { debug: true }), {
    raiseServerExceptions: false,
  }).get('/');
  t.is(res.status, 200);
  t.is(res.text, 'partial');
});

test('websocket scopes pass straight through', async (t) => {
  await t.throwsAsync(() => new TestClient(new ServerErrorMiddleware(boom)).websocketConnect('/'), {
    message: 'ws boom',
  });
});

test('non-Error throwables are described too', (t) => {
  t.is(generatePlainText('just a string'), 'just a string');
  t.true(generateHtml(42).includes('<h2 class="error">42</h2>'));
  t.truthy(
    new ServerErrorMiddleware(async () => {}).errorResponse(null as never, null) instanceof PlainTextResponse,
  );
});

test('an app that throws synchronously still gets the 500 and the error', async (t) => {
  const app = new ServerErrorMiddleware((scope: Scope) => {
    if (scope.type === 'lifespan') return Promise.resolve();
    throw new Error('sync');
  });
  const res = await new TestClient(app, { raiseServerExceptions: false }).get('/');
  t.is(res.status, 500);
  t.is(res.text, 'Internal Server Error');
  await t.throwsAsync(() => new TestClient(app).get('/'), { message: 'sync' });
});
