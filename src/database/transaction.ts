/**
 * Transactions: a root one holds a connection from `BEGIN` to `COMMIT`/`ROLLBACK`; nested ones are
 * savepoints on the same connection.
 *
 * Private to `starlingjs/database` (the public type is the `Transaction` interface).
 */
import type { Connection } from './driver.ts';
import type { Engine } from './engine.ts';
import { runQuery, type Runner } from './queries.ts';
import type { BoundQuery } from './sql.ts';
import type { ExecuteResult, Row, Transaction, Values } from './types.ts';

/** The connection a root transaction and its savepoints share, leased at the first statement. */
class Session {
  readonly engine: Engine;
  #connection: Promise<Connection> | null = null;
  #ended = false;
  #savepoints = 0;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  connection(): Promise<Connection> {
    if (this.#ended) return Promise.reject(new Error('This transaction has ended.'));
    return (this.#connection ??= this.#begin());
  }

  nextSavepoint(): string {
    return `starling_savepoint_${++this.#savepoints}`;
  }

  async #begin(): Promise<Connection> {
    this.engine.assertConnected();
    const connection = await this.engine.backend.acquire();
    try {
      await connection.command(this.engine.backend.begin);
    } catch (error) {
      connection.release(true);
      throw error;
    }
    return connection;
  }

  /**
   * Commits or rolls back, and gives the connection back. A failed COMMIT throws (after a ROLLBACK);
   * a failed ROLLBACK does not: the connection is closed instead, which ends the transaction too.
   */
  async end(commit: boolean): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    const pending = this.#connection;
    if (pending === null) return;
    const connection = await pending.catch(() => null);
    if (connection === null) return; // BEGIN failed, and its caller heard about it
    let broken = false;
    try {
      if (commit) {
        await connection.command('COMMIT').catch(async (error: unknown) => {
          await connection.command('ROLLBACK').catch(() => (broken = true));
          throw error;
        });
      } else {
        await connection.command('ROLLBACK').catch(() => (broken = true));
      }
    } finally {
      connection.release(broken);
    }
  }
}

class TransactionHandle implements Transaction, Runner {
  readonly #session: Session;
  #active = true;
  /** The savepoint open on this handle, if any: one at a time. */
  #child: TransactionHandle | null = null;

  constructor(session: Session) {
    this.#session = session;
  }

  get isActive(): boolean {
    return this.#active;
  }

  get engine(): Engine {
    return this.#session.engine;
  }

  /** Marks the handle (not its connection) as finished. */
  close(): void {
    this.#active = false;
  }

  check = (): void => {
    if (!this.#active)
      throw new Error('This transaction has ended: use it only inside its callback or request.');
  };

  async withConnection<R>(fn: (connection: Connection) => Promise<R>): Promise<R> {
    this.check();
    return fn(await this.#session.connection());
  }

  async *rows(query: BoundQuery): AsyncGenerator<Row, void, undefined> {
    this.check();
    yield* (await this.#session.connection()).cursor(query, this.check);
  }

  /** Runs `fn` with this handle; `close`s it when `fn` settles. */
  async run<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    try {
      return await fn(this);
    } finally {
      this.close();
    }
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.check();
    // Two savepoints opened side by side on one connection would end each other; and waiting for the
    // open one would hang a call made from inside it. So a second one is an error.
    if (this.#child?.isActive) {
      throw new Error(
        'A nested transaction is already open on this transaction: open the next one inside it ' +
          '(on its own handle), or after it ends.',
      );
    }
    const child = new TransactionHandle(this.#session);
    this.#child = child;
    const name = this.#session.nextSavepoint();
    let connection: Connection;
    try {
      connection = await this.#session.connection();
      await connection.command(`SAVEPOINT ${name}`);
    } catch (error) {
      child.close();
      throw error;
    }
    let result: T;
    try {
      result = await child.run(fn);
    } catch (error) {
      // If this fails too, the connection is gone and the outer transaction will fail to commit.
      await connection.command(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      await connection.command(`RELEASE SAVEPOINT ${name}`).catch(() => undefined);
      throw error;
    }
    await connection.command(`RELEASE SAVEPOINT ${name}`);
    return result;
  }

  execute(sql: string, values?: Values): Promise<ExecuteResult> {
    return runQuery.execute(this, sql, values);
  }

  executeMany(sql: string, valuesList: Iterable<Values>): Promise<ExecuteResult> {
    return runQuery.executeMany(this, sql, valuesList);
  }

  fetchAll<R extends object = Row>(sql: string, values?: Values): Promise<R[]> {
    return runQuery.fetchAll<R>(this, sql, values);
  }

  fetchOne<R extends object = Row>(sql: string, values?: Values): Promise<R | null> {
    return runQuery.fetchOne<R>(this, sql, values);
  }

  fetchVal<T = unknown>(sql: string, values?: Values, column: number | string = 0): Promise<T | null> {
    return runQuery.fetchVal<T>(this, sql, values, column);
  }

  iterate<R extends object = Row>(sql: string, values?: Values): AsyncGenerator<R, void, undefined> {
    return runQuery.iterate<R>(this, sql, values);
  }
}

/** `db.transaction(fn)` outside any transaction: BEGIN first, then `fn`, then COMMIT or ROLLBACK. */
export async function rootTransaction<T>(
  engine: Engine,
  fn: (tx: Transaction) => Promise<T> | T,
): Promise<T> {
  const session = new Session(engine);
  await session.connection();
  const tx = new TransactionHandle(session);
  let result: T;
  try {
    result = await tx.run(fn);
  } catch (error) {
    await session.end(false);
    throw error;
  }
  await session.end(true);
  return result;
}

/**
 * A transaction that begins at its first statement and ends when told: a request's, which may never
 * touch the database (and then never takes a connection).
 */
export function deferredTransaction(engine: Engine): {
  transaction: TransactionHandle;
  end(commit: boolean): Promise<void>;
} {
  const session = new Session(engine);
  const transaction = new TransactionHandle(session);
  return {
    transaction,
    end: (commit) => {
      transaction.close();
      return session.end(commit);
    },
  };
}

export type { TransactionHandle };
