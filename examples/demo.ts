// The demo app served by `npm start` (its modules are in examples/demo/): pages from templates, a JSON
// API over SQLite, a WebSocket chat, sessions and a login, GraphQL, OpenAPI, background tasks and
// static files compressed by the core.
// The chat goes through a Broadcast: `memory://` (one process, one room) unless BROADCAST_URL names a
// Redis, as in `BROADCAST_URL=redis://localhost:6379 npm start -- --workers 2`, where every worker
// (and every machine on that Redis) shares the room.
import cluster from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '../src/index.ts';
import { createApp } from './demo/app.ts';

export { createApp };
export const app = createApp();

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { workers: { type: 'string', default: '1' } } });
  const workers = Number(values.workers);
  if (workers > 1 && cluster.isPrimary && process.env.DEMO_DATABASE_URL === undefined) {
    // Workers share one SQLite file in a temporary folder (each would have its own `:memory:`): set
    // here, in the primary, the variable reaches them, and the folder goes when the primary exits.
    const dir = mkdtempSync(join(tmpdir(), 'starling-demo-'));
    process.env.DEMO_DATABASE_URL = `sqlite:///${join(dir, 'demo.db')}`;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const server = await serve(app, {
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 8000),
    workers,
  });
  console.error(`INFO:     Starling demo on ${server.url} (Press CTRL+C to quit)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
