/**
 * `Middleware`: a declared middleware, built later around the app it wraps.
 */
import type { ASGIApp, ASGIFunction } from '../asgi.ts';
import { isClass, toASGIFunction } from '../_utils.ts';

/** An app that is both forms at once: callable, and with `.asgi`. */
export type ASGIDual = ASGIFunction & { asgi: ASGIFunction };

/**
 * Gives middleware an app it can call either way (`this.app(...)` or `this.app.asgi(...)`), so
 * middleware written for Starlette's callable apps and for `.asgi` objects both work.
 */
export function dualApp(app: ASGIApp): ASGIDual {
  if (typeof app === 'function' && typeof (app as Partial<ASGIDual>).asgi === 'function')
    return app as ASGIDual;
  // One hop to the app (not a wrapper calling `toASGIFunction`'s wrapper): this runs on every request.
  let dual: ASGIDual;
  if (typeof app === 'function') dual = ((scope, receive, send) => app(scope, receive, send)) as ASGIDual;
  else {
    toASGIFunction(app); // throws the usual TypeError for something that is not an app
    dual = ((scope, receive, send) => app.asgi(scope, receive, send)) as ASGIDual;
  }
  dual.asgi = dual;
  return dual;
}

/** A middleware class (`new cls(app, options)`) or a factory function (`cls(app, options)`). */
export type MiddlewareFactory<O = any> =
  (new (app: ASGIDual, options: O) => ASGIApp) | ((app: ASGIDual, options: O) => ASGIApp);

/**
 * A middleware and its options, applied when the app builds its stack (first in the list = outermost).
 *
 * @example
 * ```ts
 * new Starling({ middleware: [new Middleware(GZipMiddleware, { minimumSize: 500 })] });
 * ```
 */
export class Middleware<O = any> {
  readonly cls: MiddlewareFactory<O>;
  readonly options: O;

  constructor(cls: MiddlewareFactory<O>, options?: O) {
    this.cls = cls;
    this.options = (options ?? {}) as O;
  }

  /** Wraps `app`: `new cls(app, options)` for a class, `cls(app, options)` for a factory. */
  build(inner: ASGIApp): ASGIApp {
    const app = dualApp(inner);
    if (isClass(this.cls))
      return new (this.cls as new (app: ASGIDual, options: O) => ASGIApp)(app, this.options);
    return (this.cls as (app: ASGIDual, options: O) => ASGIApp)(app, this.options);
  }

  /** Like Starlette's `cls, args, kwargs = middleware`. */
  *[Symbol.iterator](): Iterator<unknown> {
    yield this.cls;
    yield this.options;
  }

  toString(): string {
    return `Middleware(${this.cls.name || 'anonymous'})`;
  }
}

/** Wraps `app` in `middleware`, the first one outermost. */
export function applyMiddleware(app: ASGIApp, middleware: Iterable<Middleware> = []): ASGIApp {
  for (const m of [...middleware].reverse()) app = m.build(app);
  return app;
}
