// Starling + GZipMiddleware returning a ~100 KiB JSONResponse (serialized per request, compressed by the
// core). GZIP_LEVEL overrides the middleware's default compressLevel (9, as in Starlette).
import { Starling } from '../../src/applications.ts';
import { Route } from '../../src/routing.ts';
import { JSONResponse } from '../../src/responses.ts';
import { Middleware } from '../../src/middleware/index.ts';
import { GZipMiddleware } from '../../src/middleware/gzip.ts';
import { serve } from '../../src/server.ts';
import { payload } from './gzip-payload.mjs';

const level = process.env.GZIP_LEVEL ? Number(process.env.GZIP_LEVEL) : undefined;
const app = new Starling({
  routes: [new Route('/json', async () => new JSONResponse(payload))],
  middleware: [new Middleware(GZipMiddleware, level === undefined ? {} : { compressLevel: level })],
});
const server = await serve(app, { port: Number(process.env.PORT ?? 0), accessLog: false, lifespan: 'off' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
