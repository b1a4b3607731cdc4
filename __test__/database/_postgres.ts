/**
 * A throwaway PostgreSQL cluster for the database tests: initdb into a temp dir, listen on 127.0.0.1
 * and a free port, stop and delete it at the end. Found where Debian puts the binaries
 * (/usr/lib/postgresql/<version>/bin), in $STARLING_PG_BIN, or on PATH; without them the PostgreSQL
 * tests are skipped with a message saying so.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresCluster {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  stop(): Promise<void>;
}

interface Plan {
  bin: string;
  /** Prefix that runs a command as the cluster's owner (postgres refuses to run as root). */
  as: string[];
  owner: { uid: number; gid: number } | null;
}

function findBin(): string | null {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  // Set, it is the only place looked at (set to an empty directory, it skips the PostgreSQL tests).
  const chosen = process.env.STARLING_PG_BIN;
  if (chosen !== undefined) return has(chosen) ? chosen : null;
  const candidates: string[] = [];
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v));
    versions.sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter(Boolean));
  return candidates.find(has) ?? null;
}

/** How to run a cluster here, or why not (then the tests skip). Synchronous: tests are declared with it. */
function plan(): Plan | string {
  const bin = findBin();
  if (bin === null) {
    return "no PostgreSQL binaries (initdb, pg_ctl) found: install Debian's `postgresql` package or set STARLING_PG_BIN";
  }
  if (process.getuid?.() !== 0) return { bin, as: [], owner: null };
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  if (uid.status !== 0 || !existsSync('/usr/sbin/runuser')) {
    return 'running as root, and PostgreSQL refuses root: no `postgres` user (or no runuser) to run it as';
  }
  return {
    bin,
    as: ['/usr/sbin/runuser', '-u', 'postgres', '--'],
    owner: { uid: Number(uid.stdout), gid: Number(id('-g').stdout) },
  };
}

export const postgresPlan = plan();

/** Why the PostgreSQL tests are skipped, or `null` when they run. */
export const postgresSkipReason = typeof postgresPlan === 'string' ? postgresPlan : null;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a cluster (about a second). */
export async function startPostgres(): Promise<PostgresCluster> {
  const p = postgresPlan;
  if (typeof p === 'string') throw new Error(p);
  const dir = mkdtempSync(join(tmpdir(), 'starling-pg-'));
  if (p.owner) chownSync(dir, p.owner.uid, p.owner.gid);
  const data = join(dir, 'data');
  const command = (tool: string, args: string[]): [string, string[]] => {
    const [file, ...prefix] = [...p.as, join(p.bin, tool)];
    return [file!, [...prefix, ...args]];
  };
  const exec = (tool: string, args: string[]) => run(...command(tool, args), { cwd: dir });
  // If the test process dies before `stop` (a timeout kills it), the cluster must not outlive it: a
  // watchdog stops it once this process is gone.
  const [pgCtl, stopArgs] = command('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
  const quoted = [pgCtl, ...stopArgs].map((arg) => `'${arg}'`).join(' ');
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${quoted}; rm -rf '${dir}'`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  await exec('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
    '--no-locale',
  ]);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
    try {
      await exec('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', options, 'start']);
      break;
    } catch (error) {
      // Another process took the port between our probe and the server's bind: try another.
      if (attempt === 2) {
        const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
        throw new Error(`PostgreSQL did not start: ${String(error)}\n${log}`);
      }
    }
  }
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      watchdog.kill();
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
