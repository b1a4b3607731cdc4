/**
 * Class-based endpoints: `HTTPEndpoint` dispatches on the request method, `WebSocketEndpoint` runs the
 * connect / receive / disconnect loop with decoding.
 */
import type { Receive, ReceiveMessage, Scope, Send } from './asgi.ts';
import { callEndpoint, callHandlingExceptions } from './_exception_handler.ts';
import { HTTPException } from './exceptions.ts';
import { Request } from './requests.ts';
import { PlainTextResponse, type Response } from './responses.ts';
import { WebSocket } from './websockets.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Handler = (request: Request) => Response | Promise<Response>;

/**
 * A class-based HTTP endpoint: define `get`, `post`, ... methods. HEAD falls back to `get`; other
 * methods answer 405 with `Allow` listing the ones defined.
 *
 * @example
 * ```ts
 * class User extends HTTPEndpoint {
 *   async get(request: Request) { return new JSONResponse({ id: request.pathParams.id }); }
 * }
 * new Route('/users/{id}', User);
 * ```
 */
export class HTTPEndpoint {
  readonly scope: Scope;
  readonly receive: Receive;
  readonly send: Send;

  constructor(scope: Scope, receive: Receive, send: Send) {
    if (scope.type !== 'http') throw new TypeError('HTTPEndpoint needs an http scope');
    this.scope = scope;
    this.receive = receive;
    this.send = send;
  }

  #handler(method: string): Handler | undefined {
    const self = this as unknown as Record<string, unknown>;
    if (!(METHODS as readonly string[]).includes(method)) return undefined;
    const name = method === 'HEAD' && typeof self.head !== 'function' ? 'get' : method.toLowerCase();
    return typeof self[name] === 'function' ? (self[name] as Handler).bind(this) : undefined;
  }

  /** The defined methods, in a fixed order (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS). */
  get allowedMethods(): string[] {
    const self = this as unknown as Record<string, unknown>;
    return METHODS.filter((m) => typeof self[m.toLowerCase()] === 'function');
  }

  /** Runs the handler for the request's method. */
  async dispatch(): Promise<void> {
    const request = new Request(this.scope, this.receive);
    const handler = this.#handler(request.method) ?? ((r: Request) => this.methodNotAllowed(r));
    await callHandlingExceptions(
      callEndpoint(handler, request),
      request,
      this.scope,
      this.receive,
      this.send,
    );
  }

  /** 405: an `HTTPException` inside an app (so handlers see it), a plain response otherwise. */
  async methodNotAllowed(request: Request): Promise<Response> {
    const headers = { Allow: this.allowedMethods.join(', ') };
    if ('app' in request.scope) throw new HTTPException(405, { headers });
    return new PlainTextResponse('Method Not Allowed', { status: 405, headers });
  }
}

/** How a `WebSocketEndpoint` decodes incoming messages. */
export type WebSocketEncoding = 'text' | 'bytes' | 'json' | null;

/**
 * A class-based WebSocket endpoint.
 *
 * @example
 * ```ts
 * class Echo extends WebSocketEndpoint {
 *   override encoding = 'text' as const;
 *   override async onReceive(ws: WebSocket, data: string) { await ws.sendText(data); }
 * }
 * new WebSocketRoute('/ws', Echo);
 * ```
 */
export class WebSocketEndpoint {
  encoding: WebSocketEncoding = null;
  readonly scope: Scope;
  readonly receive: Receive;
  readonly send: Send;

  constructor(scope: Scope, receive: Receive, send: Send) {
    if (scope.type !== 'websocket') throw new TypeError('WebSocketEndpoint needs a websocket scope');
    this.scope = scope;
    this.receive = receive;
    this.send = send;
  }

  /** Connects, feeds each message to `onReceive`, and always calls `onDisconnect` with the close code. */
  async dispatch(): Promise<void> {
    const ws = new WebSocket(this.scope, this.receive, this.send);
    await this.onConnect(ws);
    let closeCode = 1000;
    try {
      for (;;) {
        const message = await ws.receive();
        if (message.type === 'websocket.receive') {
          await this.onReceive(ws, await this.decode(ws, message));
        } else if (message.type === 'websocket.disconnect') {
          closeCode = message.code ?? 1000;
          break;
        }
      }
    } catch (error) {
      closeCode = 1011;
      throw error;
    } finally {
      await this.onDisconnect(ws, closeCode);
    }
  }

  /** Decodes one message per `encoding`; a mismatch closes with 1003 and throws. */
  async decode(ws: WebSocket, message: ReceiveMessage & { type: 'websocket.receive' }): Promise<any> {
    const hasText = typeof message.text === 'string';
    if (this.encoding === 'text') {
      if (!hasText) return this.#reject(ws, 'Expected text websocket messages, but got bytes');
      return message.text;
    }
    if (this.encoding === 'bytes') {
      if (!message.bytes) return this.#reject(ws, 'Expected bytes websocket messages, but got text');
      return message.bytes;
    }
    if (this.encoding === 'json') {
      const text = hasText
        ? (message.text as string)
        : new TextDecoder().decode(message.bytes ?? new Uint8Array(0));
      try {
        return JSON.parse(text);
      } catch {
        return this.#reject(ws, 'Malformed JSON data received.');
      }
    }
    return hasText ? message.text : message.bytes;
  }

  async #reject(ws: WebSocket, reason: string): Promise<never> {
    await ws.close(1003);
    throw new Error(reason);
  }

  /** Accepts the connection; override to check or choose a subprotocol. */
  async onConnect(ws: WebSocket): Promise<void> {
    await ws.accept();
  }

  /** Called with each decoded message. */
  async onReceive(_ws: WebSocket, _data: any): Promise<void> {}

  /** Called once the connection ends, with the close code (1011 if an error escaped). */
  async onDisconnect(_ws: WebSocket, _closeCode: number): Promise<void> {}
}
