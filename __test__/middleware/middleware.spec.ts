import test from 'ava';
import type { ASGIApp, Receive, Scope, Send } from '../../src/asgi.ts';
import { applyMiddleware, dualApp, Middleware } from '../../src/middleware/index.ts';
import { PlainTextResponse } from '../../src/responses.ts';
import { TestClient } from '../../src/testclient.ts';

class Prefix {
  constructor(
    readonly app: ASGIApp & ((s: Scope, r: Receive, w: Send) => Promise<void>),
    readonly options: { text: string },
  ) {}
  async asgi(scope: Scope, receive: Receive, send: Send) {
    await this.app(scope, receive, async (message) => {
      if (message.type === 'http.response.body')
        message = {
          ...message,
          body:
            this.options.text +
            (typeof message.body === 'string' ? message.body : new TextDecoder().decode(message.body)),
        };
      if (message.type === 'http.response.start') message = { ...message, headers: [] };
      await send(message);
    });
  }
}

test('a Middleware builds new cls(app, options) and keeps both', (t) => {
  const m = new Middleware(Prefix, { text: 'x' });
  t.is(m.cls, Prefix);
  t.deepEqual(m.options, { text: 'x' });
  t.deepEqual([...m], [Prefix, { text: 'x' }]);
  t.is(String(m), 'Middleware(Prefix)');
  t.true(m.build(async () => {}) instanceof Prefix);
});

test('factory functions work as middleware too', async (t) => {
  const factory =
    (app: ASGIApp, options: { status: number }) => async (scope: Scope, receive: Receive, send: Send) => {
      if (options.status)
        return new PlainTextResponse('short-circuit', { status: options.status }).asgi(scope, receive, send);
      return dualApp(app)(scope, receive, send);
    };
  const app = applyMiddleware(new PlainTextResponse('inner'), [new Middleware(factory, { status: 503 })]);
  t.is((await new TestClient(app).get('/')).status, 503);
  t.is(String(new Middleware(factory)), 'Middleware(factory)');
});

test('middleware apply outermost first and receive an app callable both ways', async (t) => {
  const app = applyMiddleware(new PlainTextResponse('inner'), [
    new Middleware(Prefix, { text: 'a-' }),
    new Middleware(Prefix, { text: 'b-' }),
  ]);
  t.is((await new TestClient(app).get('/')).text, 'a-b-inner');
  const dual = dualApp(new PlainTextResponse('x'));
  t.is(dualApp(dual), dual);
  t.is(typeof dual.asgi, 'function');
});
