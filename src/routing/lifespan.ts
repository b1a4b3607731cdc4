/**
 * The lifespan machinery: the user's lifespan generator, `onStartup`/`onShutdown` hooks, and the
 * lifespans of mounted sub-apps (which Starlette never runs), driven by one `lifespan` scope.
 */
import type { ASGIApp, LifespanScope, ReceiveMessage, SendMessage } from '../asgi.ts';
import { toASGIFunction } from '../_utils.ts';
import { AsyncQueue } from '../_queue.ts';

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

type Item = SendMessage | Error | null;

/**
 * Starts the lifespan of a mounted app by talking the lifespan protocol to it. Resolves to `null` when
 * the app has no lifespan (it returned, or failed, without answering), and rejects when it reports a
 * failed startup.
 */
export async function startSubApp(app: ASGIApp, parent: LifespanScope): Promise<Started | null> {
  const toApp = new AsyncQueue<ReceiveMessage>();
  const fromApp = new AsyncQueue<Item>();
  const state = (parent.state ??= {});
  const scope: LifespanScope = { type: 'lifespan', asgi: parent.asgi, state };
  toASGIFunction(app)(
    scope,
    () => toApp.shift(),
    async (message) => fromApp.push(message),
  ).then(
    () => fromApp.push(null),
    (error: unknown) => fromApp.push(error instanceof Error ? error : new Error(String(error))),
  );
  const failure = async (message: SendMessage): Promise<Error> => {
    // The app re-raises after reporting; keep that error (it has the stack) when it comes at once.
    const next = await Promise.race([fromApp.shift(), new Promise<null>((r) => setTimeout(r, 0, null))]);
    if (next instanceof Error) return next;
    return new Error(('message' in message && message.message) || `${message.type}`);
  };

  toApp.push({ type: 'lifespan.startup' });
  const first = await fromApp.shift();
  if (first === null || first instanceof Error) return null;
  if (first.type === 'lifespan.startup.failed') throw await failure(first);
  return {
    state: null,
    exit: async () => {
      toApp.push({ type: 'lifespan.shutdown' });
      const answer = await fromApp.shift();
      if (answer instanceof Error) throw answer;
      if (answer?.type === 'lifespan.shutdown.failed') throw await failure(answer);
    },
  };
}
