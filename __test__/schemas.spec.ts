import test from 'ava';
import { Starling } from '../src/applications.ts';
import type { Request } from '../src/requests.ts';
import { JSONResponse, PlainTextResponse } from '../src/responses.ts';
import { Host, Mount, Route, Router, WebSocketRoute } from '../src/routing.ts';
import { OpenAPIResponse, SchemaGenerator, toYAML } from '../src/schemas.ts';
import { TestClient } from '../src/testclient.ts';

const schemas = new SchemaGenerator({ openapi: '3.0.0', info: { title: 'Example API', version: '1.0' } });

const listUsers = Object.assign(async () => new JSONResponse([]), {
  openapi: { responses: { 200: { description: 'A list of users.' } } },
});
const noSchema = async () => new PlainTextResponse('x');

class Organisations {
  async get() {
    return new JSONResponse([]);
  }
  async post() {
    return new JSONResponse({});
  }
}
(Organisations.prototype.get as unknown as { openapi: unknown }).openapi = {
  responses: { 200: { description: 'Organisations.' } },
};
(Organisations.prototype.post as unknown as { openapi: unknown }).openapi = {
  responses: { 201: { description: 'Created.' } },
};

function buildApp() {
  const app: Starling = new Starling({
    routes: [
      new Route('/users', listUsers, { methods: ['GET', 'HEAD'] }),
      new Route('/users/{id:int}', noSchema, { openapi: { responses: { 200: { description: 'A user.' } } } }),
      new Route('/users', noSchema, {
        methods: ['POST'],
        openapi: { post: { responses: { 201: { description: 'User created.' } } } },
      }),
      new Route('/orgs', Organisations as never),
      new Route('/hidden', listUsers, { includeInSchema: false }),
      new Route('/plain', noSchema),
      new WebSocketRoute('/ws', async () => {}),
      new Mount('/subapp', { routes: [new Route('/subapp-endpoint', listUsers)] }),
      new Host('api.example.com', new Router({ routes: [new Route('/on-host', listUsers)] })),
      new Route('/schema', async (request: Request) => schemas.OpenAPIResponse(request), {
        includeInSchema: false,
      }),
    ],
  });
  return app;
}

test('the schema lists every described operation with convertors stripped and mounts prefixed', (t) => {
  const schema = schemas.getSchema(buildApp().routes);
  t.deepEqual(schema, {
    openapi: '3.0.0',
    info: { title: 'Example API', version: '1.0' },
    paths: {
      '/users': {
        get: { responses: { 200: { description: 'A list of users.' } } },
        post: { responses: { 201: { description: 'User created.' } } },
      },
      '/users/{id}': { get: { responses: { 200: { description: 'A user.' } } } },
      '/orgs': {
        get: { responses: { 200: { description: 'Organisations.' } } },
        post: { responses: { 201: { description: 'Created.' } } },
      },
      '/subapp/subapp-endpoint': { get: { responses: { 200: { description: 'A list of users.' } } } },
      '/on-host': { get: { responses: { 200: { description: 'A list of users.' } } } },
    },
  });
});

test('endpoints are listed with their methods, HEAD left out', (t) => {
  const endpoints = schemas.getEndpoints(buildApp().routes);
  t.deepEqual(
    endpoints.map((e) => `${e.httpMethod} ${e.path}`),
    [
      'get /users',
      'get /users/{id}',
      'post /users',
      'get /orgs',
      'post /orgs',
      'get /plain',
      'get /subapp/subapp-endpoint',
      'get /on-host',
    ],
  );
});

test('the schema endpoint answers YAML as PyYAML writes it', async (t) => {
  const res = await new TestClient(buildApp()).get('/schema');
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/vnd.oai.openapi');
  t.true(
    res.text.startsWith(
      "info:\n  title: Example API\n  version: '1.0'\nopenapi: 3.0.0\npaths:\n  /on-host:\n    get:\n      responses:\n        '200':\n          description: A list of users.\n",
    ),
  );
});

test('YAML output quotes what would be misread and keeps sequences under their key', (t) => {
  const yaml = toYAML({
    paths: { '/users/{id}': { get: { parameters: [{ name: 'id', in: 'path' }], tags: ['a', 'b'] } } },
    x: [],
    y: {},
    z: 'yes',
    w: 'a: b',
    n: null,
    q: "it's",
    m: 'line\nbreak',
    d: new Date(0),
    u: undefined,
    nested: [[1, 2]],
  });
  t.is(
    yaml,
    [
      'd: 1970-01-01T00:00:00.000Z',
      'm: "line\\nbreak"',
      'n: null',
      'nested:',
      '- - 1',
      '  - 2',
      'paths:',
      '  /users/{id}:',
      '    get:',
      '      parameters:',
      '      - in: path',
      '        name: id',
      '      tags:',
      '      - a',
      '      - b',
      "q: it's",
      "w: 'a: b'",
      'x: []',
      'y: {}',
      "z: 'yes'",
      '',
    ].join('\n'),
  );
  t.is(toYAML('plain'), 'plain\n');
});

test('OpenAPIResponse needs an object', (t) => {
  t.throws(() => new OpenAPIResponse([] as never), { instanceOf: TypeError });
  t.is(new TextDecoder().decode(new OpenAPIResponse({ a: 1 }).body), 'a: 1\n');
});
