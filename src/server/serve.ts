/**
 * `serve(app, options)`: runs an ASGI app on the native core (uvicorn's `run`, as a function).
 *
 * @example
 * ```ts
 * import { serve, PlainTextResponse } from 'starlingjs';
 * const server = await serve(new PlainTextResponse('hi'), { port: 0 });
 * console.log(server.url); // http://127.0.0.1:<port>
 * await server.close();
 * ```
 */
import type { ASGIApp } from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import { answerThroughQueue } from './answers.ts';
import { Bridge } from './bridge.ts';
import { LifespanRunner } from '../_lifespan.ts';
import { LoopRef } from './loop.ts';
import { loadAddon, type NativeServer } from './native.ts';
import { trustedProxy } from './proxy.ts';
import { nativeStatics } from './statics.ts';
import { announceWorker, supervise, workerPort } from './workers.ts';
import cluster from 'node:cluster';
import type { Duplex } from 'node:stream';

/** Options of `serve()`: uvicorn's settings in camelCase. Durations in seconds, sizes in bytes. */
export interface ServeOptions {
  host?: string;
  port?: number;
  /** Listen on a Unix domain socket instead of TCP. */
  uds?: string;
  /** Run N processes sharing the port (SO_REUSEPORT), restarting any that die. */
  workers?: number;
  rootPath?: string;
  /** Trust X-Forwarded-For / X-Forwarded-Proto from `forwardedAllowIps`. */
  proxyHeaders?: boolean;
  forwardedAllowIps?: string | string[];
  /** At most N requests in flight; the next gets 503 at once. */
  limitConcurrency?: number;
  /** Close the server after N requests (a crude leak guard, as in uvicorn). */
  limitMaxRequests?: number;
  backlog?: number;
  /**
   * Let other sockets bind the same port (SO_REUSEPORT) and the kernel spread connections between
   * them. Off by default, so that a second server on a taken port fails with EADDRINUSE instead of
   * silently sharing its connections; `workers` turns it on in its processes.
   */
  reusePort?: boolean;
  timeoutKeepAlive?: number;
  timeoutHeaderRead?: number;
  /** How long `close()` waits for in-flight requests (default 30 s). */
  timeoutGracefulShutdown?: number;
  maxHeaderSize?: number;
  /** Most header lines in an HTTP/1.1 request head before `431` (default 2000, as Node's). */
  maxHeaderCount?: number;
  maxBodySize?: number;
  wsMaxSize?: number;
  wsPingInterval?: number;
  wsPingTimeout?: number;
  wsPerMessageDeflate?: boolean;
  /** `auto`: an app that rejects the lifespan scope is served anyway; `on`: it must support it. */
  lifespan?: 'auto' | 'on' | 'off';
  accessLog?: boolean;
  /** Colour the access log as uvicorn does on a terminal (the CLI decides: `--use-colors`). */
  useColors?: boolean;
  logLevel?: 'critical' | 'error' | 'warning' | 'info' | 'debug' | 'trace';
  /** `server` response header; empty string to send none. */
  serverHeader?: string;
  ssl?: { certFile: string; keyFile: string };
  /** No listener: connections only through `server.connect()` (the TestClient's native transport). */
  memory?: boolean;
}

/** A running server. */
export interface Server {
  /** `http://host:port`, or `unix:/path` on a Unix socket. */
  readonly url: string;
  /** The bound port (the real one when `port: 0` was asked for). */
  readonly port: number;
  /** Requests the app is still answering. */
  readonly inFlight: number;
  /** Connections open now (HTTP and WebSocket; 0 in a `workers` primary, which serves none). */
  readonly connections: number;
  /** Of those, the ones parked now: idle HTTP/1.1 keep-alive connections that gave up their buffers. */
  readonly parkedConnections: number;
  /** Graceful shutdown: stop accepting, let in-flight requests finish, run lifespan shutdown. */
  close(): Promise<void>;
  /** An in-memory connection to the core, usable as a socket by node:http and `ws` clients. */
  connect(): Duplex;
}

function logLevelAllows(options: ServeOptions, level: 'info' | 'error'): boolean {
  const order = ['trace', 'debug', 'info', 'warning', 'error', 'critical'];
  return order.indexOf(level) >= order.indexOf(options.logLevel ?? 'info');
}

/** Serves `app` until `close()` is called. Resolves once the socket is bound and startup ran. */
export async function serve(app: ASGIApp, options: ServeOptions = {}): Promise<Server> {
  if (options.ssl && !(options.ssl.certFile && options.ssl.keyFile)) {
    throw new Error('starling: ssl needs both certFile and keyFile (PEM files).');
  }
  if ((options.workers ?? 1) > 1 && cluster.isPrimary) return supervise(options);
  const worker = workerPort();
  options = {
    ...options,
    port: worker ?? options.port,
    reusePort: options.reusePort ?? worker !== undefined,
  };
  const fn = toASGIFunction(app);
  const mode = options.lifespan ?? 'auto';
  const lifespan = new LifespanRunner(fn, {
    unsupported: mode === 'on' ? 'raise' : 'ignore',
    onUnsupported: () => {
      if (logLevelAllows(options, 'info'))
        console.error(`INFO:     ASGI 'lifespan' protocol appears unsupported.`);
    },
  });
  if (mode !== 'off') await lifespan.startup();

  let closed!: () => void;
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  let served = 0;
  let closing: Promise<void> | undefined;
  const loop = new LoopRef();
  const bridge = new Bridge(fn, {
    loop,
    rootPath: options.rootPath ?? '',
    state: lifespan.state,
    proxy: options.proxyHeaders
      ? trustedProxy(options.forwardedAllowIps ?? process.env.FORWARDED_ALLOW_IPS ?? '127.0.0.1')
      : undefined,
    onError: (error) => {
      if (logLevelAllows(options, 'error')) {
        console.error('ERROR:    Exception in ASGI application\n', error);
      }
    },
    onRequestDone: options.limitMaxRequests
      ? () => {
          if (++served === options.limitMaxRequests) void close();
        }
      : undefined,
    onClosed: () => closed(),
  });
  const { NativeServer: Native } = loadAddon();
  const native: NativeServer = new Native(
    {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 8000,
      uds: options.uds,
      backlog: options.backlog,
      reusePort: options.reusePort,
      timeoutKeepAlive: options.timeoutKeepAlive,
      timeoutHeaderRead: options.timeoutHeaderRead,
      maxHeaderSize: options.maxHeaderSize,
      maxHeaderCount: options.maxHeaderCount,
      maxBodySize: options.maxBodySize,
      limitConcurrency: options.limitConcurrency,
      accessLog: (options.accessLog ?? true) && logLevelAllows(options, 'info'),
      logColors: options.useColors ?? false,
      serverHeader: options.serverHeader,
      wsMaxSize: options.wsMaxSize,
      wsPingInterval: options.wsPingInterval,
      wsPingTimeout: options.wsPingTimeout,
      wsPerMessageDeflate: options.wsPerMessageDeflate,
      ...nativeStatics(app),
      memory: options.memory,
      sslCertFile: options.ssl?.certFile,
      sslKeyFile: options.ssl?.keyFile,
    },
    bridge.onEvents,
  );
  bridge.native = native;
  let port: number;
  try {
    port = native.listen();
    // The calls made per request and per message, as plain functions of this server (cheaper to
    // call than a class method; crates/node/src/fast_calls.rs): the server has no others.
    Object.assign(native, native.fastCalls());
    answerThroughQueue(native);
  } catch (error) {
    native.dispose();
    await lifespan.shutdown();
    throw error;
  }
  const host = options.host ?? '127.0.0.1';
  const url = options.memory
    ? 'memory:'
    : options.uds
      ? `unix:${options.uds}`
      : `${options.ssl ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  // A listener keeps the process alive until closed; an in-memory server only while connections are open.
  if (!options.memory) loop.hold();
  const close = (): Promise<void> => {
    closing ??= (async () => {
      loop.hold();
      native.close(options.timeoutGracefulShutdown ?? 30);
      await whenClosed;
      bridge.endMemory();
      loop.release();
      if (!options.memory) loop.release();
      native.dispose();
      await lifespan.shutdown();
    })();
    return closing;
  };

  const server: Server = {
    url,
    port,
    get inFlight() {
      return bridge.inFlight;
    },
    get connections() {
      return native.connections();
    },
    get parkedConnections() {
      return native.parked();
    },
    close,
    connect: () => bridge.connectMemory(),
  };
  announceWorker(server);
  return server;
}
