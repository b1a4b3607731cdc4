// Memory of the HTTP server: RSS per idle keep-alive connection, and RSS across ~1M requests.
// Usage: node bench/memory.mjs [--connections 1000] [--seconds 15]   (needs `npm run build:ts` and wrk)
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyPort } from './ready.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const connections = arg('connections', 1000);
const seconds = arg('seconds', 15);
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const child = spawn('node', [join(here, 'servers/starling-asgi.mjs')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await readyPort(child, 'starling-asgi');
try {
  // Warm up so the first-request allocations are not counted as per-connection cost.
  execFileSync('wrk', ['-t1', '-c16', '-d2s', `http://127.0.0.1:${port}/plaintext`]);
  await sleep(500);
  const before = rssKiB(child.pid);
  const sockets = [];
  for (let i = 0; i < connections; i++) {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    sockets.push(socket);
  }
  // Right after the last request the newest connections still hold hyper's session; past the park
  // delay (1 s idle, crates/core/src/connection/lifecycle.rs) every connection has parked.
  const perConnection = (kib) =>
    `RSS +${kib - before} KiB, ${((kib - before) / connections).toFixed(2)} KiB each`;
  await sleep(200);
  const fresh = rssKiB(child.pid);
  await sleep(1800);
  const idle = rssKiB(child.pid);
  for (const s of sockets) s.destroy();
  console.log(
    `idle keep-alive connections: ${connections}, 0.2 s after the last request ${perConnection(fresh)}`,
  );
  console.log(
    `idle keep-alive connections: ${connections}, 2 s after the last request (parked) ${perConnection(idle)}`,
  );

  const samples = [];
  let total = 0;
  for (let i = 0; i < 3; i++) {
    const out = execFileSync('wrk', ['-t1', '-c64', `-d${seconds}s`, `http://127.0.0.1:${port}/plaintext`], {
      encoding: 'utf8',
    });
    total += Number(/(\d+) requests in/.exec(out)[1]);
    samples.push(rssKiB(child.pid));
  }
  console.log(
    `RSS after each third of ${total} requests: ${samples.map((k) => `${(k / 1024).toFixed(1)} MiB`).join(', ')}`,
  );
} finally {
  child.kill('SIGKILL');
}
