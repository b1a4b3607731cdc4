/**
 * ServerErrorMiddleware, the outermost layer: any error that escapes the app becomes a 500 (a debug
 * page or traceback with `debug`, the user's 500 handler, or plain `Internal Server Error`), and is
 * then rethrown so the server logs it and the TestClient can raise it.
 *
 * Middleware inside that decorate every response (CORS) would never see this 500, which is sent
 * outside them; they leave hooks in the scope (`ERROR_RESPONSE_HOOKS`) that are applied to it here, so
 * a browser gets the real 500 (custom handler or debug page included) rather than a CORS failure.
 */
import type { ASGIApp, ASGIFunction, Receive, Scope, Send, SendMessage } from '../asgi.ts';
import { callApp, outcome, RESOLVED, toASGIFunction } from '../_utils.ts';
import { openErrorResponseHooks, type StartHook } from './_helpers.ts';
import { Request } from '../requests.ts';
import { HTMLResponse, PlainTextResponse, type Response } from '../responses.ts';

export interface ServerErrorMiddlewareOptions {
  /** `(request, error) => response` used in production instead of the plain 500. */
  handler?: ((request: Request, error: any) => unknown) | null;
  debug?: boolean;
}

const escapeHtml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#x27;');

function describe(error: unknown): { title: string; stack: string } {
  if (error instanceof Error)
    return {
      title: `${error.name}: ${error.message}`,
      stack: error.stack ?? `${error.name}: ${error.message}`,
    };
  return { title: String(error), stack: String(error) };
}

/** The debug page: the error and its stack, frames innermost first, for browsers. */
export function generateHtml(error: unknown): string {
  const { title, stack } = describe(error);
  const frames = stack
    .split('\n')
    .slice(1)
    .map((line) => `<li class="frame"><code>${escapeHtml(line.trim())}</code></li>`)
    .join('\n');
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Starling Debugger</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
.error { color: #b00020; }
.frame { list-style: none; padding: 0.3em 0.5em; border-bottom: 1px solid #eee; }
code { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>500 Server Error</h1>
<h2 class="error">${escapeHtml(title)}</h2>
<h3>Traceback</h3>
<ul class="traceback">
${frames}
</ul>
</body>
</html>
`;
}

/** The debug text: the error's stack. */
export function generatePlainText(error: unknown): string {
  return describe(error).stack;
}

/** A `send` that runs the start message through the hooks, innermost middleware's first. */
function decorate(send: Send, hooks: readonly StartHook[]): Send {
  if (hooks.length === 0) return send;
  return (message) => {
    if (message.type !== 'http.response.start') return send(message);
    // Hooks were pushed outermost first; a normal response meets the innermost layer first.
    return send(hooks.reduceRight((m, hook) => hook(m), message));
  };
}

/**
 * Catches every error of the app it wraps; `Starling` installs it outermost.
 *
 * @example
 * ```ts
 * const app = new ServerErrorMiddleware(router, { debug: true });
 * ```
 */
export class ServerErrorMiddleware {
  readonly app: ASGIApp;
  readonly handler: ServerErrorMiddlewareOptions['handler'];
  debug: boolean;
  readonly #run: ASGIFunction;

  constructor(app: ASGIApp, options: ServerErrorMiddlewareOptions = {}) {
    this.app = app;
    this.handler = options.handler ?? null;
    this.debug = options.debug ?? false;
    this.#run = toASGIFunction(app);
  }

  // Not `async`: when the app inside finishes synchronously, so does this (see `RESOLVED`).
  asgi = (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    const run = this.#run;
    if (scope.type !== 'http') return callApp(run, scope, receive, send);
    let started = false;
    const hooks = openErrorResponseHooks(scope);
    let ran: Promise<void>;
    try {
      // The tracking `send` is an inline arrow: a named one costs a `defineProperty` per request under tsx.
      ran = outcome(
        run(scope, receive, (message: SendMessage) => {
          if (message.type === 'http.response.start') started = true;
          return send(message);
        }),
      );
    } catch (error) {
      return this.#fail(error, started, hooks, scope, receive, send);
    }
    if (ran === RESOLVED) return RESOLVED;
    return ran.then(undefined, (error: unknown) => this.#fail(error, started, hooks, scope, receive, send));
  };

  /** Answers the error with a 500 unless the response started, then rethrows it. */
  async #fail(
    error: unknown,
    started: boolean,
    hooks: readonly StartHook[],
    scope: Scope,
    receive: Receive,
    send: Send,
  ): Promise<never> {
    // Once bytes went out nothing can be fixed; just report.
    if (!started) {
      const request = new Request(scope, receive, send);
      const decorated = decorate(send, hooks);
      if (this.debug) await this.debugResponse(request, error).asgi(scope, receive, decorated);
      else if (this.handler) {
        const response = (await this.handler(request, error)) as Response | undefined | null;
        if (response) await response.asgi(scope, receive, decorated);
      } else await this.errorResponse(request, error).asgi(scope, receive, decorated);
    }
    throw error;
  }

  /** The debug answer: HTML for browsers (`Accept: text/html`), the stack as text otherwise. */
  debugResponse(request: Request, error: unknown): Response {
    if ((request.headers.get('accept') ?? '').includes('text/html'))
      return new HTMLResponse(generateHtml(error), { status: 500 });
    return new PlainTextResponse(generatePlainText(error), { status: 500 });
  }

  errorResponse(_request: Request, _error: unknown): Response {
    return new PlainTextResponse('Internal Server Error', { status: 500 });
  }
}
