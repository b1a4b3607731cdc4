/**
 * HTML templates rendered with nunjucks (Jinja2's syntax, for Node), with `request` and `urlFor` in scope.
 *
 * Import it from `starlingjs/templating`; `nunjucks` is an optional peer dependency, loaded only here.
 */
import type { Environment } from 'nunjucks';
import type { Receive, Scope, Send, SendMessage } from './asgi.ts';
import type { Request } from './requests.ts';
import { requirePeer } from './_peers.ts';
import { HTMLResponse, type ResponseOptions } from './responses.ts';

type Nunjucks = typeof import('nunjucks');

/** Adds entries to every template context; called with the request. */
export type ContextProcessor = (request: Request) => Record<string, unknown>;

export interface TemplatesOptions {
  /** Where templates are looked up (one directory, or several searched in order). */
  directory?: string | readonly string[];
  /** A ready nunjucks Environment, instead of `directory`. */
  env?: Environment;
  contextProcessors?: readonly ContextProcessor[];
}

export interface TemplateResponseOptions extends Omit<ResponseOptions, 'mediaType'> {
  mediaType?: string;
}

/** An HTML response that remembers which template and context made it (for tests). */
export class TemplateResponse extends HTMLResponse {
  constructor(
    readonly template: string,
    readonly context: Record<string, unknown>,
    html: string,
    options: TemplateResponseOptions = {},
  ) {
    super(html, options);
  }

  override async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    // Starlette's `http.response.debug` extension lets a test client see the template and context.
    if (scope.type === 'http' && scope.extensions?.['http.response.debug'] !== undefined) {
      await send({
        type: 'http.response.debug',
        info: { template: this.template, context: this.context },
      } as unknown as SendMessage);
    }
    return super.asgi(scope, receive, send);
  }
}

/**
 * A template renderer. Autoescaping is on. Every template sees `request` and can build URLs with
 * `urlFor('name', { id: 1 })` or, Jinja-style, `url_for('name', id=1)`.
 *
 * @example
 * ```ts
 * import { Templates } from 'starlingjs/templating';
 * const templates = new Templates({ directory: 'templates' });
 * const homepage = async (request: Request) => templates.TemplateResponse(request, 'index.html', { title: 'Home' });
 * ```
 */
export class Templates {
  readonly env: Environment;
  readonly contextProcessors: readonly ContextProcessor[];

  constructor(options: TemplatesOptions) {
    if ((options.directory === undefined) === (options.env === undefined)) {
      throw new TypeError('Templates needs either `directory` or `env`, not both');
    }
    const nunjucks = requirePeer<Nunjucks>('nunjucks', 'starlingjs/templating');
    if (options.env) this.env = options.env;
    else {
      const dirs = typeof options.directory === 'string' ? [options.directory] : [...options.directory!];
      this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dirs), { autoescape: true });
    }
    this.contextProcessors = options.contextProcessors ?? [];
    // A function given the template context as `this`, so it finds the request being rendered.
    function urlFor(this: { ctx: Record<string, unknown> }, name: string, ...rest: unknown[]): string {
      const request = this.ctx.request as Request | undefined;
      if (!request) throw new Error('urlFor needs `request` in the template context');
      return String(request.urlFor(name, keywordParams(rest)));
    }
    for (const alias of ['urlFor', 'url_for']) {
      if (!(alias in (this.env as unknown as { globals: object }).globals)) this.env.addGlobal(alias, urlFor);
    }
  }

  /** The compiled template called `name`. */
  getTemplate(name: string) {
    return this.env.getTemplate(name);
  }

  /**
   * Renders `name` with `context` (plus `request` and the context processors' entries) into an
   * HTML response. Rendering happens now, so template errors are thrown from here.
   */
  TemplateResponse(
    request: Request,
    name: string,
    context: Record<string, unknown> = {},
    options: TemplateResponseOptions = {},
  ): TemplateResponse {
    const full: Record<string, unknown> = { ...context, request };
    for (const processor of this.contextProcessors) Object.assign(full, processor(request));
    const html = this.env.render(name, full);
    return new TemplateResponse(name, full, html, options);
  }
}

/** Path params given as `{ id: 1 }` or as nunjucks keyword arguments (`id=1`). */
function keywordParams(rest: unknown[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const arg of rest) {
    if (arg !== null && typeof arg === 'object') Object.assign(params, arg);
  }
  delete params.__keywords;
  return params;
}
