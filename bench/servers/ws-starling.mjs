// Starling WebSocket server for bench/ws.mjs and bench/conformance: `/echo` sends every message back,
// `/push` streams PUSH_BYTES-byte text messages to the client from its first message until it leaves.
import { Starling, WebSocketDisconnect, WebSocketRoute, serve } from '../../dist/index.js';

const payload = 'x'.repeat(Number(process.env.PUSH_BYTES ?? 32));

async function echo(ws) {
  await ws.accept();
  try {
    for (;;) {
      const message = await ws.receive();
      if (message.type !== 'websocket.receive') return;
      if (message.text != null) await ws.sendText(message.text);
      else if (message.bytes) await ws.sendBytes(message.bytes);
    }
  } catch (error) {
    if (!(error instanceof WebSocketDisconnect)) throw error; // the peer left before its echo
  }
}

async function push(ws) {
  await ws.accept();
  const first = await ws.receive();
  if (first.type !== 'websocket.receive') return;
  let open = true;
  void ws.receive().then(() => (open = false)); // the client's close ends the stream
  try {
    while (open) await ws.sendText(payload);
  } catch {
    // the peer left mid-send
  }
}

const app = new Starling({ routes: [new WebSocketRoute('/echo', echo), new WebSocketRoute('/push', push)] });
const server = await serve(app, {
  port: Number(process.env.PORT ?? 0),
  accessLog: false,
  lifespan: 'off',
  wsMaxSize: Number(process.env.WS_MAX_SIZE ?? 16 * 1024 * 1024),
  wsPerMessageDeflate: process.env.WS_DEFLATE !== '0',
});
console.log(`READY ${server.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
