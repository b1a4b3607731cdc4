/**
 * The query methods, written once for `Database` and `Transaction`: each binds its values, then runs on
 * whatever connection the caller lends (its own for a `Database`, the transaction's for a `Transaction`).
 *
 * Private to `starlingjs/database`.
 */
import type { Connection } from './driver.ts';
import type { BoundQuery } from './sql.ts';
import type { ExecuteResult, Row, Transaction, Values } from './types.ts';

/** Where a query runs. */
export interface Runner {
  readonly engine: { bind(sql: string, values: Values | undefined): BoundQuery };
  withConnection<R>(fn: (connection: Connection) => Promise<R>): Promise<R>;
  rows(query: BoundQuery): AsyncGenerator<Row, void, undefined>;
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T>;
}

export const runQuery = {
  async execute(runner: Runner, sql: string, values?: Values): Promise<ExecuteResult> {
    const query = runner.engine.bind(sql, values);
    return runner.withConnection((connection) => connection.execute(query));
  },

  executeMany(runner: Runner, sql: string, valuesList: Iterable<Values>): Promise<ExecuteResult> {
    return runner.transaction(async (tx) => {
      const total: ExecuteResult = { rowCount: 0, lastInsertId: null };
      for (const values of valuesList) {
        const { rowCount, lastInsertId } = await tx.execute(sql, values);
        total.rowCount += rowCount;
        total.lastInsertId = lastInsertId ?? total.lastInsertId;
      }
      return total;
    });
  },

  async fetchAll<R extends object>(runner: Runner, sql: string, values?: Values): Promise<R[]> {
    const query = runner.engine.bind(sql, values);
    return (await runner.withConnection((connection) => connection.fetchAll(query))) as R[];
  },

  async fetchOne<R extends object>(runner: Runner, sql: string, values?: Values): Promise<R | null> {
    const query = runner.engine.bind(sql, values);
    return ((await runner.withConnection((connection) => connection.fetchOne(query))) ?? null) as R | null;
  },

  async fetchVal<T>(
    runner: Runner,
    sql: string,
    values: Values | undefined,
    column: number | string,
  ): Promise<T | null> {
    const row = await runQuery.fetchOne<Row>(runner, sql, values);
    if (row === null) return null;
    const value = typeof column === 'number' ? Object.values(row)[column] : row[column];
    return (value ?? null) as T | null;
  },

  // The runner was chosen at the call; the statement runs (and its values are checked) at the first row.
  async *iterate<R extends object>(
    runner: Runner,
    sql: string,
    values?: Values,
  ): AsyncGenerator<R, void, undefined> {
    yield* runner.rows(runner.engine.bind(sql, values)) as AsyncGenerator<R, void, undefined>;
  },
};
