/**
 * Throwaway redis-server processes for the broadcast tests, on 127.0.0.1 and a free port. A machine
 * without the binary skips those tests, and says so, rather than failing them.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

/** `test`, or `test.skip` with one line saying why when redis-server is absent. */
export function redisTestFor(file: string): typeof test | typeof test.skip {
  if (!hasRedis) console.log(`${file}: redis-server is not installed; the redis:// tests are skipped`);
  return hasRedis ? test : test.skip;
}

export interface RedisServer {
  url: string;
  process: ChildProcess;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const started: ChildProcess[] = [];
test.after.always(() => {
  for (const child of started) child.kill('SIGKILL');
});

/** Starts a redis-server without persistence; it is killed once the test file is done. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 5 s:\n${out}`)), 5000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += String(chunk);
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${out}`));
    });
  });
  return { url: `redis://127.0.0.1:${port}`, process: child };
}
