// Soak: mixed load with faults against one Starling process (bench/servers/soak-app.mjs), then checks.
// Usage: node bench/soak.mjs [--seconds 60] [--concurrency 32]   (`npm run soak` builds dist/ first)
//
// For the whole run, at once:
// - good clients: GET /ok and /json, POST /echo, GET /stream read whole, on keep-alive connections;
// - handlers that throw (/throw → 500) and send twice (/double → the first answer, whole);
// - clients that vanish: mid-request on a long-polling handler (/hang, by FIN or by reset) and
//   mid-stream (/stream);
// - garbage: connections that send random bytes.
// Asserted at the end: no good request lost or wrong; every hanging handler was told its client
// left; every stream's generator ended; RSS within +20 % of its size after the warm-up; file
// descriptors back to where they were at idle. Exits 1 if any check fails. The warm-up (a third of
// the run, before it) is not counted.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyPort } from './ready.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('seconds', 60);
const concurrency = arg('concurrency', 32);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

const child = spawn('node', [join(here, 'servers/soak-app.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
// The failing handlers' tracebacks are expected: counted, not printed (the first few are kept).
let logged = 0;
const firstLogs = [];
child.stderr.on('data', (d) => {
  for (const line of String(d).split('\n')) {
    if (line.startsWith('ERROR:')) logged++;
    else if (line.trim() && !/^\s+at /.test(line) && firstLogs.length < 6) firstLogs.push(line);
  }
});
const port = await readyPort(child, 'soak-app');
const base = `http://127.0.0.1:${port}`;
const tally = { good: 0, lost: 0, wrong: 0, thrown: 0, doubled: 0, vanished: 0, cutStreams: 0, garbage: 0 };
const problems = [];

async function good(path, init, expect) {
  try {
    const res = await fetch(base + path, init);
    const body = await res.text();
    if (res.status === 200 && expect(body)) tally.good++;
    else {
      tally.wrong++;
      if (problems.length < 10) problems.push(`${path}: ${res.status} ${body.slice(0, 80)}`);
    }
  } catch (err) {
    tally.lost++;
    if (problems.length < 10) problems.push(`${path}: ${err.cause?.code ?? err.message}`);
  }
}

const goodKinds = [
  () => good('/ok', undefined, (b) => b === 'ok'),
  () => good('/json', undefined, (b) => b === '{"ok":true,"items":[1,2,3]}'),
  () => {
    const body = randomBytes(1 + Math.floor(Math.random() * 4000)).toString('hex');
    return good('/echo', { method: 'POST', body }, (b) => b === body);
  },
  () => good('/stream', undefined, (b) => b.split('\n').length === 21),
];

async function faulty() {
  const roll = Math.random();
  if (roll < 0.2) {
    const res = await fetch(`${base}/throw`);
    await res.text();
    if (res.status === 500) tally.thrown++;
    else problems.push(`/throw answered ${res.status}`);
  } else if (roll < 0.35) {
    const res = await fetch(`${base}/double`);
    if ((await res.text()) === 'once') tally.doubled++;
    else problems.push('/double lost its first answer');
  } else if (roll < 0.65) {
    // Asks a long-polling handler, then leaves without reading (FIN or reset).
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /hang HTTP/1.1\r\nHost: soak\r\n\r\n');
    await sleep(20 + Math.random() * 200);
    if (Math.random() < 0.5) socket.end();
    else socket.resetAndDestroy();
    tally.vanished++;
  } else if (roll < 0.85) {
    // Reads the first chunk of a stream, then leaves.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /stream HTTP/1.1\r\nHost: soak\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    tally.cutStreams++;
  } else {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(randomBytes(1 + Math.floor(Math.random() * 2000)));
    await sleep(10);
    socket.destroy();
    tally.garbage++;
  }
}

async function worker(until, faultShare) {
  while (Date.now() < until) {
    if (Math.random() < faultShare) await faulty().catch((err) => problems.push(`fault: ${err.message}`));
    else await goodKinds[Math.floor(Math.random() * goodKinds.length)]();
  }
}

let ok = true;
const check = (passed, line) => {
  ok &&= passed;
  console.log(`${passed ? 'ok  ' : 'FAIL'} ${line}`);
};

try {
  await sleep(300);
  const idleFds = fds(child.pid);
  // Warm-up: a third of the run (at least 5 s) of the same mix, then RSS is taken as the baseline. V8
  // grows its heap to a steady size over the first ~15 s of this mix (heapUsed after a GC stays
  // ~5 MiB; the reserve is what grows), and the bound is about what comes after.
  const warm = Math.max(5, seconds / 3) * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => worker(Date.now() + warm, 0.2)));
  const baseline = rssKiB(child.pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(child.pid))), 500);
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, () => worker(started + seconds * 1000, 0.2)));
  clearInterval(sampler);
  const end = rssKiB(child.pid);
  // Every vanished client is noticed within a second or so; the keep-alive timeout (5 s) closes
  // the good clients' idle connections.
  await sleep(6000);
  const stats = await (await fetch(`${base}/stats`, { headers: { connection: 'close' } })).json();
  await sleep(500);
  const afterFds = fds(child.pid);

  console.log(
    `soak: ${seconds} s, ${concurrency} clients; ${tally.good} good requests, ${tally.thrown} throwing, ` +
      `${tally.doubled} double-sending, ${tally.vanished} vanished mid-request, ${tally.cutStreams} cut ` +
      `mid-stream, ${tally.garbage} garbage connections; ${logged} handler errors logged by the server`,
  );
  for (const line of firstLogs) console.log(`     server: ${line}`);
  check(tally.lost === 0 && tally.wrong === 0, `good requests lost: ${tally.lost}, wrong: ${tally.wrong}`);
  for (const p of problems) console.log(`     ${p}`);
  check(
    stats.told === stats.hanging,
    `hanging handlers told their client left: ${stats.told} of ${stats.hanging}`,
  );
  check(stats.streamsEnded === stats.streams, `stream generators ended: ${stats.streamsEnded} of ${stats.streams}`);
  check(
    end <= baseline * 1.2 && peak <= baseline * 1.2,
    `RSS after warm-up ${(baseline / 1024).toFixed(1)} MiB, peak ${(peak / 1024).toFixed(1)} MiB, ` +
      `end ${(end / 1024).toFixed(1)} MiB (bound +20 %)`,
  );
  check(afterFds <= idleFds, `file descriptors: ${idleFds} at idle, ${afterFds} after the run`);
} finally {
  child.kill('SIGINT');
}
process.exit(ok ? 0 : 1);
