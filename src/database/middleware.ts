/**
 * `DatabaseMiddleware`: the database's lifespan, and one transaction per HTTP request.
 */
import type { ASGIApp, ASGIFunction, LifespanScope, Receive, Scope, Send } from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import { engineOf, type Database } from './database.ts';
import type { Engine } from './engine.ts';
import { deferredTransaction } from './transaction.ts';

/** Options of `new Middleware(DatabaseMiddleware, options)`. */
export interface DatabaseMiddlewareOptions {
  database: Database;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Connects `database` at lifespan startup and disconnects it at shutdown. Each HTTP request gets
 * `request.state.db`, a transaction that begins at its first statement and ends when the response
 * starts: committed when the status is below 400, rolled back when it is 400 or more, or when the
 * endpoint throws (or returns without answering). Query `request.state.db`, not the database: the
 * database's own methods run outside the request's transaction. A WebSocket gets the database itself
 * as `state.db` (no transaction: a connection lives too long for one).
 *
 * @example
 * ```ts
 * const database = new Database('sqlite:///app.db');
 * const app = new Starling({
 *   routes: [new Route('/notes', async (request) => new JSONResponse(await request.state.db.fetchAll('SELECT * FROM notes')))],
 *   middleware: [new Middleware(DatabaseMiddleware, { database })],
 * });
 * ```
 */
export class DatabaseMiddleware {
  readonly #app: ASGIFunction;
  readonly #database: Database;
  readonly #engine: Engine;

  constructor(app: ASGIApp, options: DatabaseMiddlewareOptions) {
    if (!options?.database) throw new TypeError('DatabaseMiddleware needs a `database` option.');
    this.#app = toASGIFunction(app);
    this.#database = options.database;
    this.#engine = engineOf(options.database);
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan') return this.#lifespan(scope, receive, send);
    if (scope.type === 'websocket') {
      (scope.state ??= {}).db = this.#database;
      return this.#app(scope, receive, send);
    }
    const { transaction, end } = deferredTransaction(this.#engine);
    (scope.state ??= {}).db = transaction;
    const wrapped: Send = async (message) => {
      // Ended before the response leaves: a client that sees 200 sees the data, and a failed COMMIT
      // can still become a 500.
      if (message.type === 'http.response.start') await end(message.status < 400);
      return send(message);
    };
    try {
      await this.#app(scope, receive, wrapped);
    } finally {
      await end(false); // nothing to do once the response has started
    }
  }

  /** Connects before the app's own startup and disconnects after its shutdown. */
  async #lifespan(scope: LifespanScope, receive: Receive, send: Send): Promise<void> {
    let received = false;
    const wrappedReceive: Receive = async () => {
      const message = await receive();
      received = true;
      if (message.type === 'lifespan.startup') {
        try {
          await this.#database.connect();
        } catch (error) {
          await send({ type: 'lifespan.startup.failed', message: describe(error) });
          throw error;
        }
      }
      return message;
    };
    const wrappedSend: Send = async (message) => {
      if (message.type === 'lifespan.shutdown.complete') {
        try {
          await this.#database.disconnect();
        } catch (error) {
          return send({ type: 'lifespan.shutdown.failed', message: describe(error) });
        }
      } else if (message.type === 'lifespan.startup.failed' || message.type === 'lifespan.shutdown.failed') {
        await this.#database.disconnect().catch(() => undefined);
      }
      return send(message);
    };
    try {
      await this.#app(scope, wrappedReceive, wrappedSend);
    } catch (error) {
      if (received) throw error;
    }
    // An app without a lifespan of its own: answer the protocol here.
    if (!received) await this.#ownLifespan(receive, send);
  }

  async #ownLifespan(receive: Receive, send: Send): Promise<void> {
    await receive();
    try {
      await this.#database.connect();
    } catch (error) {
      await send({ type: 'lifespan.startup.failed', message: describe(error) });
      throw error;
    }
    await send({ type: 'lifespan.startup.complete' });
    await receive();
    try {
      await this.#database.disconnect();
    } catch (error) {
      await send({ type: 'lifespan.shutdown.failed', message: describe(error) });
      throw error;
    }
    await send({ type: 'lifespan.shutdown.complete' });
  }
}
