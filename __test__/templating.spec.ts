import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { Starling } from '../src/applications.ts';
import type { Request } from '../src/requests.ts';
import { Route } from '../src/routing.ts';
import { TestClient } from '../src/testclient.ts';
import { TemplateResponse, Templates } from '../src/templating.ts';
import { call } from './_asgi.ts';

function templateDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-tpl-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a template is rendered into an HTML response with the request in its context', async (t) => {
  const templates = new Templates({
    directory: templateDir({ 'index.html': '<p>{{ request.url }} {{ title }}</p>' }),
  });
  const app = new Starling({
    routes: [
      new Route('/', async (request: Request) =>
        templates.TemplateResponse(request, 'index.html', { title: 'Home' }),
      ),
    ],
  });
  const res = await new TestClient(app).get('/');
  t.is(res.status, 200);
  t.is(res.text, '<p>http://testserver/ Home</p>');
  t.regex(res.headers.get('content-type')!, /^text\/html; charset=utf-8/);
});

test('values are autoescaped', async (t) => {
  const templates = new Templates({ directory: templateDir({ 'x.html': '{{ value }}|{{ safe | safe }}' }) });
  const app = new Starling({
    routes: [
      new Route('/', async (r: Request) =>
        templates.TemplateResponse(r, 'x.html', { value: '<b>&', safe: '<i>' }),
      ),
    ],
  });
  t.is((await new TestClient(app).get('/')).text, '&lt;b&gt;&amp;|<i>');
});

test('urlFor and url_for build URLs from route names', async (t) => {
  const templates = new Templates({
    directory: templateDir({
      'links.html': "{{ urlFor('user', { id: 7 }) }} {{ url_for('user', id=8) }} {{ url_for('home') }}",
    }),
  });
  const app = new Starling({
    routes: [
      new Route('/', async (r: Request) => templates.TemplateResponse(r, 'links.html'), { name: 'home' }),
      new Route('/users/{id:int}', async () => templates.TemplateResponse(null as never, 'links.html'), {
        name: 'user',
      }),
    ],
  });
  t.is(
    (await new TestClient(app).get('/')).text,
    'http://testserver/users/7 http://testserver/users/8 http://testserver/',
  );
});

test('context processors, status, headers and the template name and context are kept', async (t) => {
  const templates = new Templates({
    directory: [templateDir({ 'a.html': '{{ app_name }}' }), templateDir({ 'b.html': 'b' })],
    contextProcessors: [() => ({ app_name: 'Starling' })],
  });
  let made: TemplateResponse | undefined;
  const app = new Starling({
    routes: [
      new Route(
        '/',
        async (r: Request) =>
          (made = templates.TemplateResponse(
            r,
            'a.html',
            { x: 1 },
            { status: 201, headers: { 'x-t': '1' } },
          )),
      ),
      new Route('/b', async (r: Request) => templates.TemplateResponse(r, 'b.html')),
    ],
  });
  const client = new TestClient(app);
  const res = await client.get('/');
  t.is(res.status, 201);
  t.is(res.headers.get('x-t'), '1');
  t.is(res.text, 'Starling');
  t.is(made!.template, 'a.html');
  t.is(made!.context.x, 1);
  t.is(made!.context.app_name, 'Starling');
  t.is((await client.get('/b')).text, 'b');
});

test('the http.response.debug extension receives the template and context first', async (t) => {
  const templates = new Templates({ directory: templateDir({ 'a.html': 'a' }) });
  const response = new TemplateResponse('a.html', { k: 'v' }, 'a');
  const res = await call(response, '/', { extensions: { 'http.response.debug': {} } });
  t.deepEqual(res.messages[0], {
    type: 'http.response.debug',
    info: { template: 'a.html', context: { k: 'v' } },
  } as never);
  t.is(res.text, 'a');
  t.is(templates.getTemplate('a.html').render({}), 'a');
});

test('a custom environment can be given instead of a directory, but not both', (t) => {
  const env = new nunjucks.Environment(
    new nunjucks.FileSystemLoader(templateDir({ 'e.html': 'env {{ 1 + 1 }}' })),
  );
  const templates = new Templates({ env });
  t.is(templates.getTemplate('e.html').render({}), 'env 2');
  t.throws(() => new Templates({}), { instanceOf: TypeError });
  t.throws(() => new Templates({ env, directory: 'x' }), { instanceOf: TypeError });
});

test('urlFor without a request in the context is an error', (t) => {
  const templates = new Templates({ directory: templateDir({ 'u.html': "{{ urlFor('x') }}" }) });
  t.throws(() => templates.env.render('u.html', {}), { message: /needs `request`/ });
});
