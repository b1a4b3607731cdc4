/**
 * Properties of the form parsers (src/formparsers.ts): forms encoded as browsers encode them parse back
 * to what was sent, however the body is cut into chunks; any bytes at all give a form or a
 * MultiPartException, the same one whatever the chunking, and never hang.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { FormData, Headers, UploadFile } from '../../src/datastructures.ts';
import {
  FormParser,
  MultiPartException,
  MultiPartParser,
  parseOptionsHeader,
  type FormLimits,
} from '../../src/formparsers.ts';
import { parseQueryString } from '../../src/_utils.ts';
import { check, cut, runs, streamOf, stringOf, text } from './_fuzz.ts';

type Entry = [string, string | { filename: string | null; type: string | null; data: string }];
/** A parse's outcome, comparable with deepEqual: the entries (file bodies as latin1) or the error message. */
type Outcome = { entries: Entry[] } | { error: string };

async function outcome(parse: () => Promise<FormData>): Promise<Outcome> {
  let form: FormData;
  try {
    form = await parse();
  } catch (error) {
    if (!(error instanceof MultiPartException)) throw error;
    return { error: error.message };
  }
  const entries: Entry[] = [];
  for (const [name, value] of form) {
    if (!(value instanceof UploadFile)) entries.push([name, value]);
    else {
      const data = Buffer.from(await value.read()).toString('latin1');
      entries.push([name, { filename: value.filename, type: value.contentType, data }]);
    }
  }
  await form.close();
  return { entries };
}

const urlencoded = (chunks: Uint8Array[], limits?: FormLimits) =>
  outcome(() => new FormParser(new Headers(), streamOf(chunks), limits).parse());
const multipart = (contentType: string, chunks: Uint8Array[], limits?: FormLimits) =>
  outcome(() =>
    new MultiPartParser(new Headers({ 'content-type': contentType }), streamOf(chunks), limits).parse(),
  );

/** Cut points for a body: none, a few, or between every two bytes. */
const cuts = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.nat(), { maxLength: 6 }) },
  fc.constant('every' as const),
);

/** Names and values with what encoders must escape: separators, quotes, backslashes, newlines, non-ASCII. */
const tricky = fc.oneof(text(12), stringOf([...'ab=&+%;: "\\\r\n\t/', 'é', '€', '😀', '%41', '%zz'], 12));

// ---- application/x-www-form-urlencoded ----

test('urlencoded forms as browsers send them parse back to the same pairs', (t) =>
  check(
    t,
    fc.asyncProperty(fc.array(fc.tuple(tricky, tricky), { maxLength: 8 }), cuts, async (pairs, points) => {
      const body = Buffer.from(new URLSearchParams(pairs).toString());
      assert.deepEqual(await urlencoded(cut(body, points)), { entries: pairs });
    }),
    runs(300),
  ));

test('urlencoded parsing of any bytes is parseQueryString of their latin1 text, or a limit error', (t) =>
  check(
    t,
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 60 }),
        stringOf('ab=&+%2', 60).map((s) => Buffer.from(s)),
      ),
      cuts,
      fc.record({ maxFields: fc.integer({ min: 1, max: 8 }), maxPartSize: fc.integer({ min: 1, max: 20 }) }),
      async (body, points, limits) => {
        const fields = Buffer.from(body).toString('latin1').split('&');
        const tooBig = fields.some((f) => f.length - (f.includes('=') ? 1 : 0) > limits.maxPartSize);
        const tooMany = fields.filter(Boolean).length > limits.maxFields;
        const got = await urlencoded(cut(body, points), limits);
        if (tooBig || tooMany) assert.ok('error' in got, JSON.stringify(got));
        else assert.deepEqual(got, { entries: parseQueryString(Buffer.from(body).toString('latin1')) });
        // Without limits in the way, always the reference.
        assert.deepEqual(await urlencoded(cut(body, points)), {
          entries: parseQueryString(Buffer.from(body).toString('latin1')),
        });
      },
    ),
    runs(300),
  ));

// ---- multipart/form-data ----

/** A browser's escaping of names and filenames (HTML's multipart/form-data encoding algorithm). */
const escape = (s: string) => s.replaceAll('\n', '%0A').replaceAll('\r', '%0D').replaceAll('"', '%22');
/** Browsers send line breaks in names and string values as CRLF. */
const crlf = (s: string) => s.replace(/\r\n|\r|\n/g, '\r\n');
/**
 * A backslash is sent as it is, and Starlette (Python's email.utils.unquote) reads `\\` and `\"` in a
 * quoted parameter as escapes: a name holding either cannot round-trip through any server that does.
 */
const unambiguous = (s: string) => !/\\(\\|$)/.test(escape(crlf(s)));

/**
 * As in Starlette (python-multipart), a filename that looks like a full Windows path (old IE sent
 * them) is cut to its last part; the test is on its bytes, read as latin1.
 */
function windowsBasename(filename: string): string {
  const raw = Buffer.from(filename).toString('latin1');
  if (raw.slice(1, 3) !== ':\\' && !raw.startsWith('\\\\')) return filename;
  return Buffer.from(raw.split('\\').pop()!, 'latin1').toString();
}

const file = fc.record({
  // undici leaves out an empty filename (a browser sends `filename=""`): not a file part then.
  filename: tricky.filter((s) => s !== '' && unambiguous(s)),
  type: fc.constantFrom('', 'text/plain', 'image/png', 'application/json; charset=utf-8'),
  data: fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    stringOf(['\r\n', '\r', '\n', '-', '--', '----formdata-undici-0', 'x', '\0', 'é'], 30).map((s) =>
      Buffer.from(s),
    ),
  ),
});
const entry = fc.tuple(tricky.filter(unambiguous), fc.oneof(tricky, file));

test('multipart forms as browsers send them parse back to the same entries, in any chunks', (t) =>
  check(
    t,
    fc.asyncProperty(fc.array(entry, { maxLength: 6 }), cuts, async (entries, points) => {
      const form = new globalThis.FormData();
      const expected: Entry[] = [];
      for (const [name, value] of entries) {
        if (typeof value === 'string') {
          form.append(name, value);
          expected.push([escape(crlf(name)), crlf(value)]);
        } else {
          form.append(name, new File([value.data], value.filename, { type: value.type }));
          expected.push([
            escape(crlf(name)),
            {
              filename: windowsBasename(escape(value.filename)),
              type: value.type || 'application/octet-stream',
              data: Buffer.from(value.data).toString('latin1'),
            },
          ]);
        }
      }
      // Node's fetch encodes forms as browsers do (undici follows the HTML standard).
      const encoded = new Response(form);
      const body = Buffer.from(await encoded.arrayBuffer());
      const got = await multipart(encoded.headers.get('content-type')!, cut(body, points));
      assert.deepEqual(got, { entries: expected });
    }),
    runs(120, true),
  ));

const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
/** RFC 2046 §5.1.1: 1 to 70 characters, not ending with a space. */
const boundary = fc
  .string({ unit: fc.constantFrom(...BCHARS), minLength: 1, maxLength: 70 })
  .filter((b) => !b.endsWith(' '));

/** Bytes built from what a multipart parser looks for, so that random bodies reach its every state. */
const fragments = (b: string) =>
  fc
    .array(
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom('--', `--${b}`, `\r\n--${b}`, '\r\n', '\r\n\r\n', `--${b}--`),
        },
        fc.constantFrom(
          'Content-Disposition: form-data; name="a"',
          'content-disposition: form-data; name=b; filename="f.txt"',
          'Content-Disposition: form-data',
          'Content-Type: text/plain',
          'X: y',
          ' ',
          '\t',
          '-',
        ),
        fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u).toString('latin1')),
      ),
      { maxLength: 24 },
    )
    .map((parts) => Buffer.from(parts.join(''), 'latin1'));

test('multipart parsing of any bytes gives a form or a MultiPartException, the same for any chunking', (t) =>
  check(
    t,
    fc.asyncProperty(
      boundary.chain((b) =>
        fc.tuple(fc.constant(b), fc.oneof(fragments(b), fc.uint8Array({ maxLength: 200 }))),
      ),
      cuts,
      fc.record(
        {
          maxFiles: fc.integer({ min: 0, max: 3 }),
          maxFields: fc.integer({ min: 0, max: 3 }),
          maxPartSize: fc.integer({ min: 1, max: 30 }),
        },
        { requiredKeys: [] },
      ),
      async ([b, body], points, limits) => {
        const contentType = `multipart/form-data; boundary="${b}"`;
        const whole = await multipart(contentType, [body], limits);
        assert.deepEqual(await multipart(contentType, cut(body, points), limits), whole);
      },
    ),
    runs(300, true),
  ));

test('multipart bodies with any boundary, preamble, epilogue and padding parse to their parts', (t) =>
  check(
    t,
    fc.asyncProperty(
      boundary,
      fc.array(
        fc.tuple(
          stringOf('abc_-. ;=é', 8),
          fc.option(stringOf('xyz. ;é', 8), { nil: null }),
          fc.uint8Array({ maxLength: 60 }),
          fc.constantFrom('', 'Content-Type: text/plain\r\n', 'X-Extra: 1\r\ncontent-type: a/b\r\n'),
        ),
        { maxLength: 5 },
      ),
      fc.uint8Array({ maxLength: 30 }),
      fc.uint8Array({ maxLength: 30 }),
      fc.constantFrom('', ' ', '\t ', '  '),
      cuts,
      async (b, parts, preamble, epilogue, padding, points) => {
        const dash = Buffer.from(`--${b}`);
        const delimiter = Buffer.from(`\r\n--${b}`);
        // A body holding the delimiter would end its part there: not a form anyone can send.
        fc.pre(parts.every(([, , data]) => !Buffer.from(data).includes(delimiter)));
        fc.pre(!Buffer.from(preamble).includes(dash));
        const chunks: Buffer[] = [Buffer.from(preamble), Buffer.from(preamble.length ? '\r\n' : '')];
        const expected: Entry[] = [];
        for (const [name, filename, data, extra] of parts) {
          const disposition =
            `form-data; name="${name}"` + (filename === null ? '' : `; filename="${filename}"`);
          chunks.push(
            Buffer.from(`--${b}${padding}\r\nContent-Disposition: ${disposition}\r\n${extra}\r\n`),
            Buffer.from(data),
            Buffer.from('\r\n'),
          );
          const type = /content-type: (.*)\r\n/i.exec(extra)?.[1] ?? null;
          const latin1 = Buffer.from(data).toString('latin1');
          const utf8 = new TextDecoder('utf-8', { fatal: true });
          let textValue: string;
          try {
            textValue = utf8.decode(data);
          } catch {
            textValue = latin1;
          }
          expected.push([name, filename === null ? textValue : { filename, type, data: latin1 }]);
        }
        chunks.push(Buffer.from(`--${b}--${padding}`), Buffer.from(epilogue));
        const got = await multipart(
          `multipart/form-data; boundary="${b}"`,
          cut(Buffer.concat(chunks), points),
        );
        assert.deepEqual(got, { entries: expected });
      },
    ),
    runs(200, true),
  ));

test('a quoted parameter keeps backslashes that escape neither quote nor backslash (found above)', (t) => {
  t.deepEqual(parseOptionsHeader('form-data; name="a\\b"; filename="C:\\dir\\x.txt"'), [
    'form-data',
    { name: 'a\\b', filename: 'x.txt' },
  ]);
  t.deepEqual(parseOptionsHeader('form-data; name="q\\"x\\\\y"'), ['form-data', { name: 'q"x\\y' }]);
});
