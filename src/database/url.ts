/**
 * Database URLs, read as SQLAlchemy and encode/databases read them.
 *
 * Private to `starlingjs/database`.
 */
import { unquote } from '../_utils.ts';

/** What a URL names: a SQLite file (or memory) with its pragmas, or a PostgreSQL server. */
export type DatabaseTarget =
  | { dialect: 'sqlite'; filename: string; pragmas: [string, string][] }
  | { dialect: 'postgresql'; connectionString: string };

const PRAGMA_NAME = /^[A-Za-z_]+$/;
const PRAGMA_VALUE = /^[A-Za-z0-9_.-]+$/;
// Commits need no fsync in WAL mode with NORMAL sync; the database stays consistent after a crash,
// and only a power cut can lose the last commits.
const FILE_DEFAULTS: [string, string][] = [
  ['journal_mode', 'WAL'],
  ['synchronous', 'NORMAL'],
];

function sqliteTarget(url: string): DatabaseTarget {
  const [location = '', query = ''] = url.slice('sqlite://'.length).split(/\?(.*)/s);
  let filename: string;
  if (location === '' || location === ':memory:' || location === '/:memory:') filename = ':memory:';
  else if (location.startsWith('/') && location.length > 1) filename = unquote(location.slice(1));
  else {
    throw new TypeError(
      `Invalid SQLite URL '${url}': use sqlite:///relative/path.db, sqlite:////absolute/path.db or sqlite://:memory:.`,
    );
  }
  const pragmas = new Map(filename === ':memory:' ? [] : FILE_DEFAULTS);
  for (const [name, value] of new URLSearchParams(query)) {
    // Spliced into `PRAGMA name = value`, so only words and numbers pass.
    if (!PRAGMA_NAME.test(name) || !PRAGMA_VALUE.test(value)) {
      throw new TypeError(
        `Invalid SQLite URL option '${name}=${value}': options are pragmas such as foreign_keys=on.`,
      );
    }
    pragmas.set(name.toLowerCase(), value);
  }
  return { dialect: 'sqlite', filename, pragmas: [...pragmas] };
}

/**
 * Reads `sqlite:///relative.db`, `sqlite:////absolute/path.db`, `sqlite://:memory:` (query options are
 * pragmas: `?foreign_keys=on`) and `postgresql://user:pass@host:port/db` (or `postgres://`; the URL goes
 * to pg as its connection string, so `?sslmode=require` or `?host=/var/run/postgresql` work).
 */
export function parseDatabaseURL(url: string): DatabaseTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') return sqliteTarget(url);
  if (scheme === 'postgresql' || scheme === 'postgres') {
    if (!URL.canParse(url)) throw new TypeError(`Invalid PostgreSQL URL '${hidePassword(url)}'.`);
    return { dialect: 'postgresql', connectionString: url };
  }
  throw new TypeError(
    `Unsupported database URL '${hidePassword(url)}': starlingjs/database speaks sqlite:// and postgresql://.`,
  );
}

/** The URL with its password replaced by `***`, for messages and `toString`. */
export function hidePassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}
