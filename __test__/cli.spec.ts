// The command line: flags parsed in-process, and each of --env-file, --app-dir, --factory, --use-colors
// and --log-config through the real CLI in a child process (a free port, bounded waits, killed at the end).
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, resolveLogging } from '../src/server/cli.ts';
import { formatLine, parseLogConfig } from '../src/server/logging.ts';

const CLI = fileURLToPath(new URL('../src/server/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const ESC = '\x1b[';
const ACCESS = /"GET \/ HTTP\/1\.1" 200/;
const hasScript = spawnSync('script', ['--version']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'starling-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const ASGI = `async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(body) });
}`;
// The greeting is read when the module is imported: the env file must be loaded before that.
writeFileSync(
  join(dir, 'app.mjs'),
  "const { GREETING = 'unset', KEPT } = process.env;\n" +
    'const body = KEPT ? `${GREETING} / kept=${KEPT}` : GREETING;\n' +
    `export const app = ${ASGI};\n`,
);
mkdirSync(join(dir, 'nested'));
writeFileSync(join(dir, 'nested', 'inner.mjs'), `const body = 'from nested';\nexport const app = ${ASGI};\n`);
writeFileSync(
  join(dir, 'factory.mjs'),
  `export let calls = 0;\nexport const notAFactory = 1;\n` +
    `export async function createApp() {\n  const body = 'made by factory ' + ++calls;\n  return { asgi: ${ASGI} };\n}\n` +
    'export const notAnApp = () => 42;\n',
);
writeFileSync(join(dir, 'greeting.env'), '# comment\nGREETING="hello from the env file"\nKEPT=file\n');
const config = (name: string, json: unknown) => {
  writeFileSync(join(dir, name), JSON.stringify(json));
  return name;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  /** stdout and stderr as they came, together. */
  output: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir): Run {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves with the exit code, killing the process if it outlives `ms`. */
async function finish(run: Run, ms = 20_000): Promise<number | null> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  const code = await run.exited;
  clearTimeout(timer);
  return code;
}

/**
 * The port the CLI says it listens on, once it says so (it must log at info level). Tests that count
 * on every request reaching this server give it `--port 0`: a port picked free beforehand could be
 * taken by a server of another test file meanwhile (the CLI would then fail to bind it, or with
 * `reusePort` share its connections).
 */
async function listeningPort(run: Run, ms = 20_000): Promise<number> {
  const deadline = Date.now() + ms;
  let exited = false;
  void run.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const said = /running on \S*http:\/\/127\.0\.0\.1:(\d+)/.exec(run.output());
    if (said) return Number(said[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the CLI did not say where it listens:\n${run.output()}`);
}

async function waitListening(port: number, run: Run, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void run.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the CLI did not listen on ${port}:\n${run.output()}`);
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.once('error', reject);
  });
}

/** Serves with `args`, asks for `/` once, stops the server (SIGTERM), and returns what it said. */
async function serveOnce(args: string[], env?: NodeJS.ProcessEnv): Promise<{ body: string; output: string }> {
  const port = await freePort();
  const run = start([...args, '--port', String(port)], env);
  try {
    await waitListening(port, run);
    const body = await get(port);
    await new Promise((r) => setTimeout(r, 100)); // the access line is written after the response
    run.child.kill('SIGTERM');
    await finish(run, 10_000);
    return { body, output: run.output() };
  } finally {
    run.child.kill('SIGKILL');
  }
}

// ---- flags, in-process ----

test('parseArgs reads the new flags', (t) => {
  const args = parseArgs([
    'app.mjs:make',
    '--factory',
    '--app-dir',
    'src',
    '--env-file=.env.local',
    '--log-config',
    'log.json',
    '--no-use-colors',
  ]);
  t.like(args, { target: 'app.mjs:make', factory: true, appDir: 'src', envFile: '.env.local' });
  t.is(args.logConfig, 'log.json');
  t.is(args.useColors, false);
  t.is(parseArgs(['a.js', '--use-colors']).useColors, true);
  t.is(parseArgs(['a.js']).useColors, undefined);
  t.throws(() => parseArgs(['a.js', '--log-level', 'loud']), { message: /--log-level takes one of/ });
});

test('a log line has uvicorn level prefix, its name coloured only when asked', (t) => {
  t.is(formatLine('info', 'hi', false), 'INFO:     hi');
  t.is(formatLine('warning', 'hi', false), 'WARNING:  hi');
  t.is(formatLine('critical', 'hi', false), 'CRITICAL: hi');
  t.is(formatLine('info', 'hi', true), '\x1b[32mINFO\x1b[0m:     hi');
  t.is(formatLine('error', 'hi', true), '\x1b[31mERROR\x1b[0m:    hi');
});

test('a log config sets the levels of starling.error and starling.access, uvicorn names included', (t) => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  t.deepEqual(parseLogConfig({ version: 1, loggers: { 'starling.access': { level: 'WARNING' } } }, warn), {
    accessLevel: 'warning',
  });
  t.deepEqual(parseLogConfig({ version: 1, loggers: { uvicorn: { level: 10 } } }, warn), {
    level: 'debug',
    accessLevel: 'debug',
  });
  t.deepEqual(
    parseLogConfig(
      {
        version: 1,
        loggers: {
          'uvicorn.error': { level: 'error' },
          'uvicorn.access': { handlers: [], propagate: false },
        },
      },
      warn,
    ),
    { level: 'error', accessLog: false },
  );
  t.deepEqual(warnings, []);
});

test('a log config that sends lines elsewhere than stderr, or is malformed, is refused', (t) => {
  const warn = () => {};
  const refuse = (config: unknown, message: RegExp) =>
    t.throws(() => parseLogConfig(config, warn), { message });
  refuse(
    { version: 1, handlers: { access: { stream: 'ext://sys.stdout' } } },
    /"ext:\/\/sys.stdout".*stderr/,
  );
  refuse(
    { version: 1, handlers: { f: { class: 'logging.FileHandler', filename: 'a.log' } } },
    /the file "a.log"/,
  );
  refuse({ version: 1, handlers: { n: { class: 'logging.NullHandler' } } }, /"logging.NullHandler"/);
  refuse({ loggers: {} }, /"version": 1/);
  refuse({ version: 1, loggers: { starling: { level: 'LOUD' } } }, /loggers.starling.level must be one of/);
  refuse({ version: 1, loggers: { starling: { handlers: ['nowhere'] } } }, /"nowhere"/);
});

test('a log config says once which keys it ignores', (t) => {
  const warnings: string[] = [];
  const result = parseLogConfig(
    {
      version: 1,
      disable_existing_loggers: false,
      formatters: { default: { '()': 'uvicorn.logging.DefaultFormatter', use_colors: false } },
      handlers: { default: { class: 'logging.StreamHandler', formatter: 'default', level: 'DEBUG' } },
      loggers: { myapp: { level: 'DEBUG' } },
      root: {},
    },
    (m) => warnings.push(m),
  );
  t.deepEqual(result, { colors: false });
  t.is(warnings.length, 1);
  for (const key of ['formatters.default.()', 'handlers.default.level', 'loggers.myapp', 'root'])
    t.true(warnings[0]!.includes(key), key);
});

test('--log-level and --no-access-log win over the file; serve() gets what the access log needs', (t) => {
  const tty = { isTTY: false } as NodeJS.WriteStream;
  const resolve = (argv: string[], file: Parameters<typeof resolveLogging>[1]) =>
    resolveLogging(parseArgs(['a.js', ...argv]), file, tty);
  t.like(resolve([], {}), { level: 'info', colors: false, options: { logLevel: 'info', accessLog: true } });
  t.like(resolve([], { accessLevel: 'warning' }).options, { accessLog: false });
  t.like(resolve(['--log-level', 'debug'], { accessLevel: 'warning' }).options, {
    logLevel: 'debug',
    accessLog: true,
  });
  t.like(resolve(['--no-access-log'], {}).options, { accessLog: false });
  t.like(resolve(['--log-level', 'warning', '--access-log'], {}).options, { accessLog: false });
  // starling.error at WARNING, access at INFO: the CLI's own lines are quiet, access lines still come.
  t.like(resolve([], { level: 'warning' }), {
    level: 'warning',
    options: { logLevel: 'info', accessLog: true },
  });
  t.like(resolve(['--use-colors'], { colors: false }), { colors: true });
});

// ---- the real CLI ----

test('--env-file loads the file before the app is imported; variables already set win', async (t) => {
  const { body, output } = await serveOnce(['app.mjs:app', '--env-file', 'greeting.env'], { KEPT: 'outer' });
  t.is(body, 'hello from the env file / kept=outer');
  t.regex(output, /INFO: {5}Loading environment from 'greeting.env'/);
});

test('--env-file naming no file stops the CLI before it serves', async (t) => {
  const run = start(['app.mjs:app', '--env-file', 'missing.env', '--port', '0']);
  // Node itself scans argv for --env-file and exits 9 on a missing file; a runtime that does not gets ours.
  t.not(await finish(run), 0);
  t.regex(run.output(), /missing\.env/);
  t.notRegex(run.output(), /running on/);
});

test('--app-dir resolves the module from that directory', async (t) => {
  const { body, output } = await serveOnce(['--app-dir', 'nested', 'inner.mjs:app']);
  t.is(body, 'from nested');
  t.regex(output, /Starling running on http:\/\/127\.0\.0\.1:\d+/);

  const without = start(['inner.mjs:app', '--port', '0']);
  t.is(await finish(without), 3);
  t.regex(without.output(), /ERROR: {4}Error loading ASGI app\. Could not import module "inner\.mjs"/);
});

test('--factory calls the named function (awaiting it) once and serves what it returns', async (t) => {
  const { body } = await serveOnce(['factory.mjs:createApp', '--factory']);
  t.is(body, 'made by factory 1');

  const notAFunction = start(['factory.mjs:notAFactory', '--factory', '--port', '0']);
  t.is(await finish(notAFunction), 3);
  t.regex(notAFunction.output(), /Error loading ASGI app factory\. .*"notAFactory".* is not a function/);
});

test('an attribute that is missing or not an app, or a factory that returns no app, exits 3 naming it', async (t) => {
  const missing = start(['app.mjs:nope', '--port', '0']);
  t.is(await finish(missing), 3);
  t.regex(missing.output(), /Attribute "nope" not found in module "app\.mjs" or it is not an ASGI app/);
  const notAnApp = start(['factory.mjs:notAnApp', '--factory', '--port', '0']);
  t.is(await finish(notAnApp), 3);
  t.regex(notAnApp.output(), /The factory "notAnApp" of module "factory\.mjs" did not return an ASGI app/);
});

test('--workers 2 forks two processes on a port the primary picks; one that dies is replaced; SIGTERM stops all', async (t) => {
  writeFileSync(join(dir, 'pid.mjs'), `const body = String(process.pid);\nexport const app = ${ASGI};\n`);
  const run = start(['pid.mjs:app', '--workers', '2', '--port', '0', '--no-access-log']);
  try {
    let port = 0;
    for (let i = 0; i < 200 && port === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      port = Number(/Started 2 workers on port (\d+)/.exec(run.output())?.[1] ?? 0);
    }
    t.not(port, 0, run.output());
    const pid = Number(await get(port));
    t.not(pid, run.child.pid);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 200 && !run.output().includes(`Worker ${pid} died`); i++)
      await new Promise((r) => setTimeout(r, 100));
    t.regex(run.output(), new RegExp(`WARNING: {2}Worker ${pid} died; starting another\\.`));
    t.truthy(await get(port)); // still served
    run.child.kill('SIGTERM');
    t.is(await finish(run, 10_000), 0);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('--reload restarts the server when a file under the working directory changes', async (t) => {
  const cwd = join(dir, 'reload');
  mkdirSync(cwd);
  const write = (body: string) =>
    writeFileSync(
      join(cwd, 'app.mjs'),
      `const body = ${JSON.stringify(body)};\nexport const app = ${ASGI};\n`,
    );
  write('before');
  const port = await freePort();
  const run = start(['app.mjs:app', '--reload', '--port', String(port), '--no-access-log'], {}, cwd);
  try {
    await waitListening(port, run);
    t.is(await get(port), 'before');
    write('after');
    let body = '';
    for (let i = 0; i < 200 && body !== 'after'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      body = await get(port).catch(() => '');
    }
    t.is(body, 'after');
    t.regex(run.output(), /WARNING: {2}Detected change in 'app\.mjs'\. Reloading\.\.\./);
    run.child.kill('SIGTERM');
    t.is(await finish(run, 10_000), 0);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('--use-colors colours the level names; piped output is plain by default and with --no-use-colors', async (t) => {
  const coloured = await serveOnce(['app.mjs:app', '--use-colors']);
  t.true(coloured.output.includes('\x1b[32mINFO\x1b[0m:     Starling running on \x1b[1mhttp://'));
  // The core's access lines too: the request line bold, a 2xx status green.
  t.regex(
    coloured.output,
    /\x1b\[32mINFO\x1b\[0m: {5}\S+ - "\x1b\[1mGET \S+ HTTP\/1\.1\x1b\[0m" \x1b\[32m200\x1b\[0m/,
  );
  for (const args of [[], ['--no-use-colors']]) {
    const plain = await serveOnce(['app.mjs:app', ...args]);
    t.regex(plain.output, /^INFO: {5}Starling running on/m);
    t.regex(plain.output, ACCESS);
    t.false(plain.output.includes(ESC));
  }
});

test('the access line colours each status class and names the HTTP version; a Unix socket client is "-"', async (t) => {
  writeFileSync(
    join(dir, 'statuses.mjs'),
    'export const app = async (scope, receive, send) => {\n' +
      "  if (scope.type !== 'http') return;\n" +
      '  const status = Number(scope.path.slice(1)) || 200;\n' +
      "  await send({ type: 'http.response.start', status, headers: [['content-length', '0']] });\n" +
      "  await send({ type: 'http.response.body', body: new Uint8Array(0) });\n" +
      '};\n',
  );
  const run = start(['statuses.mjs:app', '--use-colors', '--port', '0']);
  const uds = join(dir, 'access.sock');
  const plain = start(['statuses.mjs:app', '--no-use-colors', '--uds', uds]);
  try {
    const port = await listeningPort(run);
    for (const path of ['/301', '/404', '/503']) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) =>
          res.resume().on('end', resolve),
        );
        req.setTimeout(5000, () => req.destroy(new Error('timed out')));
        req.once('error', reject);
      });
    }
    const old = net.connect(port, '127.0.0.1');
    old.write('GET /204 HTTP/1.0\r\n\r\n');
    await new Promise((resolve) => old.resume().once('close', resolve));
    const session = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) => {
      const stream = session.request({ ':path': '/202' });
      stream.once('error', reject).resume().once('end', resolve);
    });
    session.close();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !run.output().includes('/202 HTTP/2'))
      await new Promise((r) => setTimeout(r, 50));
    const line = (target: string, version: string, shade: number, status: number) =>
      `"${ESC}1mGET ${target} HTTP/${version}${ESC}0m" ${ESC}${shade}m${status}${ESC}0m`;
    const output = run.output();
    t.true(output.includes(line('/301', '1.1', 33, 301)), output);
    t.true(output.includes(line('/404', '1.1', 31, 404)), output);
    t.true(output.includes(line('/503', '1.1', 91, 503)), output);
    t.true(output.includes(line('/204', '1.0', 32, 204)), output);
    t.true(output.includes(line('/202', '2', 32, 202)), output);

    const waitUds = Date.now() + 20_000;
    while (Date.now() < waitUds && !plain.output().includes('running on'))
      await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ socketPath: uds, path: '/200', agent: false }, (res) =>
        res.resume().on('end', resolve),
      );
      req.setTimeout(5000, () => req.destroy(new Error('timed out')));
      req.once('error', reject);
    });
    const udsDeadline = Date.now() + 10_000;
    while (Date.now() < udsDeadline && !plain.output().includes('/200 HTTP'))
      await new Promise((r) => setTimeout(r, 50));
    t.regex(plain.output(), /INFO: {5}- - "GET \/200 HTTP\/1\.1" 200/);
    // Stopped gracefully, so that they exit (and an instrumented addon writes its counts).
    run.child.kill('SIGTERM');
    plain.child.kill('SIGTERM');
    await Promise.all([finish(run, 10_000), finish(plain, 10_000)]);
  } finally {
    run.child.kill('SIGKILL');
    plain.child.kill('SIGKILL');
  }
});

test('on a terminal the level names are coloured unless --no-use-colors', async (t) => {
  if (!hasScript) return t.pass('no util-linux `script` to make a terminal');
  for (const [flags, coloured] of [
    [[], true],
    [['--no-use-colors'], false],
  ] as const) {
    const command = [
      process.execPath,
      '--import',
      TSX,
      CLI,
      'app.mjs:app',
      '--port',
      0,
      '--limit-max-requests',
      1,
      ...flags,
    ]
      .map((a) => `'${String(a)}'`)
      .join(' ');
    // `script` gives the CLI a terminal; after one request the server closes and the CLI exits.
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      // Node's hasColors() also says no under `CI` (unless it names a known CI) and NODE_DISABLE_COLORS.
      env: {
        ...process.env,
        TERM: 'xterm-256color',
        FORCE_COLOR: undefined,
        NO_COLOR: undefined,
        NODE_DISABLE_COLORS: undefined,
        CI: undefined,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const run: Run = { child, output: () => output, exited: new Promise((r) => child.once('exit', r)) };
    try {
      const port = await listeningPort(run);
      t.is(await get(port), 'unset');
      await finish(run);
    } finally {
      child.kill('SIGKILL');
    }
    t.regex(output, /running on/);
    t.is(output.includes('\x1b[32mINFO\x1b[0m:'), coloured, output);
  }
});

test('--log-config: starling.access above INFO turns the access log off', async (t) => {
  const file = config('quiet-access.json', {
    version: 1,
    loggers: { 'starling.access': { level: 'WARNING' } },
  });
  const { body, output } = await serveOnce(['app.mjs:app', '--log-config', file]);
  t.is(body, 'unset');
  t.regex(output, /Starling running on/);
  t.notRegex(output, ACCESS);
  // --log-level sets every logger, as uvicorn's does.
  t.regex((await serveOnce(['app.mjs:app', '--log-config', file, '--log-level', 'info'])).output, ACCESS);
});

test('--log-config: starling.error at WARNING quiets the CLI but keeps the access log', async (t) => {
  const file = config('quiet-error.json', { version: 1, loggers: { 'uvicorn.error': { level: 'WARNING' } } });
  const { output } = await serveOnce(['app.mjs:app', '--log-config', file]);
  t.notRegex(output, /running on/);
  t.regex(output, ACCESS);
});

test('--log-config: a handler writing elsewhere than stderr stops the CLI with status 2', async (t) => {
  const file = config('stdout.json', {
    version: 1,
    handlers: { access: { class: 'logging.StreamHandler', stream: 'ext://sys.stdout' } },
    loggers: { 'uvicorn.access': { handlers: ['access'] } },
  });
  const run = start(['app.mjs:app', '--log-config', file, '--port', '0']);
  t.is(await finish(run), 2);
  t.regex(run.output(), /handlers\.access writes to "ext:\/\/sys\.stdout"/);
});

test('--log-config: the example of docs/server.md is accepted as it stands', async (t) => {
  const page = readFileSync(new URL('../docs/server.md', import.meta.url), 'utf8');
  const example = /```json\n([\s\S]*?)\n```/.exec(page)?.[1];
  t.truthy(example, 'docs/server.md has a ```json log config');
  writeFileSync(join(dir, 'docs-example.json'), example!);
  const { body, output } = await serveOnce(['app.mjs:app', '--log-config', 'docs-example.json']);
  t.is(body, 'unset');
  t.notRegex(output, /ignored|ERROR/);
});

test('the command runs when started through a symlink, as npm links it into node_modules/.bin', (t) => {
  const link = join(dir, 'starling-link.ts');
  symlinkSync(CLI, link);
  const result = spawnSync(process.execPath, ['--import', TSX, link, '--help'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.regex(result.stdout + result.stderr, /Usage: starling MODULE:ATTR/);
  t.regex(result.stdout + result.stderr, /--max-header-count INT/);
});

test("the README's command serves examples/hello.js", async (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { body } = await serveOnce(['--app-dir', root, 'examples/hello.js:app']);
  t.is(body, '{"hello":"world"}');
});
