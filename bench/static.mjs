// Static files and compression: Starling against @fastify/static and nginx (static GETs of 1 KiB,
// 100 KiB and 10 MiB), and Starling's GZipMiddleware against @fastify/compress (a ~100 KiB JSON body).
// Every server is pinned to core 0, wrk (1 thread) to core 1; rounds are interleaved (a fresh server
// process per round) and medians reported. Prints one markdown table and writes it, with the command,
// into bench/RESULTS.md under "## Static files and compression" (other sections are kept).
//
// Usage: node bench/static.mjs [--duration 5] [--rounds 3] [--connections 64] [--warmup 1]
//                              [--only starling,fastify,nginx,starling-gzip,...] [--no-write]
// nginx comes from the Debian package (`apt-get install -y nginx`), installed here when missing.
import { spawn, spawnSync, execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  writeFileSync,
  readFileSync,
  readdirSync,
  existsSync,
  rmSync,
  chmodSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { randomFillSync, createHash } from 'node:crypto';
import { readyPort } from './ready.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const duration = Number(arg('duration', 5));
const rounds = Number(arg('rounds', 3));
const connections = Number(arg('connections', 64));
const warmup = Number(arg('warmup', 1));
const write = !argv.includes('--no-write');

// ---------------------------------------------------------------------------------------------------
// Cleanup: every server runs in its own process group (detached), killed as a group on any exit path.
const groups = new Set();
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
  groups.delete(pid);
}
let tmp;
const clients = new Set(); // running wrk processes
function cleanup() {
  for (const child of clients) child.kill('SIGKILL');
  for (const pid of [...groups]) killGroup(pid);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error(err);
  cleanup();
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  cleanup();
  process.exit(1);
});

// ---------------------------------------------------------------------------------------------------
// Files.
tmp = mkdtempSync(join(tmpdir(), 'starling-bench-static-'));
chmodSync(tmp, 0o755); // nginx's worker runs unprivileged (nobody) when started as root
const files = [
  { name: '1 KiB', file: '1k.bin', size: 1024 },
  { name: '100 KiB', file: '100k.bin', size: 100 * 1024 },
  { name: '10 MiB', file: '10m.bin', size: 10 * 1024 * 1024 },
];
for (const f of files)
  writeFileSync(join(tmp, f.file), randomFillSync(Buffer.alloc(f.size)), { mode: 0o644 });

// ---------------------------------------------------------------------------------------------------
// nginx.
function ensureNginx() {
  const has = () => {
    try {
      execFileSync('nginx', ['-v'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return;
  console.error('nginx not found: apt-get install -y nginx');
  try {
    execFileSync('apt-get', ['install', '-y', 'nginx'], { stdio: 'inherit' });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', 'nginx'], { stdio: 'inherit' });
  }
  if (!has()) throw new Error('nginx could not be installed');
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
function nginxConfig(port) {
  // keepalive_requests: nginx closes a keep-alive connection after 1000 requests by default; hyper and
  // Node do not, so it is raised to keep the comparison on serving files, not on reconnecting.
  const conf = `worker_processes 1;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  default_type application/octet-stream;
  sendfile on;
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${tmp}/nginx-body;
  proxy_temp_path ${tmp}/nginx-proxy;
  fastcgi_temp_path ${tmp}/nginx-fastcgi;
  uwsgi_temp_path ${tmp}/nginx-uwsgi;
  scgi_temp_path ${tmp}/nginx-scgi;
  server {
    listen 127.0.0.1:${port};
    root ${tmp};
  }
}
`;
  const path = join(tmp, 'nginx.conf');
  writeFileSync(path, conf);
  return path;
}

// ---------------------------------------------------------------------------------------------------
// Servers. `prefix` is where the files live in the URL space.
const script = (file) => ['node', [join(here, 'servers', file)]];
const servers = {
  starling: {
    kind: 'static',
    cmd: script('static-starling.mjs'),
    prefix: '/static/',
    label: 'Starling StaticFiles',
  },
  fastify: {
    kind: 'static',
    cmd: ['node', [join(here, 'servers/static-fastify.mjs')]],
    prefix: '/static/',
    label: '@fastify/static',
  },
  nginx: { kind: 'static', nginx: true, prefix: '/', label: 'nginx' },
  'starling-gzip': {
    kind: 'gzip',
    cmd: script('gzip-starling.mjs'),
    label: 'Starling GZipMiddleware (level 9, default)',
  },
  'starling-gzip-l6': {
    kind: 'gzip',
    cmd: script('gzip-starling.mjs'),
    env: { GZIP_LEVEL: '6' },
    label: 'Starling GZipMiddleware (compressLevel 6)',
  },
  'fastify-gzip': {
    kind: 'gzip',
    cmd: ['node', [join(here, 'servers/gzip-fastify.mjs')]],
    label: '@fastify/compress (level 6, default)',
  },
};
const only = arg('only', Object.keys(servers).join(',')).split(',');
for (const name of only) if (!servers[name]) throw new Error(`unknown server ${name}`);
const cases = [
  ...files.map((f) => ({ name: `static ${f.name}`, kind: 'static', file: f })),
  { name: 'gzip JSON 100 KiB', kind: 'gzip', path: '/json', headers: ['Accept-Encoding: gzip'] },
];
const byBytes = (c) => c.kind === 'static' && c.file.size >= 1024 * 1024;
const pathFor = (server, c) => (c.kind === 'static' ? server.prefix + c.file.file : c.path);

function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listening on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

async function start(name) {
  const s = servers[name];
  if (s.nginx) {
    const port = await freePort();
    const conf = nginxConfig(port);
    const child = spawn(
      'taskset',
      ['-c', '0', 'nginx', '-p', tmp, '-e', join(tmp, 'nginx-error.log'), '-c', conf, '-g', 'daemon off;'],
      { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
    );
    groups.add(child.pid);
    const exited = new Promise((_, reject) =>
      child.once('exit', (code) => reject(new Error(`nginx exited ${code}`))),
    );
    await Promise.race([waitForPort(port), exited]);
    return { child, port };
  }
  const [cmd, args] = s.cmd;
  const child = spawn('taskset', ['-c', '0', cmd, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
    env: {
      ...process.env,
      ...s.env,
      STATIC_DIR: tmp,
      STARLING_NATIVE_PATH: addonCopy,
    },
  });
  groups.add(child.pid);
  const port = await readyPort(child, name);
  return { child, port };
}

async function stop({ child }) {
  const gone = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  killGroup(child.pid);
  await gone;
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting from /proc. `taskset` execs the command, so the child's pid is the server's (and for
// nginx, the master's); the whole process group is the server.
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
function statFields(path) {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
function jsThreadTicks(pid) {
  const f = statFields(`/proc/${pid}/task/${pid}/stat`);
  return Number(f[11]) + Number(f[12]); // utime + stime of the main (JS) thread
}
function groupTicks(pgid) {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = statFields(`/proc/${entry}/stat`);
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]); // all threads of the process
    } catch {}
  }
  return ticks;
}

// ---------------------------------------------------------------------------------------------------
// wrk.
const UNIT = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
async function wrk(port, path, headers, seconds) {
  // A long timeout: with 64 × 10 MiB in flight a slow server takes seconds per response, and wrk neither
  // records the latency of a request past its timeout (2 s by default) nor counts it as anything but an error.
  const args = [
    '-c',
    '1',
    'wrk',
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '30s',
    '--latency',
  ];
  for (const h of headers ?? []) args.push('-H', h);
  args.push(`http://127.0.0.1:${port}${path}`);
  // Asynchronous, so a signal (Ctrl-C) is handled at once and every server is still killed.
  const out = await new Promise((resolve, reject) => {
    const child = execFile('taskset', args, { encoding: 'utf8' }, (err, stdout) => {
      clients.delete(child);
      if (err) reject(err);
      else resolve(stdout);
    });
    clients.add(child);
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = p99raw ? Number(p99raw[1]) * { us: 0.001, ms: 1, s: 1000 }[p99raw[2]] : NaN;
  const tr = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/.exec(out);
  const mbps = tr ? (Number(tr[1]) * UNIT[tr[2]]) / 1e6 : NaN;
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const read = /requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB|TB) read/.exec(out);
  const bytes = read ? Number(read[1]) * UNIT[read[2]] : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { rps, mbps, p99: total > 0 ? p99 : NaN, total, bytes, errors: non2xx + sockErrors };
}

// ---------------------------------------------------------------------------------------------------
// One-off checks with curl: the right size and status for every file, and real gzip from both gzip peers.
const { payload } = await import('./servers/gzip-payload.mjs');
const expectedJson = JSON.stringify(payload);
function curl(url, headers = []) {
  const args = ['-s', '-D', '-', '-o', join(tmp, 'curl-body')];
  for (const h of headers) args.push('-H', h);
  args.push(url);
  const head = execFileSync('curl', args, { encoding: 'utf8' });
  return { head, body: readFileSync(join(tmp, 'curl-body')) };
}
const gzipChecks = {};
async function check(name) {
  const s = servers[name];
  const srv = await start(name);
  try {
    for (const c of cases.filter((c) => c.kind === s.kind)) {
      const url = `http://127.0.0.1:${srv.port}${pathFor(s, c)}`;
      const { head, body } = curl(url, c.headers);
      const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]);
      if (status !== 200) throw new Error(`${name} ${url}: status ${status}`);
      if (c.kind === 'static') {
        if (body.length !== c.file.size)
          throw new Error(`${name} ${url}: ${body.length} bytes, not ${c.file.size}`);
      } else {
        const encoding = /^content-encoding:\s*(\S+)/im.exec(head)?.[1];
        if (encoding !== 'gzip')
          throw new Error(`${name}: content-encoding is ${encoding ?? 'missing'}, not gzip`);
        const decoded = gunzipSync(body).toString();
        if (decoded !== expectedJson) throw new Error(`${name}: the gunzipped body is not the expected JSON`);
        gzipChecks[name] = `content-encoding: gzip, ${body.length} B on the wire for ${decoded.length} B`;
        console.error(`check ${name}: ${gzipChecks[name]}`);
      }
    }
  } finally {
    await stop(srv);
  }
}

// ---------------------------------------------------------------------------------------------------
ensureNginx();
const nginxVersion = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim(); // nginx -v prints to stderr
const loadBefore = loadavg()[0];
// What Starling was: the commit, whether src/ or crates/ had local changes, and the native addon
// (src/server/native.ts loads STARLING_NATIVE_PATH, else the source build at the package root). The addon is
// copied into the temp dir once and every Starling server loads that copy, so a build finishing
// mid-run (a shared machine) cannot give the rounds different cores.
const addonSource =
  process.env.STARLING_NATIVE_PATH ??
  join(root, `starling.${process.arch === 'x64' ? 'linux-x64-gnu' : `linux-${process.arch}-gnu`}.node`);
const addonCopy = join(tmp, 'starling.node');
copyFileSync(addonSource, addonCopy);
const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout.trim();
const starlingBuild = {
  commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
  dirty: git('status', '--porcelain', '--', 'src', 'crates') !== '',
  addon: createHash('sha256').update(readFileSync(addonCopy)).digest('hex').slice(0, 12),
};
for (const name of only) await check(name);

const results = {};
for (let round = 0; round < rounds; round++) {
  for (const name of only) {
    const s = servers[name];
    const srv = await start(name);
    try {
      for (const c of cases.filter((c) => c.kind === s.kind)) {
        const path = pathFor(s, c);
        if (warmup > 0) await wrk(srv.port, path, c.headers, warmup);
        const js0 = s.nginx ? 0 : jsThreadTicks(srv.child.pid);
        const all0 = groupTicks(srv.child.pid);
        const r = await wrk(srv.port, path, c.headers, duration);
        // Large files: few responses complete in a run (64 × 10 MiB in flight), so per-request figures
        // count the bytes delivered (wrk counts partly received bodies too) in files.
        const n = Math.max(1, byBytes(c) ? r.bytes / c.file.size : r.total);
        const jsUs = s.nginx ? NaN : ((jsThreadTicks(srv.child.pid) - js0) * TICK_US) / n;
        const cpuUs = ((groupTicks(srv.child.pid) - all0) * TICK_US) / n;
        // The share of core 0 the server used while wrk ran: well under 100 % means something else held the
        // core (a shared machine) or the client was the bottleneck.
        const cpuShare = (cpuUs * n) / (duration * 1e6);
        ((results[c.name] ??= {})[name] ??= []).push({ ...r, jsUs, cpuUs, cpuShare });
        console.error(
          `round ${round + 1} ${c.name} ${name}: ${r.rps.toFixed(0)} req/s ${r.mbps.toFixed(0)} MB/s ` +
            `p99 ${r.p99}ms js ${jsUs.toFixed(1)}µs cpu ${cpuUs.toFixed(1)}µs errors ${r.errors}`,
        );
      }
    } finally {
      await stop(srv);
    }
  }
}
const loadAfter = loadavg()[0];

// ---------------------------------------------------------------------------------------------------
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
let md =
  '| case | server | req/s | MB/s | p99 ms | JS-thread µs/req | CPU µs/req (all threads) | CPU % of core 0 | errors ' +
  '| × Fastify | × nginx | × Fastify by CPU/req | × nginx by CPU/req |\n' +
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';
for (const c of cases) {
  const byServer = results[c.name];
  if (!byServer) continue;
  // The ratios compare req/s, or MB/s for the large file (see byBytes).
  const rateOf = (r) => (byBytes(c) ? r.mbps : r.rps);
  const rpsOf = (name) => (byServer[name] ? median(byServer[name].map(rateOf)) : NaN);
  const fastifyBase = rpsOf(c.kind === 'static' ? 'fastify' : 'fastify-gzip');
  const nginxBase = c.kind === 'static' ? rpsOf('nginx') : NaN;
  // Requests per CPU-second: the throughput ratio the servers would show, each with a core to itself.
  const cpuOf = (name) => (byServer[name] ? median(byServer[name].map((r) => r.cpuUs)) : NaN);
  const fastifyCpu = cpuOf(c.kind === 'static' ? 'fastify' : 'fastify-gzip');
  const nginxCpu = c.kind === 'static' ? cpuOf('nginx') : NaN;
  for (const [name, rs] of Object.entries(byServer)) {
    const rps = median(rs.map((r) => r.rps));
    const rate = median(rs.map(rateOf));
    const errors = rs.reduce((a, r) => a + r.errors, 0);
    md +=
      `| ${c.name} | ${servers[name].label} | ${fmt(rps)} | ${fmt(median(rs.map((r) => r.mbps)))} | ` +
      `${fmt(median(rs.map((r) => r.p99)), 2)} | ${fmt(median(rs.map((r) => r.jsUs)), 1)} | ` +
      `${fmt(median(rs.map((r) => r.cpuUs)), 1)} | ${fmt(median(rs.map((r) => r.cpuShare * 100)))} | ${errors} | ` +
      `${name.startsWith('fastify') ? '—' : ratio(rate, fastifyBase)} | ` +
      `${name === 'nginx' || c.kind !== 'static' ? '—' : ratio(rate, nginxBase)} | ` +
      `${name.startsWith('fastify') ? '—' : ratio(fastifyCpu, cpuOf(name))} | ` +
      `${name === 'nginx' || c.kind !== 'static' ? '—' : ratio(nginxCpu, cpuOf(name))} |\n`;
  }
}
console.log(md);

if (write) {
  const viaNpm = process.env.npm_lifecycle_event === 'bench:static';
  const command = viaNpm
    ? `npm run bench:static${argv.length ? ` -- ${argv.join(' ')}` : ''}`
    : `node bench/static.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const section =
    `## Static files and compression\n\n` +
    `Command: \`${command}\` (${rounds} interleaved rounds × ${duration} s per case after a ${warmup} s ` +
    `warm-up, a fresh server process per round, medians; wrk -t1 -c${connections} pinned to core 1, every ` +
    `server pinned to core 0).\n\n` +
    `Files of 1 KiB, 100 KiB and 10 MiB (random bytes) in a temp dir, served by Starling ` +
    `(\`Mount('/static', StaticFiles)\`: a top-level mount is answered by the core's native static path when ` +
    `the build has it, JS-thread µs/req ≈ 0 shows it; otherwise StaticFiles in JS and \`http.response.pathsend\`), Fastify + @fastify/static (defaults) and ` +
    `${nginxVersion.replace(/^nginx version: /, '')} (Debian package, one worker process, \`sendfile on\`, ` +
    `access_log off, keepalive_requests raised to 1000000 so it does not close connections every 1000 ` +
    `requests). Gzip: a ${expectedJson.length} B JSON array of ${payload.length} objects, serialized per ` +
    `request, fetched with \`Accept-Encoding: gzip\`; Starling's \`GZipMiddleware\` (the core compresses) ` +
    `against Fastify + @fastify/compress` +
    (Object.keys(gzipChecks).length
      ? `; checked once with curl (headers, gunzipped body equal to the JSON): ` +
        Object.entries(gzipChecks)
          .map(([n, v]) => `${n} ${v}`)
          .join('; ')
      : '') +
    `.\n\n` +
    `"JS-thread µs/req" is the server's main thread's CPU time per request (from /proc); "CPU µs/req" is all ` +
    `threads of all the server's processes, and "CPU % of core 0" what the server used of its core while wrk ` +
    `ran (well under 100 %: the core was shared, or the client was the bottleneck). "× … by CPU/req" is the ` +
    `inverse ratio of CPU µs/req: the throughput ratio each server would reach with a core to itself, which ` +
    `a busy machine distorts far less than req/s. MB/s is wrk's Transfer/sec (headers included) in 10^6 B/s. ` +
    `For the 10 MiB file only a few hundred responses complete per run (64 × 10 MiB in flight), so its ` +
    `ratios compare MB/s and its per-request CPU is per 10 MiB delivered (wrk counts partly received ` +
    `bodies). ` +
    `Machine: ${process.env.RESULTS_MACHINE ?? `2 vCPUs shared with concurrent builds (1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after)`}, ` +
    `Node ${process.version}. Run on ${new Date().toISOString().slice(0, 10)}. ` +
    `Starling at ${starlingBuild.commit}${starlingBuild.dirty ? ' with uncommitted changes in src/ or crates/' : ''}, ` +
    `native addon sha256 ${starlingBuild.addon} (copied once at the start; every round loads that copy)` +
    `.\n\n` +
    md;
  const resultsPath = join(here, 'RESULTS.md');
  let doc = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '# Benchmark results\n';
  const heading = '## Static files and compression';
  const at = doc.indexOf(`\n${heading}\n`);
  if (at >= 0) {
    const next = doc.indexOf('\n## ', at + heading.length + 2);
    doc = doc.slice(0, at + 1) + section + (next >= 0 ? '\n' + doc.slice(next + 1) : '');
  } else {
    doc = doc.replace(/\n*$/, '\n\n') + section;
  }
  writeFileSync(resultsPath, doc);
  console.error(`wrote ${resultsPath}`);
}
cleanup();
