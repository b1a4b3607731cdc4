import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocketClient from 'ws';
import type { ASGIFunction, HTTPScope } from '../src/asgi.ts';
import { serve } from '../src/server/index.ts';
import { sleep } from './_net.ts';

// A throwaway self-signed certificate for localhost, made by the openssl command line; a machine
// without that command skips these tests, and says so, rather than failing them.
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const tlsTest = hasOpenssl ? test : test.skip;
if (!hasOpenssl) console.log('tls.spec: the openssl command is not installed; the TLS tests are skipped');
const dir = mkdtempSync(join(tmpdir(), 'starling-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
if (hasOpenssl) {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
}

const app: ASGIFunction = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.send', text: scope.scheme });
    await send({ type: 'websocket.close' });
    return;
  }
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: `${(scope as HTTPScope).scheme} ${scope.path}` });
};

tlsTest('serves HTTPS and WSS when given a certificate and key', async (t) => {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off', ssl: { certFile, keyFile } });
  try {
    t.regex(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(
          `${server.url}/secure`,
          {
            ca: [readFileSync(certFile)],
            servername: 'localhost',
            checkServerIdentity: () => undefined,
          },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve(text));
          },
        )
        .on('error', reject);
    });
    t.is(body, 'https /secure');
    const ws = new WebSocketClient(`${server.url.replace('https', 'wss')}/ws`, { rejectUnauthorized: false });
    const message = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    t.is(message, 'wss');
    ws.close();
  } finally {
    await server.close();
  }
});

tlsTest(
  'an idle HTTPS keep-alive connection parks and serves on, a head split across the park included',
  async (t) => {
    // Parks after 0.5 s idle (half the 1 s keep-alive limit); see __test__/parking.spec.ts.
    const server = await serve(app, {
      port: 0,
      accessLog: false,
      lifespan: 'off',
      ssl: { certFile, keyFile },
      timeoutKeepAlive: 1,
    });
    try {
      const socket = tls.connect({ port: server.port!, host: '127.0.0.1', rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) =>
        socket.once('secureConnect', resolve).once('error', reject),
      );
      let closed = false;
      socket.once('close', () => (closed = true));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const until = async (body: string) => {
        for (let i = 0; i < 300 && !text.includes(body); i++) await sleep(10);
        return text;
      };
      socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
      t.regex(await until('https /first'), /^HTTP\/1\.1 200/);
      await sleep(700);
      t.is(server.parkedConnections, 1);
      socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
      t.true((await until('https /second')).includes('https /second'));
      // Half a head before the park (0.5 s after the last answer), the rest after it.
      await sleep(300);
      socket.write('GET /third HTTP/1.1\r\nHo');
      await sleep(400);
      socket.write('st: x\r\n\r\n');
      t.true((await until('https /third')).includes('https /third'));
      t.false(closed);
      socket.destroy();
    } finally {
      await server.close();
    }
  },
);

tlsTest('a certificate that cannot be read is a clear error at serve()', async (t) => {
  const bogus = join(dir, 'bogus.pem');
  writeFileSync(bogus, 'not a certificate');
  await t.throwsAsync(
    () => serve(app, { port: 0, accessLog: false, lifespan: 'off', ssl: { certFile: bogus, keyFile } }),
    { message: /certificate/ },
  );
  await t.throwsAsync(() => serve(app, { port: 0, lifespan: 'off', ssl: { certFile, keyFile: '' } }), {
    message: /certFile and keyFile/,
  });
});

tlsTest('HTTP/2 is negotiated over TLS with ALPN', async (t) => {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off', ssl: { certFile, keyFile } });
  const session = (await import('node:http2')).connect(server.url, { rejectUnauthorized: false });
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2' });
      let body = '';
      stream.on('data', (d) => (body += d));
      stream.on('end', () => resolve(body));
      stream.on('error', reject);
      stream.end();
    });
    t.is(session.alpnProtocol, 'h2');
    t.is(text, 'https /h2');
  } finally {
    session.close();
    await server.close();
  }
});

// What ALPN settled is trusted: `h2` speaks HTTP/2 only, `http/1.1` HTTP/1.1 only.
async function exchangeOverTls(port: number, alpn: string, bytes: string): Promise<Buffer> {
  const tls = await import('node:tls');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ALPNProtocols: [alpn], rejectUnauthorized: false });
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer and no close in 5 s')));
    socket.once('secureConnect', () => {
      assertThat(socket.alpnProtocol === alpn, `negotiated ${String(socket.alpnProtocol)}`);
      socket.write(bytes);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

function assertThat(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

tlsTest('a connection that negotiated h2 gets no HTTP/1.1 answer to an HTTP/1.1 request', async (t) => {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off', ssl: { certFile, keyFile } });
  try {
    const answer = await exchangeOverTls(
      server.port,
      'h2',
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    t.false(answer.toString('latin1').includes('HTTP/1.1'));
  } finally {
    await server.close();
  }
});

tlsTest('a connection that negotiated http/1.1 does not speak HTTP/2', async (t) => {
  const server = await serve(app, { port: 0, accessLog: false, lifespan: 'off', ssl: { certFile, keyFile } });
  try {
    const answer = await exchangeOverTls(server.port, 'http/1.1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    // HTTP/1.1 refuses the preface as a request it cannot serve: it closes, sending no HTTP/2 frame
    // (a server speaking HTTP/2 would open with SETTINGS).
    t.true(answer.length === 0 || answer.toString('latin1').startsWith('HTTP/1.1 '));
  } finally {
    await server.close();
  }
});
