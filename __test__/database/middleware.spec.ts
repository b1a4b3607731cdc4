// DatabaseMiddleware against SQLite in memory, a SQLite file and a real PostgreSQL server.
import test, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Starling } from '../../src/applications.ts';
import type { ASGIFunction } from '../../src/asgi.ts';
import { Database, DatabaseMiddleware, type Transaction } from '../../src/database/index.ts';
import { HTTPException } from '../../src/exceptions.ts';
import { Middleware } from '../../src/middleware/index.ts';
import type { Request } from '../../src/requests.ts';
import { JSONResponse, PlainTextResponse } from '../../src/responses.ts';
import { Route, WebSocketRoute } from '../../src/routing.ts';
import { serve } from '../../src/server/index.ts';
import { TestClient } from '../../src/testclient.ts';
import type { WebSocket } from '../../src/websockets.ts';
import { backends, type BackendUnderTest } from './_backends.ts';

type Case = (t: ExecutionContext, database: Database, backend: BackendUnderTest) => Promise<void>;
const cases: [string, Case, { maxSize: number }][] = [];
// One connection unless a case asks for more: on PostgreSQL as on SQLite, a leak then hangs the next request.
const it = (title: string, run: Case, options = { maxSize: 1 }) => cases.push([title, run, options]);

const COUNT = 'SELECT CAST(count(*) AS INTEGER) FROM notes';

/** An app whose endpoints insert note `id` and then answer `status`, throw, or fail in other ways. */
function notesApp(database: Database, extra: Route[] = []): Starling {
  const insert = async (request: Request) => {
    await (request.state.db as Transaction).execute('INSERT INTO notes (id, text) VALUES (:id, :text)', {
      id: request.pathParams.id as number,
      text: 'note',
    });
    await sleep(1); // let concurrent requests interleave
  };
  return new Starling({
    routes: [
      new Route(
        '/answer/{id:int}/{status:int}',
        async (request) => {
          await insert(request);
          return new PlainTextResponse('', { status: request.pathParams.status as number });
        },
        { methods: ['POST'] },
      ),
      new Route(
        '/throw/{id:int}',
        async (request) => {
          await insert(request);
          throw new Error('the endpoint failed');
        },
        { methods: ['POST'] },
      ),
      new Route(
        '/http-exception/{id:int}',
        async (request) => {
          await insert(request);
          throw new HTTPException(409);
        },
        { methods: ['POST'] },
      ),
      new Route(
        '/count',
        async (request) => new JSONResponse(await (request.state.db as Transaction).fetchVal(COUNT)),
      ),
      ...extra,
    ],
    middleware: [new Middleware(DatabaseMiddleware, { database })],
  });
}

async function ids(database: Database): Promise<number[]> {
  return (await database.fetchAll<{ id: number }>('SELECT id FROM notes ORDER BY id')).map((r) => r.id);
}

async function createNotes(database: Database): Promise<void> {
  await database.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
}

it('lifespan connects and disconnects the database', async (t, database) => {
  const app = new Starling({
    routes: [new Route('/', async () => new PlainTextResponse('ok'))],
    middleware: [new Middleware(DatabaseMiddleware, { database })],
    lifespan: async function* () {
      // The app's own lifespan runs inside the middleware's: the database is already connected.
      t.true(database.isConnected);
      yield;
      t.true(database.isConnected);
    },
  });
  t.false(database.isConnected);
  await TestClient.run(app, async () => t.true(database.isConnected));
  t.false(database.isConnected);
});

it('a request commits below 400, and rolls back at 400 or more or when its endpoint throws', async (t, database) => {
  await TestClient.run(
    notesApp(database),
    async (client) => {
      await createNotes(database);
      t.is((await client.post('/answer/1/200')).status, 200);
      t.is((await client.post('/answer/2/302')).status, 302);
      t.is((await client.post('/answer/3/400')).status, 400);
      t.is((await client.post('/answer/4/503')).status, 503);
      t.is((await client.post('/throw/5')).status, 500);
      t.is((await client.post('/http-exception/6')).status, 409);
      t.deepEqual(await ids(database), [1, 2]);
      t.is((await client.get('/count')).json(), 2);
    },
    { raiseServerExceptions: false, followRedirects: false },
  );
});

it(
  '50 concurrent requests over a real socket, half failing after their insert, leave exactly the successful rows',
  async (t, database) => {
    const server = await serve(notesApp(database), {
      port: 0,
      accessLog: false,
      logLevel: 'critical',
      lifespan: 'on',
    });
    try {
      await createNotes(database);
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, id) => {
          // Even ids succeed; odd ones fail after inserting, half by status and half by throwing.
          const path =
            id % 2 === 0 ? `/answer/${id}/201` : id % 4 === 1 ? `/answer/${id}/422` : `/throw/${id}`;
          return fetch(`${server.url}${path}`, { method: 'POST' });
        }),
      );
      t.deepEqual(
        responses.map((r) => r.status),
        Array.from({ length: 50 }, (_, id) => (id % 2 === 0 ? 201 : id % 4 === 1 ? 422 : 500)),
      );
      t.deepEqual(
        await ids(database),
        Array.from({ length: 25 }, (_, i) => i * 2),
      );
    } finally {
      await server.close();
    }
    t.false(database.isConnected);
  },
  { maxSize: 10 },
);

it('a client that leaves mid-request leaks no connection', async (t, database) => {
  let inserted!: () => void;
  const insertedOnce = new Promise<void>((resolve) => (inserted = resolve));
  let finished!: () => void;
  const endpointDone = new Promise<void>((resolve) => (finished = resolve));
  const slow = new Route(
    '/slow/{id:int}',
    async (request) => {
      try {
        await (request.state.db as Transaction).execute('INSERT INTO notes (id, text) VALUES (:id, :text)', {
          id: request.pathParams.id as number,
          text: 'slow',
        });
        inserted();
        while (!(await request.isDisconnected())) await sleep(5);
        throw new Error('the client left');
      } finally {
        finished();
      }
    },
    { methods: ['POST'] },
  );
  const server = await serve(notesApp(database, [slow]), {
    port: 0,
    accessLog: false,
    logLevel: 'critical',
    lifespan: 'on',
  });
  try {
    await createNotes(database);
    const abort = new AbortController();
    const pending = fetch(`${server.url}/slow/1`, { method: 'POST', signal: abort.signal }).catch(() => null);
    await insertedOnce;
    abort.abort();
    t.is(await pending, null);
    await endpointDone;
    const next = await Promise.race([
      fetch(`${server.url}/answer/2/200`, { method: 'POST' }),
      sleep(3000).then(() => null),
    ]);
    t.is(next?.status, 200, 'the next request got a connection');
    t.deepEqual(await ids(database), [2]);
  } finally {
    await server.close();
  }
});

it('a request that never touches the database takes no connection', async (t, database) => {
  const app = new Starling({
    routes: [new Route('/', async () => new PlainTextResponse('no database here'))],
    middleware: [new Middleware(DatabaseMiddleware, { database })],
  });
  await TestClient.run(app, async (client) => {
    let release!: () => void;
    let started!: () => void;
    const begun = new Promise<void>((resolve) => (started = resolve));
    const held = database.transaction(() => {
      started();
      return new Promise<void>((resolve) => (release = resolve));
    });
    await begun; // the only connection is taken
    const res = await Promise.race([client.get('/'), sleep(3000).then(() => null)]);
    t.is(res?.text, 'no database here');
    release();
    await held;
  });
});

it('a COMMIT that fails becomes a 500, and its rows are gone', async (t, database, backend) => {
  const app = notesApp(database, [
    new Route(
      '/orphan',
      async (request) => {
        await (request.state.db as Transaction).execute('INSERT INTO children (parent) VALUES (42)');
        return new PlainTextResponse('looked fine');
      },
      { methods: ['POST'] },
    ),
  ]);
  await TestClient.run(
    app,
    async (client) => {
      if (backend.dialect === 'sqlite') await database.execute('PRAGMA foreign_keys = ON');
      await database.execute(
        'CREATE TABLE parents (id INTEGER PRIMARY KEY); ' +
          'CREATE TABLE children (parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)',
      );
      t.is((await client.post('/orphan')).status, 500);
      t.deepEqual(await database.fetchAll('SELECT * FROM children'), []);
      await database.execute('INSERT INTO parents (id) VALUES (1)'); // the connection still works
    },
    { raiseServerExceptions: false },
  );
});

it('a WebSocket gets the database itself', async (t, database) => {
  const app = new Starling({
    routes: [
      new WebSocketRoute('/ws', async (ws: WebSocket) => {
        await ws.accept();
        await ws.sendJson(await (ws.state.db as Database).fetchVal('SELECT 1 + 1'));
        await ws.close();
      }),
    ],
    middleware: [new Middleware(DatabaseMiddleware, { database })],
  });
  await TestClient.run(app, async (client) => {
    const ws = await client.websocketConnect('/ws');
    t.is(Number(await ws.receiveJson()), 2);
    await ws.close();
  });
});

const suites = backends(test);
for (const backend of suites) {
  for (const [title, run, options] of cases) {
    const name = `${backend.name}: ${title}`;
    if (backend.skip) {
      test.skip(`${name} (skipped: ${backend.skip})`, () => undefined);
      continue;
    }
    test(name, async (t) => {
      const database = new Database(await backend.url(), options);
      try {
        await run(t, database, backend);
      } finally {
        await database.disconnect();
      }
    });
  }
}

test('without a lifespan of its own, the app below still gets a connected database', async (t) => {
  const database = new Database('sqlite://:memory:');
  const raw: ASGIFunction = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    const value = await (scope.state!.db as Transaction).fetchVal<number>('SELECT 40 + 2');
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: String(value) });
  };
  await TestClient.run(new DatabaseMiddleware(raw, { database }), async (client) => {
    t.is((await client.get('/')).text, '42');
  });
  t.false(database.isConnected);
});

test('startup fails, with the reason, when the database cannot open', async (t) => {
  const database = new Database('sqlite:////nonexistent-starling-dir/app.db');
  const app = new Starling({ middleware: [new Middleware(DatabaseMiddleware, { database })] });
  await t.throwsAsync(new TestClient(app).start(), { message: /directory does not exist|unable to open/ });
  t.false(database.isConnected);
});

test('without a lifespan of its own, startup fails with the reason when the database cannot open', async (t) => {
  const database = new Database('sqlite:////nonexistent-starling-dir/app.db');
  const raw: ASGIFunction = async () => undefined;
  await t.throwsAsync(new TestClient(new DatabaseMiddleware(raw, { database })).start(), {
    message: /directory does not exist|unable to open/,
  });
  t.false(database.isConnected);
});

test("when the app's own startup fails, the database is disconnected again", async (t) => {
  const database = new Database('sqlite://:memory:');
  let connected = false;
  const app = new Starling({
    middleware: [new Middleware(DatabaseMiddleware, { database })],
    lifespan: async function* () {
      connected = database.isConnected;
      throw new Error('the app could not start');
    },
  });
  await t.throwsAsync(new TestClient(app).start(), { message: /the app could not start/ });
  t.true(connected);
  t.false(database.isConnected);
});

test('the middleware needs a database', (t) => {
  t.throws(() => new DatabaseMiddleware(async () => undefined, {} as never), {
    message: 'DatabaseMiddleware needs a `database` option.',
  });
});
