// The seed's toolkit example: a raw ASGI function answered by a Response.
import { PlainTextResponse, serve, type Scope, type Receive, type Send } from '../src/index.ts';

export const App = async (scope: Scope, receive: Receive, send: Send) => {
  await new PlainTextResponse('Hello, world!').asgi(scope, receive, send);
};

if (import.meta.url === `file://${process.argv[1]}`) await serve(App, { port: 8000 });
