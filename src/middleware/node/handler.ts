/**
 * `fromNodeHandler`: a Node `(req, res)` handler (Express, Connect, a `node:http` listener) as an
 * ASGI app, what Starlette's `WSGIMiddleware` is for WSGI apps.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { ASGIFunction, HTTPScope, Receive, Send } from '../../asgi.ts';
import { BodySource } from './body.ts';
import { feedBody, incomingMessage } from './incoming.ts';
import { codedError, ResponseSink } from './outgoing.ts';
import { declaresBody, refuse, requestTarget } from './scope.ts';
import { ScopeSocket } from './socket.ts';

/**
 * A Node request listener: `http.createServer`'s callback, an Express or Connect app.
 *
 * @example
 * ```ts
 * const hello: NodeHandler = (req, res) => res.end(`hello from ${req.url}`);
 * ```
 */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * One request: a real `IncomingMessage` and `ServerResponse` around the scope. It ends when the
 * response is complete (or the client has left) and the promise the handler returned, if any, has
 * settled; it fails with the handler's error, which Starling answers with a 500 when nothing was sent
 * and by cutting the connection otherwise.
 */
class NodeExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly #scope: HTTPScope;
  readonly #socket: ScopeSocket;
  readonly #source: BodySource;
  readonly #sink: ResponseSink;
  readonly #outcome: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #closed = false;
  #over = false;
  /** An error after the outcome was settled (a rejected handler promise after the response). */
  #late: { error: unknown } | null = null;

  constructor(scope: HTTPScope, receive: Receive, send: Send) {
    this.#outcome = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#scope = scope;
    this.#socket = new ScopeSocket(scope, (error) => this.#onSocketDestroyed(error));
    this.req = incomingMessage(scope, this.#socket, requestTarget(scope));
    this.res = new ServerResponse(this.req);
    Object.assign(this.res, { socket: this.#socket });
    this.#source = new BodySource(receive, () => this.#onGone());
    this.#sink = new ResponseSink(this.res, send, {
      complete: () => this.#onComplete(),
      fail: (error) => this.#fail(error),
    });
    // Node crashes on an 'error' nobody else hears; here it fails the request instead.
    this.res.on('error', (error) => {
      if (this.res.listenerCount('error') === 1) this.#fail(error);
    });
  }

  async run(handler: NodeHandler): Promise<void> {
    try {
      const fed = feedBody(this.req, this.#source);
      if (!declaresBody(this.#scope)) await fed;
      let returned: unknown;
      try {
        returned = handler(this.req, this.res);
      } catch (error) {
        this.#fail(error);
      }
      const settled = isThenable(returned)
        ? Promise.resolve(returned).then(undefined, (error: unknown) => this.#fail(error))
        : undefined;
      await this.#outcome;
      await settled;
      if (this.#late) throw this.#late.error;
    } finally {
      this.#end();
    }
  }

  #fail(error: unknown): void {
    if (this.#over) return;
    if (this.#settled) {
      this.#late ??= { error };
      return;
    }
    this.#settled = true;
    this.#reject(error);
    this.#close();
  }

  #onComplete(): void {
    if (!this.#settled) {
      this.#settled = true;
      this.#resolve();
    }
    // Node lets an unread request end once the response has (its `_dump`), so 'end' and 'close' come.
    if (this.req.complete && this.req.readableFlowing === null) this.req.resume();
    this.#close();
  }

  /** The client disconnected: `req` is aborted as Node aborts it, and `res` closes. */
  #onGone(): void {
    if (this.#over || this.#sink.complete) return;
    if (!this.req.destroyed) this.req.destroy(codedError('ECONNRESET', 'aborted'));
    if (!this.#settled) {
      this.#settled = true;
      this.#resolve();
    }
    this.#close();
  }

  /** The handler (or finalhandler, or `req.destroy()` mid-body) destroyed the socket: cut the connection. */
  #onSocketDestroyed(error: Error | null): void {
    if (this.#over || this.#source.gone || this.#sink.complete) return;
    this.#fail(
      error ??
        codedError(
          'ERR_STREAM_PREMATURE_CLOSE',
          'The handler closed the connection before the response was complete',
        ),
    );
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    process.nextTick(() => {
      Object.assign(this.res, { destroyed: true });
      this.res.emit('close');
    });
  }

  #end(): void {
    this.#over = true;
    this.#source.stop();
    // A body the handler left half-read is never received now: end it as Node ends an aborted one.
    if (!this.req.destroyed && !this.req.complete) this.req.destroy();
    this.#close();
    this.#socket.destroy();
  }
}

/**
 * Runs a Node `(req, res)` handler as an ASGI app: an Express 5, Connect or plain `node:http` app
 * inside Starling. Under a `Mount`, `req.url` is the path below the mount (as for an Express sub-app;
 * `req.originalUrl` and `req.baseUrl` keep the rest); bodies stream both ways with backpressure; a
 * client disconnect aborts `req` and closes `res`. A handler that throws, or whose response emits
 * 'error', fails the request: a 500 when nothing was sent yet, a cut connection otherwise.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { Starling, Mount, fromNodeHandler } from 'starlingjs';
 *
 * const legacy = express();
 * legacy.get('/users/:id', (req, res) => { res.json({ id: req.params.id }) });
 * const app = new Starling({ routes: [new Mount('/legacy', { app: fromNodeHandler(legacy) })] });
 * ```
 */
export function fromNodeHandler(handler: NodeHandler): ASGIFunction {
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return refuse(scope, receive, send);
    await new NodeExchange(scope, receive, send).run(handler);
  };
}
