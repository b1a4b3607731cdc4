// Peer: Deno.serve (Deno's built-in hyper-based HTTP server), TechEmpower plaintext and json.
// Run by bench/run.mjs with the deno binary from bench/peers: `deno run --allow-net --allow-env=PORT`.
const TEXT = { 'content-type': 'text/plain' };
const JSON_TYPE = { 'content-type': 'application/json' };

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: Number(Deno.env.get('PORT') ?? 0),
    // Replaces Deno's default "Listening on …" line with the harness's handshake.
    onListen: ({ port }) => console.log(`READY ${port}`),
  },
  (req) => {
    // req.url is absolute; the path starts at the first '/' after "http://". Slicing it is what
    // node:http's req.url gives for free, without a full URL parse per request.
    const path = req.url.slice(req.url.indexOf('/', 8));
    if (path === '/plaintext') return new Response('Hello, World!', { headers: TEXT });
    if (path === '/json')
      return new Response(JSON.stringify({ message: 'Hello, World!' }), { headers: JSON_TYPE });
    return new Response('Not Found', { status: 404 });
  },
);
