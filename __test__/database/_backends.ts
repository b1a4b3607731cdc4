/**
 * The backends every database test runs against: SQLite in memory, a SQLite file (by a relative URL),
 * and a real PostgreSQL server (a throwaway cluster per test file, each test in a schema of its own).
 */
import type { TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Database } from '../../src/database/index.ts';
import { postgresSkipReason, startPostgres, type PostgresCluster } from './_postgres.ts';

export interface BackendUnderTest {
  name: 'sqlite-memory' | 'sqlite-file' | 'postgresql';
  dialect: 'sqlite' | 'postgresql';
  /** Why its tests are skipped, or `null`. */
  skip: string | null;
  /** A URL naming a fresh, empty database. */
  url(): Promise<string>;
}

let schemas = 0;

/** The backends, with the hooks that start and stop what they need registered on `test`. */
export function backends(test: TestFn): BackendUnderTest[] {
  const dir = mkdtempSync(join(tmpdir(), 'starling-db-'));
  let files = 0;
  let cluster: PostgresCluster | null = null;
  let admin: Database | null = null;
  if (postgresSkipReason === null) {
    test.before(async () => {
      cluster = await startPostgres();
      admin = new Database(cluster.url);
      await admin.connect();
    });
  } else {
    console.warn(`PostgreSQL tests skipped: ${postgresSkipReason}.`);
  }
  test.after.always(async () => {
    await admin?.disconnect();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return [
    { name: 'sqlite-memory', dialect: 'sqlite', skip: null, url: async () => 'sqlite://:memory:' },
    {
      name: 'sqlite-file',
      dialect: 'sqlite',
      skip: null,
      url: async () => `sqlite:///${relative(process.cwd(), join(dir, `test-${++files}.db`))}`,
    },
    {
      name: 'postgresql',
      dialect: 'postgresql',
      skip: postgresSkipReason,
      async url() {
        const schema = `test_${++schemas}`;
        await admin!.execute(`CREATE SCHEMA ${schema}`);
        return `${cluster!.url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      },
    },
  ];
}
