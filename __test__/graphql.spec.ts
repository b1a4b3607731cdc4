import test from 'ava';
import { buildSchema } from 'graphql';
import { Starling } from '../src/applications.ts';
import { GraphQLApp } from '../src/graphql.ts';
import { Route } from '../src/routing.ts';
import { TestClient } from '../src/testclient.ts';
import { call } from './_asgi.ts';

const schema = buildSchema(`
  type Query { hello(name: String): String, whoami: String, boom: String, sure: String! }
  type Mutation { add(a: Int!, b: Int!): Int }
`);
const log: string[] = [];
const rootValue = {
  hello: ({ name }: { name?: string }) => `Hello ${name ?? 'stranger'}`,
  whoami: (
    _args: unknown,
    context: {
      request: { headers: { get(n: string): string | null } };
      background: { addTask(f: () => void): void };
    },
  ) => {
    context.background.addTask(() => void log.push('after'));
    return context.request.headers.get('x-user') ?? 'nobody';
  },
  boom: () => {
    throw new Error('resolver failed');
  },
  sure: () => {
    throw new Error('non-null failed');
  },
  add: ({ a, b }: { a: number; b: number }) => a + b,
};

function client(options: ConstructorParameters<typeof GraphQLApp>[1] = {}) {
  return new TestClient(
    new Starling({
      routes: [
        new Route('/', new GraphQLApp(schema, { rootValue, ...options }), {
          methods: ['GET', 'POST', 'PUT'],
        }),
      ],
    }),
  );
}

test('a GET query is executed', async (t) => {
  const res = await client().get('/', { params: { query: '{ hello }' } });
  t.is(res.status, 200);
  t.deepEqual(res.json(), { data: { hello: 'Hello stranger' } });
});

test('a POST JSON query with variables and an operation name is executed', async (t) => {
  const res = await client().post('/', {
    json: {
      query: 'query A { hello } query B($n: String) { hello(name: $n) }',
      variables: { n: 'Ada' },
      operationName: 'B',
    },
  });
  t.deepEqual(res.json(), { data: { hello: 'Hello Ada' } });
});

test('a POST form and an application/graphql body are accepted', async (t) => {
  const form = await client().post('/', {
    data: { query: 'query($n: String) { hello(name: $n) }', variables: '{"n": "form"}' },
  });
  t.deepEqual(form.json(), { data: { hello: 'Hello form' } });
  const raw = await client().post('/', {
    content: '{ hello(name: "raw") }',
    headers: { 'content-type': 'application/graphql' },
  });
  t.deepEqual(raw.json(), { data: { hello: 'Hello raw' } });
});

test('the request and background tasks are in the context', async (t) => {
  log.length = 0;
  const res = await client().get('/', { params: { query: '{ whoami }' }, headers: { 'x-user': 'alice' } });
  t.deepEqual(res.json(), { data: { whoami: 'alice' } });
  t.deepEqual(log, ['after']);
  const custom = await client({
    context: () => ({ request: { headers: { get: () => 'ctx' } }, background: { addTask() {} } }),
  }).get('/', { params: { query: '{ whoami }' } });
  t.deepEqual(custom.json(), { data: { whoami: 'ctx' } });
});

test('a document that does not parse or validate answers 400 with errors and no data', async (t) => {
  const syntax = await client().get('/', { params: { query: '{ hello' } });
  t.is(syntax.status, 400);
  t.false('data' in syntax.json());
  t.regex(syntax.json().errors[0].message, /Syntax Error/);
  const invalid = await client().get('/', { params: { query: '{ nope }' } });
  t.is(invalid.status, 400);
  t.deepEqual(Object.keys(invalid.json()), ['errors']);
  t.regex(invalid.json().errors[0].message, /Cannot query field "nope"/);
});

test('variables that do not coerce answer 400 with errors and no data', async (t) => {
  const res = await client().post('/', {
    json: { query: 'mutation($a: Int!) { add(a: $a, b: 1) }', variables: { a: 'x' } },
  });
  t.is(res.status, 400);
  t.deepEqual(Object.keys(res.json()), ['errors']);
  t.regex(res.json().errors[0].message, /Variable "\$a"/);
});

test('a field error during execution answers 200 with the partial data and the errors', async (t) => {
  const failing = await client().get('/', { params: { query: '{ hello boom }' } });
  t.is(failing.status, 200);
  t.deepEqual(failing.json().data, { hello: 'Hello stranger', boom: null });
  t.is(failing.json().errors[0].message, 'resolver failed');
  t.deepEqual(failing.json().errors[0].path, ['boom']);
  // A failed non-null field nulls its parent, here the whole result; the operation still ran.
  const nulled = await client().get('/', { params: { query: '{ hello sure }' } });
  t.is(nulled.status, 200);
  t.is(nulled.json().data, null);
  t.is(nulled.json().errors[0].message, 'non-null failed');
});

test('malformed requests get plain 4xx answers', async (t) => {
  const c = client();
  t.is((await c.get('/')).status, 400);
  t.is((await c.get('/')).text, 'No GraphQL query found in the request');
  t.is((await c.get('/', { params: { query: '{ hello }', variables: '{bad' } })).status, 400);
  t.is((await c.post('/', { content: '{bad', headers: { 'content-type': 'application/json' } })).status, 400);
  t.is((await c.post('/', { content: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
  const put = await c.put('/', { json: {} });
  t.is(put.status, 405);
  t.is(put.headers.get('allow'), 'GET, POST');
});

test('mutations run over POST and are refused over GET', async (t) => {
  const post = await client().post('/', { json: { query: 'mutation { add(a: 1, b: 2) }' } });
  t.deepEqual(post.json(), { data: { add: 3 } });
  const get = await client().get('/', { params: { query: 'mutation { add(a: 1, b: 2) }' } });
  t.is(get.status, 405);
});

test('browsers get GraphiQL unless it is turned off', async (t) => {
  const page = await client().get('/', { headers: { accept: 'text/html' } });
  t.is(page.status, 200);
  t.regex(page.text, /GraphiQL/);
  t.regex(page.headers.get('content-type')!, /^text\/html/);
  const off = await client({ graphiql: false }).get('/', { headers: { accept: 'text/html' } });
  t.is(off.status, 404);
});

test('websocket connections are closed', async (t) => {
  const res = await call(new GraphQLApp(schema), '/', { type: 'websocket' });
  t.deepEqual(res.messages, [{ type: 'websocket.close', code: 1000 }]);
});
