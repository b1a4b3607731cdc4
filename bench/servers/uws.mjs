// Peer: uWebSockets.js (npm repack uwebsockets@3.0.6), the fastest Node server.
import { createRequire } from 'node:module';
const uWS = createRequire(import.meta.url)('uwebsockets');
const port = Number(process.env.PORT ?? 0);
uWS
  .App()
  .get('/plaintext', (res) => {
    res.cork(() => res.writeHeader('content-type', 'text/plain').end('Hello, World!'));
  })
  .get('/json', (res) => {
    const body = JSON.stringify({ message: 'Hello, World!' });
    res.cork(() => res.writeHeader('content-type', 'application/json').end(body));
  })
  .listen('127.0.0.1', port, (socket) => {
    if (!socket) process.exit(1);
    console.log(`READY ${uWS.us_socket_local_port(socket)}`);
  });
