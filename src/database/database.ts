/**
 * `Database`: one database, named by a URL, queried with `:name` placeholders (encode/databases in
 * camelCase).
 */
import type { Connection } from './driver.ts';
import { Engine } from './engine.ts';
import { runQuery, type Runner } from './queries.ts';
import type { BoundQuery } from './sql.ts';
import { rootTransaction } from './transaction.ts';
import type { ExecuteResult, Queryable, Row, Transaction, Values } from './types.ts';
import { hidePassword } from './url.ts';

/** Options of `new Database(url, options)`. */
export interface DatabaseOptions {
  /** PostgreSQL: the most connections the pool opens (default 10). SQLite has one. */
  maxSize?: number;
  /**
   * Seconds to wait for a free connection before rejecting (default 30; 0 waits for ever). A wait
   * that never ends is most often a deadlock: code inside a transaction that asks the database,
   * rather than the transaction, for the connection the transaction holds.
   */
  acquireTimeout?: number;
}

const engines = new WeakMap<Database, Engine>();

/** The engine behind a database (for `DatabaseMiddleware`). */
export function engineOf(database: Database): Engine {
  return engines.get(database)!;
}

/**
 * A database: SQLite (`sqlite:///relative.db`, `sqlite:////absolute/path.db`, `sqlite://:memory:`,
 * through the optional peer `better-sqlite3`) or PostgreSQL (`postgresql://user:pass@host:port/db`,
 * through `pg`). The driver is imported when the database connects.
 *
 * Each statement run on the database runs on a connection of its own, outside any transaction
 * (autocommit). Inside `transaction(fn)`, query the `tx` it hands to `fn`.
 *
 * @example
 * ```ts
 * const db = new Database('sqlite://:memory:');
 * await db.connect();
 * await db.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
 * await db.execute('INSERT INTO notes (text) VALUES (:text)', { text: 'hello' });
 * const rows = await db.fetchAll('SELECT * FROM notes'); // [{ id: 1, text: 'hello' }]
 * await db.disconnect();
 * ```
 */
export class Database implements Queryable {
  /** The URL it was made with. */
  readonly url: string;
  readonly #engine: Engine;
  readonly #runner: Runner;

  constructor(url: string, options: DatabaseOptions = {}) {
    this.url = url;
    const engine = new Engine(url, {
      maxSize: options.maxSize ?? 10,
      acquireTimeout: (options.acquireTimeout ?? 30) * 1000,
    });
    this.#engine = engine;
    this.#runner = {
      engine,
      withConnection: <R>(fn: (connection: Connection) => Promise<R>) => engine.withConnection(fn),
      rows: (query: BoundQuery) => this.#rows(query),
      transaction: (fn) => this.transaction(fn),
    };
    engines.set(this, engine);
  }

  /** `'sqlite'` or `'postgresql'`. */
  get dialect(): 'sqlite' | 'postgresql' {
    return this.#engine.dialect;
  }

  /** `true` between `connect()` and `disconnect()`. */
  get isConnected(): boolean {
    return this.#engine.isConnected;
  }

  /** Loads the driver and opens the database (a pool, on PostgreSQL). Calling it again does nothing. */
  connect(): Promise<void> {
    return this.#engine.connect();
  }

  /** Waits for transactions in flight, then closes every connection. */
  disconnect(): Promise<void> {
    return this.#engine.disconnect();
  }

  async *#rows(query: BoundQuery): AsyncGenerator<Row, void, undefined> {
    this.#engine.assertConnected();
    yield* this.#engine.backend.iterate(query);
  }

  execute(sql: string, values?: Values): Promise<ExecuteResult> {
    return runQuery.execute(this.#runner, sql, values);
  }

  executeMany(sql: string, valuesList: Iterable<Values>): Promise<ExecuteResult> {
    return runQuery.executeMany(this.#runner, sql, valuesList);
  }

  fetchAll<R extends object = Row>(sql: string, values?: Values): Promise<R[]> {
    return runQuery.fetchAll<R>(this.#runner, sql, values);
  }

  fetchOne<R extends object = Row>(sql: string, values?: Values): Promise<R | null> {
    return runQuery.fetchOne<R>(this.#runner, sql, values);
  }

  fetchVal<T = unknown>(sql: string, values?: Values, column: number | string = 0): Promise<T | null> {
    return runQuery.fetchVal<T>(this.#runner, sql, values, column);
  }

  iterate<R extends object = Row>(sql: string, values?: Values): AsyncGenerator<R, void, undefined> {
    return runQuery.iterate<R>(this.#runner, sql, values);
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    return rootTransaction(this.#engine, fn);
  }

  toString(): string {
    return `Database(${hidePassword(this.url)})`;
  }
}
