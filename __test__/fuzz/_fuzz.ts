/**
 * What the property tests share: how many runs each property gets, and small generators.
 * `npm test` runs each property a few hundred times (a few seconds in all); scripts/fuzz.mjs runs the
 * same files with FUZZ_RUNS set (runs per property). A failure prints its seed and path: replay it with
 * FUZZ_SEED=<seed> FUZZ_PATH=<path> npx ava <file>.
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';

const RUNS = Number(process.env.FUZZ_RUNS) || 0;
const SEED = process.env.FUZZ_SEED;
const PATH = process.env.FUZZ_PATH;

/**
 * fast-check parameters: `base` runs under `npm test`; FUZZ_RUNS runs in a long run, a tenth of them for
 * a `slow` property (one that does I/O or goes through the event loop per run).
 */
export function runs<T>(base: number, slow = false): fc.Parameters<T> {
  const numRuns = RUNS ? Math.max(base, slow ? Math.ceil(RUNS / 10) : RUNS) : base;
  const params: fc.Parameters<T> = { numRuns };
  if (SEED !== undefined) params.seed = Number(SEED);
  if (PATH !== undefined) params.path = PATH;
  return params;
}

/**
 * Checks a property (sync or async) and passes the test. Properties assert with `node:assert`, which
 * throws, so that fast-check shrinks a failure to its smallest case and reports it with its seed.
 */
export async function check<T>(
  t: ExecutionContext,
  property: fc.IProperty<T> | fc.IAsyncProperty<T>,
  params: fc.Parameters<T>,
): Promise<void> {
  await fc.assert(property, params);
  t.pass();
}

/** Strings of up to `maxLength` pieces drawn from `chars` (its characters, or a list of strings). */
export function stringOf(chars: string | readonly string[], maxLength = 40): fc.Arbitrary<string> {
  const list = typeof chars === 'string' ? [...chars] : chars;
  return fc.string({ unit: fc.constantFrom(...list), maxLength });
}

/** Text a browser can send: any Unicode scalar values (no lone surrogates). */
export const text = (maxLength = 30): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength });

/**
 * Splits `bytes` at the given cut points (any numbers: taken modulo the length, sorted, deduplicated),
 * or into single bytes.
 */
export function cut(bytes: Uint8Array, points: readonly number[] | 'every'): Uint8Array[] {
  if (points === 'every') return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const end of [...at, bytes.length]) {
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

/** The chunks as the async stream a parser reads. */
export async function* streamOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}
