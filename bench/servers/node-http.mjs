// Peer: raw node:http, TechEmpower plaintext and json.
import http from 'node:http';
const server = http.createServer((req, res) => {
  if (req.url === '/json') {
    const body = JSON.stringify({ message: 'Hello, World!' });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 13 });
    res.end('Hello, World!');
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
  console.log(`READY ${server.address().port}`),
);
