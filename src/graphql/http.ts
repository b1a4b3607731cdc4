/**
 * GraphQL over HTTP for GraphQLApp: reads the operation from GET parameters, a JSON, form or
 * `application/graphql` body, executes it and answers as the GraphQL over HTTP draft describes.
 */
import type { ExecutionResult, GraphQLSchema } from 'graphql';
import { BackgroundTasks } from '../background.ts';
import type { Request } from '../requests.ts';
import { HTMLResponse, JSONResponse, PlainTextResponse, Response } from '../responses.ts';
import { graphiqlPage } from './graphiql.ts';
import type { GraphQL } from './peers.ts';

/** What the HTTP side needs of a GraphQLApp. */
export interface HTTPExecutor {
  readonly graphql: GraphQL;
  readonly schema: GraphQLSchema;
  readonly graphiql: boolean;
  readonly rootValue: unknown;
  readonly context: ((request: Request, background: BackgroundTasks) => unknown) | undefined;
}

interface GraphQLParams {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

/** The response to one GraphQL HTTP request. */
export async function handleHTTP(executor: HTTPExecutor, request: Request): Promise<Response> {
  const params = await readParams(executor, request);
  if (params instanceof Response) return params;

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
  const result = await execute(
    executor,
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

/** The operation's parameters, or the response that refuses the request before any is read. */
async function readParams(executor: HTTPExecutor, request: Request): Promise<GraphQLParams | Response> {
  if (request.method === 'GET' || request.method === 'HEAD') {
    if ((request.headers.get('accept') ?? '').includes('text/html')) {
      return executor.graphiql
        ? new HTMLResponse(graphiqlPage())
        : new PlainTextResponse('Not Found', { status: 404 });
    }
    return fromMultiDict(request.queryParams);
  }
  if (request.method !== 'POST') {
    return new PlainTextResponse('Method Not Allowed', { status: 405, headers: { allow: 'GET, POST' } });
  }
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  switch (contentType) {
    case 'application/json': {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return new PlainTextResponse('Invalid JSON body', { status: 400 });
      }
      return typeof body === 'object' && body !== null ? (body as GraphQLParams) : {};
    }
    case 'application/graphql':
      return { query: await request.text() };
    case 'application/x-www-form-urlencoded':
    case 'multipart/form-data':
      return fromMultiDict(await request.form());
    default:
      return new PlainTextResponse('Unsupported Media Type', { status: 415 });
  }
}

function fromMultiDict(values: { get(key: string): unknown }): GraphQLParams {
  return {
    query: values.get('query'),
    variables: values.get('variables'),
    operationName: values.get('operationName'),
  };
}

async function execute(
  executor: HTTPExecutor,
  request: Request,
  source: string,
  variableValues: Record<string, unknown> | undefined,
  operationName: string | undefined,
  background: BackgroundTasks,
): Promise<ExecutionResult | PlainTextResponse> {
  const { parse, validate, execute, getOperationAST, GraphQLError } = executor.graphql;
  const { schema } = executor;
  let document;
  try {
    document = parse(source);
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    throw error;
  }
  const errors = validate(schema, document);
  if (errors.length) return { errors };
  // GET must stay safe: caches and prefetchers replay it (GraphQL over HTTP, §6.4.1).
  if (request.method !== 'POST' && getOperationAST(document, operationName)?.operation === 'mutation') {
    return new PlainTextResponse('Mutations can only be sent with POST', {
      status: 405,
      headers: { allow: 'POST' },
    });
  }
  const contextValue = executor.context ? executor.context(request, background) : { request, background };
  return execute({
    schema,
    document,
    rootValue: executor.rootValue,
    contextValue,
    variableValues,
    operationName,
  });
}
