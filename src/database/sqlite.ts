/**
 * SQLite over better-sqlite3: one connection per `Database`, lent to one transaction at a time.
 *
 * better-sqlite3 is synchronous and its statements run on the JS thread. That is a choice, measured
 * (docs/database.md, "SQLite runs on the JS thread"): a primary-key read costs 1–3 µs and a worker
 * thread's round trip 70 µs, so moving statements off the thread would make every query 20× slower to
 * spare the thread work it does in microseconds. What did block for a millisecond was the fsync of each
 * commit; file databases therefore open in WAL mode with `synchronous = NORMAL`, where a commit is 11 µs.
 *
 * Private to `starlingjs/database`.
 */
import { importPeer } from '../_peers.ts';
import type BetterSqlite3 from 'better-sqlite3';
import { BATCH_SIZE, Lock, type Backend, type Connection, type ExecuteResult, type Row } from './driver.ts';
import type { BoundQuery } from './sql.ts';

type Statement = BetterSqlite3.Statement<unknown[], Row>;

const STATEMENT_CACHE = 200;

/** What SQLite can bind: booleans become 0/1, dates ISO strings, other objects JSON. */
function toSQLite(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

/**
 * An open statement's rows. better-sqlite3 lets no other statement run on the connection while one is
 * open, so before any other statement runs, the open cursors read their remaining rows into memory
 * (`drain`) and close. A loop that writes while it iterates therefore works, and a transaction never
 * runs beside a half-read statement.
 */
class Cursor {
  #rows: IterableIterator<Row> | null;
  #buffer: Row[] = [];

  constructor(rows: IterableIterator<Row> | null) {
    this.#rows = rows;
  }

  take(count: number): Row[] {
    if (this.#buffer.length > 0) return this.#buffer.splice(0, count);
    const batch: Row[] = [];
    while (this.#rows !== null && batch.length < count) {
      const next = this.#rows.next();
      if (next.done) this.#rows = null;
      else batch.push(next.value);
    }
    return batch;
  }

  drain(): void {
    if (this.#rows === null) return;
    for (let next = this.#rows.next(); !next.done; next = this.#rows.next()) this.#buffer.push(next.value);
    this.#rows = null;
  }

  close(): void {
    this.#rows?.return?.();
    this.#rows = null;
    this.#buffer = [];
  }
}

/** The connection lent to one holder; the backend's single connection does the work. */
class Lease implements Connection {
  readonly #backend: SQLiteBackend;
  #release: (() => void) | null;

  constructor(backend: SQLiteBackend, release: () => void) {
    this.#backend = backend;
    this.#release = release;
  }

  #use(): SQLiteBackend {
    if (this.#release === null) throw new Error('This connection was released.');
    return this.#backend;
  }

  async execute(query: BoundQuery): Promise<ExecuteResult> {
    return this.#use().executeNow(query);
  }

  async fetchAll(query: BoundQuery): Promise<Row[]> {
    return this.#use().fetchAllNow(query);
  }

  async fetchOne(query: BoundQuery): Promise<Row | undefined> {
    return this.#use().fetchOneNow(query);
  }

  cursor(query: BoundQuery, check: () => void): AsyncGenerator<Row, void, undefined> {
    return this.#backend.rows(query, async (read) => (this.#use(), read()), check);
  }

  async command(sql: string): Promise<void> {
    this.#use().commandNow(sql);
  }

  release(): void {
    const release = this.#release;
    this.#release = null;
    release?.();
  }
}

export class SQLiteBackend implements Backend {
  readonly dialect = 'sqlite';
  // IMMEDIATE takes the write lock at once: with several processes on one file, a transaction waits
  // at BEGIN instead of failing with SQLITE_BUSY halfway through (Rails chose the same).
  readonly begin = 'BEGIN IMMEDIATE';
  readonly #filename: string;
  readonly #pragmas: readonly [string, string][];
  readonly #acquireTimeout: number;
  readonly #lock = new Lock();
  readonly #cursors = new Set<Cursor>();
  readonly #statements = new Map<string, Statement>();
  #db: BetterSqlite3.Database | null = null;

  constructor(filename: string, pragmas: readonly [string, string][], acquireTimeout: number) {
    this.#filename = filename;
    this.#pragmas = pragmas;
    this.#acquireTimeout = acquireTimeout;
  }

  async open(): Promise<void> {
    const { default: Driver } = await importPeer(
      'better-sqlite3',
      'starlingjs/database: the SQLite backend',
      () => import('better-sqlite3'),
    );
    const db = new Driver(this.#filename);
    try {
      for (const [name, value] of this.#pragmas) db.pragma(`${name} = ${value}`);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
  }

  async close(): Promise<void> {
    await this.#lock.run(() => {
      for (const cursor of this.#cursors) cursor.close();
      this.#cursors.clear();
      this.#statements.clear();
      this.#db?.close();
      this.#db = null;
    });
  }

  async acquire(): Promise<Connection> {
    const release = await this.#lock.acquire(this.#acquireTimeout);
    try {
      // A holder that died between BEGIN and its end must not leave its transaction to the next one.
      if (this.#open().inTransaction) this.commandNow('ROLLBACK');
    } catch (error) {
      release();
      throw error;
    }
    return new Lease(this, release);
  }

  iterate(query: BoundQuery): AsyncGenerator<Row, void, undefined> {
    // Each step holds the lock only while it reads a batch; a transaction that takes the connection
    // in between drains this cursor before its first statement.
    return this.rows(
      query,
      (read) => this.#lock.run(read, this.#acquireTimeout),
      () => undefined,
    );
  }

  #open(): BetterSqlite3.Database {
    if (this.#db === null) throw new Error('The SQLite database is closed.');
    return this.#db;
  }

  /** Closes every open cursor after reading its remaining rows, so another statement may run. */
  #drain(): void {
    for (const cursor of this.#cursors) cursor.drain();
  }

  #prepare(text: string): Statement {
    const db = this.#open();
    this.#drain();
    let statement = this.#statements.get(text);
    if (statement !== undefined) this.#statements.delete(text);
    else statement = db.prepare<unknown[], Row>(text);
    if (this.#statements.size >= STATEMENT_CACHE)
      this.#statements.delete(this.#statements.keys().next().value!);
    this.#statements.set(text, statement);
    return statement;
  }

  /** @internal */
  commandNow(sql: string): void {
    const db = this.#open();
    this.#drain();
    db.exec(sql);
  }

  /** @internal */
  executeNow({ text, params }: BoundQuery): ExecuteResult {
    let statement: Statement;
    try {
      statement = this.#prepare(text);
    } catch (error) {
      // A script without values (a schema, say) runs whole, as PostgreSQL runs one.
      if (params.length > 0 || !/more than one statement/.test(String(error))) throw error;
      this.commandNow(text);
      return { rowCount: 0, lastInsertId: null };
    }
    const info = statement.run(...params.map(toSQLite));
    return { rowCount: info.changes, lastInsertId: info.changes > 0 ? Number(info.lastInsertRowid) : null };
  }

  /** @internal */
  fetchAllNow({ text, params }: BoundQuery): Row[] {
    const statement = this.#prepare(text);
    if (statement.reader) return statement.all(...params.map(toSQLite));
    statement.run(...params.map(toSQLite));
    return [];
  }

  /** @internal */
  fetchOneNow({ text, params }: BoundQuery): Row | undefined {
    const statement = this.#prepare(text);
    if (statement.reader) return statement.get(...params.map(toSQLite));
    statement.run(...params.map(toSQLite));
    return undefined;
  }

  /** @internal */
  async *rows(
    { text, params }: BoundQuery,
    step: <T>(read: () => T) => Promise<T>,
    check: () => void,
  ): AsyncGenerator<Row, void, undefined> {
    let cursor: Cursor | null = null;
    try {
      cursor = await step(() => {
        const statement = this.#prepare(text);
        const rows = statement.reader ? statement.iterate(...params.map(toSQLite)) : null;
        if (rows === null) statement.run(...params.map(toSQLite));
        // Registered while the lock is still held: the next holder's first statement drains it.
        const opened = new Cursor(rows);
        this.#cursors.add(opened);
        return opened;
      });
      for (;;) {
        check();
        const batch = await step(() => cursor!.take(BATCH_SIZE));
        if (batch.length === 0) return;
        yield* batch;
      }
    } finally {
      cursor?.close();
      if (cursor) this.#cursors.delete(cursor);
    }
  }
}
