/**
 * What stands behind one `Database`: its backend, its connection state, and the transaction that the
 * current async context runs in.
 *
 * Private to `starling/database`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Backend, Connection } from './driver.ts';
import { PostgresBackend } from './postgres.ts';
import { bindSQL, type BoundQuery, type Dialect } from './sql.ts';
import { SQLiteBackend } from './sqlite.ts';
import type { Values } from './types.ts';
import { parseDatabaseURL } from './url.ts';

/** What an engine needs of a transaction to route to it. */
export interface Routable {
  readonly isActive: boolean;
  readonly parent: Routable | null;
}

export class Engine<T extends Routable = Routable> {
  readonly backend: Backend;
  readonly dialect: Dialect;
  /**
   * The transaction whose callback (or request) the current code runs in: `db.execute()` there joins
   * it, as encode/databases binds a connection to the running task. Without this, a callback that
   * used `db` instead of `tx` would wait forever for the connection its own transaction holds.
   */
  readonly context = new AsyncLocalStorage<T>();
  #connected = false;
  #opening: Promise<void> | null = null;

  constructor(url: string, maxSize: number) {
    const target = parseDatabaseURL(url);
    this.dialect = target.dialect;
    this.backend =
      target.dialect === 'sqlite'
        ? new SQLiteBackend(target.filename, target.pragmas)
        : new PostgresBackend(target.connectionString, maxSize);
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

  /** The innermost active transaction of the current async context, or `null`. */
  current(): T | null {
    let tx: Routable | null | undefined = this.context.getStore();
    while (tx && !tx.isActive) tx = tx.parent;
    return (tx as T | null | undefined) ?? null;
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
