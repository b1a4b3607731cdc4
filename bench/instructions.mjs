// Instructions per request, counted by valgrind's callgrind: `npm run bench:instructions`.
//
// This VM's wall clock and CPU time swing ±20 % between runs of the same binary, which hides any change
// under a few per cent. Instructions executed in user space do not swing: the same build serving the
// same requests runs the same count, give or take the JIT. So this runs one server under callgrind,
// warms it up, zeroes the counters, sends exactly N keep-alive requests (one in flight on each of C
// connections), and reports the user-space instructions per request, split by where they ran: the
// addon (Rust: hyper, tokio, the bridge), node (V8's runtime and builtins, GC, N-API, libuv), code the
// JIT compiled (the framework's and the app's JavaScript), libc (memcpy, malloc of V8's buffers) and
// the dynamic loader (thread-local lookups of the addon). The kernel's share (loopback TCP, about half
// of the CPU per request in `npm run bench`) is not counted: callgrind sees user space only.
//
// Usage: node bench/instructions.mjs [--server starling-app|starling-asgi|<path to a .mjs>]
//          [--path /plaintext] [--requests 20000] [--warmup 20000] [--connections 16] [--top 25]
//          [--ws] [--pipeline 1]
// --pipeline N keeps N requests in flight on each connection (sent together, the next N once all N
// are answered), as `npm run bench`'s pipelined case does with 16.
// --ws counts WebSocket echo round trips instead (32-byte text messages to --path, one in flight on
// each connection): `--server ws-starling --path /echo --ws`, or `--server ws-ws` for the `ws` package.
// Needs valgrind (Debian's package). Serves dist/: `npm run build:ts` first (the npm script does).
// STARLING_NATIVE_PATH picks the addon (a build with symbols names the Rust functions in --top).
// CALLGRIND_BUS=1 also counts atomic (bus-locking) instructions, CALLGRIND_SIM=1 simulates the caches and
// branch prediction; read them in the kept profile (CALLGRIND_KEEP=1) with `callgrind_annotate --show=Ge`
// (or D1mr, Bcm…).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readyPort } from './ready.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    server: { type: 'string', default: 'starling-app' },
    path: { type: 'string', default: '/plaintext' },
    requests: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '16' },
    top: { type: 'string', default: '25' },
    ws: { type: 'boolean', default: false },
    pipeline: { type: 'string', default: '1' },
  },
});
const requests = Number(opts.requests);
const server = opts.server.endsWith('.mjs')
  ? isAbsolute(opts.server)
    ? opts.server
    : resolve(opts.server)
  : join(here, 'servers', `${opts.server}.mjs`);

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not installed (apt-get install valgrind)');
  process.exit(2);
}

/** Sends exactly `total` GET requests over `conns` keep-alive connections, one in flight on each. */
async function load(port, total, conns) {
  const request = Buffer.from(`GET ${opts.path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
  const depth = Number(opts.pipeline);
  let sent = 0;
  let answered = 0;
  const one = () =>
    new Promise((done, fail) => {
      const socket = net.connect(port, '127.0.0.1');
      let pending = Buffer.alloc(0);
      let inFlight = 0;
      const next = () => {
        if (inFlight > 0) return;
        if (sent >= total) return void socket.end();
        const n = Math.min(depth, total - sent);
        sent += n;
        inFlight = n;
        socket.write(n === 1 ? request : Buffer.concat(Array.from({ length: n }, () => request)));
      };
      socket.on('connect', next);
      socket.on('data', (data) => {
        pending = Buffer.concat([pending, data]);
        for (;;) {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = pending.subarray(0, end).toString('latin1');
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (pending.length < end + 4 + length) return;
          if (!head.startsWith('HTTP/1.1 200')) fail(new Error(`unexpected answer: ${head}`));
          pending = pending.subarray(end + 4 + length);
          answered++;
          inFlight--;
          next();
        }
      });
      socket.on('close', done);
      socket.on('error', fail);
    });
  await Promise.all(Array.from({ length: conns }, one));
  if (answered !== total) throw new Error(`${answered} of ${total} requests answered`);
}

/** Sends exactly `total` WebSocket text messages over `conns` connections, each waiting for its echo. */
async function loadWebSocket(port, total, conns) {
  const { default: WebSocket } = await import('ws');
  const message = 'x'.repeat(32);
  let sent = 0;
  let answered = 0;
  const one = () =>
    new Promise((done, fail) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${opts.path}`, { perMessageDeflate: false });
      const next = () => {
        if (sent >= total) return void ws.close();
        sent++;
        ws.send(message);
      };
      ws.on('open', next);
      ws.on('message', () => {
        answered++;
        next();
      });
      ws.on('close', done);
      ws.on('error', fail);
    });
  await Promise.all(Array.from({ length: conns }, one));
  if (answered !== total) throw new Error(`${answered} of ${total} messages echoed`);
}
const drive = opts.ws ? loadWebSocket : load;

const dir = mkdtempSync(join(tmpdir(), 'starling-callgrind-'));
const child = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    ...(process.env.CALLGRIND_BUS ? ['--collect-bus=yes'] : []),
    ...(process.env.CALLGRIND_SIM ? ['--cache-sim=yes', '--branch-sim=yes'] : []),
    `--callgrind-out-file=${join(dir, 'out')}`,
    // V8 writes and rewrites machine code: valgrind must notice, or it runs stale translations.
    '--smc-check=all-non-file',
    process.execPath,
    // Perf-map names let --top name the JavaScript functions the JIT compiled.
    '--perf-basic-prof',
    server,
  ],
  { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
);
let stderr = '';
child.stderr.on('data', (d) => (stderr += d));
const control = (flag) => spawnSync('callgrind_control', [flag, String(child.pid)], { encoding: 'utf8' });
try {
  const port = await readyPort(child, opts.server, 180_000);
  await drive(port, Number(opts.warmup), Number(opts.connections));
  // A WebSocket's first close deoptimizes the handlers that never saw one, and V8 recompiles them
  // (on a worker thread, ~100 M instructions) while the next connections run: a second warm-up
  // keeps that out of the count.
  if (opts.ws) await drive(port, Number(opts.warmup), Number(opts.connections));
  control('-z');
  await drive(port, requests, Number(opts.connections));
  control('-d');
} catch (error) {
  console.error(String(error), stderr.slice(-2000));
  child.kill('SIGKILL');
  process.exit(1);
}
child.kill('SIGINT');
await new Promise((done) => child.once('exit', done));

// The dump made after the measured requests (valgrind numbers them .1, .2, …; the final one at exit
// is not wanted).
const dump = readdirSync(dir)
  .filter((f) => /^out\.\d+$/.test(f))
  .sort()[0];
const annotated = spawnSync('callgrind_annotate', ['--threshold=100', '--auto=no', join(dir, dump)], {
  encoding: 'utf8',
  maxBuffer: 1 << 28,
}).stdout;
// CALLGRIND_KEEP=1 keeps the profile for callgrind_annotate --tree=caller and the like.
if (process.env.CALLGRIND_KEEP) console.log(`profile: ${join(dir, dump)}`);
else rmSync(dir, { recursive: true, force: true });

const rows = [];
let total = 0;
for (const line of annotated.split('\n')) {
  const m = /^\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$/.exec(line);
  if (!m) continue;
  const ir = Number(m[1].replaceAll(',', ''));
  if (m[2].includes('PROGRAM TOTALS')) {
    total = ir;
    continue;
  }
  const object = /\[([^\]]*)\]\s*$/.exec(m[2])?.[1] ?? '';
  // Inclusive rows of the call chain above everything (main, thread starts) are not self costs.
  if (
    /libc-start|libc_start_call_main|\(below main\)|clone\.S|start_thread|node::Start|SpinEventLoop|NodeMainInstance::Run|\?\?\?:main |0x000000000001ab70/.test(
      m[2],
    )
  )
    continue;
  rows.push({ ir, name: m[2].replace(/\s*\[[^\]]*\]\s*$/, ''), object });
}
// Rows without an object are Rust code inlined from the standard library or a crate (their file is
// under /rustc/ or the cargo registry): the addon's.
const part = (object, name) =>
  object.endsWith('.node') ||
  object.includes('starling') ||
  (object === '' && /^(\/rustc\/|\/.*\.cargo\/|crates\/)/.test(name))
    ? 'addon (Rust)'
    : object === '???'
      ? 'JIT-compiled JavaScript'
      : object.includes('libc.so')
        ? 'libc'
        : object.includes('ld-linux')
          ? 'loader (TLS lookups)'
          : object.endsWith('/node') || object.endsWith('node')
            ? 'node (V8 runtime, builtins, GC, N-API, libuv)'
            : `other (${object})`;
const parts = new Map();
for (const row of rows) {
  const name = part(row.object, row.name);
  parts.set(name, (parts.get(name) ?? 0) + row.ir);
}

const per = (ir) => (ir / requests).toFixed(0).padStart(7);
console.log(
  `${opts.server} ${opts.path}: ${requests} requests after ${opts.warmup} of warm-up, ${opts.connections} connections`,
);
console.log(`${per(total)} instructions per ${opts.ws ? 'round trip' : 'request'} in user space`);
for (const [name, ir] of [...parts].sort((a, b) => b[1] - a[1])) console.log(`${per(ir)}  ${name}`);
console.log(`\ntop ${opts.top} functions (self):`);
for (const row of rows.sort((a, b) => b.ir - a.ir).slice(0, Number(opts.top)))
  console.log(`${per(row.ir)}  ${row.name.slice(0, 140)}`);
