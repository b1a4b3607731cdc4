// RFC 9113 conformance: h2spec (all cases, strict ones included) against a Starling app over TLS (h2 by
// ALPN) and over cleartext (h2c with prior knowledge). h2spec is found on PATH or in ~/go/bin, else
// installed with `go install` at the pinned version.
// Usage: node bench/conformance/h2spec.mjs   (after `npm run build:ts`)
// Exits 1 on any failed case, except the one cleartext case that detection rules out by design:
// 3.5/2 (an invalid preface must close the connection) cannot hold where HTTP/1.1 is served on the same
// port, since a request that is not the HTTP/2 preface is read as HTTP/1.1.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../dist/server/index.js';

const PINNED = 'github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible';
const BY_DESIGN_CLEARTEXT = new Set(['3.5/2']);

function h2spec() {
  const onPath = spawnSync('h2spec', ['--version']);
  if (onPath.status === 0) return 'h2spec';
  const gobin = join(homedir(), 'go', 'bin', 'h2spec');
  if (!existsSync(gobin)) {
    console.log(`installing ${PINNED} ...`);
    execFileSync('go', ['install', PINNED], { stdio: 'inherit' });
  }
  return gobin;
}

const app = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  for (;;) {
    const message = await receive();
    if (message.type !== 'http.request' || !message.more_body) break;
  }
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: 'ok' });
};

/**
 * Runs h2spec against one server; the summary and the ids of failed cases (`section/case`). Not a
 * synchronous spawn: the server runs on this process's event loop.
 */
async function run(bin, port, tls) {
  const args = ['-S', '-h', '127.0.0.1', '-p', String(port), ...(tls ? ['-t', '-k'] : [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill(), 120_000);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(out);
  if (!summary) throw new Error(`h2spec printed no summary:\n${out.slice(-2000)}`);
  // After "Failures:", each failed case is "× N: title" under its section heading ("3.5. Title").
  const failed = [];
  let section = '';
  for (const line of out.slice(out.indexOf('Failures:')).split('\n')) {
    const heading = /^\s+(\d+(?:\.\d+)*)\. /.exec(line);
    if (heading) section = heading[1];
    const failure = /×\s+(\d+):/.exec(line);
    if (failure && out.includes('Failures:')) failed.push(`${section}/${failure[1]}`);
  }
  const [, tests, passed, skipped] = summary.map(Number);
  return { tests, passed, skipped, failed };
}

const dir = mkdtempSync(join(tmpdir(), 'starling-h2spec-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
  '-keyout', keyFile, '-out', certFile,
], { stdio: 'ignore' });

const bin = h2spec();
let regressions = 0;
for (const tls of [true, false]) {
  const server = await serve(app, {
    port: 0,
    accessLog: false,
    lifespan: 'off',
    ...(tls ? { ssl: { certFile, keyFile } } : {}),
  });
  try {
    const r = await run(bin, server.port, tls);
    const unexpected = r.failed.filter((id) => tls || !BY_DESIGN_CLEARTEXT.has(id));
    regressions += unexpected.length;
    console.log(
      `h2spec ${tls ? 'TLS (h2 by ALPN)' : 'cleartext (h2c prior knowledge)'}: ${r.passed} passed, ` +
        `${r.failed.length} failed, ${r.skipped} skipped of ${r.tests}` +
        (r.failed.length ? ` — failed: ${r.failed.join(', ')}${unexpected.length ? '' : ' (by design)'}` : ''),
    );
  } finally {
    await server.close();
  }
}
process.exit(regressions ? 1 : 0);
