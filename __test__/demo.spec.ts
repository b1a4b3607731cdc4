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

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocketClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(url, { headers });
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

/** Posts the login form, the demo user's by default; redirects are not followed. */
function postLogin(fields: Record<string, string> = {}): Promise<Response> {
  const form = { username: 'demo', password: 'starling', next: '', ...fields };
  return fetch(`${server.url}/login`, {
    method: 'POST',
    body: new URLSearchParams(form),
    redirect: 'manual',
  });
}

/** Logs in as the demo user; resolves with the Cookie header that carries the session. */
async function login(): Promise<string> {
  const res = await postLogin();
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('session='));
  if (res.status !== 303 || cookie === undefined) throw new Error(`login failed: ${res.status}`);
  return cookie.split(';')[0]!;
}

function postJson(path: string, body: unknown, cookie = ''): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify(body),
  });
}

/** The audit log's page once it mentions `text` (background tasks run after the response). */
async function auditMentioning(text: string): Promise<string> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    const html = await (await fetch(`${server.url}/audit`)).text();
    if (html.includes(text)) return html;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the audit log never mentioned ${text}`);
}

test('the home page is a template: the latest notes from SQLite, and a link to log in', async (t) => {
  const html = await (await fetch(`${server.url}/`)).text();
  t.regex(html, /<title>Starling demo<\/title>/);
  t.true(html.includes('This list comes from SQLite'));
  t.true(html.includes('href="/login"'));
  for (const href of ['/api/notes', '/audit', '/graphql', '/schema'])
    t.true(html.includes(`"${href}"`), href);
});

test('the notes API lists and shows notes, and only a signed-in user adds one', async (t) => {
  const list = (await (await fetch(`${server.url}/api/notes`)).json()) as { id: number; author: string }[];
  t.true(list.some((note) => note.id === 1 && note.author === 'starling'));
  const one = await fetch(`${server.url}/api/notes/1`);
  t.like(await one.json(), { id: 1, author: 'starling' });
  t.is((await fetch(`${server.url}/api/notes/999999`)).status, 404);

  t.is((await postJson('/api/notes', { text: 'anonymous' })).status, 403);
  const cookie = await login();
  t.is((await postJson('/api/notes', { text: '  ' }, cookie)).status, 422);
  const created = await postJson('/api/notes', { text: 'written over the API' }, cookie);
  t.is(created.status, 201);
  const note = (await created.json()) as { id: number; text: string; author: string };
  t.like(note, { text: 'written over the API', author: 'demo' });
  t.like(await (await fetch(`${server.url}/api/notes/${note.id}`)).json(), { id: note.id });
  // A background task records it once the response has gone.
  t.true((await auditMentioning(`#${note.id} by demo (JSON API)`)).includes('note added'));
});

test('the account page sends a stranger to log in, and the login back to it', async (t) => {
  const guarded = await fetch(`${server.url}/account`, { redirect: 'manual' });
  t.is(guarded.status, 303);
  const location = new URL(guarded.headers.get('location')!);
  t.is(location.pathname, '/login');
  const next = location.searchParams.get('next')!;
  t.true((await (await fetch(location)).text()).includes(`value="${next}"`));

  const wrong = await postLogin({ password: 'nope', next });
  t.is(wrong.status, 400);
  t.true((await wrong.text()).includes('Wrong name or password.'));

  const right = await postLogin({ next });
  t.is(right.status, 303);
  t.is(right.headers.get('location'), '/account');
  const cookie = right.headers.getSetCookie()[0]!.split(';')[0]!;
  const page = await (await fetch(`${server.url}/account`, { headers: { cookie } })).text();
  t.true(page.includes('Hello, demo'));

  // A note from the page's form comes back to it, escaped, and is audited.
  const form = await fetch(`${server.url}/notes`, {
    method: 'POST',
    headers: { cookie },
    body: new URLSearchParams({ text: 'a <b>form</b> note' }),
    redirect: 'manual',
  });
  t.is(form.status, 303);
  const after = await (await fetch(`${server.url}/account`, { headers: { cookie } })).text();
  t.true(after.includes('a &lt;b&gt;form&lt;/b&gt; note'));
  await auditMentioning('by demo (form)');

  const out = await fetch(`${server.url}/logout`, {
    method: 'POST',
    headers: { cookie },
    redirect: 'manual',
  });
  t.is(out.status, 303);
  t.regex(out.headers.getSetCookie()[0]!, /^session=null;.*expires=Thu, 01 Jan 1970/);
});

test('after login, `next` only leads to this site', async (t) => {
  const res = await postLogin({ next: 'http://evil.test/' });
  t.is(res.headers.get('location'), '/account');
});

test('GraphQL reads the same notes, and adds one for a signed-in user', async (t) => {
  const read = await postJson('/graphql', { query: '{ note(id: 2) { id author } }' });
  t.deepEqual(await read.json(), { data: { note: { id: 2, author: 'starling' } } });
  const mutation = { query: 'mutation { addNote(text: "over GraphQL") { id author } }' };
  const refused = (await (await postJson('/graphql', mutation)).json()) as { errors: { message: string }[] };
  t.is(refused.errors[0]!.message, 'Log in to add notes.');
  const added = await (await postJson('/graphql', mutation, await login())).json();
  const { id, author } = (added as { data: { addNote: { id: number; author: string } } }).data.addNote;
  t.is(author, 'demo');
  await auditMentioning(`#${id} by demo (GraphQL)`);
  const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
  t.true((await page.text()).includes('GraphiQL'));
});

test('/schema is the OpenAPI document of the notes API', async (t) => {
  const res = await fetch(`${server.url}/schema`);
  t.is(res.headers.get('content-type'), 'application/vnd.oai.openapi');
  const yaml = await res.text();
  t.regex(yaml, /^openapi: 3\.0\.0$/m);
  t.regex(yaml, /^ {2}\/api\/notes:\n {4}get:/m);
  t.regex(yaml, /^ {2}\/api\/notes\/\{id\}:$/m);
  t.false(yaml.includes('/schema'));
});

test('static files are compressed by the core, brotli first', async (t) => {
  for (const [accept, coding] of [
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['identity', null],
  ] as const) {
    const res = await fetch(`${server.url}/static/demo.css`, { headers: { 'accept-encoding': accept } });
    t.is(res.headers.get('content-encoding'), coding, accept);
    t.regex(await res.text(), /font-family/);
  }
});

// Serial (ava runs those first): the chat room is shared with the other chat test.
test.serial('a signed-in user chats under their own name', async (t) => {
  const cookie = await login();
  const demo = await open(wsUrl, { cookie });
  const received = nextJson(demo);
  demo.send('signed in');
  t.deepEqual(await received, { from: 'demo', text: 'signed in' });
  demo.close();
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
