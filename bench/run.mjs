// The benchmark: wrk against Starling and its peers in one run, interleaved, medians reported.
// Server pinned to core 0, wrk (1 thread) to core 1. Prints req/s, p99, ratio to node:http and
// JS-thread µs per request (read from /proc for the server's main thread).
// Usage: node bench/run.mjs [--duration 5] [--rounds 3] [--only starling-asgi,node-http] [--connections 64]
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const duration = Number(arg('duration', 5));
const rounds = Number(arg('rounds', 3));
const connections = Number(arg('connections', 64));
const servers = {
  'starling-app': ['node', [join(here, 'servers/starling-app.mjs')]],
  'starling-asgi': ['node', [join(here, 'servers/starling-asgi.mjs')]],
  'node-http': ['node', [join(here, 'servers/node-http.mjs')]],
  fastify: ['node', [join(here, 'servers/fastify.mjs')]],
  uws: ['node', [join(here, 'servers/uws.mjs')]],
};
const only = arg('only', Object.keys(servers).join(',')).split(',');
const cases = [
  { name: 'plaintext', path: '/plaintext', pipeline: false },
  { name: 'json', path: '/json', pipeline: false },
  { name: 'plaintext-pipelined-16', path: '/plaintext', pipeline: true },
];

function jsThreadTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

async function start(name) {
  const [cmd, args] = servers[name];
  const child = spawn('taskset', ['-c', '0', cmd, ...args], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, STARLING_IO_THREADS: process.env.STARLING_IO_THREADS ?? '1' },
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
  // `taskset` execs the command, so the pid is the server's.
  return { child, port };
}

function wrk(port, c) {
  const args = ['-c', '1', 'wrk', '-t1', `-c${connections}`, `-d${duration}s`, '--latency'];
  if (c.pipeline) args.push('-s', join(here, 'pipeline.lua'));
  args.push(`http://127.0.0.1:${port}${c.path}`);
  if (c.pipeline) args.push('--', c.path);
  const out = execFileSync('taskset', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = p99raw ? Number(p99raw[1]) * { us: 0.001, ms: 1, s: 1000 }[p99raw[2]] : NaN;
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  return { rps, p99, total, errors: Number(errors ?? 0) };
}

const results = {};
for (let round = 0; round < rounds; round++) {
  for (const name of only) {
    const { child, port } = await start(name);
    try {
      for (const c of cases) {
        wrk(port, { ...c, pipeline: false, path: c.path }); // warm-up on the same path (short)
        const before = jsThreadTicks(child.pid);
        const r = wrk(port, c);
        const jsUs = ((jsThreadTicks(child.pid) - before) * TICK_US) / Math.max(1, r.total);
        (results[c.name] ??= {})[name] ??= [];
        results[c.name][name].push({ ...r, jsUs });
        console.error(
          `round ${round + 1} ${c.name} ${name}: ${r.rps.toFixed(0)} req/s p99 ${r.p99}ms js ${jsUs.toFixed(2)}µs`,
        );
      }
    } finally {
      child.kill('SIGKILL');
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let md = `| case | server | req/s | p99 ms | JS-thread µs/req | × node:http |\n|---|---|---|---|---|---|\n`;
for (const [cname, byServer] of Object.entries(results)) {
  const base = byServer['node-http'] ? median(byServer['node-http'].map((r) => r.rps)) : NaN;
  for (const [sname, rs] of Object.entries(byServer)) {
    const rps = median(rs.map((r) => r.rps));
    md += `| ${cname} | ${sname} | ${rps.toFixed(0)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${median(rs.map((r) => r.jsUs)).toFixed(2)} | ${(rps / base).toFixed(2)} |\n`;
  }
}
console.log(md);
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'latest.md'), md);
writeFileSync(join(here, 'out', 'latest.json'), JSON.stringify(results, null, 2));
