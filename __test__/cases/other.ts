/** Background tasks, lifespan and static files. */
import { join } from 'node:path';
import { Starling } from '../../src/applications.ts';
import { BackgroundTask } from '../../src/background.ts';
import type { Request } from '../../src/requests.ts';
import { JSONResponse, PlainTextResponse } from '../../src/responses.ts';
import { Mount, Route } from '../../src/routing.ts';
import { StaticFiles } from '../../src/staticfiles.ts';
import { fixtures, get, HTML, one } from './fixtures.ts';
import type { Case } from './case.ts';

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
