import test, { type ExecutionContext } from 'ava';
import { buildSchema } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocketClient from 'ws';
import { Starling } from '../src/applications.ts';
import { GraphQLApp, type GraphQLAppOptions } from '../src/graphql.ts';
import { Mount, Route } from '../src/routing.ts';
import { serve } from '../src/server/index.ts';
import { TestClient } from '../src/testclient.ts';
import { AsyncQueue } from '../src/_queue.ts';
import { call } from './_asgi.ts';

const schema = buildSchema(`
  type Query { hello(name: String): String, whoami: String, boom: String, sure: String!, params: String,
    header(name: String!): String, later(tag: String!): String }
  type Mutation { add(a: Int!, b: Int!): Int }
  type Subscription { count(to: Int!): Int, ticks(tag: String!): Int, broken: Int }
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
  header: (
    { name }: { name: string },
    context: { request: { headers: { get(n: string): string | null } } },
  ) => context.request.headers.get(name),
  later: ({ tag }: { tag: string }, context: { background: { addTask(f: () => void): void } }) => {
    context.background.addTask(() => finish(tag));
    return 'later';
  },
  params: (_args: unknown, context: { connectionParams?: { token?: string } }) =>
    context.connectionParams?.token ?? 'none',
  count: async function* ({ to }: { to: number }) {
    for (let i = 1; i <= to; i++) yield { count: i };
  },
  // Ticks until the client leaves; `ended(tag)` resolves once the generator's `finally` has run.
  ticks: async function* ({ tag }: { tag: string }) {
    try {
      for (let i = 1; ; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield { ticks: i };
      }
    } finally {
      finish(tag);
    }
  },
  broken: async function* () {
    yield { broken: 1 };
    throw new Error('stream failed');
  },
};

const endings = new Map<string, { promise: Promise<void>; resolve: () => void }>();
function ending(tag: string) {
  let entry = endings.get(tag);
  if (!entry) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    endings.set(tag, (entry = { promise, resolve }));
  }
  return entry;
}
const finish = (tag: string) => ending(tag).resolve();
const ended = (tag: string) => ending(tag).promise;

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

// GraphQL over WebSocket (graphql-transport-ws). The protocol cases run over the TestClient and over
// real sockets (the `ws` package against `serve()`); graphql-ws's own client is tested on sockets.

const PROTOCOL = 'graphql-transport-ws';
const quiet = {
  host: '127.0.0.1',
  port: 0,
  accessLog: false,
  logLevel: 'critical',
  lifespan: 'off',
} as const;

/** A protocol message, or `{ type: 'close' }` once the server has closed. */
type Message = { type: string; id?: string; payload?: any; code?: number; reason?: string };

/** One client connection, whatever carries it. */
interface Peer {
  readonly protocol: string | null;
  send(message: unknown): Promise<void>;
  sendText(text: string): Promise<void>;
  sendBytes(bytes: Uint8Array): Promise<void>;
  receive(): Promise<Message>;
  /** Closes from the client side (1000). */
  leave(): Promise<void>;
  done(): Promise<void>;
}

interface CaseOptions {
  app?: GraphQLAppOptions;
  protocols?: string[];
  headers?: Record<string, string>;
}

function graphqlApp(options: GraphQLAppOptions = { subscriptions: true }) {
  return new Starling({
    routes: [new Mount('/graphql', { app: new GraphQLApp(schema, { rootValue, ...options }) })],
  });
}

async function testClientPeer(options: CaseOptions): Promise<Peer> {
  const client = new TestClient(graphqlApp(options.app));
  const ws = await client.websocketConnect('/graphql', {
    subprotocols: options.protocols ?? [PROTOCOL],
    headers: options.headers ?? {},
  });
  let open = true;
  return {
    protocol: ws.acceptedSubprotocol,
    send: (message) => ws.sendJson(message),
    sendText: (text) => ws.sendText(text),
    sendBytes: (bytes) => ws.sendBytes(bytes),
    async receive() {
      const frame = await ws.receive();
      if (frame.type === 'websocket.send') return JSON.parse(frame.text!) as Message;
      open = false;
      return { type: 'close', code: frame.code, reason: frame.reason };
    },
    async leave() {
      open = false;
      await ws.close();
    },
    async done() {
      if (open) await ws.close();
    },
  };
}

async function socketPeer(options: CaseOptions): Promise<Peer & { socket: WebSocketClient }> {
  const server = await serve(graphqlApp(options.app), quiet);
  const socket = new WebSocketClient(
    `ws://127.0.0.1:${server.port}/graphql`,
    options.protocols ?? [PROTOCOL],
    {
      headers: options.headers ?? {},
    },
  );
  const inbox = new AsyncQueue<Message>();
  socket.on('message', (data) => inbox.push(JSON.parse(String(data)) as Message));
  socket.on('close', (code, reason) => inbox.push({ type: 'close', code, reason: String(reason) }));
  try {
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  } catch (error) {
    await server.close();
    throw error;
  }
  const write = (data: string | Uint8Array) =>
    new Promise<void>((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  return {
    socket,
    protocol: socket.protocol || null,
    send: (message) => write(JSON.stringify(message)),
    sendText: (text) => write(text),
    sendBytes: (bytes) => write(bytes),
    receive: () => inbox.shift(),
    async leave() {
      socket.close(1000);
    },
    async done() {
      socket.terminate();
      await server.close();
    },
  };
}

const peers = { testclient: testClientPeer, socket: socketPeer };

/** Registers `run` once per transport. */
function wsCase(
  title: string,
  options: CaseOptions,
  run: (t: ExecutionContext, peer: Peer) => Promise<void>,
) {
  for (const [name, connect] of Object.entries(peers)) {
    test(`${title} (${name})`, async (t) => {
      const peer = await connect(options);
      try {
        await run(t, peer);
      } finally {
        await peer.done();
      }
    });
  }
}

async function init(peer: Peer, payload?: unknown): Promise<Message> {
  await peer.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
  return peer.receive();
}

wsCase(
  'connection_init is acknowledged, then a subscription streams next messages and completes',
  {},
  async (t, peer) => {
    t.is(peer.protocol, PROTOCOL);
    t.deepEqual(await init(peer), { type: 'connection_ack' });
    await peer.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { count(to: 3) }' } });
    for (const count of [1, 2, 3])
      t.deepEqual(await peer.receive(), { id: '1', type: 'next', payload: { data: { count } } });
    t.deepEqual(await peer.receive(), { id: '1', type: 'complete' });
  },
);

wsCase(
  'a ping is answered with a pong carrying its payload, before and after the ack',
  {},
  async (t, peer) => {
    await peer.send({ type: 'ping', payload: { n: 1 } });
    t.deepEqual(await peer.receive(), { type: 'pong', payload: { n: 1 } });
    await init(peer);
    await peer.send({ type: 'ping' });
    t.deepEqual(await peer.receive(), { type: 'pong' });
  },
);

wsCase('queries and mutations run over the WebSocket too', {}, async (t, peer) => {
  await init(peer);
  await peer.send({
    id: 'q',
    type: 'subscribe',
    payload: { query: 'query($n: String) { hello(name: $n) }', variables: { n: 'ws' } },
  });
  t.deepEqual(await peer.receive(), { id: 'q', type: 'next', payload: { data: { hello: 'Hello ws' } } });
  t.deepEqual(await peer.receive(), { id: 'q', type: 'complete' });
  await peer.send({ id: 'm', type: 'subscribe', payload: { query: 'mutation { add(a: 2, b: 3) }' } });
  t.deepEqual(await peer.receive(), { id: 'm', type: 'next', payload: { data: { add: 5 } } });
  t.deepEqual(await peer.receive(), { id: 'm', type: 'complete' });
});

wsCase(
  'a document that does not parse or validate gets an error message and the connection stays open',
  {},
  async (t, peer) => {
    await init(peer);
    await peer.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { count(to: 1)' } });
    const syntax = await peer.receive();
    t.like(syntax, { id: 'a', type: 'error' });
    t.regex(syntax.payload[0].message, /Syntax Error/);
    await peer.send({ id: 'b', type: 'subscribe', payload: { query: '{ nope }' } });
    const invalid = await peer.receive();
    t.like(invalid, { id: 'b', type: 'error' });
    t.regex(invalid.payload[0].message, /Cannot query field "nope"/);
    await peer.send({ id: 'c', type: 'subscribe', payload: { query: '{ hello }' } });
    t.deepEqual(await peer.receive(), {
      id: 'c',
      type: 'next',
      payload: { data: { hello: 'Hello stranger' } },
    });
  },
);

wsCase('a protocol message in a binary frame is read as UTF-8 text', {}, async (t, peer) => {
  await peer.sendBytes(new TextEncoder().encode(JSON.stringify({ type: 'connection_init' })));
  t.deepEqual(await peer.receive(), { type: 'connection_ack' });
});

wsCase('an error thrown by a subscription stream is sent as an error message', {}, async (t, peer) => {
  await init(peer);
  await peer.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { broken }' } });
  t.deepEqual(await peer.receive(), { id: '1', type: 'next', payload: { data: { broken: 1 } } });
  const error = await peer.receive();
  t.like(error, { id: '1', type: 'error' });
  t.is(error.payload[0].message, 'stream failed');
});

wsCase(
  'the context has the connection as request, the connectionParams and background tasks',
  {
    app: { subscriptions: { onConnect: (_ws, params) => ({ welcome: params?.token === 'secret' }) } },
    headers: { 'x-user': 'alice' },
  },
  async (t, peer) => {
    t.deepEqual(await init(peer, { token: 'secret' }), {
      type: 'connection_ack',
      payload: { welcome: true },
    });
    const tag = `later-${Math.random()}`;
    await peer.send({
      id: '1',
      type: 'subscribe',
      payload: { query: `{ header(name: "x-user") params later(tag: "${tag}") }` },
    });
    t.deepEqual(await peer.receive(), {
      id: '1',
      type: 'next',
      payload: { data: { header: 'alice', params: 'secret', later: 'later' } },
    });
    t.deepEqual(await peer.receive(), { id: '1', type: 'complete' });
    await ended(tag);
  },
);

wsCase(
  'a complete from the client ends the subscription generator (its finally runs)',
  {},
  async (t, peer) => {
    await init(peer);
    const tag = `complete-${Math.random()}`;
    await peer.send({
      id: '1',
      type: 'subscribe',
      payload: { query: `subscription { ticks(tag: "${tag}") }` },
    });
    t.like(await peer.receive(), { id: '1', type: 'next' });
    await peer.send({ id: '1', type: 'complete' });
    await ended(tag);
    // The connection is still usable.
    await peer.send({ type: 'ping' });
    let message = await peer.receive();
    while (message.type === 'next') message = await peer.receive();
    t.deepEqual(message, { type: 'pong' });
  },
);

wsCase('a client closing the connection ends its running subscriptions', {}, async (t, peer) => {
  await init(peer);
  const tags = [`leave-a-${Math.random()}`, `leave-b-${Math.random()}`];
  for (const [i, tag] of tags.entries()) {
    await peer.send({
      id: String(i),
      type: 'subscribe',
      payload: { query: `subscription { ticks(tag: "${tag}") }` },
    });
  }
  t.like(await peer.receive(), { type: 'next' });
  await peer.leave();
  await Promise.all(tags.map(ended));
});

// Close codes, as the protocol (and graphql-ws's server) assigns them.
const closes: [string, number, CaseOptions, (peer: Peer) => Promise<void>][] = [
  [
    'a message that is not a protocol message closes with 4400',
    4400,
    {},
    (peer) => peer.sendText('{"type":"nope"}'),
  ],
  ['text that is not JSON closes with 4400', 4400, {}, (peer) => peer.sendText('not json')],
  [
    'a subscribe before the ack closes with 4401 Unauthorized',
    4401,
    {},
    (peer) => peer.send({ id: '1', type: 'subscribe', payload: { query: '{ hello }' } }),
  ],
  [
    'a connection_init that onConnect refuses closes with 4403 Forbidden',
    4403,
    { app: { subscriptions: { onConnect: () => false } } },
    (peer) => peer.send({ type: 'connection_init' }),
  ],
  [
    'no connection_init within the timeout closes with 4408',
    4408,
    { app: { subscriptions: { connectionInitTimeout: 0.05 } } },
    async () => {},
  ],
  [
    'a subscribe reusing a running id closes with 4409',
    4409,
    {},
    async (peer) => {
      await init(peer);
      const query = `subscription { ticks(tag: "dup-${Math.random()}") }`;
      // A long id makes a long reason, which is cut to fit a close frame (123 bytes).
      const id = 'x'.repeat(200);
      await peer.send({ id, type: 'subscribe', payload: { query } });
      await peer.send({ id, type: 'subscribe', payload: { query } });
    },
  ],
  [
    'a second connection_init closes with 4429',
    4429,
    {},
    async (peer) => {
      await init(peer);
      await peer.send({ type: 'connection_init' });
    },
  ],
  // (A client offering only other subprotocols fails the handshake itself, as none is selected.)
  ['a client that offers no subprotocol is closed with 4406', 4406, { protocols: [] }, async () => {}],
];
for (const [title, code, options, provoke] of closes) {
  wsCase(title, options, async (t, peer) => {
    await provoke(peer);
    let message = await peer.receive();
    while (message.type === 'next' || message.type === 'connection_ack') message = await peer.receive();
    t.like(message, { type: 'close', code });
    t.true(Buffer.byteLength(message.reason!) <= 123);
  });
}

test('an error in the app own code closes with 4500 and is raised (testclient)', async (t) => {
  const client = new TestClient(
    graphqlApp({
      subscriptions: {
        onConnect: () => {
          throw new Error('onConnect failed');
        },
      },
    }),
  );
  const ws = await client.websocketConnect('/graphql', { subprotocols: [PROTOCOL] });
  await ws.sendJson({ type: 'connection_init' });
  t.like(await ws.receive(), { type: 'websocket.close', code: 4500, reason: 'Internal server error' });
  await t.throwsAsync(ws.close(), { message: 'onConnect failed' });
});

test('HTTP queries and graphql-ws subscriptions share one mounted path', async (t) => {
  const server = await serve(graphqlApp(), quiet);
  const client = createClient({
    url: `ws://127.0.0.1:${server.port}/graphql`,
    webSocketImpl: WebSocketClient,
    retryAttempts: 0,
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ hello(name: "http") }' }),
    });
    t.deepEqual(await res.json(), { data: { hello: 'Hello http' } });
    const counts: unknown[] = [];
    for await (const result of client.iterate({ query: 'subscription { count(to: 3) }' }))
      counts.push(result.data?.count);
    t.deepEqual(counts, [1, 2, 3]);
    const [query] = await collect(client.iterate({ query: '{ hello(name: "ws") }' }));
    t.deepEqual(query, { data: { hello: 'Hello ws' } });
    const [mutation] = await collect(client.iterate({ query: 'mutation { add(a: 20, b: 22) }' }));
    t.deepEqual(mutation, { data: { add: 42 } });
  } finally {
    await client.dispose();
    await server.close();
  }
});

test('a graphql-ws client unsubscribing ends the subscription generator (its finally runs)', async (t) => {
  const server = await serve(graphqlApp(), quiet);
  const client = createClient({
    url: `ws://127.0.0.1:${server.port}/graphql`,
    webSocketImpl: WebSocketClient,
    retryAttempts: 0,
  });
  try {
    const tag = `unsubscribe-${Math.random()}`;
    const first = new Promise<unknown>((resolve, reject) => {
      const unsubscribe = client.subscribe(
        { query: `subscription { ticks(tag: "${tag}") }` },
        {
          next: (result) => {
            unsubscribe();
            resolve(result);
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    t.deepEqual(await first, { data: { ticks: 1 } });
    await ended(tag);
  } finally {
    await client.dispose();
    await server.close();
  }
});

test('a destroyed socket ends its subscriptions (their finally runs)', async (t) => {
  const peer = await socketPeer({});
  try {
    await init(peer);
    const tag = `destroyed-${Math.random()}`;
    await peer.send({
      id: '1',
      type: 'subscribe',
      payload: { query: `subscription { ticks(tag: "${tag}") }` },
    });
    t.like(await peer.receive(), { id: '1', type: 'next' });
    peer.socket.terminate();
    await ended(tag);
  } finally {
    await peer.done();
  }
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
