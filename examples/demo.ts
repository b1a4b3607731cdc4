// The demo app served by `npm start`: routes, JSON, forms, static files and a WebSocket chat.
import { fileURLToPath } from 'node:url';
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

// Everyone connected to the chat, in memory: one process, so one room.
const chatRoom = new Set<WebSocket>();
let guests = 0;

async function broadcast(message: { from: string; text: string }): Promise<void> {
  const text = JSON.stringify(message);
  // A peer that left mid-broadcast fails its send; the others still get the message.
  await Promise.allSettled([...chatRoom].map((ws) => ws.sendText(text)));
}

async function chat(ws: WebSocket): Promise<void> {
  await ws.accept();
  const name = `guest-${++guests}`;
  chatRoom.add(ws);
  try {
    for await (const text of ws.iterText()) await broadcast({ from: name, text });
  } finally {
    chatRoom.delete(ws);
  }
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
    new Route('/chat', chatPage),
    new WebSocketRoute('/ws/chat', chat),
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
