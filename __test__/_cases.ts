/**
 * The shared behaviour cases: each is a tiny Starling app, the requests a client makes to it, and what
 * must come back. `cases.spec.ts` runs every case through the in-process `TestClient`, the `TestClient` on
 * the native core (`transport: 'native'`) and a real socket (`serve()` + `fetch`), so the paths cannot
 * drift apart.
 *
 * Expectations may depend on the run (`ctx`): the TestClient talks to `http://testserver` from
 * `testclient:50000`, a real client to `http://127.0.0.1:<port>` from `127.0.0.1`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ASGIApp } from '../src/asgi.ts';
import { Starling } from '../src/applications.ts';
import { BackgroundTask } from '../src/background.ts';
import { HTTPException } from '../src/exceptions.ts';
import { Middleware } from '../src/middleware/index.ts';
import { BaseHTTPMiddleware } from '../src/middleware/base.ts';
import { CORSMiddleware } from '../src/middleware/cors.ts';
import { GZipMiddleware } from '../src/middleware/gzip.ts';
import { HTTPSRedirectMiddleware } from '../src/middleware/httpsredirect.ts';
import { SessionMiddleware } from '../src/middleware/sessions.ts';
import { TrustedHostMiddleware } from '../src/middleware/trustedhost.ts';
import type { Request } from '../src/requests.ts';
import {
  FileResponse,
  HTMLResponse,
  JSONResponse,
  PlainTextResponse,
  RedirectResponse,
  Response,
  StreamingResponse,
} from '../src/responses.ts';
import { Mount, Route } from '../src/routing.ts';
import { StaticFiles } from '../src/staticfiles.ts';
import type { UploadFile } from '../src/datastructures.ts';

/** How a case is being run. */
export interface RunContext {
  mode: 'testclient' | 'native' | 'socket';
  /** `http://testserver` or `http://127.0.0.1:<port>`. */
  base: string;
  /** The Host header the client sends: `testserver` or `127.0.0.1:<port>`. */
  host: string;
  /** The client host the app sees. */
  clientHost: string;
}

/** One file of a multipart upload. */
export interface CaseFile {
  filename: string;
  content: string;
  contentType: string;
}

export interface CaseRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** Urlencoded form, or multipart when `files` is given too. */
  data?: Record<string, string>;
  files?: Record<string, CaseFile>;
  /** A raw body; an array is sent as a chunked body, one chunk per item. */
  content?: string | string[];
  followRedirects?: boolean;
}

/** A header expectation: exact value, pattern, or `null` for "absent". */
export type HeaderExpect = string | RegExp | null;

export interface Expect {
  status: number;
  headers?: Record<string, HeaderExpect>;
  /** Every `Set-Cookie` header, matched one by one. */
  setCookies?: (string | RegExp)[];
  text?: string | RegExp;
  json?: unknown;
}

/** What a client observed, normalised so that both paths can be compared. */
export interface Observed {
  status: number;
  /** Lower-case names, repeated values joined with `, ` (as `fetch` does); `set-cookie` is left out. */
  headers: Record<string, string>;
  setCookies: string[];
  /** Body decoded from any Content-Encoding, as UTF-8 text. */
  text: string;
}

export interface Step {
  request: CaseRequest | ((ctx: RunContext, previous: Observed[]) => CaseRequest);
  expect: Expect | ((ctx: RunContext, previous: Observed[]) => Expect);
}

export interface Case {
  name: string;
  /** A fresh app per run (module-level state would leak between the two runs). */
  app: () => ASGIApp;
  steps: Step[];
  /** Run lifespan startup/shutdown around the steps. */
  lifespan?: boolean;
  /** Headers whose values legitimately differ between runs (random boundaries, timestamps). */
  volatileHeaders?: string[];
  /** The bodies legitimately differ between runs. */
  volatileBody?: boolean;
}

// ---- fixtures ------------------------------------------------------------------------------------

export const fixtures = mkdtempSync(join(tmpdir(), 'starling-cases-'));
const FILE_TEXT = '0123456789abcdefghijklmnopqrstuvwxyz';
writeFileSync(join(fixtures, 'file.txt'), FILE_TEXT);
mkdirSync(join(fixtures, 'static', 'docs'), { recursive: true });
writeFileSync(join(fixtures, 'static', 'style.css'), 'body { color: red; }\n');
writeFileSync(join(fixtures, 'static', 'index.html'), '<h1>home</h1>\n');
writeFileSync(join(fixtures, 'static', 'docs', 'index.html'), '<h1>docs</h1>\n');
writeFileSync(join(fixtures, 'static', '404.html'), '<h1>custom 404</h1>\n');

const app = (routes: ConstructorParameters<typeof Starling>[0]) => () => new Starling(routes);
const get = (path: string, extra: Omit<CaseRequest, 'path'> = {}): CaseRequest => ({ path, ...extra });
const one = (
  name: string,
  factory: () => ASGIApp,
  request: CaseRequest,
  expect: Step['expect'],
  more: Partial<Case> = {},
): Case => ({
  name,
  app: factory,
  steps: [{ request, expect }],
  ...more,
});

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';
const BIG = 'Starling '.repeat(200);

// ---- routing --------------------------------------------------------------------------------------

const routingApp = app({
  routes: [
    new Route('/', () => new PlainTextResponse('home')),
    new Route(
      '/users/{id:int}',
      (r: Request) => new JSONResponse({ id: r.pathParams.id, type: typeof r.pathParams.id }),
    ),
    new Route('/price/{value:float}', (r: Request) => new JSONResponse({ value: r.pathParams.value })),
    new Route('/files/{rest:path}', (r: Request) => new JSONResponse({ rest: r.pathParams.rest })),
    new Route('/things/{u:uuid}', (r: Request) => new JSONResponse({ u: String(r.pathParams.u) })),
    new Route('/only-post', () => new PlainTextResponse('posted'), { methods: ['POST'] }),
    new Route('/slash', () => new PlainTextResponse('no slash')),
    new Route(
      '/named/{name}',
      (r: Request) => new PlainTextResponse(String(r.urlFor('named', { name: 'x y' }))),
      {
        name: 'named',
      },
    ),
    new Mount('/api', {
      routes: [
        new Route(
          '/items/{id}',
          (r: Request) =>
            new JSONResponse({
              id: r.pathParams.id,
              path: r.url.path,
              rootPath: r.scope.root_path,
              base: r.baseUrl.path,
            }),
        ),
      ],
    }),
  ],
});

export const routingCases: Case[] = [
  one('routing: int, float, path and uuid convertors', routingApp, get('/users/42'), {
    status: 200,
    json: { id: 42, type: 'number' },
    headers: { 'content-type': JSON_TYPE, 'content-length': '25' },
  }),
  one('routing: float convertor', routingApp, get('/price/1.5'), { status: 200, json: { value: 1.5 } }),
  one('routing: path convertor keeps slashes', routingApp, get('/files/a/b/c.txt'), {
    status: 200,
    json: { rest: 'a/b/c.txt' },
  }),
  one('routing: uuid convertor', routingApp, get('/things/5ee1a6d4-2e6a-4a16-9c5c-2f5c2c1f0a3d'), {
    status: 200,
    json: { u: '5ee1a6d4-2e6a-4a16-9c5c-2f5c2c1f0a3d' },
  }),
  one('routing: an int convertor does not match letters (404)', routingApp, get('/users/abc'), {
    status: 404,
    text: 'Not Found',
    headers: { 'content-type': TEXT, 'content-length': '9' },
  }),
  one('routing: an unknown path is a plain 404', routingApp, get('/nowhere'), {
    status: 404,
    text: 'Not Found',
  }),
  one('routing: a wrong method is 405 with Allow', routingApp, get('/only-post'), {
    status: 405,
    text: 'Method Not Allowed',
    headers: { allow: 'POST' },
  }),
  one('routing: the right method passes', routingApp, get('/only-post', { method: 'POST' }), {
    status: 200,
    text: 'posted',
  }),
  one(
    'routing: a trailing slash redirects to the route without it',
    routingApp,
    get('/slash/?x=1'),
    (ctx) => ({
      status: 307,
      headers: { location: `${ctx.base}/slash?x=1` },
    }),
  ),
  one('routing: the slash redirect is followed', routingApp, get('/slash/', { followRedirects: true }), {
    status: 200,
    text: 'no slash',
  }),
  one(
    'routing: a followed slash redirect of a POST resends the body (307)',
    routingApp,
    get('/only-post/', { method: 'POST', content: 'x', followRedirects: true }),
    { status: 200, text: 'posted' },
  ),
  one('routing: mounts set root_path and keep the full path', routingApp, get('/api/items/7'), {
    status: 200,
    json: { id: '7', path: '/api/items/7', rootPath: '/api', base: '/' },
  }),
  one('routing: urlFor builds an absolute URL from the Host', routingApp, get('/named/a'), (ctx) => ({
    status: 200,
    text: `${ctx.base}/named/x y`, // as Starlette: url_for does not quote
  })),
  one(
    'routing: percent-encoded paths are decoded before matching',
    routingApp,
    get('/files/caf%C3%A9%20x/%2Fy'),
    {
      status: 200,
      json: { rest: 'café x//y' },
    },
  ),
  one('routing: HEAD of a miss is a body-less 404', routingApp, get('/nowhere', { method: 'HEAD' }), {
    status: 404,
    text: '',
    headers: { 'content-length': '9' },
  }),
  one('routing: HEAD is served wherever GET is, without a body', routingApp, get('/', { method: 'HEAD' }), {
    status: 200,
    text: '',
    headers: { 'content-length': '4', 'content-type': TEXT },
  }),
];

// ---- requests -------------------------------------------------------------------------------------

const requestsApp = app({
  routes: [
    new Route(
      '/query',
      (r: Request) =>
        new JSONResponse({
          a: r.queryParams.get('a'),
          all: r.queryParams.getAll('a'),
          b: r.queryParams.get('b'),
          missing: r.queryParams.get('zzz') ?? null,
        }),
    ),
    new Route(
      '/headers',
      (r: Request) =>
        new JSONResponse({
          custom: r.headers.get('x-custom'),
          upper: r.headers.get('X-CUSTOM'),
          ua: r.headers.has('user-agent'),
          host: r.headers.get('host'),
        }),
    ),
    new Route('/cookies', (r: Request) => new JSONResponse(r.cookies)),
    new Route('/json', async (r: Request) => new JSONResponse({ got: await r.json() }), {
      methods: ['POST'],
    }),
    new Route(
      '/form',
      async (r: Request) => {
        const form = await r.form();
        const out: Record<string, unknown> = {};
        for (const key of new Set(form.keys())) {
          const value = form.get(key);
          if (typeof value === 'string') out[key] = form.getAll(key);
          else {
            const file = value as UploadFile;
            out[key] = {
              filename: file.filename,
              contentType: file.contentType,
              size: file.size,
              content: new TextDecoder().decode(await file.read()),
            };
          }
        }
        return new JSONResponse(out);
      },
      { methods: ['POST'] },
    ),
    new Route(
      '/stream',
      async (r: Request) => {
        let body = '';
        for await (const chunk of r.stream()) body += new TextDecoder().decode(chunk);
        return new JSONResponse({ body, chunked: r.headers.get('transfer-encoding') });
      },
      { methods: ['POST'] },
    ),
    new Route(
      '/client',
      (r: Request) => new JSONResponse({ host: r.client?.host, port: typeof r.client?.port }),
    ),
    new Route(
      '/url',
      (r: Request) =>
        new JSONResponse({
          scheme: r.url.scheme,
          path: r.url.path,
          query: r.url.query,
          method: r.method,
        }),
    ),
  ],
});

export const requestCases: Case[] = [
  one(
    'requests: repeated query params (get is the last, getAll all)',
    requestsApp,
    get('/query?a=1&a=2&b=x%20y'),
    {
      status: 200,
      json: { a: '2', all: ['1', '2'], b: 'x y', missing: null },
    },
  ),
  one(
    'requests: headers are case-insensitive',
    requestsApp,
    get('/headers', { headers: { 'X-Custom': 'yes' } }),
    (ctx) => ({
      status: 200,
      json: { custom: 'yes', upper: 'yes', ua: true, host: ctx.host },
    }),
  ),
  one(
    'requests: cookies are parsed from the Cookie header',
    requestsApp,
    get('/cookies', { headers: { cookie: 'a=1; b=two words' } }),
    {
      status: 200,
      json: { a: '1', b: 'two words' },
    },
  ),
  one('requests: a JSON body', requestsApp, get('/json', { method: 'POST', json: { x: [1, 'é'] } }), {
    status: 200,
    json: { got: { x: [1, 'é'] } },
  }),
  one(
    'requests: a urlencoded form',
    requestsApp,
    get('/form', { method: 'POST', data: { name: 'a b&c', n: 'é' } }),
    {
      status: 200,
      json: { name: ['a b&c'], n: ['é'] },
    },
  ),
  one(
    'requests: a multipart form with fields and files',
    requestsApp,
    get('/form', {
      method: 'POST',
      data: { title: 'hello' },
      files: {
        upload: { filename: 'notes.txt', content: 'line one\nline two\n', contentType: 'text/plain' },
        pic: { filename: 'p.bin', content: '\u0001\u0002', contentType: 'application/octet-stream' },
      },
    }),
    {
      status: 200,
      json: {
        title: ['hello'],
        upload: {
          filename: 'notes.txt',
          contentType: 'text/plain',
          size: 18,
          content: 'line one\nline two\n',
        },
        pic: { filename: 'p.bin', contentType: 'application/octet-stream', size: 2, content: '\u0001\u0002' },
      },
    },
  ),
  one(
    'requests: a chunked body read with stream()',
    requestsApp,
    get('/stream', { method: 'POST', content: ['ab', 'cd', 'ef'] }),
    {
      status: 200,
      json: { body: 'abcdef', chunked: 'chunked' },
    },
  ),
  one(
    'requests: a fixed-length body read with stream()',
    requestsApp,
    get('/stream', { method: 'POST', content: 'plain' }),
    {
      status: 200,
      json: { body: 'plain', chunked: null },
    },
  ),
  one('requests: + and %20 in the query both decode to spaces', requestsApp, get('/query?a=x+y&b=%2B%20'), {
    status: 200,
    json: { a: 'x y', all: ['x y'], b: '+ ', missing: null },
  }),
  one('requests: client address', requestsApp, get('/client'), (ctx) => ({
    status: 200,
    json: { host: ctx.clientHost, port: 'number' },
  })),
  one('requests: url parts', requestsApp, get('/url?q=1'), {
    status: 200,
    json: { scheme: 'http', path: '/url', query: 'q=1', method: 'GET' },
  }),
];

// ---- responses ------------------------------------------------------------------------------------

const responsesApp = app({
  routes: [
    new Route(
      '/bytes',
      () => new Response(new Uint8Array([104, 105]), { mediaType: 'application/octet-stream' }),
    ),
    new Route('/html', () => new HTMLResponse('<p>é</p>')),
    new Route('/text', () => new PlainTextResponse('é', { status: 201, headers: { 'x-extra': '1' } })),
    new Route('/json', () => new JSONResponse({ emoji: '🐦', n: null })),
    new Route('/empty', () => new Response(null, { status: 204 })),
    new Route('/redirect', () => new RedirectResponse('/text')),
    new Route('/redirect-303', () => new RedirectResponse('/text', { status: 303 }), { methods: ['POST'] }),
    new Route('/redirect-away', () => new RedirectResponse('https://example.org/a b', { status: 302 })),
    new Route('/cookie', () => {
      const r = new PlainTextResponse('set');
      r.setCookie('plain', 'v');
      r.setCookie('full', 'x', { maxAge: 60, path: '/p', httponly: true, secure: true, samesite: 'strict' });
      return r;
    }),
    new Route('/cookie-delete', () => {
      const r = new PlainTextResponse('deleted');
      r.deleteCookie('plain');
      return r;
    }),
    new Route(
      '/stream',
      () =>
        new StreamingResponse(
          (async function* () {
            yield 'one,';
            yield new TextEncoder().encode('two,');
            yield 'three';
          })(),
          { mediaType: 'text/plain' },
        ),
    ),
    new Route('/file', () => new FileResponse(join(fixtures, 'file.txt'))),
    new Route('/download', () => new FileResponse(join(fixtures, 'file.txt'), { filename: 'résumé.txt' })),
  ],
});

const fileHeaders = {
  'content-type': TEXT,
  'accept-ranges': 'bytes',
  etag: /^"[0-9a-f]+-[0-9a-f]+"$/,
  'last-modified': /GMT$/,
};

export const responseCases: Case[] = [
  one('responses: Response with bytes and a media type', responsesApp, get('/bytes'), {
    status: 200,
    text: 'hi',
    headers: { 'content-type': 'application/octet-stream', 'content-length': '2' },
  }),
  one('responses: HTMLResponse adds the charset', responsesApp, get('/html'), {
    status: 200,
    text: '<p>é</p>',
    headers: { 'content-type': HTML, 'content-length': '9' },
  }),
  one('responses: PlainTextResponse with status and headers', responsesApp, get('/text'), {
    status: 201,
    text: 'é',
    headers: { 'content-type': TEXT, 'content-length': '2', 'x-extra': '1' },
  }),
  one('responses: JSONResponse is compact UTF-8', responsesApp, get('/json'), {
    status: 200,
    text: '{"emoji":"🐦","n":null}',
    headers: { 'content-type': JSON_TYPE, 'content-length': '25' },
  }),
  one('responses: a 204 has no body and no content-type', responsesApp, get('/empty'), {
    status: 204,
    text: '',
    headers: { 'content-type': null },
  }),
  one('responses: RedirectResponse is a 307 with a Location', responsesApp, get('/redirect'), {
    status: 307,
    text: '',
    headers: { location: '/text', 'content-length': '0' },
  }),
  one(
    'responses: a followed redirect lands on the target',
    responsesApp,
    get('/redirect', { followRedirects: true }),
    {
      status: 201,
      text: 'é',
    },
  ),
  one(
    'responses: a 303 after POST is followed with a GET',
    responsesApp,
    get('/redirect-303', { method: 'POST', content: 'x', followRedirects: true }),
    {
      status: 201,
      text: 'é',
    },
  ),
  one('responses: redirect URLs are percent-encoded', responsesApp, get('/redirect-away'), {
    status: 302,
    headers: { location: 'https://example.org/a%20b' },
  }),
  one('responses: setCookie writes Set-Cookie headers', responsesApp, get('/cookie'), {
    status: 200,
    setCookies: [
      'plain=v; Path=/; SameSite=lax',
      'full=x; HttpOnly; Max-Age=60; Path=/p; SameSite=strict; Secure',
    ],
  }),
  one(
    'responses: deleteCookie expires the cookie',
    responsesApp,
    get('/cookie-delete'),
    {
      status: 200,
      setCookies: [/^plain=""; expires=.+ GMT; Max-Age=0; Path=\/; SameSite=lax$/],
    },
    { volatileHeaders: ['set-cookie'] },
  ),
  one('responses: StreamingResponse sends every chunk', responsesApp, get('/stream'), {
    status: 200,
    text: 'one,two,three',
    headers: { 'content-type': TEXT, 'content-length': null },
  }),
  one(
    'responses: HEAD of a StreamingResponse sends no body',
    responsesApp,
    get('/stream', { method: 'HEAD' }),
    {
      status: 200,
      text: '',
      headers: { 'content-type': TEXT },
    },
  ),
  one('responses: FileResponse sends the file with validators', responsesApp, get('/file'), {
    status: 200,
    text: FILE_TEXT,
    headers: { ...fileHeaders, 'content-length': '36' },
  }),
  one(
    'responses: FileResponse HEAD has the headers and no body',
    responsesApp,
    get('/file', { method: 'HEAD' }),
    {
      status: 200,
      text: '',
      headers: { ...fileHeaders, 'content-length': '36' },
    },
  ),
  one(
    'responses: FileResponse serves a single range',
    responsesApp,
    get('/file', { headers: { range: 'bytes=2-5' } }),
    {
      status: 206,
      text: '2345',
      headers: { 'content-range': 'bytes 2-5/36', 'content-length': '4' },
    },
  ),
  one(
    'responses: FileResponse serves a suffix range',
    responsesApp,
    get('/file', { headers: { range: 'bytes=-3' } }),
    {
      status: 206,
      text: 'xyz',
      headers: { 'content-range': 'bytes 33-35/36' },
    },
  ),
  one(
    'responses: FileResponse serves several ranges as multipart',
    responsesApp,
    get('/file', { headers: { range: 'bytes=0-1,10-11' } }),
    {
      status: 206,
      headers: { 'content-type': /^multipart\/byteranges; boundary=/ },
      text: /Content-Range: bytes 0-1\/36\r\n\r\n01\r\n--.*Content-Range: bytes 10-11\/36\r\n\r\nab\r\n/s,
    },
    { volatileHeaders: ['content-type'], volatileBody: true },
  ),
  one(
    'responses: an unsatisfiable range is 416',
    responsesApp,
    get('/file', { headers: { range: 'bytes=100-200' } }),
    {
      status: 416,
      headers: { 'content-range': 'bytes */36' },
    },
  ),
  one(
    'responses: a backwards range is 400',
    responsesApp,
    get('/file', { headers: { range: 'bytes=5-2' } }),
    {
      status: 400,
      text: 'Range header: start must be less than end',
    },
  ),
  one(
    'responses: a non-bytes range unit is 400',
    responsesApp,
    get('/file', { headers: { range: 'lines=1-2' } }),
    {
      status: 400,
      text: 'Only support bytes range',
    },
  ),
  {
    name: 'responses: FileResponse answers 304 to a matching If-None-Match',
    app: responsesApp,
    steps: [
      { request: get('/file'), expect: { status: 200 } },
      {
        request: (_ctx, [first]) => get('/file', { headers: { 'if-none-match': first!.headers.etag! } }),
        expect: (_ctx, [first]) => ({
          status: 304,
          text: '',
          headers: { etag: first!.headers.etag!, 'content-length': null },
        }),
      },
    ],
  },
  one('responses: FileResponse with a filename is an attachment', responsesApp, get('/download'), {
    status: 200,
    headers: { 'content-disposition': "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt" },
  }),
];

// ---- exceptions -----------------------------------------------------------------------------------

class Teapot extends Error {}

const exceptionRoutes = [
  new Route('/missing', () => {
    throw new HTTPException(404, { detail: 'no such thing' });
  }),
  new Route('/auth', () => {
    throw new HTTPException(401, { headers: { 'www-authenticate': 'Basic' } });
  }),
  new Route('/teapot', () => {
    throw new HTTPException(418);
  }),
  new Route('/crash', () => {
    throw new Error('kaboom');
  }),
  new Route('/custom', () => {
    throw new Teapot('short and stout');
  }),
];

export const exceptionCases: Case[] = [
  one('exceptions: HTTPException detail is the body', app({ routes: exceptionRoutes }), get('/missing'), {
    status: 404,
    text: 'no such thing',
    headers: { 'content-type': TEXT },
  }),
  one('exceptions: HTTPException headers are sent', app({ routes: exceptionRoutes }), get('/auth'), {
    status: 401,
    text: 'Unauthorized',
    headers: { 'www-authenticate': 'Basic' },
  }),
  one(
    'exceptions: a bare HTTPException uses the reason phrase',
    app({ routes: exceptionRoutes }),
    get('/teapot'),
    {
      status: 418,
      text: "I'm a Teapot", // Python's http.HTTPStatus phrase
    },
  ),
  one('exceptions: an unhandled error is a plain 500', app({ routes: exceptionRoutes }), get('/crash'), {
    status: 500,
    text: 'Internal Server Error',
    headers: { 'content-type': TEXT },
  }),
  one(
    'exceptions: a handler for an error class answers',
    app({
      routes: exceptionRoutes,
      exceptionHandlers: [
        [Teapot, (_r: Request, e: Error) => new JSONResponse({ teapot: e.message }, { status: 418 })],
      ],
    }),
    get('/custom'),
    { status: 418, json: { teapot: 'short and stout' } },
  ),
  one(
    'exceptions: a custom 500 handler answers unhandled errors',
    app({
      routes: exceptionRoutes,
      exceptionHandlers: {
        500: (r: Request, e: Error) =>
          new JSONResponse({ path: r.url.path, error: e.message }, { status: 500 }),
      },
    }),
    get('/crash'),
    { status: 500, json: { path: '/crash', error: 'kaboom' } },
  ),
  one(
    'exceptions: a custom 404 handler answers misses',
    app({
      routes: exceptionRoutes,
      exceptionHandlers: {
        404: (r: Request) => new HTMLResponse(`<p>${r.url.path} is gone</p>`, { status: 404 }),
      },
    }),
    get('/nope'),
    { status: 404, text: '<p>/nope is gone</p>', headers: { 'content-type': HTML } },
  ),
  one(
    'exceptions: debug sends the stack as text',
    app({ routes: exceptionRoutes, debug: true }),
    get('/crash'),
    {
      status: 500,
      text: /^Error: kaboom\n {4}at /,
    },
    { volatileBody: true },
  ),
  one(
    'exceptions: debug sends browsers an HTML page',
    app({ routes: exceptionRoutes, debug: true }),
    get('/crash', { headers: { accept: 'text/html' } }),
    {
      status: 500,
      text: /<title>Starling Debugger<\/title>[\s\S]*Error: kaboom/,
      headers: { 'content-type': HTML },
    },
    { volatileBody: true, volatileHeaders: ['content-length'] },
  ),
];

// ---- middleware -----------------------------------------------------------------------------------

const plainRoutes = [
  new Route('/', () => new PlainTextResponse('hello')),
  new Route('/big', () => new PlainTextResponse(BIG)),
  new Route('/crash', () => {
    throw new Error('kaboom');
  }),
];

const corsApp = app({
  routes: plainRoutes,
  middleware: [
    new Middleware(CORSMiddleware, {
      allowOrigins: ['https://example.org'],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['X-Token'],
      exposeHeaders: ['X-Total'],
      allowCredentials: true,
    }),
  ],
});

const sessionApp = app({
  routes: [
    new Route('/get', (r: Request) => new JSONResponse(r.session)),
    new Route(
      '/set',
      async (r: Request) => {
        Object.assign(r.session, await r.json());
        return new JSONResponse(r.session);
      },
      { methods: ['POST'] },
    ),
    new Route(
      '/clear',
      (r: Request) => {
        for (const key of Object.keys(r.session)) delete r.session[key];
        return new JSONResponse(r.session);
      },
      { methods: ['POST'] },
    ),
  ],
  middleware: [new Middleware(SessionMiddleware, { secretKey: 'not-so-secret' })],
});

class StampMiddleware extends BaseHTTPMiddleware {
  override async dispatch(request: Request, callNext: (r: Request) => Promise<Response>): Promise<Response> {
    const response = await callNext(request);
    response.headers.set('x-stamp', request.url.path);
    return response;
  }
}

export const middlewareCases: Case[] = [
  one(
    'middleware: CORS simple request from an allowed origin',
    corsApp,
    get('/', { headers: { origin: 'https://example.org' } }),
    {
      status: 200,
      text: 'hello',
      headers: {
        'access-control-allow-origin': 'https://example.org',
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'X-Total',
        vary: 'Origin',
      },
    },
  ),
  one(
    'middleware: CORS simple request from another origin',
    corsApp,
    get('/', { headers: { origin: 'https://evil.example' } }),
    {
      status: 200,
      headers: { 'access-control-allow-origin': null },
    },
  ),
  one(
    'middleware: CORS preflight allowed',
    corsApp,
    get('/', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://example.org',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-token',
      },
    }),
    {
      status: 200,
      text: 'OK',
      headers: {
        'access-control-allow-origin': 'https://example.org',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'Accept, Accept-Language, Content-Language, Content-Type, X-Token',
        'access-control-max-age': '600',
      },
    },
  ),
  one(
    'middleware: CORS preflight refused',
    corsApp,
    get('/', {
      method: 'OPTIONS',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'DELETE' },
    }),
    { status: 400, text: 'Disallowed CORS method' },
  ),
  one(
    'middleware: CORS headers on a 500',
    corsApp,
    get('/crash', { headers: { origin: 'https://example.org' } }),
    {
      status: 500,
      text: 'Internal Server Error',
      headers: { 'access-control-allow-origin': 'https://example.org' },
    },
  ),
  one(
    'middleware: CORS headers on a custom 500 handler',
    app({
      routes: plainRoutes,
      middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['*'] })],
      exceptionHandlers: { 500: () => new JSONResponse({ error: 'sorry' }, { status: 500 }) },
    }),
    get('/crash', { headers: { origin: 'https://example.org' } }),
    {
      status: 500,
      json: { error: 'sorry' },
      headers: { 'access-control-allow-origin': '*', vary: 'Origin' },
    },
  ),
  one(
    'middleware: CORS headers on the debug page',
    app({
      debug: true,
      routes: plainRoutes,
      middleware: [new Middleware(CORSMiddleware, { allowOrigins: ['*'] })],
    }),
    get('/crash', { headers: { origin: 'https://example.org', accept: 'text/html' } }),
    {
      status: 500,
      text: /Starling Debugger/,
      headers: { 'content-type': HTML, 'access-control-allow-origin': '*' },
    },
    { volatileBody: true, volatileHeaders: ['content-length'] },
  ),
  {
    name: 'middleware: a session round trip over real cookies',
    app: sessionApp,
    volatileHeaders: ['set-cookie'],
    steps: [
      { request: get('/get'), expect: { status: 200, json: {}, setCookies: [] } },
      {
        request: get('/set', { method: 'POST', json: { user: 'ada', n: 1 } }),
        expect: {
          status: 200,
          setCookies: [/^session=[^;]+; path=\/; Max-Age=1209600; httponly; samesite=lax$/i],
        },
      },
      { request: get('/get'), expect: { status: 200, json: { user: 'ada', n: 1 } } },
      {
        request: get('/clear', { method: 'POST', content: '' }),
        expect: {
          status: 200,
          setCookies: [
            /^session=null; path=\/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax$/i,
          ],
        },
      },
      { request: get('/get'), expect: { status: 200, json: {} } },
    ],
  },
  one(
    'middleware: GZip compresses large bodies and the client decodes them',
    app({ routes: plainRoutes, middleware: [new Middleware(GZipMiddleware)] }),
    get('/big', { headers: { 'accept-encoding': 'gzip' } }),
    { status: 200, text: BIG, headers: { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } },
    // zlib in JS and in the core make equally valid streams of different lengths.
    { volatileHeaders: ['content-length'] },
  ),
  one(
    'middleware: GZip compresses a streamed body',
    () =>
      new Starling({
        routes: [new Route('/s', () => new StreamingResponse([BIG, BIG], { mediaType: 'text/plain' }))],
        middleware: [new Middleware(GZipMiddleware)],
      }),
    get('/s', { headers: { 'accept-encoding': 'gzip' } }),
    { status: 200, text: BIG + BIG, headers: { 'content-encoding': 'gzip', 'content-length': null } },
  ),
  one(
    'middleware: GZip leaves small bodies alone',
    app({ routes: plainRoutes, middleware: [new Middleware(GZipMiddleware)] }),
    get('/', { headers: { 'accept-encoding': 'gzip' } }),
    { status: 200, text: 'hello', headers: { 'content-encoding': null, 'content-length': '5' } },
  ),
  one(
    'middleware: TrustedHost lets a listed host through',
    app({
      routes: plainRoutes,
      middleware: [new Middleware(TrustedHostMiddleware, { allowedHosts: ['*.example.com'] })],
    }),
    get('/', { headers: { host: 'api.example.com' } }),
    { status: 200, text: 'hello' },
  ),
  one(
    'middleware: TrustedHost refuses an unlisted host',
    app({
      routes: plainRoutes,
      middleware: [new Middleware(TrustedHostMiddleware, { allowedHosts: ['example.com'] })],
    }),
    get('/'),
    { status: 400, text: 'Invalid host header' },
  ),
  one(
    'middleware: HTTPSRedirect sends plain HTTP to https',
    app({ routes: plainRoutes, middleware: [new Middleware(HTTPSRedirectMiddleware)] }),
    get('/big?x=1', { headers: { host: 'example.com' } }),
    { status: 307, headers: { location: 'https://example.com/big?x=1' } },
  ),
  one(
    'middleware: BaseHTTPMiddleware can edit response headers',
    app({ routes: plainRoutes, middleware: [new Middleware(StampMiddleware)] }),
    get('/'),
    { status: 200, text: 'hello', headers: { 'x-stamp': '/', 'content-length': '5' } },
  ),
];

// ---- background tasks, lifespan, static files ------------------------------------------------------

const backgroundApp = () => {
  const log: string[] = [];
  return new Starling({
    routes: [
      new Route(
        '/signup',
        () => {
          log.push('response built');
          return new PlainTextResponse('welcome', {
            background: new BackgroundTask(async (who: string) => {
              await new Promise((resolve) => setTimeout(resolve, 5));
              log.push(`emailed ${who}`);
            }, 'ada'),
          });
        },
        { methods: ['POST'] },
      ),
      new Route('/log', () => new JSONResponse(log)),
    ],
  });
};

const lifespanApp = () =>
  new Starling({
    lifespan: async function* () {
      yield { db: 'connected', counter: { n: 0 } };
    },
    routes: [
      new Route('/state', (r: Request) => {
        const counter = r.state.counter as { n: number };
        counter.n += 1;
        return new JSONResponse({ db: r.state.db, n: counter.n });
      }),
    ],
  });

const staticApp = (html: boolean) => () =>
  new Starling({
    routes: [
      new Mount('/static', {
        app: new StaticFiles({ directory: join(fixtures, 'static'), html }),
        name: 'static',
      }),
    ],
  });

export const otherCases: Case[] = [
  {
    name: 'background: a task runs after the response',
    app: backgroundApp,
    steps: [
      { request: get('/signup', { method: 'POST', content: '' }), expect: { status: 200, text: 'welcome' } },
      { request: get('/log'), expect: { status: 200, json: ['response built', 'emailed ada'] } },
    ],
  },
  {
    name: 'lifespan: the yielded state reaches every request',
    app: lifespanApp,
    lifespan: true,
    steps: [
      { request: get('/state'), expect: { status: 200, json: { db: 'connected', n: 1 } } },
      { request: get('/state'), expect: { status: 200, json: { db: 'connected', n: 2 } } },
    ],
  },
  one('static: a file with its type', staticApp(false), get('/static/style.css'), {
    status: 200,
    text: 'body { color: red; }\n',
    headers: { 'content-type': 'text/css; charset=utf-8', 'content-length': '21', etag: /^"/ },
  }),
  {
    name: 'static: If-Modified-Since gives a 304',
    app: staticApp(false),
    steps: [
      { request: get('/static/style.css'), expect: { status: 200 } },
      {
        request: (_ctx, [first]) =>
          get('/static/style.css', { headers: { 'if-modified-since': first!.headers['last-modified']! } }),
        expect: { status: 304, text: '' },
      },
    ],
  },
  one('static: a missing file is 404', staticApp(false), get('/static/nope.css'), {
    status: 404,
    text: 'Not Found',
  }),
  one('static: a directory is 404 without html mode', staticApp(false), get('/static/docs'), { status: 404 }),
  one('static: POST is 405', staticApp(false), get('/static/style.css', { method: 'POST', content: '' }), {
    status: 405,
    text: 'Method Not Allowed',
  }),
  one('static: html mode serves index.html', staticApp(true), get('/static/docs/'), {
    status: 200,
    text: '<h1>docs</h1>\n',
    headers: { 'content-type': HTML },
  }),
  one(
    'static: html mode redirects a directory to its slash',
    staticApp(true),
    get('/static/docs'),
    (ctx) => ({
      status: 307,
      headers: { location: `${ctx.base}/static/docs/` },
    }),
  ),
  one('static: html mode serves 404.html', staticApp(true), get('/static/nope'), {
    status: 404,
    text: '<h1>custom 404</h1>\n',
  }),
  one(
    'static: a path escaping the directory is 404',
    staticApp(false),
    get('/static/..%2F..%2Fetc%2Fpasswd'),
    {
      status: 404,
    },
  ),
];

export const cases: Case[] = [
  ...routingCases,
  ...requestCases,
  ...responseCases,
  ...exceptionCases,
  ...middlewareCases,
  ...otherCases,
];
