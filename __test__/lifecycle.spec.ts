import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));

function runScript(source: string): { status: number | null; stdout: string; ms: number } {
  const dir = mkdtempSync(join(tmpdir(), 'starling-lifecycle-'));
  const file = join(dir, 'script.mts');
  writeFileSync(file, source.replaceAll('STARLING', JSON.stringify(index)));
  const started = Date.now();
  const res = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 20_000 });
  return { status: res.status, stdout: res.stdout, ms: Date.now() - started };
}

test('a TestClient left started does not keep the process alive', (t) => {
  const res = runScript(`
    import { Starling, Route, PlainTextResponse, TestClient } from STARLING;
    const app = new Starling({ routes: [new Route('/', () => new PlainTextResponse('hi'))] });
    const client = new TestClient(app);
    await client.start();
    console.log((await client.get('/')).text);
  `);
  t.is(res.status, 0);
  t.is(res.stdout.trim(), 'hi');
});

test('a listening server keeps the process alive until it is closed', (t) => {
  const res = runScript(`
    import { serve, PlainTextResponse } from STARLING;
    const server = await serve(new PlainTextResponse('up'), { port: 0, accessLog: false, lifespan: 'off' });
    setTimeout(async () => {
      console.log(await (await fetch(server.url)).text());
      await server.close();
    }, 300);
  `);
  t.is(res.status, 0);
  t.is(res.stdout.trim(), 'up');
  t.true(res.ms >= 300);
});

test('a close that cuts an unfinished in-memory connection ends it and lets the process exit', (t) => {
  const res = runScript(`
    import { serve, PlainTextResponse } from STARLING;
    const server = await serve(new PlainTextResponse('x'), {
      memory: true,
      accessLog: false,
      lifespan: 'off',
      timeoutGracefulShutdown: 0.2,
    });
    const socket = server.connect();
    socket.write('GET / HTTP/1.1\\r\\nHost: x\\r\\n'); // a head that never ends
    const ended = new Promise((resolve) => socket.on('end', resolve));
    socket.resume();
    await server.close();
    await ended;
    console.log('ended');
  `);
  t.is(res.status, 0);
  t.is(res.stdout.trim(), 'ended');
});

test('worker threads serve on their own loop, and one that ends with its server open leaves cleanly', (t) => {
  const worker = fileURLToPath(new URL('fixtures/serve-in-worker.mjs', import.meta.url));
  const res = runScript(`
    import { Worker } from 'node:worker_threads';
    import { Starling, Route, PlainTextResponse, serve } from STARLING;
    const ports = [];
    for (const close of [true, false]) {
      const worker = new Worker(${JSON.stringify(worker)}, { workerData: close });
      const port = await new Promise((r) => worker.once('message', r));
      console.log(await (await fetch('http://127.0.0.1:' + port + '/')).text());
      worker.postMessage('stop');
      console.log('worker exit', await new Promise((r) => worker.once('exit', r)));
      ports.push(port);
    }
    // The worker that never closed its server released its port with its runtime.
    console.log(await fetch('http://127.0.0.1:' + ports[1] + '/').then(() => 'served', () => 'refused'));
    const main = await serve(new Starling({ routes: [new Route('/', () => new PlainTextResponse('main'))] }), {
      port: 0,
      accessLog: false,
    });
    console.log(await (await fetch(main.url + '/')).text());
    await main.close();
  `);
  t.is(res.status, 0);
  t.deepEqual(res.stdout.trim().split('\n'), [
    'worker',
    'worker exit 0',
    'worker',
    'worker exit 0',
    'refused',
    'main',
  ]);
});
