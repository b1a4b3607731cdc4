import test from 'ava';
import { BackgroundTask, BackgroundTasks } from '../src/background.ts';
import { PlainTextResponse, Response } from '../src/responses.ts';
import { TestClient } from '../src/testclient.ts';
import type { Receive, Scope, Send } from '../src/asgi.ts';

test('a background task runs after the response body is sent', async (t) => {
  const events: string[] = [];
  const app = async (scope: Scope, receive: Receive, send: Send) => {
    const task = new BackgroundTask(async (what: string) => {
      events.push(what);
    }, 'task');
    const tracked: Send = async (message) => {
      if (message.type === 'http.response.body') events.push('body');
      await send(message);
    };
    await new PlainTextResponse('ok', { background: task }).asgi(scope, receive, tracked);
  };
  const res = await new TestClient(app).get('/');
  t.is(res.text, 'ok');
  t.deepEqual(events, ['body', 'task']);
});

test('a sync function works as a background task', async (t) => {
  let total = 0;
  const task = new BackgroundTask(
    (a: number, b: number) => {
      total = a + b;
    },
    2,
    3,
  );
  const app = async (scope: Scope, receive: Receive, send: Send) =>
    new Response('x', { background: task }).asgi(scope, receive, send);
  await new TestClient(app).get('/');
  t.is(total, 5);
  t.deepEqual(task.args, [2, 3]);
});

test('background tasks run one after another in the order added', async (t) => {
  const order: number[] = [];
  const tasks = new BackgroundTasks();
  tasks.addTask(async (n: number) => {
    await new Promise((r) => setTimeout(r, 5));
    order.push(n);
  }, 1);
  tasks.addTask((n: number) => order.push(n), 2);
  tasks.addTask(async () => order.push(3));
  const app = async (scope: Scope, receive: Receive, send: Send) =>
    new Response('x', { background: tasks }).asgi(scope, receive, send);
  await new TestClient(app).get('/');
  t.deepEqual(order, [1, 2, 3]);
});

test('BackgroundTasks can start from a list of tasks', async (t) => {
  const seen: string[] = [];
  const tasks = new BackgroundTasks([new BackgroundTask(() => seen.push('a'))]);
  tasks.addTask(() => seen.push('b'));
  await tasks.run();
  t.deepEqual(seen, ['a', 'b']);
});

test('a failing background task stops the rest and its error propagates after the response', async (t) => {
  const seen: string[] = [];
  const tasks = new BackgroundTasks();
  tasks.addTask(() => {
    throw new Error('task failed');
  });
  tasks.addTask(() => seen.push('never'));
  const sent: string[] = [];
  const response = new Response('x', { background: tasks });
  const scope = { type: 'http', method: 'GET', headers: [] } as unknown as Scope;
  await t.throwsAsync(
    response.asgi(
      scope,
      async () => ({ type: 'http.disconnect' }),
      async (m) => void sent.push(m.type),
    ),
    { message: 'task failed' },
  );
  t.deepEqual(sent, ['http.response.start', 'http.response.body']);
  t.deepEqual(seen, []);
});
