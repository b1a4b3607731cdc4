/**
 * `:name` placeholders: found by a small scanner that knows the dialect's strings, quoted identifiers and
 * comments, rewritten to the driver's numbered parameters, and bound from a values object.
 *
 * Private to `starlingjs/database`.
 */

/** The SQL dialects `Database` speaks. */
export type Dialect = 'sqlite' | 'postgresql';

/** A statement ready for a driver: text with numbered parameters, and their values in order. */
export interface BoundQuery {
  readonly text: string;
  readonly params: unknown[];
}

/** SQL rewritten once per text: parameter `i + 1` (or SQLite's `i + 1`th `?`) takes the value `names[i]`. */
export interface CompiledSQL {
  readonly text: string;
  readonly names: readonly string[];
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
const IDENTIFIER_CHAR = /[A-Za-z0-9_$\x80-\uffff]/;

/** Index just past the quote that closes the one at `start` (`''` inside is an escaped quote). */
function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i++;
    else if (c === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i++;
    }
  }
  return sql.length;
}

/** Index just past a block comment opened at `start`; PostgreSQL's nest, SQLite's do not. */
function skipBlockComment(sql: string, start: number, nests: boolean): number {
  let depth = 0;
  for (let i = start; i < sql.length - 1; i++) {
    if (sql[i] === '/' && sql[i + 1] === '*' && (nests || depth === 0)) {
      depth++;
      i++;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i++;
      if (depth === 0) return i + 1;
    }
  }
  return sql.length;
}

/** Index past the lexical item at `i` that can hide a colon (string, identifier, comment), or `i`. */
function skipOpaque(sql: string, i: number, dialect: Dialect): number {
  const c = sql[i];
  const prev = i > 0 ? sql[i - 1]! : ' ';
  if (c === "'") {
    // PostgreSQL's E'...' strings take backslash escapes.
    const escaped =
      dialect === 'postgresql' && (prev === 'E' || prev === 'e') && !IDENTIFIER_CHAR.test(sql[i - 2] ?? ' ');
    return skipQuoted(sql, i, "'", escaped);
  }
  if (c === '"' || c === '`') return skipQuoted(sql, i, c, false);
  if (c === '[' && dialect === 'sqlite') {
    const end = sql.indexOf(']', i + 1);
    return end === -1 ? sql.length : end + 1;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i + 2);
    return end === -1 ? sql.length : end + 1;
  }
  if (c === '/' && sql[i + 1] === '*') return skipBlockComment(sql, i, dialect === 'postgresql');
  if (c === '$' && dialect === 'postgresql' && !IDENTIFIER_CHAR.test(prev)) {
    DOLLAR_TAG.lastIndex = i;
    const tag = DOLLAR_TAG.exec(sql);
    if (tag) {
      const end = sql.indexOf(tag[0], i + tag[0].length);
      return end === -1 ? sql.length : end + tag[0].length;
    }
  }
  return i;
}

/**
 * Rewrites `:name` placeholders to `$1`, `$2`... (PostgreSQL, a name used twice gets one number) or
 * `?` (SQLite, which better-sqlite3 binds by position). `::` (a cast) and colons inside strings, quoted identifiers and comments are
 * left alone.
 */
export function compileSQL(sql: string, dialect: Dialect): CompiledSQL {
  const names: string[] = [];
  const numbers = new Map<string, number>();
  let text = '';
  let copied = 0;
  for (let i = 0; i < sql.length;) {
    const past = skipOpaque(sql, i, dialect);
    if (past !== i) {
      i = past;
      continue;
    }
    if (sql[i] !== ':') {
      i++;
      continue;
    }
    if (sql[i + 1] === ':') {
      i += 2;
      continue;
    }
    NAME.lastIndex = i + 1;
    const name = NAME.exec(sql)?.[0];
    if (name === undefined) {
      i++;
      continue;
    }
    let parameter = '?'; // SQLite: positional, a name used twice is bound twice
    if (dialect === 'postgresql') {
      let number = numbers.get(name);
      if (number === undefined) {
        number = names.push(name);
        numbers.set(name, number);
      }
      parameter = `$${number}`;
    } else names.push(name);
    text += `${sql.slice(copied, i)}${parameter}`;
    i += 1 + name.length;
    copied = i;
  }
  return { text: text + sql.slice(copied), names };
}

const CACHE_SIZE = 500;
const caches: Record<Dialect, Map<string, CompiledSQL>> = { sqlite: new Map(), postgresql: new Map() };

/** `compileSQL` with a cache: an app runs the same few texts again and again. */
function compiled(sql: string, dialect: Dialect): CompiledSQL {
  const cache = caches[dialect];
  let hit = cache.get(sql);
  if (hit === undefined) {
    if (cache.size >= CACHE_SIZE) cache.clear();
    hit = compileSQL(sql, dialect);
    cache.set(sql, hit);
  }
  return hit;
}

/**
 * The driver's text and parameters for `sql` with `values`. Every placeholder must have a value
 * (`undefined` counts as missing, so a misspelt key fails here rather than storing NULL); keys that no
 * placeholder names are ignored.
 */
export function bindSQL(
  sql: string,
  values: Readonly<Record<string, unknown>> | undefined,
  dialect: Dialect,
): BoundQuery {
  const { text, names } = compiled(sql, dialect);
  const params = names.map((name) => {
    const value = values?.[name];
    if (value === undefined) {
      throw new TypeError(
        values === undefined
          ? `The query has placeholders (:${names.join(', :')}) but no values were given.`
          : `Missing value for :${name} in the query's values.`,
      );
    }
    return value;
  });
  return { text, params };
}
