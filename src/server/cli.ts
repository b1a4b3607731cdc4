#!/usr/bin/env node
/**
 * `starling MODULE:ATTR [options]`: uvicorn's command line for Starling apps.
 *
 * @example
 * ```sh
 * npx starling examples/hello.js:app --port 8000 --workers 2
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ASGIApp } from '../asgi.ts';
import { serve, type ServeOptions } from './serve.ts';

const USAGE = `Usage: starling MODULE:ATTR [options]

Options:
  --host TEXT                  Bind socket to this host (default 127.0.0.1)
  --port INT                   Bind socket to this port (default 8000; 0 = any free port)
  --uds PATH                   Bind to a Unix domain socket
  --workers INT                Number of worker processes (default 1)
  --reload                     Restart when files under the current directory change
  --log-level LEVEL            critical|error|warning|info|debug|trace (default info)
  --no-access-log              Disable the access log
  --root-path TEXT             ASGI root_path for apps mounted below a prefix
  --proxy-headers              Trust X-Forwarded-Proto/For from --forwarded-allow-ips
  --forwarded-allow-ips TEXT   Comma-separated trusted proxy IPs (default 127.0.0.1)
  --timeout-keep-alive INT     Close idle keep-alive connections after this many seconds (default 5)
  --timeout-header-read INT    Bound on reading a request head, in seconds (default 30)
  --timeout-graceful-shutdown INT  Seconds to wait for in-flight requests on shutdown
  --limit-concurrency INT      Requests in flight before answering 503
  --limit-max-requests INT     Stop after this many requests
  --backlog INT                Listen backlog (default 2048)
  --max-body-size INT          Largest request body in bytes (413 past it)
  --lifespan auto|on|off       Lifespan protocol handling (default auto)
  --ssl-certfile PATH          TLS certificate (not yet supported by the core)
  --ssl-keyfile PATH           TLS key
  --help                       Show this message`;

/** Parsed command line. */
export interface CliArgs {
  target: string;
  options: ServeOptions;
  reload: boolean;
}

const NUMERIC: Record<string, keyof ServeOptions> = {
  '--port': 'port',
  '--workers': 'workers',
  '--timeout-keep-alive': 'timeoutKeepAlive',
  '--timeout-header-read': 'timeoutHeaderRead',
  '--timeout-graceful-shutdown': 'timeoutGracefulShutdown',
  '--limit-concurrency': 'limitConcurrency',
  '--limit-max-requests': 'limitMaxRequests',
  '--backlog': 'backlog',
  '--max-body-size': 'maxBodySize',
  '--max-header-size': 'maxHeaderSize',
  '--max-header-count': 'maxHeaderCount',
};
const TEXT: Record<string, keyof ServeOptions> = {
  '--host': 'host',
  '--uds': 'uds',
  '--root-path': 'rootPath',
  '--log-level': 'logLevel',
  '--forwarded-allow-ips': 'forwardedAllowIps',
  '--lifespan': 'lifespan',
};

/** Parses argv (without `node cli.js`); throws with a message fit for the user. */
export function parseArgs(argv: string[]): CliArgs {
  const options: Record<string, unknown> = {};
  let target: string | undefined;
  let reload = false;
  let certFile: string | undefined;
  let keyFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const [flag, inline] =
      raw.startsWith('--') && raw.includes('=') ? raw.split(/=(.*)/s, 2) : [raw, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    else if (flag === '--reload') reload = true;
    else if (flag === '--no-access-log') options.accessLog = false;
    else if (flag === '--access-log') options.accessLog = true;
    else if (flag === '--proxy-headers') options.proxyHeaders = true;
    else if (flag === '--no-proxy-headers') options.proxyHeaders = false;
    else if (flag === '--ssl-certfile') certFile = value();
    else if (flag === '--ssl-keyfile') keyFile = value();
    else if (flag! in NUMERIC) {
      const n = Number(value());
      if (!Number.isFinite(n)) throw new Error(`${flag} takes a number`);
      options[NUMERIC[flag!]!] = n;
    } else if (flag! in TEXT) options[TEXT[flag!]!] = value();
    else if (flag!.startsWith('-')) throw new Error(`unknown option ${flag}\n\n${USAGE}`);
    else if (target) throw new Error(`unexpected argument ${flag}`);
    else target = flag;
  }
  if (!target) throw new Error(USAGE);
  if (certFile || keyFile) options.ssl = { certFile: certFile ?? '', keyFile: keyFile ?? '' };
  return { target, options: options as ServeOptions, reload };
}

/** Imports `path/to/module.js:attr` (attr defaults to `app`) relative to the working directory. */
export async function loadApp(target: string): Promise<ASGIApp> {
  const colon = target.lastIndexOf(':');
  const [file, attr] = colon > 1 ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'app'];
  const url = pathToFileURL(isAbsolute(file) ? file : resolve(process.cwd(), file)).href;
  const mod = (await import(url)) as Record<string, unknown>;
  let app: unknown = mod;
  for (const part of attr.split('.')) app = (app as Record<string, unknown> | undefined)?.[part];
  if (typeof app !== 'function' && typeof (app as { asgi?: unknown } | undefined)?.asgi !== 'function') {
    throw new Error(`Attribute "${attr}" not found in module "${file}" or it is not an ASGI app.`);
  }
  return app as ASGIApp;
}

function runWithReload(argv: string[]): void {
  const args = argv.filter((a) => a !== '--reload');
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: 'inherit' });
  };
  start();
  console.error(`INFO:     Will watch for changes in ${process.cwd()}`);
  watch(process.cwd(), { recursive: true }, (_event, name) => {
    if (!name || /node_modules|\.git|dist[\\/]/.test(name) || !/\.(m?[jt]s|json)$/.test(name)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      console.error(`WARNING:  Detected change in '${name}'. Reloading...`);
      child?.once('exit', start);
      child?.kill('SIGTERM');
    }, 100);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      child?.kill(signal);
      process.exit(0);
    });
  }
}

/** Runs the CLI. */
export async function main(argv: string[]): Promise<void> {
  let parsed: CliArgs;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  if (parsed.reload) return runWithReload(argv);
  const app = await loadApp(parsed.target);
  const server = await serve(app, parsed.options);
  if (server.url) console.error(`INFO:     Starling running on ${server.url} (Press CTRL+C to quit)`);
  const stop = () => {
    console.error('INFO:     Shutting down');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
