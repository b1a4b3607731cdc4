/**
 * Runs every case of `cases/` three times — through the in-process TestClient, through the TestClient
 * on the native core (in-memory connections) and through a real socket (`serve()` + `fetch`) — checks
 * each against the case's expectations, then checks that the runs observed the same thing (minus what
 * only a real connection adds: date, server, framing headers).
 */
import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { ASGIApp } from '../src/asgi.ts';
import { serve } from '../src/server/index.ts';
import { TestClient } from '../src/testclient.ts';
import {
  cases,
  type Case,
  type CaseRequest,
  type Expect,
  type Observed,
  type RunContext,
} from './cases/index.ts';

/** Headers a real connection adds or frames differently; not part of the app's behaviour. */
const TRANSPORT_HEADERS = new Set(['date', 'server', 'connection', 'keep-alive', 'transfer-encoding']);

type Driver = (request: CaseRequest) => Promise<Observed>;

async function viaTestClient(client: TestClient, request: CaseRequest): Promise<Observed> {
  const res = await client.request(request.method ?? 'GET', request.path, {
    headers: request.headers,
    json: request.json,
    data: request.data,
    files: request.files
      ? Object.fromEntries(
          Object.entries(request.files).map(([k, f]) => [k, [f.filename, f.content, f.contentType]]),
        )
      : undefined,
    content: Array.isArray(request.content)
      ? (async function* () {
          for (const chunk of request.content as string[]) yield chunk;
        })()
      : request.content,
    followRedirects: request.followRedirects ?? false,
  });
  const headers: Record<string, string> = {};
  for (const key of res.headers.keys()) if (key !== 'set-cookie') headers[key] = res.headers.get(key)!;
  return { status: res.status, headers, setCookies: res.headers.getAll('set-cookie'), text: res.text };
}

/** A minimal cookie jar for `fetch`, which keeps none: name → value, dropped when expired. */
class Jar {
  readonly #cookies = new Map<string, string>();

  receive(headers: string[]): void {
    for (const header of headers) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const expired = attributes.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (k!.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k!.toLowerCase() === 'expires') return Date.parse(v) < Date.now();
        return false;
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair!.slice(eq + 1).trim());
    }
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * `fetch` will not send a Host header of our choosing (undici writes the URL's), so requests that set
 * one go through `node:http`, still a real client on a real socket.
 */
function viaNodeHttp(base: string, request: CaseRequest): Promise<Observed> {
  return new Promise((resolve, reject) => {
    const body = request.content === undefined ? undefined : [request.content].flat().join('');
    const req = http.request(
      base + request.path,
      { method: request.method ?? 'GET', headers: request.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (k !== 'set-cookie' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          const decoded = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          resolve({
            status: res.statusCode!,
            headers,
            setCookies: res.headers['set-cookie'] ?? [],
            text: decoded.toString(),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function viaFetch(base: string, jar: Jar, request: CaseRequest): Promise<Observed> {
  if (Object.keys(request.headers ?? {}).some((k) => k.toLowerCase() === 'host'))
    return viaNodeHttp(base, request);
  const headers = new Headers(request.headers);
  let body: RequestInit['body'];
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers.set('content-type', 'application/json');
  } else if (request.files) {
    const form = new FormData();
    for (const [k, v] of Object.entries(request.data ?? {})) form.append(k, v);
    for (const [k, f] of Object.entries(request.files))
      form.append(k, new Blob([f.content], { type: f.contentType }), f.filename);
    body = form;
  } else if (request.data) body = new URLSearchParams(request.data);
  else if (Array.isArray(request.content)) {
    const chunks = request.content.map((c) => new TextEncoder().encode(c));
    body = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
  } else if (request.content !== undefined) body = request.content;
  const cookie = jar.header();
  if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
  const res = await fetch(base + request.path, {
    method: request.method ?? 'GET',
    headers,
    body,
    redirect: request.followRedirects ? 'follow' : 'manual',
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  jar.receive(res.headers.getSetCookie());
  const out: Record<string, string> = {};
  for (const [k, v] of res.headers) if (k !== 'set-cookie') out[k] = v;
  return { status: res.status, headers: out, setCookies: res.headers.getSetCookie(), text: await res.text() };
}

function check(t: ExecutionContext, label: string, seen: Observed, expect: Expect): void {
  t.is(seen.status, expect.status, `${label}: status`);
  for (const [name, want] of Object.entries(expect.headers ?? {})) {
    const got = seen.headers[name];
    if (want === null) t.false(name in seen.headers, `${label}: header ${name} should be absent, got ${got}`);
    else if (want instanceof RegExp) t.regex(got ?? '', want, `${label}: header ${name}`);
    else t.is(got, want, `${label}: header ${name}`);
  }
  if (expect.setCookies) {
    t.is(seen.setCookies.length, expect.setCookies.length, `${label}: number of Set-Cookie headers`);
    expect.setCookies.forEach((want, i) => {
      const got = seen.setCookies[i] ?? '';
      if (want instanceof RegExp) t.regex(got, want, `${label}: Set-Cookie #${i}`);
      else t.is(got, want, `${label}: Set-Cookie #${i}`);
    });
  }
  if (expect.text instanceof RegExp) t.regex(seen.text, expect.text, `${label}: body`);
  else if (expect.text !== undefined) t.is(seen.text, expect.text, `${label}: body`);
  if (expect.json !== undefined) t.deepEqual(JSON.parse(seen.text), expect.json, `${label}: JSON body`);
}

/** What both runs must agree on: the app's answer, with each run's own base URL written as `BASE`. */
function comparable(seen: Observed, ctx: RunContext, kase: Case): unknown {
  const volatile = new Set(kase.volatileHeaders ?? []);
  const text = seen.text
    .replaceAll(ctx.base, 'BASE')
    .replaceAll(ctx.host, 'HOST')
    .replaceAll(`"${ctx.clientHost}"`, '"CLIENT"');
  // A body that names the run's own host or address has a run-dependent length.
  if (text !== seen.text) volatile.add('content-length');
  const headers = Object.entries(seen.headers)
    .filter(([k]) => !TRANSPORT_HEADERS.has(k) && !volatile.has(k))
    .map(([k, v]) => [k, v.replaceAll(ctx.base, 'BASE')])
    .sort(([a], [b]) => a!.localeCompare(b!));
  return {
    status: seen.status,
    headers,
    setCookies: volatile.has('set-cookie') ? seen.setCookies.length : seen.setCookies,
    text: kase.volatileBody ? null : text,
  };
}

async function runSteps(t: ExecutionContext, kase: Case, ctx: RunContext, send: Driver): Promise<Observed[]> {
  const seen: Observed[] = [];
  for (const [i, step] of kase.steps.entries()) {
    const request = typeof step.request === 'function' ? step.request(ctx, seen) : step.request;
    const observed = await send(request);
    const expect = typeof step.expect === 'function' ? step.expect(ctx, seen) : step.expect;
    check(t, `${ctx.mode} step ${i + 1} (${request.method ?? 'GET'} ${request.path})`, observed, expect);
    seen.push(observed);
  }
  return seen;
}

async function runTestClient(
  t: ExecutionContext,
  kase: Case,
  transport: 'in-process' | 'native',
): Promise<[Observed[], RunContext]> {
  const ctx: RunContext = {
    mode: transport === 'native' ? 'native' : 'testclient',
    base: 'http://testserver',
    host: 'testserver',
    clientHost: 'testclient',
  };
  const client = new TestClient(kase.app(), {
    raiseServerExceptions: false,
    followRedirects: false,
    transport,
  });
  if (kase.lifespan) await client.start();
  try {
    return [await runSteps(t, kase, ctx, (r) => viaTestClient(client, r)), ctx];
  } finally {
    if (kase.lifespan) await client.stop();
  }
}

async function runSocket(t: ExecutionContext, kase: Case): Promise<[Observed[], RunContext]> {
  const app: ASGIApp = kase.app();
  const server = await serve(app, {
    port: 0,
    accessLog: false,
    logLevel: 'critical',
    lifespan: kase.lifespan ? 'on' : 'off',
  });
  const ctx: RunContext = {
    mode: 'socket',
    base: server.url,
    host: new URL(server.url).host,
    clientHost: '127.0.0.1',
  };
  const jar = new Jar();
  try {
    return [await runSteps(t, kase, ctx, (r) => viaFetch(server.url, jar, r)), ctx];
  } finally {
    await server.close();
  }
}

for (const kase of cases) {
  test(kase.name, async (t) => {
    const [inProcess, tcCtx] = await runTestClient(t, kase, 'in-process');
    const [native, nativeCtx] = await runTestClient(t, kase, 'native');
    const [overSocket, sockCtx] = await runSocket(t, kase);
    t.deepEqual(
      overSocket.map((o) => comparable(o, sockCtx, kase)),
      inProcess.map((o) => comparable(o, tcCtx, kase)),
      'the TestClient and a real socket must observe the same behaviour',
    );
    t.deepEqual(
      native.map((o) => comparable(o, nativeCtx, kase)),
      inProcess.map((o) => comparable(o, tcCtx, kase)),
      'the TestClient must observe the same behaviour through the native core as in-process',
    );
  });
}
