/**
 * `workers: N`: N processes share the port with SO_REUSEPORT; the primary restarts any that die.
 * Uses node:cluster, so the same script runs in each worker and its own `serve()` call binds.
 */
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import type { Server, ServeOptions } from './serve.ts';

const PORT_ENV = 'STARLING_WORKER_PORT';

/** In a worker: the port the primary chose (it may have resolved port 0). */
export function workerPort(): number | undefined {
  const port = cluster.isWorker ? process.env[PORT_ENV] : undefined;
  return port ? Number(port) : undefined;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** In the primary: forks the workers, waits for each to listen, and keeps them alive. */
export async function supervise(options: ServeOptions): Promise<Server> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port === 0 ? await freePort(host) : (options.port ?? 8000);
  const count = options.workers ?? 1;
  let stopping = false;
  const fork = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ [PORT_ENV]: String(port) });
      worker.once('message', (m) => (m === 'starling:listening' ? resolve(worker) : undefined));
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before listening`)));
      worker.on('exit', () => {
        if (!stopping) {
          console.error(`WARNING:  Worker ${worker.process.pid} died; starting another.`);
          void fork().catch((e: unknown) => console.error('ERROR:    ', e));
        }
      });
    });
  await Promise.all(Array.from({ length: count }, fork));
  console.error(`INFO:     Started ${count} workers on port ${port}`);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    inFlight: 0,
    connections: 0,
    parkedConnections: 0,
    connect() {
      throw new Error('connect() needs a single-process server (workers: 1)');
    },
    async close() {
      stopping = true;
      const exits = Object.values(cluster.workers ?? {}).map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w || w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      );
      await Promise.all(exits);
    },
  };
}

/** In a worker: tells the primary it listens, and shuts down gracefully on SIGTERM. */
export function announceWorker(server: Server): void {
  if (!cluster.isWorker) return;
  process.send?.('starling:listening');
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
