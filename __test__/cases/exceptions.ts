/** Exception cases: `HTTPException`, handlers by status and by class, unhandled errors, debug pages. */
import { HTTPException } from '../../src/exceptions.ts';
import type { Request } from '../../src/requests.ts';
import { HTMLResponse, JSONResponse } from '../../src/responses.ts';
import { Route } from '../../src/routing.ts';
import { app, get, HTML, one, TEXT } from './fixtures.ts';
import type { Case } from './case.ts';

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
