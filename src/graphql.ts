/**
 * A GraphQL endpoint over `graphql` (graphql-js): queries by GET, POST JSON, POST form or
 * `application/graphql`, and the GraphiQL IDE for browsers.
 *
 * Import it from `starling/graphql`; `graphql` is an optional peer dependency, loaded only here.
 */
import { createRequire } from 'node:module';
import type { ExecutionResult, GraphQLSchema } from 'graphql';
import type { Receive, Scope, Send } from './asgi.ts';
import { BackgroundTasks } from './background.ts';
import { Request } from './requests.ts';
import { HTMLResponse, JSONResponse, PlainTextResponse, type Response } from './responses.ts';

type GraphQL = typeof import('graphql');
const require = createRequire(import.meta.url);

function loadGraphQL(): GraphQL {
  try {
    return require('graphql') as GraphQL;
  } catch {
    throw new Error('starling/graphql needs the "graphql" package: npm install graphql');
  }
}

export interface GraphQLAppOptions {
  /** Serve the GraphiQL IDE to browsers (GET with `Accept: text/html`); default `true`. */
  graphiql?: boolean;
  /** The root value given to resolvers. */
  rootValue?: unknown;
  /**
   * Builds the context given to resolvers; default `{ request, background }`, where `background` is a
   * BackgroundTasks run after the response is sent.
   */
  context?: (request: Request, background: BackgroundTasks) => unknown;
}

interface GraphQLParams {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

/**
 * An ASGI app executing GraphQL operations against `schema`, answering `application/json` as GraphQL
 * over HTTP describes: 200 with `{ data }` once the operation ran, plus `errors` when fields failed
 * (partial data); 400 with `{ errors }` and no `data` when the document does not parse or validate or
 * its variables do not coerce. A mutation sent by GET is refused with 405.
 *
 * @example
 * ```ts
 * import { buildSchema } from 'graphql';
 * import { GraphQLApp } from 'starling/graphql';
 * const schema = buildSchema('type Query { hello(name: String): String }');
 * const rootValue = { hello: ({ name }: { name?: string }) => `Hello ${name ?? 'stranger'}` };
 * const app = new Starling({ routes: [new Route('/graphql', new GraphQLApp(schema, { rootValue }))] });
 * ```
 */
export class GraphQLApp {
  readonly #graphql: GraphQL;
  readonly schema: GraphQLSchema;
  readonly graphiql: boolean;
  readonly #options: GraphQLAppOptions;

  constructor(schema: GraphQLSchema, options: GraphQLAppOptions = {}) {
    this.#graphql = loadGraphQL();
    this.schema = schema;
    this.graphiql = options.graphiql ?? true;
    this.#options = options;
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http') {
      if (scope.type === 'websocket') await send({ type: 'websocket.close', code: 1000 });
      return;
    }
    const request = new Request(scope, receive, send);
    const response = await this.handle(request);
    await response.asgi(scope, receive, send);
  }

  /** The response to one GraphQL HTTP request. */
  async handle(request: Request): Promise<Response> {
    let params: GraphQLParams;
    if (request.method === 'GET' || request.method === 'HEAD') {
      if ((request.headers.get('accept') ?? '').includes('text/html')) {
        return this.graphiql
          ? new HTMLResponse(graphiqlPage())
          : new PlainTextResponse('Not Found', { status: 404 });
      }
      const query = request.queryParams;
      params = {
        query: query.get('query'),
        variables: query.get('variables'),
        operationName: query.get('operationName'),
      };
    } else if (request.method === 'POST') {
      const contentType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (contentType === 'application/json') {
        try {
          params = (await request.json()) ?? {};
        } catch {
          return new PlainTextResponse('Invalid JSON body', { status: 400 });
        }
      } else if (contentType === 'application/graphql') {
        params = { query: await request.text() };
      } else if (
        contentType === 'application/x-www-form-urlencoded' ||
        contentType === 'multipart/form-data'
      ) {
        const form = await request.form();
        params = {
          query: form.get('query'),
          variables: form.get('variables'),
          operationName: form.get('operationName'),
        };
      } else {
        return new PlainTextResponse('Unsupported Media Type', { status: 415 });
      }
    } else {
      return new PlainTextResponse('Method Not Allowed', { status: 405, headers: { allow: 'GET, POST' } });
    }

    if (typeof params.query !== 'string' || params.query === '') {
      return new PlainTextResponse('No GraphQL query found in the request', { status: 400 });
    }
    let variables = params.variables ?? undefined;
    if (typeof variables === 'string') {
      try {
        variables = variables === '' ? undefined : JSON.parse(variables);
      } catch {
        return new PlainTextResponse('Variables are not valid JSON', { status: 400 });
      }
    }
    const operationName =
      typeof params.operationName === 'string' && params.operationName ? params.operationName : undefined;
    const background = new BackgroundTasks();
    const result = await this.#execute(
      request,
      params.query,
      variables as Record<string, unknown> | undefined,
      operationName,
      background,
    );
    if (result instanceof PlainTextResponse) return result;
    // A result has `data` once execution began, even when a field failed: that is a (partial) success,
    // answered 200. A request error (parse, validation, variables) leaves it out and answers 400.
    const executed = 'data' in result;
    const body: Record<string, unknown> = executed ? { data: result.data ?? null } : {};
    if (result.errors?.length) body.errors = result.errors.map((error) => error.toJSON());
    return new JSONResponse(body, { status: executed ? 200 : 400, background });
  }

  async #execute(
    request: Request,
    source: string,
    variableValues: Record<string, unknown> | undefined,
    operationName: string | undefined,
    background: BackgroundTasks,
  ): Promise<ExecutionResult | PlainTextResponse> {
    const { parse, validate, execute, getOperationAST, GraphQLError } = this.#graphql;
    let document;
    try {
      document = parse(source);
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [error] };
      throw error;
    }
    const errors = validate(this.schema, document);
    if (errors.length) return { errors };
    // GET must stay safe: caches and prefetchers replay it (GraphQL over HTTP, §6.4.1).
    if (request.method !== 'POST' && getOperationAST(document, operationName)?.operation === 'mutation') {
      return new PlainTextResponse('Mutations can only be sent with POST', {
        status: 405,
        headers: { allow: 'POST' },
      });
    }
    const contextValue = this.#options.context
      ? this.#options.context(request, background)
      : { request, background };
    return execute({
      schema: this.schema,
      document,
      rootValue: this.#options.rootValue,
      contextValue,
      variableValues,
      operationName,
    });
  }
}

/** The GraphiQL IDE, loaded from a CDN, posting to the page's own URL. */
function graphiqlPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>GraphiQL</title>
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
  <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, { fetcher }));
  </script>
</body>
</html>
`;
}
