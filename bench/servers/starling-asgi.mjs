// Starling with a bare ASGI function: the bridge's own cost. Runs the compiled package (dist/), as
// production does: `npm run build:ts` first.
import { serve } from '../../dist/index.js';

const TEXT_HEADERS = [['content-type', 'text/plain']];
const JSON_HEADERS = [['content-type', 'application/json']];
async function app(scope, _receive, send) {
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
