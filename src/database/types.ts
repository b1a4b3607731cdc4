/**
 * The shapes `starlingjs/database` hands out: rows, values, results, and what a `Database` and a
 * `Transaction` both answer.
 */

/** A row: column names to values, a plain object. */
export type Row = Record<string, unknown>;

/**
 * The values of a statement's `:name` placeholders, by name. Every placeholder needs a value
 * (`undefined` counts as missing); `null` binds SQL NULL.
 *
 * @example
 * ```ts
 * await db.fetchAll('SELECT * FROM notes WHERE author = :author AND done = :done', { author: 'ada', done: false });
 * ```
 */
export type Values = Readonly<Record<string, unknown>>;

/**
 * What `execute` resolves to.
 *
 * @example
 * ```ts
 * const { rowCount, lastInsertId } = await db.execute('INSERT INTO notes (text) VALUES (:text)', { text: 'hi' });
 * ```
 */
export interface ExecuteResult {
  /** Rows the statement inserted, updated or deleted (PostgreSQL: the count of its command tag). */
  rowCount: number;
  /** SQLite: the rowid of the last row the statement inserted. PostgreSQL: `null` (use `RETURNING`). */
  lastInsertId: number | null;
}

/**
 * The query methods, the same on a `Database` and on a `Transaction`.
 *
 * @example
 * ```ts
 * async function countNotes(db: Queryable): Promise<number> {
 *   return Number(await db.fetchVal('SELECT count(*) FROM notes'));
 * }
 * ```
 */
export interface Queryable {
  /** Runs one statement (without values, a script of several). */
  execute(sql: string, values?: Values): Promise<ExecuteResult>;
  /** Runs one statement once per values object, all in one transaction (a savepoint inside one). */
  executeMany(sql: string, valuesList: Iterable<Values>): Promise<ExecuteResult>;
  /** Every row. */
  fetchAll<R extends object = Row>(sql: string, values?: Values): Promise<R[]>;
  /** The first row, or `null`. */
  fetchOne<R extends object = Row>(sql: string, values?: Values): Promise<R | null>;
  /** A column (by position, default the first, or by name) of the first row, or `null`. */
  fetchVal<T = unknown>(sql: string, values?: Values, column?: number | string): Promise<T | null>;
  /**
   * The rows, read a batch at a time (a server-side cursor on PostgreSQL). Leaving the loop early
   * frees the connection.
   */
  iterate<R extends object = Row>(sql: string, values?: Values): AsyncGenerator<R, void, undefined>;
  /**
   * Runs `fn` in a transaction: committed when `fn` resolves, rolled back when it throws (the error is
   * rethrown). On a transaction, this is a savepoint (one open at a time on each handle).
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T>;
}

/**
 * A transaction, as `db.transaction` hands it to its callback and `DatabaseMiddleware` puts on
 * `request.state.db`. It ends with its callback (or its response); using it later throws.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx.execute('UPDATE accounts SET balance = balance - 10 WHERE id = :id', { id: 1 });
 *   await tx.transaction(async (inner) => inner.execute('INSERT INTO log (what) VALUES (:what)', { what: 'pay' }));
 * });
 * ```
 */
export interface Transaction extends Queryable {
  /** `false` once the transaction has committed or rolled back. */
  readonly isActive: boolean;
}
