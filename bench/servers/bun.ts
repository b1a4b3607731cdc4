// Peer: Bun.serve, TechEmpower plaintext and json. Uses Bun's native `routes` table (its router, as
// uws.mjs uses uWS's); each handler builds a fresh Response, as every other peer does per request.
// Run by bench/run.mjs with the bun binary from bench/peers: `bun run bench/servers/bun.ts`.
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  routes: {
    '/plaintext': () => new Response('Hello, World!', { headers: { 'content-type': 'text/plain' } }),
    '/json': () =>
      new Response(JSON.stringify({ message: 'Hello, World!' }), {
        headers: { 'content-type': 'application/json' },
      }),
  },
  fetch: () => new Response('Not Found', { status: 404 }),
});
console.log(`READY ${server.port}`);
