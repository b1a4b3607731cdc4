// One case list, run against SQLite in memory, a SQLite file and a real PostgreSQL server.
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Database, type DatabaseOptions, type Transaction } from '../../src/database/index.ts';
import { backends, type BackendUnderTest } from './_backends.ts';

type Case = (t: ExecutionContext, db: Database, backend: BackendUnderTest) => Promise<void>;

const cases: [title: string, run: Case, options?: DatabaseOptions & { only?: BackendUnderTest['name'][] }][] =
  [];
const it = (title: string, run: Case, options?: (typeof cases)[number][2]) =>
  cases.push([title, run, options]);

const COUNT = 'SELECT CAST(count(*) AS INTEGER) FROM notes';

async function notes(db: Database | Transaction): Promise<void> {
  await db.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
}

/** Rejects if `promise` takes longer than `ms`: a leaked connection shows up as a hang. */
function within<T>(promise: Promise<T>, ms = 3000): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() =>
      Promise.reject(new Error(`still waiting after ${ms} ms: a connection was not freed`)),
    ),
  ]);
}

it('fetchAll, fetchOne and fetchVal return plain row objects, and null for no row', async (t, db) => {
  await notes(db);
  await db.execute("INSERT INTO notes (id, text) VALUES (1, 'one'), (2, 'two')");
  const rows = await db.fetchAll<{ id: number; text: string }>('SELECT id, text FROM notes ORDER BY id');
  t.deepEqual(rows, [
    { id: 1, text: 'one' },
    { id: 2, text: 'two' },
  ]);
  t.is(Object.getPrototypeOf(rows[0]), Object.prototype);
  t.deepEqual(await db.fetchOne('SELECT text FROM notes WHERE id = :id', { id: 2 }), { text: 'two' });
  t.is(await db.fetchOne('SELECT text FROM notes WHERE id = :id', { id: 3 }), null);
  t.is(await db.fetchVal(COUNT), 2);
  t.is(await db.fetchVal('SELECT text FROM notes WHERE id = 3'), null);
  t.is(await db.fetchVal('SELECT id, text FROM notes WHERE id = 1', {}, 1), 'one');
  t.is(await db.fetchVal('SELECT id, text FROM notes WHERE id = 1', {}, 'text'), 'one');
});

it('execute reports the rows it changed, and on SQLite the rowid it inserted', async (t, db, backend) => {
  await notes(db);
  const inserted = await db.execute("INSERT INTO notes (id, text) VALUES (7, 'x')");
  t.deepEqual(inserted, { rowCount: 1, lastInsertId: backend.dialect === 'sqlite' ? 7 : null });
  t.is((await db.execute("UPDATE notes SET text = 'y'")).rowCount, 1);
  t.is((await db.execute('DELETE FROM notes WHERE id = 8')).rowCount, 0);
});

it('a name used twice binds one value; casts, literals and comments hold no placeholders', async (t, db, b) => {
  const cast = b.dialect === 'postgresql' ? ':v::text' : 'CAST(:v AS TEXT)';
  const row = await db.fetchOne(
    `SELECT ${cast} AS a, :v AS b, ':word' AS c, 'it''s :x' AS d -- :comment\n, /* :block */ :n AS e`,
    { v: 'V', n: 1 },
  );
  t.deepEqual(row, { a: 'V', b: 'V', c: ':word', d: "it's :x", e: b.dialect === 'postgresql' ? '1' : 1 });
});

it('values are bound, never spliced: quotes and SQL in a value are stored as they are', async (t, db) => {
  await notes(db);
  const evil = "'); DROP TABLE notes; --";
  await db.execute('INSERT INTO notes (id, text) VALUES (:id, :text)', { id: 1, text: evil });
  t.is(await db.fetchVal('SELECT text FROM notes WHERE id = 1'), evil);
});

it('a missing value rejects, naming the placeholder, before anything runs', async (t, db) => {
  await notes(db);
  await t.throwsAsync(db.execute('INSERT INTO notes (id, text) VALUES (:id, :text)', { id: 1 }), {
    message: "Missing value for :text in the query's values.",
  });
  t.is(await db.fetchVal(COUNT), 0);
});

it('booleans, bytes, null and dates are bound', async (t, db, b) => {
  await db.execute(
    'CREATE TABLE v (flag BOOLEAN, data BYTEA, missing TEXT, at TEXT)'.replace(
      'BYTEA',
      b.dialect === 'sqlite' ? 'BLOB' : 'BYTEA',
    ),
  );
  const at = new Date('2026-01-02T03:04:05.000Z');
  await db.execute('INSERT INTO v VALUES (:flag, :data, :missing, :at)', {
    flag: true,
    data: new Uint8Array([0, 1, 255]),
    missing: null,
    at,
  });
  const row = await db.fetchOne<{ flag: unknown; data: Buffer; missing: null; at: string }>(
    'SELECT * FROM v',
  );
  t.is(row!.flag, b.dialect === 'sqlite' ? 1 : true);
  t.deepEqual([...row!.data], [0, 1, 255]);
  t.is(row!.missing, null);
  t.is(new Date(row!.at).getTime(), at.getTime());
});

it('executeMany runs every values object in one transaction', async (t, db) => {
  await notes(db);
  const result = await db.executeMany('INSERT INTO notes (id, text) VALUES (:id, :text)', [
    { id: 1, text: 'a' },
    { id: 2, text: 'b' },
  ]);
  t.is(result.rowCount, 2);
  await t.throwsAsync(
    db.executeMany('INSERT INTO notes (id, text) VALUES (:id, :text)', [
      { id: 3, text: 'c' },
      { id: 1, text: 'duplicate' },
    ]),
    { any: true },
  );
  t.is(await db.fetchVal(COUNT), 2);
});

it('a transaction commits when its callback resolves and rolls back when it throws', async (t, db) => {
  await notes(db);
  const value = await db.transaction(async (tx) => {
    await tx.execute("INSERT INTO notes (id, text) VALUES (1, 'kept')");
    return 'result';
  });
  t.is(value, 'result');
  const error = await t.throwsAsync(
    db.transaction(async (tx) => {
      await tx.execute("INSERT INTO notes (id, text) VALUES (2, 'dropped')");
      throw new Error('boom');
    }),
  );
  t.is(error.message, 'boom');
  t.deepEqual(await db.fetchAll('SELECT id FROM notes'), [{ id: 1 }]);
});

it('a nested transaction is a savepoint: its rollback keeps the outer work', async (t, db) => {
  await notes(db);
  await db.transaction(async (tx) => {
    await tx.execute("INSERT INTO notes (id, text) VALUES (1, 'outer')");
    await tx.transaction((inner) => inner.execute("INSERT INTO notes (id, text) VALUES (2, 'kept')"));
    await t.throwsAsync(
      tx.transaction(async (inner) => {
        await inner.execute("INSERT INTO notes (id, text) VALUES (3, 'dropped')");
        await inner.transaction(async (deeper) => {
          await deeper.execute("INSERT INTO notes (id, text) VALUES (4, 'dropped too')");
        });
        await inner.execute('SELECT * FROM missing_table'); // fails: aborts a PostgreSQL transaction
      }),
      { any: true },
    );
    await tx.execute("INSERT INTO notes (id, text) VALUES (5, 'after')");
  });
  t.deepEqual(await db.fetchAll('SELECT id FROM notes ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 5 }]);
});

it('a transaction used after its callback has ended throws', async (t, db) => {
  let leaked: Transaction | null = null;
  await db.transaction((tx) => {
    leaked = tx;
  });
  t.false(leaked!.isActive);
  await t.throwsAsync(leaked!.fetchAll('SELECT 1'), { message: /This transaction has ended/ });
});

it(
  'a call on the database waiting for the connection its own transaction holds fails instead of hanging',
  async (t, db) => {
    await notes(db);
    await db.transaction(async (tx) => {
      await tx.execute("INSERT INTO notes (id, text) VALUES (1, 'kept')");
      // One connection (SQLite's, or a pool of one): `db` waits for the one `tx` holds.
      await t.throwsAsync(db.fetchVal(COUNT), {
        code: 'ERR_STARLING_ACQUIRE_TIMEOUT',
        message: /query its handle/,
      });
    });
    t.is(await db.fetchVal(COUNT), 1);
  },
  // pg applies the same bound to opening a connection: 0.2 s was too short for a loaded machine.
  { maxSize: 1, acquireTimeout: 1 },
);

it('a transaction opens one savepoint at a time', async (t, db) => {
  await notes(db);
  await db.transaction(async (tx) => {
    let release!: () => void;
    const first = tx.transaction(() => new Promise<void>((resolve) => (release = resolve)));
    // At once, as when a callback calls its parent: neither waiting (a deadlock) nor side by side.
    await t.throwsAsync(
      tx.transaction(() => undefined),
      { message: /A nested transaction is already open/ },
    );
    while (!release) await sleep(1);
    release();
    await first;
    await tx.transaction((inner) => inner.execute("INSERT INTO notes (id, text) VALUES (1, 'after')"));
  });
  t.is(await db.fetchVal(COUNT), 1);
});

it('concurrent transactions are isolated: rows of an unfinished one are never seen', async (t, db) => {
  await notes(db);
  let running = true;
  const seen = new Set<number>();
  const reader = (async () => {
    while (running) {
      for (const row of await db.fetchAll<{ id: number }>('SELECT id FROM notes')) seen.add(row.id);
      await sleep(1);
    }
  })();
  const writers = Array.from({ length: 10 }, (_, id) =>
    db.transaction(async (tx) => {
      await tx.execute('INSERT INTO notes (id, text) VALUES (:id, :text)', { id, text: 'w' });
      await sleep(5);
      if (id % 2 === 1) throw new Error('odd');
    }),
  );
  const outcomes = await Promise.allSettled(writers);
  running = false;
  await reader;
  t.deepEqual(
    outcomes.map((o) => o.status),
    Array.from({ length: 10 }, (_, id) => (id % 2 ? 'rejected' : 'fulfilled')),
  );
  t.deepEqual(
    [...seen].filter((id) => id % 2 === 1),
    [],
  );
  const ids = await db.fetchAll<{ id: number }>('SELECT id FROM notes ORDER BY id');
  t.deepEqual(
    ids.map((r) => r.id),
    [0, 2, 4, 6, 8],
  );
});

it('iterate yields every row, a batch at a time', async (t, db) => {
  await notes(db);
  const rows = Array.from({ length: 250 }, (_, id) => ({ id, text: `n${id}` }));
  await db.executeMany('INSERT INTO notes (id, text) VALUES (:id, :text)', rows);
  const read = [];
  for await (const row of db.iterate<{ id: number; text: string }>(
    'SELECT id, text FROM notes WHERE id >= :from ORDER BY id',
    { from: 0 },
  )) {
    read.push(row);
  }
  t.deepEqual(read, rows);
});

it(
  'leaving an iterate loop early frees its connection',
  async (t, db) => {
    await notes(db);
    await db.executeMany(
      'INSERT INTO notes (id, text) VALUES (:id, :text)',
      Array.from({ length: 300 }, (_, id) => ({ id, text: 't' })),
    );
    for (let round = 0; round < 3; round++) {
      let count = 0;
      for await (const _row of db.iterate('SELECT * FROM notes')) if (++count === 150) break;
      t.is(count, 150);
    }
    await t.throwsAsync(async () => {
      for await (const _row of db.iterate('SELECT * FROM notes')) throw new Error('left by an error');
    });
    // One connection (maxSize 1 on PostgreSQL): a leak would hang these.
    t.is(await within(db.fetchVal(COUNT)), 300);
    await within(db.transaction((tx) => tx.execute('DELETE FROM notes WHERE id = 0')));
  },
  { maxSize: 1 },
);

it('a loop over iterate can write as it reads, inside a transaction or not', async (t, db) => {
  await notes(db);
  await db.execute('CREATE TABLE copies (id INTEGER PRIMARY KEY)');
  await db.executeMany(
    'INSERT INTO notes (id, text) VALUES (:id, :text)',
    Array.from({ length: 120 }, (_, id) => ({ id, text: 't' })),
  );
  for await (const row of db.iterate<{ id: number }>('SELECT id FROM notes WHERE id < 60')) {
    await db.execute('INSERT INTO copies (id) VALUES (:id)', { id: row.id });
  }
  await db.transaction(async (tx) => {
    await tx.execute("INSERT INTO notes (id, text) VALUES (1000, 'uncommitted')");
    let last = -1;
    for await (const row of tx.iterate<{ id: number }>('SELECT id FROM notes WHERE id >= 60 ORDER BY id')) {
      await tx.execute('INSERT INTO copies (id) VALUES (:id)', { id: row.id });
      last = row.id;
    }
    t.is(last, 1000); // the transaction's own row
  });
  t.is(await db.fetchVal('SELECT CAST(count(*) AS INTEGER) FROM copies'), 121);
});

it('a script without values runs whole', async (t, db) => {
  await db.execute('CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);');
  t.is(await db.fetchVal('SELECT x FROM a'), 1);
  t.deepEqual(await db.fetchAll('SELECT y FROM b'), []);
});

it(
  'a statement that returns no rows gives no rows to fetchAll, fetchOne and iterate',
  async (t, db) => {
    await notes(db);
    t.deepEqual(await db.fetchAll("INSERT INTO notes (id, text) VALUES (1, 'a')"), []);
    t.is(await db.fetchOne("INSERT INTO notes (id, text) VALUES (2, 'b')"), null);
    t.deepEqual(await db.fetchAll('SELECT id FROM notes ORDER BY id'), [{ id: 1 }, { id: 2 }]);
  },
  { only: ['sqlite-memory', 'sqlite-file'] },
);

it(
  'a COMMIT after a failed statement rejects instead of rolling back in silence',
  async (t, db) => {
    await notes(db);
    await t.throwsAsync(
      db.transaction(async (tx) => {
        await tx.execute("INSERT INTO notes (id, text) VALUES (1, 'lost')");
        await tx.execute('SELECT * FROM missing_table').catch(() => undefined);
      }),
      { message: 'The transaction was rolled back: a statement in it failed.' },
    );
    t.is(await db.fetchVal(COUNT), 0);
  },
  { only: ['postgresql'] },
);

it(
  'a memory database keeps its tables while connected, and starts empty after a reconnect',
  async (t, db) => {
    await notes(db);
    for (let i = 0; i < 5; i++) await db.execute('INSERT INTO notes (id, text) VALUES (:i, :i)', { i });
    await db.transaction(async (tx) => t.is(await tx.fetchVal(COUNT), 5));
    await db.disconnect();
    await db.connect();
    await t.throwsAsync(db.fetchVal(COUNT), { any: true, message: /no such table/ });
  },
  { only: ['sqlite-memory'] },
);

it('queries before connect reject clearly; connect twice is fine; disconnect waits for a transaction', async (t, db, b) => {
  t.is(db.dialect, b.dialect);
  await db.disconnect();
  t.false(db.isConnected);
  await t.throwsAsync(db.fetchAll('SELECT 1'), { message: /The database is not connected/ });
  await t.throwsAsync(db.iterate('SELECT 1').next(), { message: /not connected/ });
  await Promise.all([db.connect(), db.connect()]);
  await db.connect();
  t.true(db.isConnected);
  await notes(db);
  let committed = false;
  const tx = db.transaction(async (tx) => {
    await sleep(30);
    await tx.execute("INSERT INTO notes (id, text) VALUES (1, 'late')");
    committed = true;
  });
  await sleep(5);
  await db.disconnect();
  t.true(committed);
  await tx;
});

it('a transaction runs executeMany and fetchOne inside it', async (t, db) => {
  await notes(db);
  await db.transaction(async (tx) => {
    const rows = [1, 2, 3].map((id) => ({ id, text: `n${id}` }));
    t.is((await tx.executeMany('INSERT INTO notes (id, text) VALUES (:id, :text)', rows)).rowCount, 3);
    t.deepEqual(await tx.fetchOne('SELECT text FROM notes WHERE id = :id', { id: 2 }), { text: 'n2' });
  });
  t.is(await db.fetchVal(COUNT), 3);
});

it(
  'a nested transaction whose savepoint cannot open rejects without running its callback',
  async (t, db) => {
    await notes(db);
    let ran = false;
    await db
      .transaction(async (tx) => {
        // A failed statement aborts a PostgreSQL transaction: the SAVEPOINT is refused too.
        await t.throwsAsync(tx.execute('SELECT * FROM missing_table'), { any: true });
        await t.throwsAsync(
          tx.transaction(() => {
            ran = true;
          }),
          { any: true, message: /current transaction is aborted/ },
        );
      })
      .catch(() => undefined); // and its COMMIT fails (tested above)
    t.false(ran);
  },
  { only: ['postgresql'] },
);

it(
  'iterate rejects when the COMMIT after its last row fails (a deferred constraint)',
  async (t, db) => {
    await db.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    await db.execute(
      'CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent DEFERRABLE INITIALLY DEFERRED)',
    );
    // A cursor reads; a function it calls may write, and the deferred check fails only at COMMIT.
    await db.execute(
      'CREATE FUNCTION add_child() RETURNS integer AS $$ ' +
        'BEGIN INSERT INTO child (id, parent) VALUES (1, 99); RETURN 1; END $$ LANGUAGE plpgsql',
    );
    const read: unknown[] = [];
    await t.throwsAsync(
      async () => {
        for await (const row of db.iterate('SELECT add_child() AS id')) read.push(row);
      },
      { message: /foreign key constraint/ },
    );
    t.deepEqual(read, [{ id: 1 }]);
    t.is(await within(db.fetchVal('SELECT CAST(count(*) AS INTEGER) FROM child')), 0);
  },
  { only: ['postgresql'], maxSize: 1 },
);

it(
  "a connection the server refuses after connect() rejects with the server's reason",
  async (t, db) => {
    // A role allowed one connection: the pool's second one is refused ("too many connections").
    const role = `limited_${process.pid}_${Date.now()}`;
    await db.execute(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
    const url = new URL(db.url);
    url.username = role;
    const limited = new Database(String(url));
    await limited.connect();
    try {
      await limited.transaction(async (tx) => {
        await tx.fetchVal('SELECT 1'); // holds the one connection
        await t.throwsAsync(limited.fetchVal('SELECT 1'), { message: /too many connections/ });
      });
    } finally {
      await limited.disconnect();
      await db.execute(`DROP ROLE ${role}`);
    }
  },
  { only: ['postgresql'] },
);

const suites = backends(test);
for (const backend of suites) {
  for (const [title, run, options] of cases) {
    if (options?.only && !options.only.includes(backend.name)) continue;
    const name = `${backend.name}: ${title}`;
    if (backend.skip) {
      test.skip(`${name} (skipped: ${backend.skip})`, () => undefined);
      continue;
    }
    test(name, async (t) => {
      const db = new Database(await backend.url(), options);
      await db.connect();
      try {
        await run(t, db, backend);
      } finally {
        await db.disconnect();
      }
    });
  }
}

test('a pragma SQLite refuses rejects connect(), and the database stays closed', async (t) => {
  const db = new Database('sqlite://:memory:?cache_size=a.b');
  await t.throwsAsync(db.connect(), { any: true, message: /syntax error/ });
  t.false(db.isConnected);
});

test('connecting to a PostgreSQL port where nothing listens rejects', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const db = new Database(`postgresql://postgres@127.0.0.1:${port}/postgres`);
  await t.throwsAsync(db.connect(), { message: /ECONNREFUSED/ });
  t.false(db.isConnected);
});

test('toString hides the password', (t) => {
  t.is(
    String(new Database('postgresql://ada:secret@localhost/app')),
    'Database(postgresql://ada:***@localhost/app)',
  );
});
