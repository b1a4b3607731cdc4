// Starling + GZipMiddleware returning a ~100 KiB JSONResponse (serialized per request, compressed by the
// core). GZIP_LEVEL overrides the middleware's default compressLevel (9, as in Starlette).
import { GZipMiddleware, JSONResponse, Middleware, Route, Starling, serve } from '../../dist/index.js';
import { payload } from './gzip-payload.mjs';

const level = process.env.GZIP_LEVEL ? Number(process.env.GZIP_LEVEL) : undefined;
const app = new Starling({
  routes: [new Route('/json', async () => new JSONResponse(payload))],
  middleware: [new Middleware(GZipMiddleware, level === undefined ? {} : { compressLevel: level })],
});
const server = await serve(app, { port: Number(process.env.PORT ?? 0), accessLog: false, lifespan: 'off' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
