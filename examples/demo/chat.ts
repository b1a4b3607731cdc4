// The chat: a page whose script joins /ws/chat, and the socket that relays every message of the room.
// The room is a Broadcast channel: `memory://` reaches the sockets of one process, `redis://` those of
// every worker (and every machine) on that Redis.
import cluster from 'node:cluster';
import type { Broadcast, Subscription } from '../../src/broadcast/index.ts';
import { Route, WebSocketRoute, type Request, type WebSocket } from '../../src/index.ts';
import { templates } from './templates.ts';

/** Sends a chat client every message of the room, until the subscription or the socket ends. */
async function relay(ws: WebSocket, sub: Subscription): Promise<void> {
  try {
    for await (const { message } of sub) await ws.sendText(message);
  } catch {
    // The Broadcast lost its engine (Redis went away) or the client left: this socket is done.
    await ws.close(1011).catch(() => {});
  }
}

/** The chat's page and socket, its room on `broadcast`. */
export function chatRoutes(broadcast: Broadcast): (Route | WebSocketRoute)[] {
  let guests = 0;
  // Guest names stay apart across workers: guest-3 in one process, guest-2.3 in worker 2.
  const prefix = cluster.worker ? `guest-${cluster.worker.id}.` : 'guest-';

  async function chat(ws: WebSocket): Promise<void> {
    // Subscribed before the handshake: once the client sees the socket open, it misses no message.
    const sub = await broadcast.subscribe('chat');
    const name: string = ws.user.isAuthenticated ? ws.user.displayName : `${prefix}${++guests}`;
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

  return [
    new Route('/chat', async (request: Request) => templates.TemplateResponse(request, 'chat.html')),
    new WebSocketRoute('/ws/chat', chat),
  ];
}
