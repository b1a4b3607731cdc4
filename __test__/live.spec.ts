/** The bridge's table of live exchanges (src/server/live.ts): a slot array with a Map for collisions. */
import test from 'ava';
import { LiveTable } from '../src/server/live.ts';

test('ids that share a slot live side by side, and each is found, replaced and deleted by itself', (t) => {
  const table = new LiveTable<{ n: number }>();
  const a = 7;
  const b = 7 + 4096; // the same slot as a
  const c = 7 + 2 * 4096;
  table.set(a, { n: 1 });
  table.set(b, { n: 2 });
  table.set(c, { n: 3 });
  t.is(table.size, 3);
  t.deepEqual([table.get(a), table.get(b), table.get(c)], [{ n: 1 }, { n: 2 }, { n: 3 }]);
  table.set(b, { n: 20 });
  table.set(a, { n: 10 });
  t.is(table.size, 3);
  t.deepEqual([table.get(a)?.n, table.get(b)?.n], [10, 20]);

  table.delete(a);
  t.is(table.get(a), undefined);
  t.is(table.get(b)?.n, 20);
  // b still lives beside the now-empty slot; setting it again replaces it, not duplicates it.
  table.set(b, { n: 21 });
  t.is(table.size, 2);
  table.delete(b);
  table.delete(b);
  table.delete(12345);
  t.is(table.size, 1);
  t.is(table.get(c)?.n, 3);
  table.delete(c);
  t.is(table.size, 0);
  t.is(table.get(c), undefined);
});

test('a counter of ids with a few alive at a time stays in the slots', (t) => {
  const table = new LiveTable<{ id: number }>();
  for (let id = 1; id < 100_000; id++) {
    table.set(id, { id });
    if (id > 16) table.delete(id - 16);
  }
  t.is(table.size, 16);
  for (let id = 100_000 - 16; id < 100_000; id++) t.is(table.get(id)?.id, id);
});

test('id 0 is an id like any other (an empty slot is not taken for it)', (t) => {
  const table = new LiveTable<{ n: number }>();
  t.is(table.get(0), undefined);
  table.set(4096, { n: 1 }); // slot 0, taken by another id
  table.set(0, { n: 0 });
  t.is(table.size, 2);
  t.is(table.get(0)?.n, 0);
  table.delete(4096);
  t.is(table.get(0)?.n, 0);
  table.delete(0);
  t.is(table.size, 0);
  t.is(table.get(0), undefined);
  table.set(0, { n: 2 });
  t.is(table.get(0)?.n, 2);
});
