/**
 * `starlingjs/database`: SQLite and PostgreSQL with `:name` placeholders, transactions and savepoints, and
 * a middleware that gives each request a transaction. The drivers are optional peers (`better-sqlite3`,
 * `pg`), imported when a database of that kind connects.
 *
 * @example
 * ```ts
 * import { Database, DatabaseMiddleware } from 'starlingjs/database';
 * const database = new Database('sqlite:///app.db');
 * const app = new Starling({ routes, middleware: [new Middleware(DatabaseMiddleware, { database })] });
 * ```
 */
export { Database, type DatabaseOptions } from './database.ts';
export { DatabaseMiddleware, type DatabaseMiddlewareOptions } from './middleware.ts';
export type { ExecuteResult, Queryable, Row, Transaction, Values } from './types.ts';
