// The demo app served by `npm start`: routes, JSON, forms, static files and a lifespan.
import { fileURLToPath } from 'node:url';
import {
  HTMLResponse,
  JSONResponse,
  PlainTextResponse,
  Route,
  Mount,
  Starling,
  StaticFiles,
  serve,
  type Request,
} from '../src/index.ts';

const staticDir = fileURLToPath(new URL('./static', import.meta.url));

async function homepage(): Promise<HTMLResponse> {
  return new HTMLResponse(`<!doctype html>
<html><head><title>Starling demo</title><link rel="stylesheet" href="/static/demo.css"></head>
<body><h1>Starling</h1>
<p>Starlette for Node.js on a Rust core.</p>
<ul>
  <li><a href="/plaintext">/plaintext</a></li>
  <li><a href="/json">/json</a></li>
  <li><a href="/users/42">/users/42</a></li>
</ul>
<form method="post" action="/echo"><input name="message" value="hello"><button>Send</button></form>
</body></html>`);
}

export const app = new Starling({
  routes: [
    new Route('/', homepage),
    new Route('/plaintext', async () => new PlainTextResponse('Hello, World!')),
    new Route('/json', async () => new JSONResponse({ message: 'Hello, World!' })),
    new Route('/users/{id:int}', async (request: Request) => new JSONResponse({ id: request.pathParams.id })),
    new Route(
      '/echo',
      async (request: Request) => {
        const form = await request.form();
        return new JSONResponse({ message: form.get('message') });
      },
      { methods: ['POST'] },
    ),
    new Mount('/static', { app: new StaticFiles({ directory: staticDir }), name: 'static' }),
  ],
});

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await serve(app, {
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 8000),
  });
  console.error(`INFO:     Starling demo on ${server.url} (Press CTRL+C to quit)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
