// WebSocket benchmark: Starling vs the `ws` package's server, same run, interleaved rounds, medians.
// Each server is pinned to core 0; the load generator (this file with --client, the `ws` client) to core 1.
// Measures, with --connections clients: echo round trips/s with one message in flight on each client
// (it sends, waits for the echo, repeats) and with 16 (--inflight), one-way messages/s (the server
// pushes to every client as fast as they read), and the server's RSS per idle connection (VmRSS
// before/after opening --idle connections).
// Echo load comes from bench/wsload (Go, one epoll thread, built here when `go` is installed): the `ws`
// client in Node tops out near 70k round trips/s on one core, about what both servers serve, so with
// it the table measured the client. Without Go, the Node client is used and the table says so.
// Usage: node bench/ws.mjs [--duration 5] [--rounds 3] [--connections 100] [--idle 1000] [--payload 32]
//                          [--inflight 16] [--only starling,ws]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { readyPort } from './ready.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const duration = Number(arg('duration', 5));
const rounds = Number(arg('rounds', 3));
const connections = Number(arg('connections', 100));
const idle = Number(arg('idle', 1000));
const payloadBytes = Number(arg('payload', 32));
const deepInflight = Number(arg('inflight', 16));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- load generator (runs in its own process, pinned to core 1) ----

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function connectMany(url, n) {
  const out = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Math.min(100, n - i);
    out.push(...(await Promise.all(Array.from({ length: batch }, () => connect(url)))));
  }
  return out;
}

async function closeAll(sockets) {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', resolve);
          ws.close();
          setTimeout(() => (ws.terminate(), resolve()), 2000).unref();
        }),
    ),
  );
}

async function echoLoad(base) {
  const sockets = await connectMany(`${base}/echo`, connections);
  const message = 'x'.repeat(payloadBytes);
  let counting = false;
  let count = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', () => {
      if (counting) count++;
      if (running) ws.send(message);
    });
    ws.send(message);
  }
  await sleep(1000); // warm-up
  counting = true;
  console.log('T0'); // the parent reads the server's CPU time at T0 and T1
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(duration * 1000);
  counting = false;
  console.log('T1');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const clientBusy = (cpu.user + cpu.system) / 1e6 / seconds;
  running = false;
  await closeAll(sockets);
  return { count, perSecond: count / seconds, clientBusy };
}

async function pushLoad(base) {
  const sockets = await connectMany(`${base}/push`, connections);
  let counting = false;
  let count = 0;
  for (const ws of sockets) {
    ws.on('message', () => {
      if (counting) count++;
    });
    ws.send('go');
  }
  await sleep(1000); // warm-up
  counting = true;
  console.log('T0'); // the parent reads the server's CPU time at T0 and T1
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(duration * 1000);
  counting = false;
  console.log('T1');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const clientBusy = (cpu.user + cpu.system) / 1e6 / seconds;
  for (const ws of sockets) ws.terminate();
  return { count, perSecond: count / seconds, clientBusy };
}

async function idleLoad(base) {
  const sockets = await connectMany(`${base}/echo`, idle);
  console.log('OPEN');
  // Holds them until the parent has read the server's RSS and writes a line.
  await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
  await closeAll(sockets);
  return { opened: sockets.length };
}

if (process.argv.includes('--client')) {
  const base = `ws://127.0.0.1:${arg('port')}`;
  const mode = arg('client');
  const result = await { echo: echoLoad, push: pushLoad, idle: idleLoad }[mode](base);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

// ---- orchestrator ----

const servers = {
  starling: ['node', [join(here, 'servers/ws-starling.mjs')]],
  ws: ['node', [join(here, 'servers/ws-ws.mjs')]],
};
const only = arg('only', Object.keys(servers).join(',')).split(',');
const env = {
  ...process.env,
  PUSH_BYTES: String(payloadBytes),
  WS_DEFLATE: '0',
};

async function start(name) {
  const [cmd, args] = servers[name];
  const child = spawn('taskset', ['-c', '0', cmd, ...args], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const port = await readyPort(child, name);
  return { child, port }; // `taskset` execs the command: the pid is the server's
}

async function stop(child) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const cpuTicks = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
/** The compiled echo client's path, built on first use; null without a Go toolchain. */
function buildEchoClient() {
  const out = join(here, 'out', 'wsload');
  try {
    execFileSync('go', ['build', '-o', out, '.'], { cwd: join(here, 'wsload'), stdio: 'ignore' });
    return out;
  } catch {
    return null;
  }
}
const echoClient = process.argv.includes('--client') ? null : buildEchoClient();

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/**
 * Runs the load generator on core 1. `onLine` sees each line it prints (OPEN, T0, T1); for `idle` the
 * connections are closed once the callback for OPEN has finished.
 */
function client(mode, port, onLine = () => {}, inflight = 1) {
  let command;
  if (mode === 'echo' && echoClient) {
    const args = ['-addr', `127.0.0.1:${port}`, '-path', '/echo', '-connections', connections];
    args.push('-inflight', inflight, '-payload', payloadBytes, '-duration', duration);
    command = [echoClient, ...args.map(String)];
  } else {
    if (mode === 'echo' && inflight !== 1) throw new Error('--inflight needs the compiled client (Go)');
    const args = ['--client', mode, '--port', port, '--duration', duration, '--connections', connections];
    args.push('--idle', idle, '--payload', payloadBytes);
    command = [process.execPath, fileURLToPath(import.meta.url), ...args.map(String)];
  }
  const child = spawn('taskset', ['-c', '1', ...command], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, GOMAXPROCS: '1' },
  });
  return new Promise((resolve, reject) => {
    let result;
    createInterface({ input: child.stdout }).on('line', async (line) => {
      if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7));
      else await onLine(line);
      if (line === 'OPEN') child.stdin.write('close\n');
    });
    child.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`client ${mode} exited ${code}`)),
    );
  });
}

/** Counts the server's CPU time (all threads) between the client's T0 and T1 lines. */
function cpuWindow(pid) {
  const w = { ticks: 0, start: 0, busy: 0 };
  let t0 = 0;
  w.onLine = (line) => {
    if (line === 'T0') [w.start, t0] = [cpuTicks(pid), performance.now()];
    if (line === 'T1') {
      w.ticks = cpuTicks(pid) - w.start;
      w.busy = (w.ticks * TICK_US) / 1000 / (performance.now() - t0);
    }
  };
  return w;
}

async function measure(name) {
  const { child, port } = await start(name);
  try {
    await client('echo', port); // warm-up: JIT, pools
    const rssBefore = rssKiB(child.pid);
    let rssAfter = 0;
    await client('idle', port, async (line) => {
      if (line !== 'OPEN') return;
      await sleep(1000);
      rssAfter = rssKiB(child.pid);
    });
    const echoCpu = cpuWindow(child.pid);
    const echo = await client('echo', port, echoCpu.onLine);
    const deepCpu = cpuWindow(child.pid);
    const deep = echoClient ? await client('echo', port, deepCpu.onLine, deepInflight) : null;
    const pushCpu = cpuWindow(child.pid);
    const push = await client('push', port, pushCpu.onLine);
    return {
      echo: echo.perSecond,
      push: push.perSecond,
      // µs of server CPU (every thread) per round trip / per pushed message: less sensitive than
      // throughput to other load on the machine.
      echoCpuUs: (echoCpu.ticks * TICK_US) / echo.count,
      // How much of core 0 the server used: below ~0.95 the client, not the server, set the pace.
      serverBusyEcho: echoCpu.busy,
      deep: deep?.perSecond ?? NaN,
      deepCpuUs: deep ? (deepCpu.ticks * TICK_US) / deep.count : NaN,
      serverBusyDeep: deepCpu.busy,
      clientBusyDeep: deep?.clientBusy ?? NaN,
      pushCpuUs: (pushCpu.ticks * TICK_US) / push.count,
      clientBusyEcho: echo.clientBusy,
      clientBusyPush: push.clientBusy,
      rssPerConnKiB: (rssAfter - rssBefore) / idle,
      rssBaseMiB: rssBefore / 1024,
    };
  } finally {
    await stop(child);
  }
}

const results = Object.fromEntries(only.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? [...only].reverse() : only;
  for (const name of order) {
    const r = await measure(name);
    results[name].push(r);
    console.error(`round ${round + 1} ${name}: ${JSON.stringify(r)}`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = (name, key) => median(results[name].map((r) => r[key]));
const fmt = (x) => Math.round(x).toLocaleString('en-US');
const ratio = (name, key) => (results.ws ? `${(med(name, key) / med('ws', key)).toFixed(2)}×` : '–');
console.log(
  `${connections} clients, ${payloadBytes}-byte text messages, ${duration}s per measure, median of ${rounds} rounds; ` +
    `RSS per connection over ${idle} idle connections; echo load from ` +
    (echoClient
      ? `bench/wsload (Go), ${deepInflight} in flight in "echo ×${deepInflight}".`
      : 'the Node `ws` client.') +
    ' Busy: the share of its core each side used (below ~0.95 on the server: the client set the pace).\n',
);
console.log(
  `| server | echo ×1 round trips/s | vs ws | server CPU µs/round trip | busy server / client | echo ×${deepInflight} round trips/s | vs ws | server CPU µs/round trip | push messages/s | vs ws | server CPU µs/message | RSS/idle conn (KiB) | vs ws | base RSS (MiB) |`,
);
console.log(
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const name of only) {
  const cells = [
    fmt(med(name, 'echo')),
    ratio(name, 'echo'),
    med(name, 'echoCpuUs').toFixed(1),
    `${med(name, 'serverBusyEcho').toFixed(2)} / ${med(name, 'clientBusyEcho').toFixed(2)}`,
    fmt(med(name, 'deep')),
    ratio(name, 'deep'),
    med(name, 'deepCpuUs').toFixed(1),
    fmt(med(name, 'push')),
    ratio(name, 'push'),
    med(name, 'pushCpuUs').toFixed(2),
    med(name, 'rssPerConnKiB').toFixed(1),
    ratio(name, 'rssPerConnKiB'),
    med(name, 'rssBaseMiB').toFixed(0),
  ];
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
