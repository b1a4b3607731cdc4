// The demo app, assembled: each concern has its module beside this one.
import { fileURLToPath } from 'node:url';
import { Broadcast } from '../../src/broadcast/index.ts';
import { Database, DatabaseMiddleware } from '../../src/database/index.ts';
import {
  AuthenticationMiddleware,
  GZipMiddleware,
  Middleware,
  Mount,
  Route,
  SessionMiddleware,
  Starling,
  StaticFiles,
  type Request,
} from '../../src/index.ts';
import { SchemaGenerator } from '../../src/schemas.ts';
import { SessionBackend, accountRoutes } from './accounts.ts';
import { chatRoutes } from './chat.ts';
import { notesGraphQL } from './graphql.ts';
import { noteRoutes, setUp } from './notes.ts';
import { pageRoutes } from './pages.ts';

const schemas = new SchemaGenerator({
  openapi: '3.0.0',
  info: { title: 'Starling demo', version: '1.0', description: 'The notes of the demo app.' },
});

/**
 * The demo app: its chat room on `broadcast`, its notes in `database` (both connected and disconnected
 * by the app's lifespan). `DEMO_DATABASE_URL` is set by `demo.ts` when workers share a file.
 */
export function createApp(
  broadcast = new Broadcast(process.env.BROADCAST_URL ?? 'memory://'),
  database = new Database(process.env.DEMO_DATABASE_URL ?? 'sqlite://:memory:'),
): Starling {
  const statics = new StaticFiles({ directory: fileURLToPath(new URL('./static', import.meta.url)) });
  return new Starling({
    routes: [
      ...pageRoutes,
      ...accountRoutes,
      ...noteRoutes(database),
      ...chatRoutes(broadcast),
      new Mount('/graphql', { app: notesGraphQL(database) }),
      new Route('/schema', async (request: Request) => schemas.OpenAPIResponse(request), {
        includeInSchema: false,
      }),
      // The core reads the files and compresses them (brotli when the browser takes it).
      new Mount('/static', {
        app: statics,
        name: 'static',
        middleware: [new Middleware(GZipMiddleware, { encodings: ['br', 'gzip'] })],
      }),
    ],
    middleware: [
      // A fixed key is fine for a demo that keeps nothing; a real app reads it from its environment.
      new Middleware(SessionMiddleware, { secretKey: process.env.SECRET_KEY ?? 'starling-demo-only' }),
      new Middleware(AuthenticationMiddleware, { backend: new SessionBackend() }),
      new Middleware(DatabaseMiddleware, { database }),
    ],
    lifespan: async function* () {
      // DatabaseMiddleware has connected the database by now.
      await setUp(database);
      await broadcast.connect();
      try {
        yield;
      } finally {
        await broadcast.disconnect();
      }
    },
  });
}
