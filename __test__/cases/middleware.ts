/** Middleware cases: CORS, sessions, GZip, trusted hosts, HTTPS redirects, `BaseHTTPMiddleware`. */
import { Starling } from '../../src/applications.ts';
import { Middleware } from '../../src/middleware/index.ts';
import { BaseHTTPMiddleware } from '../../src/middleware/base.ts';
import { CORSMiddleware } from '../../src/middleware/cors.ts';
import { GZipMiddleware } from '../../src/middleware/gzip.ts';
import { HTTPSRedirectMiddleware } from '../../src/middleware/httpsredirect.ts';
import { SessionMiddleware } from '../../src/middleware/sessions.ts';
import { TrustedHostMiddleware } from '../../src/middleware/trustedhost.ts';
import type { Request } from '../../src/requests.ts';
import { JSONResponse, PlainTextResponse, Response, StreamingResponse } from '../../src/responses.ts';
import { Route } from '../../src/routing.ts';
import { app, BIG, get, HTML, one } from './fixtures.ts';
import type { Case } from './case.ts';

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
