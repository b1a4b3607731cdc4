// Starling with a bare ASGI function: the bridge's own cost.
import { serve } from '../../src/server.ts';
import type { Scope, Receive, Send } from '../../src/asgi.ts';

const TEXT_HEADERS: [string, string][] = [['content-type', 'text/plain']];
const JSON_HEADERS: [string, string][] = [['content-type', 'application/json']];
async function app(scope: Scope, _receive: Receive, send: Send): Promise<void> {
  if (scope.type !== 'http') return;
  const json = scope.path === '/json';
  await send({ type: 'http.response.start', status: 200, headers: json ? JSON_HEADERS : TEXT_HEADERS });
  await send({
    type: 'http.response.body',
    body: json ? JSON.stringify({ message: 'Hello, World!' }) : 'Hello, World!',
  });
}
const server = await serve(app, { port: Number(process.env.PORT ?? 0), accessLog: false, lifespan: 'off' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
