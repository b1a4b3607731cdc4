// The demo app served by `npm start`: routes, JSON, forms, static files and a WebSocket chat.
// The chat goes through a Broadcast: `memory://` (one process, one room) unless BROADCAST_URL names a
// Redis, as in `BROADCAST_URL=redis://localhost:6379 npm start -- --workers 2`, where every worker
// (and every machine on that Redis) shares the room.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Broadcast, type Subscription } from '../src/broadcast/index.ts';
import {
  HTMLResponse,
  JSONResponse,
  PlainTextResponse,
  Route,
  Mount,
  Starling,
  StaticFiles,
  WebSocketRoute,
  serve,
  type Request,
  type WebSocket,
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
  <li><a href="/chat">/chat</a> (a WebSocket chat: open it in two tabs)</li>
</ul>
<form method="post" action="/echo"><input name="message" value="hello"><button>Send</button></form>
</body></html>`);
}

// The chat page: its script joins /ws/chat and shows every message broadcast there.
async function chatPage(): Promise<HTMLResponse> {
  return new HTMLResponse(`<!doctype html>
<html><head><title>Starling chat</title><link rel="stylesheet" href="/static/demo.css"></head>
<body><h1>Chat</h1>
<p id="status">connecting…</p>
<ul id="messages"></ul>
<form id="send"><input id="text" autocomplete="off" autofocus placeholder="Say something"><button>Send</button></form>
<p><a href="/">home</a></p>
<script>
  const messages = document.getElementById('messages');
  const status = document.getElementById('status');
  const input = document.getElementById('text');
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/chat');
  ws.onopen = () => (status.textContent = 'connected');
  ws.onclose = () => (status.textContent = 'disconnected (reload to rejoin)');
  ws.onmessage = (event) => {
    const { from, text } = JSON.parse(event.data);
    const item = document.createElement('li');
    item.textContent = from + ': ' + text;
    messages.append(item);
  };
  document.getElementById('send').onsubmit = (event) => {
    event.preventDefault();
    if (input.value && ws.readyState === WebSocket.OPEN) ws.send(input.value);
    input.value = '';
  };
</script>
</body></html>`);
}

/** Sends a chat client every message of the room, until the subscription or the socket ends. */
async function relay(ws: WebSocket, sub: Subscription): Promise<void> {
  try {
    for await (const { message } of sub) await ws.sendText(message);
  } catch {
    // The Broadcast lost its engine (Redis went away) or the client left: this socket is done.
    await ws.close(1011).catch(() => {});
  }
}

/** The demo app, its chat room on `broadcast` (connected and disconnected by the app's lifespan). */
export function createApp(broadcast = new Broadcast(process.env.BROADCAST_URL ?? 'memory://')): Starling {
  let guests = 0;
  // Names stay apart across workers: guest-3 in one process, guest-2.3 in worker 2.
  const prefix = cluster.worker ? `guest-${cluster.worker.id}.` : 'guest-';

  async function chat(ws: WebSocket): Promise<void> {
    // Subscribed before the handshake: once the client sees the socket open, it misses no message.
    const sub = await broadcast.subscribe('chat');
    const name = `${prefix}${++guests}`;
    let relaying: Promise<void> = Promise.resolve();
    try {
      await ws.accept();
      relaying = relay(ws, sub);
      for await (const text of ws.iterText())
        await broadcast.publish('chat', JSON.stringify({ from: name, text }));
    } finally {
      await sub.unsubscribe();
      await relaying;
    }
  }

  return new Starling({
    routes: [
      new Route('/', homepage),
      new Route('/plaintext', async () => new PlainTextResponse('Hello, World!')),
      new Route('/json', async () => new JSONResponse({ message: 'Hello, World!' })),
      new Route(
        '/users/{id:int}',
        async (request: Request) => new JSONResponse({ id: request.pathParams.id }),
      ),
      new Route(
        '/echo',
        async (request: Request) => {
          const form = await request.form();
          return new JSONResponse({ message: form.get('message') });
        },
        { methods: ['POST'] },
      ),
      new Route('/chat', chatPage),
      new WebSocketRoute('/ws/chat', chat),
      new Mount('/static', { app: new StaticFiles({ directory: staticDir }), name: 'static' }),
    ],
    lifespan: async function* () {
      await broadcast.connect();
      try {
        yield;
      } finally {
        await broadcast.disconnect();
      }
    },
  });
}

export const app = createApp();

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { workers: { type: 'string', default: '1' } } });
  const server = await serve(app, {
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 8000),
    workers: Number(values.workers),
  });
  console.error(`INFO:     Starling demo on ${server.url} (Press CTRL+C to quit)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
