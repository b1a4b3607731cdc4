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
import cluster from 'node:cluster';
import { existsSync, readFileSync, realpathSync, watch } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ASGIApp } from '../asgi.ts';
import { readEnvFile } from '../_dotenv.ts';
import {
  allows,
  bold,
  formatLine,
  LEVELS,
  parseLogConfig,
  shouldColor,
  type Level,
  type LogConfig,
} from './logging.ts';
import { serve, type ServeOptions } from './serve.ts';

const USAGE = `Usage: starling MODULE:ATTR [options]

Options:
  --host TEXT                  Bind socket to this host (default 127.0.0.1)
  --port INT                   Bind socket to this port (default 8000; 0 = any free port)
  --uds PATH                   Bind to a Unix domain socket
  --workers INT                Number of worker processes (default 1)
  --reload                     Restart when files under the current directory change
  --log-level LEVEL            critical|error|warning|info|debug|trace (default info)
  --log-config PATH            Logging configuration, a dictConfig-shaped JSON file
  --no-access-log              Disable the access log
  --use-colors / --no-use-colors  Colour log level names (default: when stderr is a terminal)
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
  --max-header-size INT        Largest request head in bytes (431 past it; default 65536)
  --max-header-count INT       Most header lines in a request head (431 past it; default 2000)
  --lifespan auto|on|off       Lifespan protocol handling (default auto)
  --ssl-certfile PATH          TLS certificate (PEM); with --ssl-keyfile, serves HTTPS
  --ssl-keyfile PATH           TLS private key (PEM)
  --env-file PATH              Load this .env file into process.env before the app is imported
  --app-dir PATH               Look for the app module in this directory (default: the working directory)
  --factory                    ATTR is a function returning the app (it may be async)
  --help                       Show this message`;

/** Parsed command line. */
export interface CliArgs {
  target: string;
  options: ServeOptions;
  reload: boolean;
  /** `--factory`: the attribute is a function that returns the app. */
  factory: boolean;
  appDir?: string;
  envFile?: string;
  logConfig?: string;
  /** `--use-colors` (true), `--no-use-colors` (false), or neither. */
  useColors?: boolean;
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
  const args: Omit<CliArgs, 'target' | 'options'> = { reload: false, factory: false };
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
    else if (flag === '--reload') args.reload = true;
    else if (flag === '--factory') args.factory = true;
    else if (flag === '--use-colors') args.useColors = true;
    else if (flag === '--no-use-colors') args.useColors = false;
    else if (flag === '--app-dir') args.appDir = value();
    else if (flag === '--env-file') args.envFile = value();
    else if (flag === '--log-config') args.logConfig = value();
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
  if (options.logLevel !== undefined && !(LEVELS as readonly unknown[]).includes(options.logLevel)) {
    throw new Error(`--log-level takes one of ${LEVELS.join(', ')}`);
  }
  if (certFile || keyFile) options.ssl = { certFile: certFile ?? '', keyFile: keyFile ?? '' };
  return { target, options: options as ServeOptions, ...args };
}

/** How the CLI logs, once the flags and `--log-config` are combined. */
export interface Logging {
  /** The options `serve()` gets, with `logLevel` and `accessLog` settled. */
  options: ServeOptions;
  /** Threshold of the CLI's own lines (`starling.error`). */
  level: Level;
  colors: boolean;
}

/** Flags win over the file, as in uvicorn: `--log-level` sets every logger, `--no-access-log` silences access. */
export function resolveLogging(
  args: CliArgs,
  file: LogConfig,
  stream: NodeJS.WriteStream = process.stderr,
): Logging {
  const flagLevel = args.options.logLevel;
  const level = flagLevel ?? file.level ?? 'info';
  const accessLevel = flagLevel ?? file.accessLevel ?? 'info';
  const accessLog = (args.options.accessLog ?? file.accessLog ?? true) && allows(accessLevel, 'info');
  // serve() writes the access log only when its logLevel lets `info` through.
  const logLevel = accessLog && !allows(level, 'info') ? 'info' : level;
  return {
    options: { ...args.options, logLevel, accessLog },
    level,
    colors: shouldColor(stream, args.useColors ?? file.colors),
  };
}

function readLogConfig(path: string, warnings: string[]): LogConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`--log-config: cannot read ${path}: ${(error as Error).message}`);
  }
  return parseLogConfig(json, (message) => warnings.push(message));
}

/** Loads `--env-file` into `process.env`; variables already set win (python-dotenv's default). */
function loadEnvFile(path: string): void {
  for (const [key, value] of Object.entries(readEnvFile(path))) process.env[key] ??= value;
}

/** A failure to load the app, reported without a stack (uvicorn's "Error loading ASGI app."). */
class LoadError extends Error {}

/** Options of `loadApp`. */
export interface LoadOptions {
  /** Directory the module path is relative to (default: the working directory). */
  appDir?: string;
  /** The attribute is a factory: call it (and await it) for the app. */
  factory?: boolean;
  /** `false`: check the factory is a function without calling it (a `--workers` supervisor). */
  call?: boolean;
}

/**
 * Imports `path/to/module.js:attr` (attr defaults to `app`; dots reach into objects), the path relative
 * to `appDir`.
 */
export async function loadApp(target: string, options: LoadOptions = {}): Promise<ASGIApp> {
  const colon = target.lastIndexOf(':');
  const [file, attr] = colon > 1 ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'app'];
  const path = resolve(process.cwd(), options.appDir ?? '', file);
  if (!existsSync(path)) throw new LoadError(`Could not import module "${file}" (no file ${path}).`);
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  let app: unknown = mod;
  for (const part of attr.split('.')) app = (app as Record<string, unknown> | undefined)?.[part];
  if (options.factory) {
    if (typeof app !== 'function') {
      throw new LoadError(
        `Attribute "${attr}" of module "${file}" is not a function, so not an app factory.`,
      );
    }
    if (options.call === false) return app as ASGIApp;
    app = await (app as () => unknown)();
  }
  if (typeof app !== 'function' && typeof (app as { asgi?: unknown } | undefined)?.asgi !== 'function') {
    throw new LoadError(
      options.factory
        ? `The factory "${attr}" of module "${file}" did not return an ASGI app.`
        : `Attribute "${attr}" not found in module "${file}" or it is not an ASGI app.`,
    );
  }
  return app as ASGIApp;
}

function runWithReload(argv: string[], say: (level: Level, message: string) => void): void {
  const args = argv.filter((a) => a !== '--reload');
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: 'inherit' });
  };
  start();
  say('info', `Will watch for changes in ${process.cwd()}`);
  watch(process.cwd(), { recursive: true }, (_event, name) => {
    if (!name || /node_modules|\.git|dist[\\/]/.test(name) || !/\.(m?[jt]s|json)$/.test(name)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      say('warning', `Detected change in '${name}'. Reloading...`);
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

/** Runs the CLI. Exit status 2: a bad command line or config file; 3: the app could not be loaded. */
export async function main(argv: string[]): Promise<void> {
  let parsed: CliArgs;
  let logging: Logging;
  const warnings: string[] = [];
  try {
    parsed = parseArgs(argv);
    logging = resolveLogging(parsed, parsed.logConfig ? readLogConfig(parsed.logConfig, warnings) : {});
    if (parsed.envFile && !existsSync(parsed.envFile))
      throw new Error(`--env-file: no such file ${parsed.envFile}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const { level, colors, options } = logging;
  const say = (at: Level, message: string) => {
    if (allows(level, at)) console.error(formatLine(at, message, colors));
  };
  // The reloader's child reads the config again and says the same.
  if (parsed.reload) return runWithReload(argv, say);
  for (const warning of warnings) say('warning', warning);
  if (parsed.envFile) {
    say('info', `Loading environment from '${parsed.envFile}'`);
    loadEnvFile(parsed.envFile);
  }
  let app: ASGIApp;
  try {
    const supervisor = cluster.isPrimary && (options.workers ?? 1) > 1;
    app = await loadApp(parsed.target, { appDir: parsed.appDir, factory: parsed.factory, call: !supervisor });
  } catch (error) {
    say('error', `Error loading ASGI app${parsed.factory ? ' factory' : ''}. ${(error as Error).message}`);
    if (!(error instanceof LoadError)) console.error(error);
    process.exitCode = 3;
    return;
  }
  const server = await serve(app, { ...options, useColors: colors });
  if (server.url) say('info', `Starling running on ${bold(server.url, colors)} (Press CTRL+C to quit)`);
  const stop = () => {
    say('info', 'Shutting down');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** True when this module is the program node was started with: npm's `.bin/starling` is a symlink to it. */
function isMain(): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(started)).href;
  } catch {
    return false;
  }
}

if (isMain()) await main(process.argv.slice(2));
