/**
 * The lifespan machinery: the user's lifespan generator, `onStartup`/`onShutdown` hooks, and the
 * lifespans of mounted sub-apps (which Starlette never runs), driven by one `lifespan` scope.
 */
import type { ASGIApp, LifespanScope } from '../asgi.ts';
import { LifespanRunner } from '../_lifespan.ts';

/**
 * A lifespan: an (async) generator function of the app. Code before `yield` runs at startup, code
 * after it at shutdown; a yielded object becomes the request state.
 *
 * @example
 * ```ts
 * const lifespan: Lifespan = async function* (app) {
 *   const db = await connect();
 *   yield { db };
 *   await db.close();
 * };
 * ```
 */
export type Lifespan<A = any> = (
  app: A,
) =>
  | AsyncIterator<Record<string, unknown> | void | undefined, unknown, undefined>
  | Iterator<Record<string, unknown> | void | undefined, unknown, undefined>;

/** A started piece of lifespan: call `exit` at shutdown. */
export interface Started {
  state: Record<string, unknown> | null;
  exit(): Promise<void>;
}

/** Runs a lifespan generator up to its `yield`. */
export async function enterLifespan(lifespan: Lifespan, app: unknown): Promise<Started> {
  const iterator = lifespan(app);
  const first = await iterator.next();
  const state = first.done || !first.value || typeof first.value !== 'object' ? null : first.value;
  return {
    state,
    exit: async () => {
      if (first.done) return;
      const next = await iterator.next();
      if (!next.done) throw new Error('The lifespan generator must yield only once.');
    },
  };
}

/**
 * Starts the lifespan of a mounted app by talking the lifespan protocol to it. Resolves to `null` when
 * the app has no lifespan (it returned, or failed, without answering), and rejects when it reports a
 * failed startup. The app shares the parent's `state` and `asgi`.
 */
export async function startSubApp(app: ASGIApp, parent: LifespanScope): Promise<Started | null> {
  const runner = new LifespanRunner(app, { state: (parent.state ??= {}), asgi: parent.asgi });
  if (!(await runner.startup())) return null;
  return {
    state: null,
    exit: async () => {
      await runner.shutdown();
    },
  };
}
