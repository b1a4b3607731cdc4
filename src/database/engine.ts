/**
 * What stands behind one `Database`: its backend and its connection state.
 *
 * Private to `starlingjs/database`.
 */
import type { Backend, Connection } from './driver.ts';
import { PostgresBackend } from './postgres.ts';
import { bindSQL, type BoundQuery, type Dialect } from './sql.ts';
import { SQLiteBackend } from './sqlite.ts';
import type { Values } from './types.ts';
import { parseDatabaseURL } from './url.ts';

export interface EngineOptions {
  maxSize: number;
  /** Milliseconds to wait for a connection before failing. */
  acquireTimeout: number;
}

export class Engine {
  readonly backend: Backend;
  readonly dialect: Dialect;
  #connected = false;
  #opening: Promise<void> | null = null;

  constructor(url: string, options: EngineOptions) {
    const target = parseDatabaseURL(url);
    this.dialect = target.dialect;
    this.backend =
      target.dialect === 'sqlite'
        ? new SQLiteBackend(target.filename, target.pragmas, options.acquireTimeout)
        : new PostgresBackend(target.connectionString, options.maxSize, options.acquireTimeout);
  }

  get isConnected(): boolean {
    return this.#connected;
  }

  async connect(): Promise<void> {
    if (this.#connected) return;
    this.#opening ??= this.backend.open().then(
      () => {
        this.#connected = true;
        this.#opening = null;
      },
      (error: unknown) => {
        this.#opening = null;
        throw error;
      },
    );
    await this.#opening;
  }

  async disconnect(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    if (!this.#connected) return;
    this.#connected = false;
    await this.backend.close();
  }

  assertConnected(): void {
    if (!this.#connected) {
      throw new Error(
        'The database is not connected: call `await database.connect()` first ' +
          '(DatabaseMiddleware connects it at lifespan startup).',
      );
    }
  }

  bind(sql: string, values: Values | undefined): BoundQuery {
    return bindSQL(sql, values, this.dialect);
  }

  /** Runs `fn` on a connection of its own, outside any transaction. */
  async withConnection<R>(fn: (connection: Connection) => Promise<R>): Promise<R> {
    this.assertConnected();
    const connection = await this.backend.acquire();
    try {
      return await fn(connection);
    } finally {
      connection.release();
    }
  }
}
