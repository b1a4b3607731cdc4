// The app `bench/soak.mjs` runs: good routes, and routes that fail in every way a handler can.
import {
  JSONResponse,
  PlainTextResponse,
  Route,
  Starling,
  StreamingResponse,
  serve,
} from '../../dist/index.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const stats = { hanging: 0, told: 0, streams: 0, streamsEnded: 0 };

const app = new Starling({
  routes: [
    new Route('/ok', () => new PlainTextResponse('ok')),
    new Route('/json', () => new JSONResponse({ ok: true, items: [1, 2, 3] })),
    new Route('/echo', async (request) => new PlainTextResponse(await request.text()), { methods: ['POST'] }),
    new Route('/throw', () => {
      throw new Error('boom (expected by the soak)');
    }),
    // Waits for its client to leave, polling as a long-poll handler would (bounded: 30 s).
    new Route('/hang', async (request) => {
      stats.hanging++;
      for (let i = 0; i < 3000; i++) {
        if (await request.isDisconnected()) {
          stats.told++;
          return new PlainTextResponse('gone');
        }
        await sleep(10);
      }
      return new PlainTextResponse('never told');
    }),
    new Route('/stream', () => {
      stats.streams++;
      async function* chunks() {
        try {
          for (let i = 0; i < 20; i++) {
            yield `chunk ${i}\n`;
            await sleep(5);
          }
        } finally {
          stats.streamsEnded++;
        }
      }
      return new StreamingResponse(chunks(), { mediaType: 'text/plain' });
    }),
    new Route('/stats', () => new JSONResponse(stats)),
  ],
});

// Sends a second start after the response is complete: the server must refuse it, not crash.
const withDouble = async (scope, receive, send) => {
  if (scope.type !== 'http' || scope.path !== '/double') return app.asgi(scope, receive, send);
  await send({ type: 'http.response.start', status: 200, headers: [] });
  await send({ type: 'http.response.body', body: 'once' });
  await send({ type: 'http.response.start', status: 200, headers: [] });
};

const server = await serve(withDouble, { port: Number(process.env.PORT ?? 0), accessLog: false, logLevel: 'error' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
