import test from 'ava';
import http2 from 'node:http2';
import type { ASGIFunction, HTTPScope } from '../src/asgi.ts';
import { serve } from '../src/server/index.ts';
import { latencies, metBound } from './_disconnect.ts';

const app: ASGIFunction = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const message = await receive();
  const size = message.type === 'http.request' ? message.body.length : -1;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({
    type: 'http.response.body',
    body: `${(scope as HTTPScope).http_version} ${scope.method} ${scope.path} ${size}`,
  });
};

function request(session: http2.ClientHttp2Session, path: string, body?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': body ? 'POST' : 'GET' });
    let text = '';
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (d) => (text += d));
    stream.on('end', () => resolve({ status, text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

test('HTTP/2 with prior knowledge is served, streams multiplexed on one connection', async (t) => {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off' });
  const session = http2.connect(server.url);
  try {
    const [a, b] = await Promise.all([request(session, '/a'), request(session, '/b', 'hello')]);
    t.deepEqual(a, { status: 200, text: '2 GET /a 0' });
    t.deepEqual(b, { status: 200, text: '2 POST /b 5' });
  } finally {
    session.close();
    await server.close();
  }
});

test('a handler polling isDisconnected learns that its HTTP/2 stream was reset, and the connection serves on', async (t) => {
  const { Request } = await import('../src/requests.ts');
  let learned: (ms: number) => void = () => {};
  const hang: ASGIFunction = async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    if (scope.path === '/hang') {
      const request = new Request(scope, receive);
      for (let i = 0; i < 500; i++) {
        if (await request.isDisconnected()) {
          learned(Date.now());
          return;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      return;
    }
    await app(scope, receive, send);
  };
  const server = await serve(hang, { port: 0, accessLog: false, lifespan: 'off' });
  const session = http2.connect(server.url);
  try {
    const seen = await latencies(async () => {
      const told = new Promise<number>((resolve) => (learned = resolve));
      const stream = session.request({ ':path': '/hang' });
      stream.on('error', () => {});
      await new Promise((r) => setTimeout(r, 100));
      const reset = Date.now();
      stream.close(http2.constants.NGHTTP2_CANCEL);
      return (await told) - reset;
    });
    t.true(metBound(seen), `told after ${seen.join(', ')} ms`);
    // Other streams of the connection are unaffected.
    t.deepEqual(await request(session, '/after'), { status: 200, text: '2 GET /after 0' });
  } finally {
    session.close();
    await server.close();
  }
});
