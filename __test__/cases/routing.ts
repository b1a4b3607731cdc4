/** Routing cases: convertors, 404 and 405, slash redirects, mounts, reversed URLs, HEAD. */
import type { Request } from '../../src/requests.ts';
import { JSONResponse, PlainTextResponse } from '../../src/responses.ts';
import { Mount, Route } from '../../src/routing.ts';
import { app, get, JSON_TYPE, one, TEXT } from './fixtures.ts';
import type { Case } from './case.ts';

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
