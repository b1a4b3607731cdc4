/** Request cases: query params, headers, cookies, JSON and form bodies, streamed bodies, client and URL. */
import type { Request } from '../../src/requests.ts';
import { JSONResponse } from '../../src/responses.ts';
import { Route } from '../../src/routing.ts';
import type { UploadFile } from '../../src/datastructures.ts';
import { app, get, one } from './fixtures.ts';
import type { Case } from './case.ts';

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
