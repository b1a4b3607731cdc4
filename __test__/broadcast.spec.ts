import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { Broadcast, type BroadcastEvent, type Subscription } from '../src/broadcast/index.ts';
import { freePort, redisTestFor, startRedis, type RedisServer } from './_redis.ts';

/** Reads `count` events, or fails after `ms`: a lost message must not hang the suite. */
async function take(sub: Subscription, count: number, ms = 3000): Promise<BroadcastEvent[]> {
  const events: BroadcastEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${events.length} of ${count} events in ${ms} ms`)), ms);
  });
  try {
    while (events.length < count) {
      const next = await Promise.race([sub.next(), timeout]);
      if (next.done) throw new Error(`the subscription ended after ${events.length} of ${count} events`);
      events.push(next.value);
    }
    return events;
  } finally {
    clearTimeout(timer);
  }
}

const messages = (events: BroadcastEvent[]) => events.map((e) => e.message);

// ---- memory:// ----

async function memory(): Promise<Broadcast> {
  const broadcast = new Broadcast('memory://');
  await broadcast.connect();
  return broadcast;
}

test('memory: every subscriber of a channel gets its messages in publish order, other channels none', async (t) => {
  const broadcast = await memory();
  const first = await broadcast.subscribe('chat');
  const second = await broadcast.subscribe('chat');
  const other = await broadcast.subscribe('news');
  for (const text of ['one', 'two', 'three']) await broadcast.publish('chat', text);
  t.deepEqual(await take(first, 3), [
    { channel: 'chat', message: 'one' },
    { channel: 'chat', message: 'two' },
    { channel: 'chat', message: 'three' },
  ]);
  t.deepEqual(messages(await take(second, 3)), ['one', 'two', 'three']);
  await broadcast.disconnect();
  t.deepEqual(await other.next(), { done: true, value: undefined });
});

test('memory: messages wait in the buffer until the subscriber iterates', async (t) => {
  const broadcast = await memory();
  const sub = await broadcast.subscribe('c');
  const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
  for (const text of sent) await broadcast.publish('c', text);
  const got: string[] = [];
  for await (const { message } of sub) {
    got.push(message);
    if (got.length === sent.length) break;
  }
  t.deepEqual(got, sent);
  await broadcast.disconnect();
});

test('memory: unsubscribe ends the iteration after what was buffered, and stops delivery', async (t) => {
  const broadcast = await memory();
  const sub = await broadcast.subscribe('c');
  const stays = await broadcast.subscribe('c');
  await broadcast.publish('c', 'before');
  await sub.unsubscribe();
  await sub.unsubscribe(); // twice is fine
  await broadcast.publish('c', 'after');
  const got: string[] = [];
  for await (const { message } of sub) got.push(message);
  t.deepEqual(got, ['before']);
  t.deepEqual(messages(await take(stays, 2)), ['before', 'after']);
  await broadcast.disconnect();
});

test('memory: a pending read resolves as done when the subscription ends', async (t) => {
  const broadcast = await memory();
  const sub = await broadcast.subscribe('c');
  const pending = sub.next();
  await sub.unsubscribe();
  t.deepEqual(await pending, { done: true, value: undefined });
  const other = await broadcast.subscribe('c');
  const waiting = other.next();
  await broadcast.disconnect();
  t.deepEqual(await waiting, { done: true, value: undefined });
});

test('memory: leaving a for await loop early unsubscribes', async (t) => {
  const broadcast = await memory();
  const sub = await broadcast.subscribe('c');
  await broadcast.publish('c', 'one');
  await broadcast.publish('c', 'two');
  for await (const event of sub) {
    t.is(event.message, 'one');
    break;
  }
  await broadcast.publish('c', 'three');
  // 'two' was buffered before the loop left; 'three' came after and is not delivered.
  t.deepEqual(messages(await take(sub, 1)), ['two']);
  t.deepEqual(await sub.next(), { done: true, value: undefined });
  await broadcast.disconnect();
});

test('memory: two Broadcast instances are separate rooms', async (t) => {
  const a = await memory();
  const b = await memory();
  const sub = await b.subscribe('c');
  await a.publish('c', 'from a');
  await b.publish('c', 'from b');
  t.deepEqual(messages(await take(sub, 1)), ['from b']);
  await Promise.all([a.disconnect(), b.disconnect()]);
});

test('publish and subscribe before connect() and after disconnect() say to connect first', async (t) => {
  const broadcast = new Broadcast('memory://');
  t.false(broadcast.isConnected);
  await t.throwsAsync(broadcast.publish('c', 'x'), { message: /not connected.*call connect\(\) first/ });
  await t.throwsAsync(broadcast.subscribe('c'), { message: /not connected/ });
  await broadcast.connect();
  await broadcast.connect(); // a second connect() does nothing
  t.true(broadcast.isConnected);
  await broadcast.disconnect();
  await broadcast.disconnect();
  t.false(broadcast.isConnected);
  await t.throwsAsync(broadcast.publish('c', 'x'), { message: /not connected/ });
  await broadcast.connect(); // and it connects again
  const sub = await broadcast.subscribe('c');
  await broadcast.publish('c', 'again');
  t.deepEqual(messages(await take(sub, 1)), ['again']);
  await broadcast.disconnect();
});

test('connect() called twice at once connects once', async (t) => {
  const broadcast = new Broadcast('memory://');
  await Promise.all([broadcast.connect(), broadcast.connect()]);
  t.true(broadcast.isConnected);
  await broadcast.disconnect();
});

test('the constructor takes memory://, redis:// and rediss:// without connecting', (t) => {
  for (const url of ['memory://', 'redis://localhost:6379/0', new URL('rediss://:pw@example.com:6380')])
    t.false(new Broadcast(url).isConnected);
});

test('the constructor refuses a URL scheme it has no backend for', (t) => {
  t.throws(() => new Broadcast('kafka://localhost:9092'), {
    instanceOf: TypeError,
    message: 'Unsupported broadcast URL kafka://localhost:9092: use memory:// or redis://host:port',
  });
  t.throws(() => new Broadcast('not a url'), { instanceOf: TypeError });
});

test('publish refuses a message that is not a string', async (t) => {
  const broadcast = await memory();
  const notString = { text: 'hi' } as unknown as string;
  await t.throwsAsync(broadcast.publish('c', notString), {
    instanceOf: TypeError,
    message: /JSON\.stringify/,
  });
  await broadcast.disconnect();
});

// ---- the optional peer ----

test('importing starlingjs and starlingjs/broadcast never loads redis; connecting without it says what to install', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-broadcast-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A resolve hook that makes 'redis' resolve from a directory without node_modules: as if not installed.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier !== 'redis') return next(specifier, context);
    return next(specifier, { ...context, parentURL: 'file:///nonexistent/app.mjs' });
  }`;
  writeFileSync(
    join(dir, 'no-redis.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});\n`,
  );
  const src = (path: string) => JSON.stringify(fileURLToPath(new URL(`../src/${path}`, import.meta.url)));
  const script = `
    await import(${src('index.ts')});
    const { Broadcast } = await import(${src('broadcast/index.ts')});
    const memory = new Broadcast('memory://');
    await memory.connect();
    await memory.disconnect();
    const broadcast = new Broadcast('redis://127.0.0.1:6379');
    try { await broadcast.connect(); console.log('connected?'); } catch (e) { console.log(e.message); }
  `;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', join(dir, 'no-redis.mjs'), '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 20_000 },
  );
  t.is(result.stderr, '');
  t.is(
    result.stdout.trim(),
    "starlingjs/broadcast (redis:// URLs) needs the 'redis' package, which is not installed. Install it with: npm install redis",
  );
});

// ---- redis:// against a real redis-server ----

const redisTest = redisTestFor('broadcast.spec');

let shared: Promise<RedisServer> | undefined;
const sharedRedis = () => (shared ??= startRedis());

/** Two instances on one Redis, as two workers would have. */
async function pair(url: string): Promise<[Broadcast, Broadcast]> {
  const a = new Broadcast(url);
  const b = new Broadcast(url);
  await Promise.all([a.connect(), b.connect()]);
  return [a, b];
}

redisTest("redis: two Broadcast instances see each other's messages", async (t) => {
  const [a, b] = await pair((await sharedRedis()).url);
  const subA = await a.subscribe('room');
  const subB = await b.subscribe('room');
  await a.publish('room', 'from a');
  t.deepEqual(await take(subA, 1), [{ channel: 'room', message: 'from a' }]);
  t.deepEqual(await take(subB, 1), [{ channel: 'room', message: 'from a' }]);
  await b.publish('room', 'from b');
  t.deepEqual(messages(await take(subA, 1)), ['from b']);
  t.deepEqual(messages(await take(subB, 1)), ['from b']);
  await Promise.all([a.disconnect(), b.disconnect()]);
});

redisTest(
  'redis: once subscribe() resolves, every later message arrives, buffered, in publish order',
  async (t) => {
    const [a, b] = await pair((await sharedRedis()).url);
    const sub = await b.subscribe('ordered');
    const sent = Array.from({ length: 300 }, (_, i) => `m${i}`);
    // No pause between the subscription and the first publish: the subscription is confirmed.
    await Promise.all(sent.map((text) => a.publish('ordered', text)));
    t.deepEqual(messages(await take(sub, sent.length)), sent);
    await Promise.all([a.disconnect(), b.disconnect()]);
  },
);

redisTest(
  'redis: local subscribers share a channel; leaving and rejoining at once keeps delivery',
  async (t) => {
    const [a, b] = await pair((await sharedRedis()).url);
    const first = await b.subscribe('shared');
    const second = await b.subscribe('shared');
    await a.publish('shared', 'both');
    // Published is not yet delivered, over Redis: 'both' reached this process once `second` has it.
    t.deepEqual(messages(await take(second, 1)), ['both']);
    await first.unsubscribe();
    await a.publish('shared', 'second only');
    t.deepEqual(messages(await take(second, 1)), ['second only']);
    t.deepEqual(messages(await take(first, 1)), ['both']);
    t.deepEqual(await first.next(), { done: true, value: undefined });

    // The last one leaves and a new one joins without waiting: the engine sees them in order.
    const leaving = second.unsubscribe();
    const third = await b.subscribe('shared');
    await leaving;
    await a.publish('shared', 'third');
    t.deepEqual(messages(await take(third, 1)), ['third']);
    await Promise.all([a.disconnect(), b.disconnect()]);
  },
);

redisTest('redis: disconnect() ends every subscription, and connect() works again', async (t) => {
  const [a, b] = await pair((await sharedRedis()).url);
  const one = await b.subscribe('x');
  const two = await b.subscribe('y');
  const waiting = one.next();
  await b.disconnect();
  t.deepEqual(await waiting, { done: true, value: undefined });
  t.deepEqual(await two.next(), { done: true, value: undefined });
  await b.connect();
  const again = await b.subscribe('x');
  await a.publish('x', 'back');
  t.deepEqual(messages(await take(again, 1)), ['back']);
  await Promise.all([a.disconnect(), b.disconnect()]);
});

redisTest(
  'redis: disconnect() while a subscription awaits its confirmation rejects that subscribe()',
  async (t) => {
    const broadcast = new Broadcast((await sharedRedis()).url);
    await broadcast.connect();
    const pending = broadcast.subscribe('unconfirmed');
    await broadcast.disconnect();
    await t.throwsAsync(pending, { message: 'Broadcast disconnected while subscribing to "unconfirmed"' });
  },
);

redisTest('redis: a lost connection fails the iterations and later calls with a clear error', async (t) => {
  const server = await startRedis();
  const [a, b] = await pair(server.url);
  const sub = await b.subscribe('c');
  const probe = await b.subscribe('c');
  await a.publish('c', 'before');
  t.deepEqual(messages(await take(probe, 1)), ['before']); // so `sub` has it buffered too
  const waiting = probe.next();
  server.process.kill('SIGKILL');
  const lost = new RegExp(`^Broadcast lost its connection to redis://127\\.0\\.0\\.1:\\d+/?: `);
  await t.throwsAsync(waiting, { message: lost });
  t.false(b.isConnected);
  await t.throwsAsync(b.publish('c', 'after'), { message: lost });
  await t.throwsAsync(b.subscribe('c'), { message: lost });
  // What arrived before the loss is still read first; then the error, once; then the end.
  t.deepEqual(messages(await take(sub, 1)), ['before']);
  await t.throwsAsync(sub.next(), { message: lost });
  t.deepEqual(await sub.next(), { done: true, value: undefined });
  await b.disconnect();
  await a.disconnect();
});

redisTest('redis: a command the server refuses rejects that call, and the connection stays up', async (t) => {
  // An ACL user that may subscribe but not publish or unsubscribe: the server answers NOPERM.
  const { url } = await sharedRedis();
  const admin = createClient({ url });
  await admin.connect();
  await admin.sendCommand([
    'ACL',
    'SETUSER',
    'limited',
    'on',
    '>pw',
    '~*',
    '&*',
    '+@all',
    '-publish',
    '-unsubscribe',
  ]);
  await admin.close();
  const broadcast = new Broadcast(url.replace('redis://', 'redis://limited:pw@'));
  await broadcast.connect();
  await t.throwsAsync(broadcast.publish('acl', 'x'), { message: /^NOPERM/ });
  const sub = await broadcast.subscribe('acl');
  await t.throwsAsync(sub.unsubscribe(), { message: /^NOPERM/ });
  t.true(broadcast.isConnected);
  await broadcast.disconnect();
});

redisTest('redis: connecting where no server listens rejects clearly, password hidden', async (t) => {
  const port = await freePort();
  const broadcast = new Broadcast(`redis://:s3cret@127.0.0.1:${port}`);
  const error = await t.throwsAsync(broadcast.connect(), {
    message: new RegExp(
      `^Broadcast could not connect to redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED`,
    ),
  });
  t.false(error?.message.includes('s3cret'));
  t.false(broadcast.isConnected);
  await broadcast.disconnect();
});
