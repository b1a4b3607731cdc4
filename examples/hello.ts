// The seed's hello world: `node --import tsx examples/hello.ts`, or
// `NODE_OPTIONS='--import tsx' npx starling examples/hello.ts:app --port 8000`; examples/hello.js is the
// same app in plain JavaScript.
import { Starling, Route, JSONResponse, serve } from '../src/index.ts';

export const app = new Starling({
  routes: [new Route('/', async () => new JSONResponse({ hello: 'world' }))],
});

if (import.meta.url === `file://${process.argv[1]}`) await serve(app, { host: '0.0.0.0', port: 8000 });
