// Starling with the application layer: routes, Request, PlainTextResponse/JSONResponse (dist/).
import { JSONResponse, PlainTextResponse, Route, Starling, serve } from '../../dist/index.js';

const app = new Starling({
  routes: [
    new Route('/plaintext', () => new PlainTextResponse('Hello, World!')),
    new Route('/json', () => new JSONResponse({ message: 'Hello, World!' })),
  ],
});
const server = await serve(app, { port: Number(process.env.PORT ?? 0), accessLog: false, lifespan: 'off' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
