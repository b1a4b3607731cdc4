/**
 * Real clients other than `fetch` against a served Starling app: the `curl` binary for multipart
 * uploads (`-F`), chunked uploads, `Expect: 100-continue`, compressed responses and HEAD.
 * WebSocket clients (`ws`) wait for the core's native WebSocket support.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Starling } from '../src/applications.ts';
import type { UploadFile } from '../src/datastructures.ts';
import { Middleware } from '../src/middleware/index.ts';
import { GZipMiddleware } from '../src/middleware/gzip.ts';
import type { Request } from '../src/requests.ts';
import { JSONResponse, PlainTextResponse } from '../src/responses.ts';
import { Route } from '../src/routing.ts';
import { serve, type Server } from '../src/server/index.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'starling-clients-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const upload = async (request: Request) => {
  const form = await request.form();
  const out: Record<string, unknown> = {};
  for (const key of new Set(form.keys())) {
    const value = form.get(key);
    if (typeof value === 'string') out[key] = value;
    else {
      const file = value as UploadFile;
      const bytes = await file.read();
      out[key] = {
        filename: file.filename,
        contentType: file.contentType,
        size: file.size,
        sum: bytes.reduce((a, b) => (a + b) % 65521, 0),
      };
    }
  }
  return new JSONResponse(out);
};

const echo = async (request: Request) => {
  let chunks = 0;
  let size = 0;
  let sum = 0;
  for await (const chunk of request.stream()) {
    chunks += chunk.length > 0 ? 1 : 0;
    size += chunk.length;
    for (const b of chunk) sum = (sum + b) % 65521;
  }
  return new JSONResponse({ size, sum, transferEncoding: request.headers.get('transfer-encoding'), chunks });
};

const app = new Starling({
  routes: [
    new Route('/upload', upload, { methods: ['POST'] }),
    new Route('/echo', echo, { methods: ['POST', 'PUT'] }),
    new Route('/big', () => new PlainTextResponse('curl '.repeat(1000))),
  ],
  middleware: [new Middleware(GZipMiddleware)],
});

async function withServer(fn: (server: Server) => Promise<void>): Promise<void> {
  const server = await serve(app, { port: 0, accessLog: false, logLevel: 'critical', lifespan: 'off' });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

// A machine without the curl binary skips these (and says so) rather than failing them.
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const curlTest = hasCurl ? test : test.skip;
if (!hasCurl) console.log('clients.spec: curl is not installed; the curl tests are skipped');
const curl = async (...args: string[]) => (await run('curl', ['-sS', '--max-time', '10', ...args])).stdout;
const checksum = (bytes: Uint8Array) => bytes.reduce((a, b) => (a + b) % 65521, 0);

curlTest('curl -F uploads fields and files as multipart', async (t) => {
  const small = join(dir, 'notes.txt');
  writeFileSync(small, 'hello from curl\n');
  const large = Buffer.alloc(3 * 1024 * 1024, 0);
  for (let i = 0; i < large.length; i++) large[i] = (i * 31) % 251;
  const bigPath = join(dir, 'big.bin');
  writeFileSync(bigPath, large);
  await withServer(async (server) => {
    const out = await curl(
      '-F',
      'title=a title',
      '-F',
      `notes=@${small};type=text/plain`,
      '-F',
      `blob=@${bigPath};filename=data.bin`,
      `${server.url}/upload`,
    );
    t.deepEqual(JSON.parse(out), {
      title: 'a title',
      notes: {
        filename: 'notes.txt',
        contentType: 'text/plain',
        size: 16,
        sum: checksum(Buffer.from('hello from curl\n')),
      },
      blob: {
        filename: 'data.bin',
        contentType: 'application/octet-stream',
        size: large.length,
        sum: checksum(large),
      },
    });
  });
});

curlTest('curl sends a chunked upload that the app reads as a stream', async (t) => {
  const body = Buffer.alloc(1024 * 1024 + 7);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
  const path = join(dir, 'chunked.bin');
  writeFileSync(path, body);
  await withServer(async (server) => {
    const out = JSON.parse(
      await curl('-H', 'Transfer-Encoding: chunked', '--data-binary', `@${path}`, `${server.url}/echo`),
    );
    t.is(out.size, body.length);
    t.is(out.sum, checksum(body));
    t.is(out.transferEncoding, 'chunked');
    t.true(out.chunks >= 1);
  });
});

curlTest('curl streams stdin as chunks and the app sees every byte', async (t) => {
  await withServer(async (server) => {
    const child = execFile('curl', [
      '-sS',
      '--max-time',
      '10',
      '-T',
      '-',
      '-H',
      'Transfer-Encoding: chunked',
      `${server.url}/echo`,
    ]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const done = new Promise((resolve) => child.on('close', resolve));
    for (const part of ['first ', 'second ', 'third']) {
      child.stdin!.write(part);
      await new Promise((r) => setTimeout(r, 30));
    }
    child.stdin!.end();
    t.is(await done, 0);
    const seen = JSON.parse(out);
    t.is(seen.size, 'first second third'.length);
    t.is(seen.transferEncoding, 'chunked');
  });
});

curlTest('curl with Expect: 100-continue gets its body read', async (t) => {
  await withServer(async (server) => {
    const out = await curl(
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      'x'.repeat(2048),
      `${server.url}/echo`,
    );
    t.is(JSON.parse(out).size, 2048);
  });
});

curlTest('curl --compressed decodes a gzipped response; -I sends HEAD', async (t) => {
  await withServer(async (server) => {
    const body = await curl('--compressed', `${server.url}/big`);
    t.is(body, 'curl '.repeat(1000));
    const head = await curl('-I', '-H', 'Accept-Encoding: gzip', `${server.url}/big`);
    t.regex(head, /^HTTP\/1\.1 200 OK\r\n/);
    t.regex(head, /\r\ncontent-encoding: gzip\r\n/i);
    t.regex(head, /\r\ncontent-type: text\/plain; charset=utf-8\r\n/i);
  });
});
