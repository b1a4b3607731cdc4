// The seed's hello world in plain JavaScript, for the command line without a TypeScript loader:
// `npx starling examples/hello.js:app --port 8000` in this clone (it imports the built dist/), or
// `node examples/hello.js`.
import { Starling, Route, JSONResponse, serve } from '../dist/index.js';

export const app = new Starling({
  routes: [new Route('/', async () => new JSONResponse({ hello: 'world' }))],
});

if (import.meta.url === `file://${process.argv[1]}`) await serve(app, { host: '0.0.0.0', port: 8000 });
