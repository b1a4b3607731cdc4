/** Response cases: every response class, redirects, cookies, streaming, files and ranges. */
import { join } from 'node:path';
import {
  FileResponse,
  HTMLResponse,
  JSONResponse,
  PlainTextResponse,
  RedirectResponse,
  Response,
  StreamingResponse,
} from '../../src/responses.ts';
import { Route } from '../../src/routing.ts';
import { app, FILE_TEXT, fixtures, get, HTML, JSON_TYPE, one, TEXT } from './fixtures.ts';
import type { Case } from './case.ts';

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
