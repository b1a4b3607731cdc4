import test from 'ava';
import WebSocketClient from 'ws';
import { app, createApp } from '../examples/demo.ts';
import { Broadcast } from '../src/broadcast/index.ts';
import { serve, type Server } from '../src/server/index.ts';
import { redisTestFor, startRedis } from './_redis.ts';

let server: Server;
let wsUrl: string;

test.before(async () => {
  // The lifespan connects the chat's Broadcast (memory:// here: no Redis needed).
  server = await serve(app, { port: 0, accessLog: false, logLevel: 'critical', lifespan: 'on' });
  wsUrl = `${server.url.replace('http', 'ws')}/ws/chat`;
});
test.after.always(async () => {
  await server?.close();
});

function open(url: string): Promise<WebSocketClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextJson(ws: WebSocketClient): Promise<{ from: string; text: string }> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
}

test('the homepage links every page, the chat included', async (t) => {
  const res = await fetch(`${server.url}/`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/html/);
  const html = await res.text();
  for (const href of ['/json', '/users/42', '/chat', '/static/demo.css'])
    t.true(html.includes(`"${href}"`), href);
});

test('the JSON, path-parameter and static routes answer', async (t) => {
  const json = await fetch(`${server.url}/json`);
  t.is(json.status, 200);
  t.deepEqual(await json.json(), { message: 'Hello, World!' });
  const user = await fetch(`${server.url}/users/42`);
  t.deepEqual(await user.json(), { id: 42 });
  t.is((await fetch(`${server.url}/users/abc`)).status, 404);
  const css = await fetch(`${server.url}/static/demo.css`);
  t.is(css.status, 200);
  t.regex(css.headers.get('content-type') ?? '', /^text\/css/);
  t.regex(await css.text(), /font-family/);
});

test('the chat page connects its script to /ws/chat', async (t) => {
  const res = await fetch(`${server.url}/chat`);
  t.is(res.status, 200);
  const html = await res.text();
  t.true(html.includes('new WebSocket('));
  t.true(html.includes("'/ws/chat'"));
});

test('a chat message reaches every connected client, the sender included', async (t) => {
  const alice = await open(wsUrl);
  const bob = await open(wsUrl);
  const received = Promise.all([nextJson(alice), nextJson(bob)]);
  alice.send('hello from alice');
  const [toAlice, toBob] = await received;
  t.is(toAlice.text, 'hello from alice');
  t.deepEqual(toBob, toAlice);
  t.regex(toBob.from, /^guest-\d+$/);

  // Once a client leaves, the others keep chatting.
  const aliceClosed = new Promise((resolve) => alice.once('close', resolve));
  alice.close();
  await aliceClosed;
  const next = nextJson(bob);
  bob.send('still here');
  t.is((await next).text, 'still here');
  bob.close();
});

const redisTest = redisTestFor('demo.spec');

redisTest('with a redis:// Broadcast, the chat spans two servers, as it does two workers', async (t) => {
  const redis = await startRedis();
  const options = { port: 0, accessLog: false, logLevel: 'critical', lifespan: 'on' } as const;
  const one = await serve(createApp(new Broadcast(redis.url)), options);
  const two = await serve(createApp(new Broadcast(redis.url)), options);
  try {
    const alice = await open(`${one.url.replace('http', 'ws')}/ws/chat`);
    const bob = await open(`${two.url.replace('http', 'ws')}/ws/chat`);
    const received = Promise.all([nextJson(alice), nextJson(bob)]);
    alice.send('hello across');
    const [toAlice, toBob] = await received;
    t.is(toBob.text, 'hello across');
    t.deepEqual(toAlice, toBob);
    const back = nextJson(alice);
    bob.send('hello back');
    t.is((await back).text, 'hello back');
    alice.close();
    bob.close();
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});
