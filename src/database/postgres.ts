/**
 * PostgreSQL over pg: a pool of connections; each transaction, and each statement outside one, leases
 * a connection for its duration.
 *
 * `iterate` is a server-side cursor declared with SQL (`DECLARE ... NO SCROLL CURSOR FOR`, then `FETCH
 * 100` per round trip, inside a transaction: the caller's, or its own). pg's own `rows` option was not
 * a fit: it pages through the portal but reads every page without waiting for the consumer, and
 * pg-cursor would be one more peer.
 *
 * Private to `starlingjs/database`.
 */
import { importPeer } from '../_peers.ts';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { acquireTimeoutError, BATCH_SIZE, type Backend, type Connection, type Row } from './driver.ts';
import type { BoundQuery } from './sql.ts';

let cursors = 0;

/** The result of the last statement: pg answers a text of several statements with an array. */
function last(result: QueryResult<Row> | QueryResult<Row>[]): QueryResult<Row> {
  return Array.isArray(result) ? result[result.length - 1]! : result;
}

class PostgresConnection implements Connection {
  readonly #client: PoolClient;
  #released = false;

  constructor(client: PoolClient) {
    this.#client = client;
  }

  async #query({ text, params }: BoundQuery): Promise<QueryResult<Row>> {
    if (this.#released) throw new Error('This connection was released.');
    // Without parameters pg uses the simple protocol, so a script of several statements runs too.
    return last(await this.#client.query<Row>(text, params));
  }

  async execute(query: BoundQuery) {
    return { rowCount: (await this.#query(query)).rowCount ?? 0, lastInsertId: null };
  }

  async fetchAll(query: BoundQuery): Promise<Row[]> {
    return (await this.#query(query)).rows;
  }

  async fetchOne(query: BoundQuery): Promise<Row | undefined> {
    return (await this.#query(query)).rows[0];
  }

  async *cursor({ text, params }: BoundQuery, check: () => void): AsyncGenerator<Row, void, undefined> {
    const name = `starling_cursor_${++cursors}`;
    check();
    await this.#query({ text: `DECLARE ${name} NO SCROLL CURSOR FOR ${text}`, params });
    let open = true;
    try {
      for (;;) {
        check();
        const { rows } = await this.#query({ text: `FETCH ${BATCH_SIZE} FROM ${name}`, params: [] });
        if (rows.length < BATCH_SIZE) open = false;
        yield* rows;
        if (!open) return;
      }
    } finally {
      // Left early: close it, unless the transaction is gone (then so is the cursor).
      if (open) await this.command(`CLOSE ${name}`).catch(() => undefined);
    }
  }

  async command(sql: string): Promise<void> {
    const result = await this.#query({ text: sql, params: [] });
    // COMMIT in a transaction that a failed statement aborted is answered with ROLLBACK, not an error.
    if (sql === 'COMMIT' && result.command === 'ROLLBACK') {
      throw new Error('The transaction was rolled back: a statement in it failed.');
    }
  }

  release(broken = false): void {
    if (this.#released) return;
    this.#released = true;
    this.#client.release(broken);
  }
}

export class PostgresBackend implements Backend {
  readonly dialect = 'postgresql';
  readonly begin = 'BEGIN';
  readonly #connectionString: string;
  readonly #maxSize: number;
  readonly #acquireTimeout: number;
  #pool: Pool | null = null;

  constructor(connectionString: string, maxSize: number, acquireTimeout: number) {
    this.#connectionString = connectionString;
    this.#maxSize = maxSize;
    this.#acquireTimeout = acquireTimeout;
  }

  async open(): Promise<void> {
    const { Pool } = await importPeer(
      'pg',
      'starlingjs/database: the PostgreSQL backend',
      () => import('pg'),
    );
    const pool = new Pool({
      connectionString: this.#connectionString,
      max: this.#maxSize,
      connectionTimeoutMillis: this.#acquireTimeout,
    });
    // An idle connection that the server drops is removed from the pool; without a listener its
    // 'error' event would end the process.
    pool.on('error', () => undefined);
    try {
      (await pool.connect()).release();
    } catch (error) {
      await pool.end();
      throw error;
    }
    this.#pool = pool;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await pool?.end();
  }

  async acquire(): Promise<Connection> {
    if (this.#pool === null) throw new Error('The PostgreSQL pool is closed.');
    const waiting = this.#pool.waitingCount;
    try {
      return new PostgresConnection(await this.#pool.connect());
    } catch (error) {
      // pg says "timeout exceeded when trying to connect" both when the server is slow to answer and
      // when no pooled connection came free; only the second is ours to explain.
      const full = this.#pool?.totalCount === this.#maxSize || waiting > 0;
      if (full && /timeout exceeded/.test(String(error))) throw acquireTimeoutError(this.#acquireTimeout);
      throw error;
    }
  }

  async *iterate(query: BoundQuery): AsyncGenerator<Row, void, undefined> {
    const connection = await this.acquire();
    let done = false;
    let broken = false;
    try {
      await connection.command('BEGIN');
      yield* connection.cursor(query, () => undefined);
      done = true;
    } finally {
      // Ended, left early, or failed: the transaction ends here either way, before the connection
      // goes back to the pool.
      try {
        await connection.command(done ? 'COMMIT' : 'ROLLBACK');
      } catch (error) {
        broken = true;
        if (done) throw error;
      } finally {
        connection.release(broken);
      }
    }
  }
}
