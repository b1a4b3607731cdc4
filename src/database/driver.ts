/**
 * What `Database` asks of a backend (SQLite over better-sqlite3, PostgreSQL over pg), and the pieces the
 * backends share: a lock.
 *
 * Private to `starlingjs/database`: the public types never name a driver's types, so the published
 * declarations need neither peer's typings.
 */
import type { BoundQuery, Dialect } from './sql.ts';
import type { ExecuteResult, Row } from './types.ts';

export type { ExecuteResult, Row };

/** One connection, held by one user at a time (a transaction, or a single statement). */
export interface Connection {
  execute(query: BoundQuery): Promise<ExecuteResult>;
  fetchAll(query: BoundQuery): Promise<Row[]>;
  fetchOne(query: BoundQuery): Promise<Row | undefined>;
  /** Rows a batch at a time; `check` throws once the caller may no longer read. On PostgreSQL the connection must be inside a transaction. */
  cursor(query: BoundQuery, check: () => void): AsyncGenerator<Row, void, undefined>;
  /** A statement without values or rows: `BEGIN`, `COMMIT`, `SAVEPOINT x`... */
  command(sql: string): Promise<void>;
  /** Gives the connection back; `broken` closes it instead (its state is unknown). */
  release(broken?: boolean): void;
}

/** One database: opens and closes, and leases connections. */
export interface Backend {
  readonly dialect: Dialect;
  /** How a transaction starts. */
  readonly begin: string;
  open(): Promise<void>;
  /** Waits for leased connections to come back, then closes everything. */
  close(): Promise<void>;
  acquire(): Promise<Connection>;
  /** Rows of a statement run outside any transaction, holding a connection only as long as it must. */
  iterate(query: BoundQuery): AsyncGenerator<Row, void, undefined>;
}

/** Rows `iterate` reads per step (a `FETCH` on PostgreSQL). */
export const BATCH_SIZE = 100;

/**
 * The error of a wait for a connection that took too long. Most often the wait could never end: code
 * inside a transaction asked the database, not the transaction, for a connection that the
 * transaction itself holds.
 */
export function acquireTimeoutError(ms: number): Error {
  const error = new Error(
    `Timed out after ${ms / 1000} s waiting for a database connection: every one is held (SQLite has ` +
      'one, held by a transaction from BEGIN to its end). Inside a transaction, query its handle ' +
      '(`tx`, or `request.state.db`), not the database.',
  );
  (error as Error & { code: string }).code = 'ERR_STARLING_ACQUIRE_TIMEOUT';
  return error;
}

interface Waiter {
  resolve(): void;
  timer: NodeJS.Timeout | undefined;
}

/** A FIFO lock: `acquire()` resolves with the function that releases it. */
export class Lock {
  #held = false;
  #waiting: Waiter[] = [];

  /** Waits for the lock; rejects with `acquireTimeoutError` after `timeout` ms (0: wait for ever). */
  acquire(timeout = 0): Promise<() => void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      // Resolved by `release`, which hands the lock over still held, so no one can slip in between.
      const waiter: Waiter = { resolve: () => resolve(this.#releaser()), timer: undefined };
      if (timeout > 0) {
        waiter.timer = setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          reject(acquireTimeoutError(timeout));
        }, timeout);
      }
      this.#waiting.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve();
      } else this.#held = false;
    };
  }

  /** Runs `fn` holding the lock. */
  async run<T>(fn: () => T | Promise<T>, timeout = 0): Promise<T> {
    const release = await this.acquire(timeout);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
