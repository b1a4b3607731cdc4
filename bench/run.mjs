// The benchmark: wrk against Starling and its peers in one run, interleaved, medians reported.
// Server pinned to core 0, wrk (1 thread) to core 1. Prints req/s, p99, ratio to node:http, and CPU per
// request read from /proc: the server's main (JS) thread alone, and the whole process (all threads).
// Peers outside Node: Deno.serve and Bun.serve (binaries from the npm packages in bench/peers, installed
// on first use) and Starlette under uvicorn (in a venv at bench/.venv, made on first use). A peer whose
// install or start fails is skipped with a message; the others still run.
// Usage: node bench/run.mjs [--duration 5] [--rounds 3] [--connections 64]
//          [--only starling-app,starling-asgi,node-http,fastify,uws,deno,bun,starlette]
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyPort } from './ready.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const duration = Number(arg('duration', 5));
const rounds = Number(arg('rounds', 3));
const connections = Number(arg('connections', 64));
const versions = { node: process.version }; // filled in as peers are set up, for the report's header

// Output of a command, or null if it fails: used to probe binaries and installs.
function output(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}
// Runs a setup step with its output on stderr (stdout carries only the markdown report). Returns null
// when it succeeded, else why not.
function step(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 2, 2] });
  return r.status === 0
    ? null
    : `\`${cmd} ${args.join(' ')}\` failed: ${r.error?.message ?? `exit ${r.status}`}`;
}

// Deno and Bun: the npm packages `deno` and `bun` ship the real binaries, ~100 MB each, so they live in
// bench/peers with its own package.json and are installed here on demand, not by the root install.
// We exec the binary itself (not node_modules/.bin or deno's bin.cjs wrapper) so that the pid taskset
// starts, and /proc measures, is the server. The main package's copy is made by its postinstall; the
// platform package's path is the fallback for an npm that ran no install scripts.
const peerModules = join(here, 'peers', 'node_modules');
const bunArch = { x64: 'x64', arm64: 'aarch64' }[process.arch];
const peerBinaries = {
  deno: ['deno/deno', `@deno/linux-${process.arch}-glibc/deno`],
  bun: ['bun/bin/bun.exe', `@oven/bun-linux-${bunArch}/bin/bun`],
};
let peersInstall; // this run's one `npm install` try, shared by deno and bun: null if it succeeded
function npmPeer(name) {
  const find = () => {
    for (const rel of peerBinaries[name]) {
      const bin = join(peerModules, rel);
      const version = existsSync(bin) ? output(bin, ['--version']) : null;
      if (!version) continue;
      const line = version.split('\n')[0]; // deno prints "deno 2.9.6 (…)" and more lines, bun "1.4.4"
      return { bin, version: /^\d/.test(line) ? `${name} ${line}` : line };
    }
    return null;
  };
  let found = find();
  if (!found && peersInstall === undefined) {
    console.error('installing bench peers: npm install --prefix bench/peers --no-audit --no-fund');
    peersInstall = step('npm', ['install', '--prefix', join(here, 'peers'), '--no-audit', '--no-fund']);
    found = find();
  }
  if (!found)
    throw new Error(`no working ${name} binary in bench/peers/node_modules (${peersInstall ?? 'installed'})`);
  versions[name] = found.version;
  return found.bin;
}

// Starlette + uvicorn: a venv at bench/.venv made on demand. uvloop and httptools are uvicorn's fast
// path (its "auto" loop and parser pick them up); without them it still runs, on asyncio and h11.
// Pinned like bench/peers/package.json, so runs on different days compare the same code.
const venvPython = join(here, '.venv', 'bin', 'python');
const PY_REQUIRED = ['starlette==1.10.0', 'uvicorn==0.54.0'];
const PY_FAST = ['uvloop==0.23.0', 'httptools==0.9.0'];
const PY_VERSIONS = `import sys, importlib.metadata as m
def v(p):
    try: return f"{p} {m.version(p)}"
    except m.PackageNotFoundError: return f"{p} absent"
print(f"python {sys.version.split()[0]} (" + ", ".join(map(v, ["starlette", "uvicorn", "uvloop", "httptools"])) + ")")`;
function pythonPeer() {
  const ready = () => output(venvPython, ['-c', 'import starlette, uvicorn']) !== null;
  if (!ready()) {
    if (output('python3', ['--version']) === null)
      throw new Error('no usable python3 (`python3 --version` failed)');
    console.error('creating bench/.venv: python3 -m venv, pip install starlette uvicorn uvloop httptools');
    const pip = (pkgs) =>
      step(venvPython, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...pkgs]);
    const failed = step('python3', ['-m', 'venv', join(here, '.venv')]) ?? pip(PY_REQUIRED);
    if (failed) throw new Error(failed);
    if (pip(PY_FAST))
      console.error('warning: uvloop/httptools did not install; uvicorn runs on asyncio + h11');
  }
  versions.python = output(venvPython, ['-c', PY_VERSIONS]) ?? 'python (version unknown)';
  return venvPython;
}

// Each entry returns how to launch that server; it runs only for servers picked by --only, so the
// peers' installs happen only when they are benchmarked.
const node = (file) => () => ({ cmd: process.execPath, args: [join(here, 'servers', file)] });
const servers = {
  'starling-app': node('starling-app.mjs'),
  'starling-asgi': node('starling-asgi.mjs'),
  'node-http': node('node-http.mjs'),
  fastify: node('fastify.mjs'),
  uws: node('uws.mjs'),
  deno: () => ({
    cmd: npmPeer('deno'),
    // --no-config: ignore any deno.json up the tree; the update check would reach for the network.
    args: ['run', '--no-config', '--allow-net=127.0.0.1', '--allow-env=PORT', join(here, 'servers/deno.ts')],
    env: { DENO_NO_UPDATE_CHECK: '1' },
  }),
  bun: () => ({ cmd: npmPeer('bun'), args: ['run', join(here, 'servers/bun.ts')] }),
  starlette: () => ({ cmd: pythonPeer(), args: [join(here, 'servers/starlette_app.py')] }),
};
const only = arg('only', Object.keys(servers).join(',')).split(',');
const unknown = only.filter((name) => !servers[name]);
if (unknown.length) throw new Error(`unknown --only ${unknown}; known: ${Object.keys(servers).join(',')}`);

const cases = [
  { name: 'plaintext', path: '/plaintext', body: 'Hello, World!', pipeline: false },
  { name: 'json', path: '/json', body: '{"message":"Hello, World!"}', pipeline: false },
  { name: 'plaintext-pipelined-16', path: '/plaintext', body: 'Hello, World!', pipeline: true },
];

// utime + stime in clock ticks, from a /proc stat file: for /proc/<pid>/task/<pid>/stat the main
// thread alone, for /proc/<pid>/stat the whole process (all its threads, live and exited).
function cpuTicks(statPath) {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

async function start(name, { cmd, args, env }) {
  // `taskset` execs the command, so the child's pid is the server's.
  const child = spawn('taskset', ['-c', '0', cmd, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  try {
    const port = await readyPort(child, name);
    // Every server must answer each route right before it is measured: wrk counts wrong answers as
    // requests too (only non-2xx statuses are flagged).
    for (const c of cases) {
      const res = await fetch(`http://127.0.0.1:${port}${c.path}`, { signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      if (res.status !== 200 || body !== c.body) throw new Error(`${name} ${c.path}: ${res.status} ${body}`);
    }
    const comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
    console.error(`${name}: pid ${child.pid} (${comm}) on port ${port}`);
    return { child, port };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
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

// Set every picked server up once, before any measurement; a peer that can't be had is skipped.
const skipped = {};
const launch = {};
for (const name of only) {
  try {
    launch[name] = servers[name]();
  } catch (error) {
    skipped[name] = error.message;
    console.error(`skipping ${name}: ${error.message}`);
  }
}

const results = {};
for (let round = 0; round < rounds; round++) {
  for (const name of Object.keys(launch)) {
    if (skipped[name]) continue;
    let server;
    try {
      server = await start(name, launch[name]);
    } catch (error) {
      skipped[name] = `failed to start: ${error.message}`;
      console.error(`skipping ${name}: ${skipped[name]}`);
      continue;
    }
    const { child, port } = server;
    const pid = child.pid;
    try {
      for (const c of cases) {
        wrk(port, { ...c, pipeline: false, path: c.path }); // warm-up on the same path
        // CPU is read around the timed run only, so start-up and warm-up are not counted.
        const js0 = cpuTicks(`/proc/${pid}/task/${pid}/stat`);
        const proc0 = cpuTicks(`/proc/${pid}/stat`);
        const r = wrk(port, c);
        const perReq = (ticks) => (ticks * TICK_US) / Math.max(1, r.total);
        const jsUs = perReq(cpuTicks(`/proc/${pid}/task/${pid}/stat`) - js0);
        const procUs = perReq(cpuTicks(`/proc/${pid}/stat`) - proc0);
        (results[c.name] ??= {})[name] ??= [];
        results[c.name][name].push({ ...r, jsUs, procUs });
        console.error(
          `round ${round + 1} ${c.name} ${name}: ${r.rps.toFixed(0)} req/s p99 ${r.p99}ms ` +
            `js ${jsUs.toFixed(2)}µs process ${procUs.toFixed(2)}µs` +
            (r.errors ? ` NON-2XX ${r.errors}` : ''),
        );
      }
    } finally {
      child.kill('SIGKILL');
    }
  }
}

// The header makes the output self-describing, ready to paste into bench/RESULTS.md.
const quote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
const command = ['node', relative(root, process.argv[1]), ...process.argv.slice(2)].map(quote).join(' ');
const viaNpm =
  process.env.npm_lifecycle_event === 'bench' ? ' (via `npm run bench`, which builds dist/ first)' : '';
const commit = output('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
const dirty = output('git', ['-C', root, 'status', '--porcelain']) ? ' with uncommitted changes' : '';
let md = `Command: \`${command}\`${viaNpm}, from the repository root.\n\n`;
md += `Date: ${new Date().toISOString()}. Commit: ${commit ?? 'unknown'}${dirty}. `;
md += `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}.\n\n`;
md += `Versions: ${Object.entries(versions)
  .map(([k, v]) => (k === 'node' ? `node ${v}` : v))
  .join('; ')}.\n\n`;
for (const [name, why] of Object.entries(skipped)) md += `Skipped ${name}: ${why}\n\n`;
md +=
  `Server pinned to core 0, wrk -t1 -c${connections} to core 1, ${duration} s per case after an equal warm-up, ` +
  `medians of ${rounds} interleaved round(s). CPU over the timed run only: JS-thread is the server's main thread ` +
  `(/proc/<pid>/task/<pid>/stat; for Starlette, Python's thread), process is every thread (/proc/<pid>/stat).\n\n`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
md += `| case | server | req/s | p99 ms | JS-thread µs/req | CPU µs/req (process) | × node:http |\n`;
md += `|---|---|---|---|---|---|---|\n`;
for (const [cname, byServer] of Object.entries(results)) {
  const base = byServer['node-http'] ? median(byServer['node-http'].map((r) => r.rps)) : NaN;
  for (const [sname, rs] of Object.entries(byServer)) {
    const rps = median(rs.map((r) => r.rps));
    const col = (key) => median(rs.map((r) => r[key])).toFixed(2);
    md += `| ${cname} | ${sname} | ${rps.toFixed(0)} | ${col('p99')} | ${col('jsUs')} | ${col('procUs')} | ${base ? (rps / base).toFixed(2) : '–'} |\n`;
  }
}
console.log(md);
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'latest.md'), md);
writeFileSync(
  join(here, 'out', 'latest.json'),
  JSON.stringify({ command, versions, skipped, results }, null, 2),
);
