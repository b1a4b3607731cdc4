import test from 'ava';
import { bindSQL, compileSQL } from '../../src/database/sql.ts';
import { hidePassword, parseDatabaseURL } from '../../src/database/url.ts';

test('placeholders become numbered parameters on PostgreSQL, a repeated name one number', (t) => {
  t.deepEqual(compileSQL('SELECT * FROM t WHERE a = :a AND b = :b OR a = :a', 'postgresql'), {
    text: 'SELECT * FROM t WHERE a = $1 AND b = $2 OR a = $1',
    names: ['a', 'b'],
  });
});

test('placeholders become positional ? on SQLite, a repeated name bound twice', (t) => {
  t.deepEqual(compileSQL('SELECT :a, :b_2, :a', 'sqlite'), {
    text: 'SELECT ?, ?, ?',
    names: ['a', 'b_2', 'a'],
  });
});

test('casts, strings, quoted identifiers and comments are not placeholders', (t) => {
  const sql = [
    `SELECT :x::int, ':word', 'it''s :quoted', "col:umn", E'\\' :escaped', $$ :dollar $$, $tag$ :tagged $tag$`,
    `-- :line comment`,
    `/* :block /* :nested */ :still */ , :y, arr[1:2]`,
  ].join('\n');
  const { text, names } = compileSQL(sql, 'postgresql');
  t.deepEqual(names, ['x', 'y']);
  t.true(text.startsWith('SELECT $1::int, '));
  t.true(text.includes(', $2, arr[1:2]'));
  t.true(text.includes("':word'") && text.includes(':nested */ :still */'));
});

test('SQLite: brackets and backticks quote identifiers, block comments do not nest', (t) => {
  const { names } = compileSQL('SELECT [a:b], `c:d`, /* /* :x */ :y, $$:z', 'sqlite');
  t.deepEqual(names, ['y', 'z']);
});

test('an unterminated string or comment runs to the end', (t) => {
  t.deepEqual(compileSQL("SELECT :a, 'open :b", 'sqlite').names, ['a']);
  t.deepEqual(compileSQL('SELECT :a /* open :b', 'postgresql').names, ['a']);
  t.deepEqual(compileSQL('SELECT :a, $q$ open :b', 'postgresql').names, ['a']);
});

test('a dollar inside an identifier does not open a dollar-quoted string', (t) => {
  t.deepEqual(compileSQL('SELECT a$b$ + :c', 'postgresql').names, ['c']);
});

test('values are bound in order, never spliced into the text', (t) => {
  const evil = "'); DROP TABLE t; --";
  t.deepEqual(bindSQL('INSERT INTO t VALUES (:v, :n, :v)', { v: evil, n: null, extra: 1 }, 'postgresql'), {
    text: 'INSERT INTO t VALUES ($1, $2, $1)',
    params: [evil, null],
  });
});

test('a missing or undefined value throws, naming the placeholder', (t) => {
  t.throws(() => bindSQL('SELECT :a, :b', { a: 1 }, 'sqlite'), {
    message: "Missing value for :b in the query's values.",
  });
  t.throws(() => bindSQL('SELECT :a', { a: undefined }, 'sqlite'), { message: /Missing value for :a/ });
  t.throws(() => bindSQL('SELECT :a, :b', undefined, 'sqlite'), {
    message: 'The query has placeholders (:a, :b) but no values were given.',
  });
  t.deepEqual(bindSQL('SELECT 1', undefined, 'sqlite').params, []);
});

test('SQLite URLs: relative, absolute, memory, and pragmas as options', (t) => {
  const wal: [string, string][] = [
    ['journal_mode', 'WAL'],
    ['synchronous', 'NORMAL'],
  ];
  t.deepEqual(parseDatabaseURL('sqlite:///data/app.db'), {
    dialect: 'sqlite',
    filename: 'data/app.db',
    pragmas: wal,
  });
  t.deepEqual(parseDatabaseURL('sqlite:////var/lib/app%20x.db'), {
    dialect: 'sqlite',
    filename: '/var/lib/app x.db',
    pragmas: wal,
  });
  // A lone % is kept, as SQLAlchemy's unquote keeps it (decodeURIComponent would throw URIError).
  t.is((parseDatabaseURL('sqlite:///50%.db') as { filename: string }).filename, '50%.db');
  for (const url of ['sqlite://:memory:', 'sqlite://', 'sqlite:///:memory:']) {
    t.deepEqual(parseDatabaseURL(url), { dialect: 'sqlite', filename: ':memory:', pragmas: [] }, url);
  }
  t.deepEqual(parseDatabaseURL('sqlite:///a.db?journal_mode=delete&foreign_keys=on'), {
    dialect: 'sqlite',
    filename: 'a.db',
    pragmas: [
      ['journal_mode', 'delete'],
      ['synchronous', 'NORMAL'],
      ['foreign_keys', 'on'],
    ],
  });
});

test('a malformed SQLite URL or a pragma that is not a word throws', (t) => {
  t.throws(() => parseDatabaseURL('sqlite://app.db'), { message: /sqlite:\/\/\/relative\/path\.db/ });
  t.throws(() => parseDatabaseURL('sqlite:///'), { instanceOf: TypeError });
  t.throws(() => parseDatabaseURL('sqlite:///a.db?journal_mode=wal;drop'), {
    message: /Invalid SQLite URL option/,
  });
});

test('PostgreSQL URLs go to pg as they are; other schemes are refused without their password', (t) => {
  const url = 'postgresql://user:p%40ss@db.example:5433/app?sslmode=require';
  t.deepEqual(parseDatabaseURL(url), { dialect: 'postgresql', connectionString: url });
  t.is(parseDatabaseURL('postgres://localhost/app').dialect, 'postgresql');
  t.throws(() => parseDatabaseURL('mysql://root:secret@localhost/app'), {
    message:
      "Unsupported database URL 'mysql://root:***@localhost/app': starlingjs/database speaks sqlite:// and postgresql://.",
  });
  t.is(hidePassword('postgresql://user:secret@host/db'), 'postgresql://user:***@host/db');
  t.is(hidePassword('postgresql://host/db'), 'postgresql://host/db');
});
