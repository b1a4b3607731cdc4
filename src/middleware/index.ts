/**
 * `Middleware`: a declared middleware, built later around the app it wraps.
 */
import type { ASGIApp } from '../asgi.ts';
import { dualApp, isClass, type ASGIDual } from '../_utils.ts';

export { dualApp, type ASGIDual };

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
