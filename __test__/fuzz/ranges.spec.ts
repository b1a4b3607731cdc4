/**
 * Properties of Range handling (src/responses/file.ts): for any `Range` header and file size the
 * answer is the whole file (200), a set of ranges inside the file (206) covering exactly the bytes
 * asked for, a 416, or a 400 for a malformed header (as Starlette does); never a byte outside the file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import type { HTTPScope, SendMessage } from '../../src/asgi.ts';
import { FileResponse } from '../../src/responses.ts';
import { parseRangeHeader } from '../../src/responses/file.ts';
import { check, runs } from './_fuzz.ts';

type Outcome = { kind: 'whole' | '400' | '416' } | { kind: 'ranges'; bytes: number[] };

const SPEC = /^\s*(\d*)\s*-\s*(\d*)\s*$/;

/**
 * What Starlette answers, by bytes rather than intervals: parts that are not `first-last`, `first-`
 * or `-suffix` are ignored; none left is a 400, one starting past the end a 416, one ending before
 * it starts a 400; too many parts serve the whole file.
 */
function expected(header: string, size: number, maxRanges: number): Outcome {
  const eq = header.indexOf('=');
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: '400' };
  const parts = header.slice(eq + 1).split(',');
  if (parts.length > maxRanges) return { kind: 'whole' };
  const asked: [bigint, bigint][] = [];
  const n = BigInt(size);
  for (const part of parts) {
    const m = SPEC.exec(part);
    if (!m || (!m[1] && !m[2])) continue;
    const first = m[1] ? BigInt(m[1]) : null;
    const last = m[2] ? BigInt(m[2]) : null;
    if (first === null) asked.push([n - last! > 0n ? n - last! : 0n, n]);
    else asked.push([first, last !== null && last < n ? last + 1n : n]);
  }
  if (asked.length === 0) return { kind: '400' };
  if (asked.some(([start]) => start >= n)) return { kind: '416' };
  if (asked.some(([start, end]) => start >= end)) return { kind: '400' };
  const bytes = new Set<number>();
  for (const [start, end] of asked) for (let b = Number(start); b < Number(end); b++) bytes.add(b);
  return { kind: 'ranges', bytes: [...bytes].sort((a, b) => a - b) };
}

/** What the parser answers, as an Outcome (its two error classes are private: told apart by name). */
function actual(header: string, size: number, maxRanges: number): [Outcome, [number, number][]] {
  let ranges: [number, number][];
  try {
    ranges = parseRangeHeader(header, size, maxRanges);
  } catch (error) {
    assert.ok(error instanceof Error);
    const kind = error.constructor.name === 'RangeNotSatisfiable' ? '416' : '400';
    assert.equal(error.constructor.name, kind === '416' ? 'RangeNotSatisfiable' : 'RangeError400');
    return [{ kind }, []];
  }
  if (ranges.length === 0) return [{ kind: 'whole' }, ranges];
  const bytes: number[] = [];
  for (const [start, end] of ranges) for (let b = start; b < end; b++) bytes.push(b);
  return [{ kind: 'ranges', bytes }, ranges];
}

/** Positions: mostly inside the file (else nearly every header is a 416), some past it, some huge. */
const number = (size: number) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.bigInt({ min: 0n, max: BigInt(Math.max(size - 1, 0)) }).map(String) },
    fc.bigInt({ min: 0n, max: BigInt(size) + 3n }).map(String),
    fc.constantFrom('0', '00', '007', '18446744073709551616', '99999999999999999999999'),
  );

/** `Range` headers: well-formed parts, near-misses (spaces, signs, junk) and anything at all. */
const rangeHeader = (size: number) => {
  const ordered = fc
    .tuple(number(size), number(size))
    .map(([a, b]) => (Number(a) <= Number(b) ? [a, b] : [b, a]));
  const part = fc.oneof(
    ordered.map(([a, b]) => `${a}-${b}`),
    ordered.map(([a, b]) => ` ${a} - ${b}\t`),
    fc.tuple(number(size), number(size)).map(([a, b]) => `${a}-${b}`),
    number(size).map((a) => `${a}-`),
    number(size).map((b) => `-${b}`),
    fc.constantFrom('', '-', ' ', '1', 'a-b', '+1-2', '1-2-3', '0x1-2', '1.5-2', '--1', '１-２'),
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(
          fc.constantFrom('bytes', 'Bytes', ' bytes ', 'bytes '),
          fc.array(part, { minLength: 1, maxLength: 6 }),
          fc.constantFrom(',', ', ', ' ,'),
        )
        .map(([unit, parts, sep]) => `${unit}=${parts.join(sep)}`),
    },
    fc.constantFrom('bytes', 'items=0-1', '=0-1', 'bytes=', 'bytes==0-1', ''),
    fc.string({ unit: fc.constantFrom(...'bytes=0123456789-, \t'), maxLength: 20 }),
    fc.string({ maxLength: 20 }),
  );
};

const sizeAndHeader = fc
  .oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 40 }) }, fc.constantFrom(1, 2 ** 31, 2 ** 40))
  .chain((size) => fc.tuple(fc.constant(size), rangeHeader(size), fc.integer({ min: 1, max: 8 })));

test('parsed ranges are sorted, disjoint and inside the file, or the answer is 200, 400 or 416', (t) =>
  check(
    t,
    fc.property(sizeAndHeader, ([size, header, maxRanges]) => {
      let ranges: [number, number][];
      try {
        ranges = parseRangeHeader(header, size, maxRanges);
      } catch (error) {
        assert.ok(['RangeNotSatisfiable', 'RangeError400'].includes((error as Error).constructor.name));
        return;
      }
      let end = -1;
      for (const [start, stop] of ranges) {
        assert.ok(Number.isSafeInteger(start) && Number.isSafeInteger(stop));
        assert.ok(end < start && start < stop && stop <= size, JSON.stringify(ranges));
        end = stop;
      }
    }),
    runs(500),
  ));

test('the ranges cover exactly the bytes asked for, as Starlette reads the header', (t) =>
  check(
    t,
    fc.property(sizeAndHeader, ([size, header, maxRanges]) => {
      fc.pre(size <= 64);
      assert.deepEqual(actual(header, size, maxRanges)[0], expected(header, size, maxRanges), header);
    }),
    runs(500),
  ));

test('FileResponse answers any Range with the right status and only bytes of the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-ranges-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'data.bin');
  const content = randomBytes(64);
  writeFileSync(path, content);
  const cases = fc
    .tuple(fc.integer({ min: 0, max: 64 }), fc.constantFrom('GET', 'HEAD'))
    .chain(([size, method]) => fc.tuple(fc.constant(size), fc.constant(method), rangeHeader(size)));
  await check(
    t,
    fc.asyncProperty(cases, async ([size, method, header]) => {
      // The stat is given: the file is 64 bytes, the response believes it is `size`.
      const response = new FileResponse(path, { stat: { size, mtimeMs: 0, isFile: () => true } });
      const messages: SendMessage[] = [];
      const scope = {
        type: 'http',
        method,
        headers: [[Buffer.from('range'), Buffer.from(header, 'latin1')]],
      };
      await response.asgi(
        scope as unknown as HTTPScope,
        async () => ({ type: 'http.disconnect' }),
        async (m) => {
          messages.push(m);
        },
      );
      const start = messages[0]!;
      assert.equal(start.type, 'http.response.start');
      const status = start.type === 'http.response.start' ? start.status : 0;
      const headers = new Map(
        [...(start.type === 'http.response.start' ? (start.headers ?? []) : [])].map(([k, v]) => [
          Buffer.from(k).toString('latin1'),
          Buffer.from(v).toString('latin1'),
        ]),
      );
      const body = Buffer.concat(
        messages
          .slice(1)
          .map((m) => (m.type === 'http.response.body' ? Buffer.from(m.body ?? '') : Buffer.alloc(0))),
      );
      const want = expected(header, size, FileResponse.maxRanges);
      const ranges = want.kind === 'ranges' ? actual(header, size, FileResponse.maxRanges)[1] : [];
      const head = method === 'HEAD';
      switch (status) {
        case 200:
          assert.equal(want.kind, 'whole');
          assert.deepEqual(body, head ? Buffer.alloc(0) : content.subarray(0, size));
          break;
        case 206: {
          assert.equal(want.kind, 'ranges');
          if (ranges.length === 1) {
            const [[first, end]] = ranges as [[number, number]];
            assert.equal(headers.get('content-range'), `bytes ${first}-${end - 1}/${size}`);
            assert.equal(headers.get('content-length'), String(end - first));
            assert.deepEqual(body, head ? Buffer.alloc(0) : content.subarray(first, end));
            break;
          }
          const boundary = /^multipart\/byteranges; boundary=(\w+)$/.exec(headers.get('content-type')!)![1]!;
          if (head) break;
          assert.equal(headers.get('content-length'), String(body.length));
          const parts = body.toString('latin1').split(`--${boundary}`);
          assert.equal(parts.pop(), '--');
          assert.equal(parts.shift(), '');
          assert.equal(parts.length, ranges.length);
          parts.forEach((part, i) => {
            const [first, end] = ranges[i]!;
            const m =
              /^\r\nContent-Type: [^\r]+\r\nContent-Range: bytes (\d+)-(\d+)\/(\d+)\r\n\r\n([^]*)\r\n$/.exec(
                part,
              )!;
            assert.deepEqual([Number(m[1]), Number(m[2]) + 1, Number(m[3])], [first, end, size]);
            assert.deepEqual(Buffer.from(m[4]!, 'latin1'), content.subarray(first, end));
          });
          break;
        }
        case 416:
          assert.equal(want.kind, '416');
          assert.equal(headers.get('content-range'), `bytes */${size}`);
          break;
        default:
          assert.equal(status, 400);
          assert.equal(want.kind, '400');
      }
    }),
    runs(150, true),
  );
});
