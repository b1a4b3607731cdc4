/**
 * A GraphQL endpoint over `graphql` (graphql-js): queries by GET, POST JSON, POST form or
 * `application/graphql`, the GraphiQL IDE for browsers and, when asked, subscriptions (and any other
 * operation) over WebSocket with the graphql-transport-ws protocol, on the same path.
 *
 * Import it from `starlingjs/graphql`; `graphql` is an optional peer dependency, loaded only here, and
 * so is `graphql-ws`, loaded only when subscriptions are on.
 */
import type { GraphQLSchema } from 'graphql';
import type { Receive, Scope, Send } from '../asgi.ts';
import type { BackgroundTasks } from '../background.ts';
import { Request } from '../requests.ts';
import type { Response } from '../responses.ts';
import type { WebSocket } from '../websockets.ts';
import { handleHTTP, type HTTPExecutor } from './http.ts';
import { loadGraphQL } from './peers.ts';
import { SubscriptionServer } from './websocket.ts';

/** The payload of a WebSocket client's `connection_init` message (graphql-ws's `connectionParams`). */
export type ConnectionParams = Readonly<Record<string, unknown>> | undefined;

/** What `onConnect` may answer: `false` refuses the connection, an object becomes the ack's payload. */
export type ConnectResult = boolean | Record<string, unknown> | void;

/** Options of GraphQL over WebSocket (`subscriptions: { ... }`). */
export interface GraphQLSubscriptionOptions {
  /**
   * Seconds a new connection has to send `connection_init` before it is closed with 4408; default 3,
   * `0` waits for ever.
   */
  connectionInitTimeout?: number;
  /**
   * Called on `connection_init` with its payload. Answering `false` closes the connection with 4403
   * Forbidden; an object is sent back as the `connection_ack` payload.
   */
  onConnect?: (
    websocket: WebSocket,
    connectionParams: ConnectionParams,
  ) => ConnectResult | Promise<ConnectResult>;
  /**
   * Builds the context of one operation over WebSocket. Default `{ request, websocket,
   * connectionParams, background }`, where `request` is the WebSocket too (it has the headers,
   * cookies, `user` and `state` of the connection, as a Request has) and `background` runs when the
   * operation completes.
   */
  context?: (
    websocket: WebSocket,
    connectionParams: ConnectionParams,
    background: BackgroundTasks,
  ) => unknown;
}

export interface GraphQLAppOptions {
  /** Serve the GraphiQL IDE to browsers (GET with `Accept: text/html`); default `true`. */
  graphiql?: boolean;
  /** The root value given to resolvers. */
  rootValue?: unknown;
  /**
   * Builds the context given to resolvers over HTTP; default `{ request, background }`, where
   * `background` is a BackgroundTasks run after the response is sent.
   */
  context?: (request: Request, background: BackgroundTasks) => unknown;
  /**
   * Serve GraphQL over WebSocket (graphql-transport-ws, via the `graphql-ws` peer) on the same path:
   * `true`, or options. Default `false`: WebSocket connections are refused.
   */
  subscriptions?: boolean | GraphQLSubscriptionOptions;
}

/**
 * An ASGI app executing GraphQL operations against `schema`, answering `application/json` as GraphQL
 * over HTTP describes: 200 with `{ data }` once the operation ran, plus `errors` when fields failed
 * (partial data); 400 with `{ errors }` and no `data` when the document does not parse or validate or
 * its variables do not coerce. A mutation sent by GET is refused with 405. With `subscriptions`,
 * WebSocket connections speak graphql-transport-ws: mount the app with `Mount` so that both HTTP and
 * WebSocket reach it.
 *
 * @example
 * ```ts
 * import { buildSchema } from 'graphql';
 * import { GraphQLApp } from 'starlingjs/graphql';
 * const schema = buildSchema('type Query { hello(name: String): String }');
 * const rootValue = { hello: ({ name }: { name?: string }) => `Hello ${name ?? 'stranger'}` };
 * const app = new Starling({ routes: [new Mount('/graphql', { app: new GraphQLApp(schema, { rootValue }) })] });
 * ```
 */
export class GraphQLApp {
  readonly schema: GraphQLSchema;
  readonly graphiql: boolean;
  readonly #http: HTTPExecutor;
  readonly #subscriptions: SubscriptionServer | null;

  constructor(schema: GraphQLSchema, options: GraphQLAppOptions = {}) {
    const graphql = loadGraphQL();
    this.schema = schema;
    this.graphiql = options.graphiql ?? true;
    this.#http = {
      graphql,
      schema,
      graphiql: this.graphiql,
      rootValue: options.rootValue,
      context: options.context,
    };
    const { subscriptions = false } = options;
    this.#subscriptions = subscriptions
      ? new SubscriptionServer(
          graphql,
          schema,
          options.rootValue,
          subscriptions === true ? {} : subscriptions,
        )
      : null;
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'http') {
      const response = await this.handle(new Request(scope, receive, send));
      await response.asgi(scope, receive, send);
    } else if (scope.type === 'websocket') {
      if (this.#subscriptions) await this.#subscriptions.serve(scope, receive, send);
      else await send({ type: 'websocket.close', code: 1000 });
    }
  }

  /** The response to one GraphQL HTTP request. */
  handle(request: Request): Promise<Response> {
    return handleHTTP(this.#http, request);
  }
}
