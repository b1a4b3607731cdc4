// The `ws` package's server, same routes as ws-starling.ts: `/echo` and `/push`.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const payload = 'x'.repeat(Number(process.env.PUSH_BYTES ?? 32));
const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: http, maxPayload: 16 * 1024 * 1024 });

wss.on('connection', (ws, req) => {
  if (req.url === '/push') {
    ws.once('message', async () => {
      // Bounded memory, as Starling's awaited sends: write while the socket buffer is small, wait for
      // drain past 256 KiB, and yield to the event loop every 64 messages so all clients are served.
      for (let n = 1; ws.readyState === ws.OPEN; n++) {
        if (ws.bufferedAmount > 256 * 1024)
          await new Promise((r) => (ws._socket.once('drain', r), ws.once('close', r)));
        ws.send(payload);
        if (n % 64 === 0) await new Promise(setImmediate);
      }
    });
    return;
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`READY ${http.address().port}`));
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
