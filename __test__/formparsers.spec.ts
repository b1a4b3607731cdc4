import test from 'ava';
import { existsSync } from 'node:fs';
import { FormParser, MultiPartException, MultiPartParser, parseOptionsHeader } from '../src/formparsers.ts';
import { Headers, UploadFile } from '../src/datastructures.ts';
import { Request } from '../src/requests.ts';
import { JSONResponse, PlainTextResponse, type Response } from '../src/responses.ts';
import { HTTPException } from '../src/exceptions.ts';
import { TestClient } from '../src/testclient.ts';
import type { ASGIFunction } from '../src/asgi.ts';

const B = 'multipart/form-data; boundary=XX';

async function* chunks(...parts: (string | Buffer)[]) {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
}

/** Splits `body` into chunks of `size` bytes, to exercise boundaries across reads. */
async function* pieces(body: string | Buffer, size: number) {
  const buf = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function multipart(body: AsyncIterable<Uint8Array>, limits = {}, contentType = B) {
  return new MultiPartParser(new Headers({ 'content-type': contentType }), body, limits).parse();
}

/** An app that answers with the form, files as {filename, content, contentType}. */
function formApp(limits = {}): ASGIFunction {
  return async (scope, receive, send) => {
    const request = new Request({ ...scope, app: {} } as typeof scope, receive, send);
    let response: Response;
    try {
      const form = await request.form(limits);
      const out: Record<string, unknown[]> = {};
      for (const [key, value] of form) {
        const item =
          value instanceof UploadFile
            ? {
                filename: value.filename,
                content: Buffer.from(await value.read()).toString(),
                contentType: value.contentType,
              }
            : value;
        (out[key] ??= []).push(item);
      }
      await form.close();
      response = new JSONResponse(out);
    } catch (error) {
      if (!(error instanceof HTTPException)) throw error;
      response = new PlainTextResponse(error.detail, { status: error.statusCode });
    }
    await response.asgi(scope, receive, send);
  };
}

const part = (name: string, value: string, extra = '') =>
  `--XX\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n\r\n${value}\r\n`;

test('multipart fields and files are parsed with their headers', async (t) => {
  const body =
    part('a', 'one') +
    `--XX\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\nContent-Type: text/plain\r\nX-Extra: 1\r\n\r\nfile content\r\n` +
    part('a', 'two') +
    '--XX--\r\n';
  const form = await multipart(chunks(body));
  t.deepEqual(form.getAll('a'), ['one', 'two']);
  const file = form.get('f') as UploadFile;
  t.is(file.filename, 'x.txt');
  t.is(file.contentType, 'text/plain');
  t.is(file.headers.get('x-extra'), '1');
  t.is(file.size, 12);
  t.is(Buffer.from(await file.read()).toString(), 'file content');
  await form.close();
});

test('multipart parsing does not depend on how the body is cut into chunks', async (t) => {
  const body =
    part('a', 'x'.repeat(50)) +
    `--XX\r\nContent-Disposition: form-data; name="f"; filename="b.bin"\r\n\r\n\r\n--X-\r\n\r\n` +
    '--XX--';
  for (const size of [1, 2, 3, 7, 64, 1000]) {
    const form = await multipart(pieces(body, size));
    t.is(form.get('a'), 'x'.repeat(50), `chunk size ${size}`);
    t.is(
      Buffer.from(await (form.get('f') as UploadFile).read()).toString(),
      '\r\n--X-\r\n',
      `chunk size ${size}`,
    );
  }
});

test('large uploads spill to a temporary file that close() removes', async (t) => {
  const big = Buffer.alloc(1024 * 1024 + 10, 97);
  const form = await multipart(
    chunks(`--XX\r\nContent-Disposition: form-data; name="f"; filename="big"\r\n\r\n`, big, '\r\n--XX--\r\n'),
  );
  const file = form.get('f') as UploadFile;
  t.true(file.file.rolledToDisk);
  t.is(file.size, big.length);
  const path = file.file.path!;
  t.is((await file.read()).length, big.length);
  await form.close();
  t.false(existsSync(path));
});

test('multipart honours the charset parameter and falls back to latin-1', async (t) => {
  const latin = await multipart(
    chunks(part('a', '\xe9') + '--XX--'),
    {},
    'multipart/form-data; charset=latin-1; boundary=XX',
  );
  t.is(latin.get('a'), 'é');
  const bad = await multipart(chunks(part('a', '\xe9') + '--XX--'));
  t.is(bad.get('a'), 'é');
  const utf8 = await multipart(chunks(Buffer.from(part('ä', 'ö') + '--XX--')));
  t.is(utf8.get('ä'), 'ö');
});

test('multipart accepts a final boundary without CRLF, an epilogue, a preamble and parts without headers', async (t) => {
  t.is((await multipart(chunks(part('a', 'v') + '--XX--'))).get('a'), 'v');
  t.is((await multipart(chunks('preamble\r\n' + part('a', 'v') + '--XX--\r\nepilogue'))).get('a'), 'v');
  t.is(
    (await multipart(chunks(`--XX \t\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XX--`))).get(
      'a',
    ),
    'v',
  );
  await t.throwsAsync(multipart(chunks('--XX\r\n\r\nv\r\n--XX--')), {
    message: 'The Content-Disposition header field "name" must be provided.',
  });
});

test('an empty or cut-short multipart body keeps only the complete parts', async (t) => {
  t.is((await multipart(chunks())).size, 0);
  t.is((await multipart(chunks(''))).size, 0);
  const cut = await multipart(
    chunks(part('a', 'v') + '--XX\r\nContent-Disposition: form-data; name="b"\r\n\r\npart'),
  );
  t.deepEqual(cut.keys(), ['a']);
  const cutFile = await multipart(
    chunks(part('a', 'v') + '--XX\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\npart'),
  );
  t.deepEqual(cutFile.keys(), ['a']);
  const cutHeaders = await multipart(chunks('--XX\r\nContent-Disposition: form-da'));
  t.is(cutHeaders.size, 0);
});

test('malformed multipart bodies are rejected', async (t) => {
  await t.throwsAsync(multipart(chunks('--XXjunk\r\n')), {
    instanceOf: MultiPartException,
    message: 'Invalid multipart data.',
  });
  await t.throwsAsync(multipart(chunks('--XX\r\n' + 'x'.repeat(70 * 1024))), {
    message: 'Invalid multipart data.',
  });
  await t.throwsAsync(multipart(chunks(part('a', 'v')), {}, 'multipart/form-data'), {
    message: 'Missing boundary in multipart.',
  });
  await t.throwsAsync(multipart(chunks('--XX\r\nContent-Type: text/plain\r\n\r\nv\r\n--XX--')), {
    message: 'The Content-Disposition header field "name" must be provided.',
  });
});

test('multipart limits on files, fields and part size give clear messages', async (t) => {
  const files =
    Array.from({ length: 3 }, (_, i) => part(`f${i}`, 'x', `; filename="${i}.txt"`)).join('') + '--XX--';
  await t.throwsAsync(multipart(chunks(files), { maxFiles: 2 }), {
    message: 'Too many files. Maximum number of files is 2.',
  });
  const fields = Array.from({ length: 3 }, (_, i) => part(`a${i}`, 'x')).join('') + '--XX--';
  await t.throwsAsync(multipart(chunks(fields), { maxFields: 2 }), {
    message: 'Too many fields. Maximum number of fields is 2.',
  });
  await t.throwsAsync(multipart(chunks(part('a', 'x'.repeat(2048)) + '--XX--'), { maxPartSize: 1024 }), {
    message: 'Part exceeded maximum size of 1KB.',
  });
  const bigFile = await multipart(chunks(part('f', 'x'.repeat(4096), '; filename="f"') + '--XX--'), {
    maxPartSize: 1024,
  });
  t.is((bigFile.get('f') as UploadFile).size, 4096);
  await t.throwsAsync(multipart(chunks(part('a', 'x'.repeat(2 * 1024 * 1024)) + '--XX--')), {
    message: 'Part exceeded maximum size of 1024KB.',
  });
});

test('files already written are closed when parsing fails', async (t) => {
  let first: UploadFile | undefined;
  const body = part('f', 'content', '; filename="a"') + part('g', 'x', '; filename="b"') + '--XX--';
  const parser = new MultiPartParser(new Headers({ 'content-type': B }), chunks(body), { maxFiles: 1 });
  const original = UploadFile.prototype.close;
  UploadFile.prototype.close = async function (this: UploadFile) {
    first ??= this;
    return original.call(this);
  };
  try {
    await t.throwsAsync(parser.parse(), { message: /Too many files/ });
  } finally {
    UploadFile.prototype.close = original;
  }
  t.true(first!.file.closed);
});

test('urlencoded forms decode plus and percent-escapes and keep blank values', async (t) => {
  const form = await new FormParser(new Headers(), chunks('a=x+y%2B%C3%A9&=v&k=&flag&&a=2')).parse();
  t.deepEqual(form.multiItems(), [
    ['a', 'x y+é'],
    ['', 'v'],
    ['k', ''],
    ['flag', ''],
    ['a', '2'],
  ]);
  const split = await new FormParser(new Headers(), pieces('name=val&other=thing', 3)).parse();
  t.deepEqual(split.multiItems(), [
    ['name', 'val'],
    ['other', 'thing'],
  ]);
  t.deepEqual((await new FormParser(new Headers(), chunks('a=1;b=2')).parse()).multiItems(), [
    ['a', '1;b=2'],
  ]);
  t.is((await new FormParser(new Headers(), chunks()).parse()).size, 0);
});

test('urlencoded limits on fields and field size give clear messages', async (t) => {
  await t.throwsAsync(new FormParser(new Headers(), chunks('a=1&b=2&c=3'), { maxFields: 2 }).parse(), {
    message: 'Too many fields. Maximum number of fields is 2.',
  });
  await t.throwsAsync(
    new FormParser(new Headers(), chunks('a=' + 'x'.repeat(1024))).parse().then(() => {
      throw new Error('no limit hit');
    }),
    { message: 'no limit hit' },
  );
  await t.throwsAsync(
    new FormParser(new Headers(), pieces('a=' + 'x'.repeat(1025), 100), { maxPartSize: 1024 }).parse(),
    {
      message: 'Field exceeded maximum size of 1KB.',
    },
  );
  await t.throwsAsync(
    new FormParser(new Headers(), chunks('x'.repeat(1025)), { maxPartSize: 1024 }).parse(),
    {
      message: 'Field exceeded maximum size of 1KB.',
    },
  );
});

test('parseOptionsHeader reads quoted, escaped and extended parameters', (t) => {
  t.deepEqual(parseOptionsHeader(null), ['', {}]);
  t.deepEqual(parseOptionsHeader('Form-Data; Name="a\\"b"; filename="x;y.txt"'), [
    'form-data',
    { name: 'a"b', filename: 'x;y.txt' },
  ]);
  t.deepEqual(parseOptionsHeader("form-data; name=f; filename*=utf-8''%C3%A9.txt"), [
    'form-data',
    { name: 'f', filename: 'é.txt' },
  ]);
  t.deepEqual(parseOptionsHeader("attachment; filename*=iso-8859-1'en'%E9.txt"), [
    'attachment',
    { filename: 'é.txt' },
  ]);
  t.deepEqual(parseOptionsHeader('attachment; filename*=bogus'), ['attachment', { filename: 'bogus' }]);
  t.deepEqual(parseOptionsHeader('form-data; name="f"; filename="C:\\\\dir\\\\x.txt"'), [
    'form-data',
    { name: 'f', filename: 'x.txt' },
  ]);
  t.deepEqual(parseOptionsHeader('form-data; novalue; name=a'), ['form-data', { name: 'a' }]);
});

test('request.form() in an app turns limits into HTTP 400 with the message', async (t) => {
  const client = new TestClient(formApp({ maxFiles: 1, maxFields: 1 }));
  const ok = await client.post('/', { data: { a: '1' }, files: { f: ['a.txt', 'hello', 'text/plain'] } });
  t.deepEqual(ok.json(), {
    a: ['1'],
    f: [{ filename: 'a.txt', content: 'hello', contentType: 'text/plain' }],
  });
  const tooMany = await client.post('/', { data: { a: '1', b: '2' } });
  t.is(tooMany.status, 400);
  t.is(tooMany.text, 'Too many fields. Maximum number of fields is 1.');
  const tooManyFiles = await client.post('/', { files: { f: ['a.txt', 'x'], g: ['b.txt', 'y'] } });
  t.is(tooManyFiles.status, 400);
  t.is(tooManyFiles.text, 'Too many files. Maximum number of files is 1.');
  const missing = await client.post('/', {
    content: part('a', 'v'),
    headers: { 'content-type': 'multipart/form-data' },
  });
  t.is(missing.text, 'Missing boundary in multipart.');
});
