import test from 'ava';
import { HTTPException, WebSocketException } from '../src/exceptions.ts';
import { TestClient } from '../src/testclient.ts';
import { PlainTextResponse } from '../src/responses.ts';
import type { Receive, Scope, Send } from '../src/asgi.ts';

test('HTTPException detail defaults to the status phrase', (t) => {
  const exc = new HTTPException(404);
  t.is(exc.statusCode, 404);
  t.is(exc.detail, 'Not Found');
  t.is(exc.headers, null);
  t.is(String(exc), '404: Not Found');
  t.is(exc.message, '404: Not Found');
  t.is(exc.name, 'HTTPException');
  t.true(exc instanceof Error);
});

test('HTTPException keeps a custom detail and headers', (t) => {
  const exc = new HTTPException(401, { detail: 'Login first', headers: { 'WWW-Authenticate': 'Bearer' } });
  t.is(exc.detail, 'Login first');
  t.deepEqual(exc.headers, { 'WWW-Authenticate': 'Bearer' });
  t.is(exc.toString(), '401: Login first');
  t.is(new HTTPException(599).detail, '');
});

test('WebSocketException carries a code and reason', (t) => {
  const exc = new WebSocketException(1008, 'Not allowed');
  t.is(exc.code, 1008);
  t.is(exc.reason, 'Not allowed');
  t.is(String(exc), '1008: Not allowed');
  t.is(new WebSocketException(1011).reason, '');
  t.is(new WebSocketException(1000, null).toString(), '1000: ');
});

test('an app can turn an HTTPException into a response', async (t) => {
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    try {
      throw new HTTPException(418, { headers: { 'x-tea': 'yes' } });
    } catch (error) {
      const exc = error as HTTPException;
      await new PlainTextResponse(exc.detail, { status: exc.statusCode, headers: exc.headers }).asgi(
        scope,
        receive,
        send,
      );
    }
  };
  const res = await new TestClient(app).get('/');
  t.is(res.status, 418);
  t.is(res.text, "I'm a Teapot");
  t.is(res.headers.get('x-tea'), 'yes');
});
