/**
 * GraphQL over WebSocket (the graphql-transport-ws protocol) for GraphQLApp. The protocol itself —
 * the connection_init wait, ping/pong, subscribe/next/error/complete and the 44xx close codes — is
 * graphql-ws's reference server (`makeServer`); this file drives it with ASGI websocket messages.
 */
import type { ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import type { Server, WebSocket as ProtocolSocket } from 'graphql-ws';
import type { Receive, ReceiveMessage, Scope, Send, WebSocketReceiveMessage } from '../asgi.ts';
import { BackgroundTasks } from '../background.ts';
import { WebSocket, WebSocketDisconnect } from '../websockets.ts';
import type { ConnectionParams, GraphQLSubscriptionOptions } from './index.ts';
import { loadGraphQLWS, type GraphQL } from './peers.ts';

type Disconnect = WebSocketReceiveMessage & { type: 'websocket.disconnect' };

/** What the protocol server keeps for one connection (its `ctx.extra`). */
interface Connection {
  readonly websocket: WebSocket;
  /** Each running operation's background tasks, run when the operation completes. */
  readonly tasks: Map<string, BackgroundTasks>;
}

/** The graphql-transport-ws server of one GraphQLApp. */
export class SubscriptionServer {
  readonly #server: Server<Connection>;
  readonly #protocol: string;
  readonly #internalError: number;

  constructor(
    graphql: GraphQL,
    schema: GraphQLSchema,
    rootValue: unknown,
    options: GraphQLSubscriptionOptions,
  ) {
    const { makeServer, GRAPHQL_TRANSPORT_WS_PROTOCOL, CloseCode } = loadGraphQLWS();
    const { parse, validate, GraphQLError } = graphql;
    const context =
      options.context ??
      ((websocket, connectionParams, background) => ({
        request: websocket,
        websocket,
        connectionParams,
        background,
      }));
    const { onConnect } = options;
    const seconds = options.connectionInitTimeout ?? 3;

    this.#protocol = GRAPHQL_TRANSPORT_WS_PROTOCOL;
    this.#internalError = CloseCode.InternalServerError;
    this.#server = makeServer<Record<string, unknown>, Connection>({
      connectionInitWaitTimeout: seconds > 0 ? seconds * 1000 : 0,
      onConnect: onConnect && ((ctx) => onConnect(ctx.extra.websocket, ctx.connectionParams)),
      // Parsing here, not in graphql-ws, makes a syntax error an `error` message for that operation
      // (as a validation error is) rather than an internal error that closes the whole connection.
      onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        const background = new BackgroundTasks();
        ctx.extra.tasks.set(id, background);
        const { websocket } = ctx.extra;
        return {
          schema,
          document,
          rootValue,
          contextValue: await context(websocket, ctx.connectionParams as ConnectionParams, background),
          variableValues: payload.variables,
          operationName: payload.operationName,
        };
      },
      onComplete: async (ctx, id) => {
        const background = ctx.extra.tasks.get(id);
        ctx.extra.tasks.delete(id);
        await background?.run();
      },
    });
  }

  /**
   * Serves one WebSocket until either side closes, then ends its operations (each subscription's
   * generator is returned, so its `finally` runs) before returning.
   */
  async serve(scope: Scope, receive: Receive, send: Send): Promise<void> {
    const websocket = new WebSocket(scope, receive, send);
    // Without the protocol on offer, the handshake selects none (as graphql-ws's own servers do): a
    // client that offered others fails it, one that offered none is closed with 4406 by makeServer.
    const protocol = websocket.scope.subprotocols.includes(this.#protocol) ? this.#protocol : '';
    await websocket.accept({ subprotocol: protocol || null });
    const socket = new ASGISocket(websocket, protocol, this.#internalError);
    const closed = this.#server.opened(socket, { websocket, tasks: new Map() });
    let message = await socket.receive();
    while (message.type === 'websocket.receive') {
      socket.dispatch(message.text ?? Buffer.from(message.bytes ?? []).toString('utf8'));
      message = await socket.receive();
    }
    const end = message as Disconnect;
    socket.gone();
    await closed(end.code ?? 1005, end.reason ?? '');
    await socket.settled();
    if (socket.error !== undefined) throw socket.error;
  }
}

/** graphql-ws's view of one accepted ASGI WebSocket. */
class ASGISocket implements ProtocolSocket {
  readonly protocol: string;
  readonly #websocket: WebSocket;
  readonly #internalError: number;
  #listener: ((data: string) => Promise<void>) | null = null;
  #open = true;
  /** The close this side sent, which ends the receive loop. */
  #closedWith: Disconnect | null = null;
  #interrupt: ((message: Disconnect) => void) | null = null;
  readonly #pending = new Set<Promise<void>>();
  /** The first error of the app's own code (onConnect, context, background tasks). */
  error: unknown = undefined;

  constructor(websocket: WebSocket, protocol: string, internalError: number) {
    this.#websocket = websocket;
    this.protocol = protocol;
    this.#internalError = internalError;
  }

  async send(data: string): Promise<void> {
    if (!this.#open) return;
    try {
      await this.#websocket.sendText(data);
    } catch (error) {
      // The client left: the receive loop learns it too and ends the operations.
      if (!(error instanceof WebSocketDisconnect)) throw error;
    }
  }

  async close(code = 1000, reason = ''): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    reason = limitReason(reason);
    this.#closedWith = { type: 'websocket.disconnect', code, reason };
    this.#interrupt?.(this.#closedWith);
    try {
      await this.#websocket.close(code, reason);
    } catch (error) {
      if (!(error instanceof WebSocketDisconnect)) throw error;
    }
  }

  /** The client's next message, or the close this side sent (the protocol server closes too). */
  receive(): Promise<ReceiveMessage> {
    if (this.#closedWith) return Promise.resolve(this.#closedWith);
    // Not Promise.race: a race per message would leave a reaction on one long-lived promise each time.
    return new Promise((resolve, reject) => {
      this.#interrupt = resolve;
      this.#websocket.receive().then(resolve, reject);
    });
  }

  onMessage(listener: (data: string) => Promise<void>): void {
    this.#listener = listener;
  }

  /**
   * Hands one client message to the protocol server. Its promise lasts as long as the operation, so
   * messages are not awaited one by one; one that fails closes the connection with 4500.
   */
  dispatch(data: string): void {
    if (this.#listener === null) return;
    const handled = this.#listener(data).catch((error: unknown) => {
      this.error ??= error;
      return this.close(this.#internalError, 'Internal server error');
    });
    this.#pending.add(handled);
    void handled.finally(() => this.#pending.delete(handled));
  }

  /** The client has left: nothing more is sent. */
  gone(): void {
    this.#open = false;
  }

  /** Waits for every message still being handled (operations finishing after the close). */
  async settled(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }
}

/** A close reason fits in a control frame: 123 bytes of UTF-8. */
function limitReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 120);
  while (Buffer.byteLength(cut) > 120) cut = cut.slice(0, -1);
  return cut + '...';
}
