/**
 * The one driver of the ASGI lifespan protocol, from the server's side of it: `serve()`, the
 * TestClient's in-process transport (which the native transport also runs lifespan through) and a
 * router starting its mounted apps all use `LifespanRunner`, and differ only in what an app without
 * lifespan support means to them.
 */
import type { ASGIApp, ASGIVersions, LifespanReceiveMessage, LifespanScope, SendMessage } from './asgi.ts';
import { AsyncQueue } from './_queue.ts';
import { ASGI_VERSIONS, callApp, RESOLVED } from './_utils.ts';

/** An app reported that startup or shutdown failed, and raised no error of its own to tell why. */
export class LifespanError extends Error {
  override name = 'LifespanError';
}

/** Options of a `LifespanRunner`. */
export interface LifespanRunnerOptions {
  /** The scope's `state`, which startup fills for requests to copy; a new object by default. */
  state?: Record<string, unknown>;
  /** The scope's `asgi`; `ASGI_VERSIONS` by default. */
  asgi?: ASGIVersions;
  /**
   * What an app that throws before answering startup means. `ignore` (the default): it has no lifespan
   * support, and `startup()` resolves to `false` (a server's `auto` mode, a router's mounted apps).
   * `raise`: its error is rethrown (the TestClient, a server's `on` mode). An app that returns without
   * answering has no lifespan support under either policy.
   */
  unsupported?: 'ignore' | 'raise';
  /** Told of the error that `ignore` passes over (a server logs that lifespan seems unsupported). */
  onUnsupported?: (error: Error) => void;
}

/** What comes back from the app: a message, the error it failed with, or `null` once it returned. */
type FromApp = SendMessage | Error | null;

/**
 * One run of an app's lifespan: `startup()` once, later `shutdown()` once.
 *
 * @example
 * ```ts
 * const lifespan = new LifespanRunner(app, { unsupported: 'raise' });
 * await lifespan.startup(); // requests copy lifespan.state
 * await lifespan.shutdown();
 * ```
 */
export class LifespanRunner {
  readonly state: Record<string, unknown>;
  readonly #app: ASGIApp;
  readonly #options: LifespanRunnerOptions;
  readonly #toApp = new AsyncQueue<LifespanReceiveMessage>();
  readonly #fromApp = new AsyncQueue<FromApp>();
  #finished: Promise<void> = RESOLVED;
  #running = false;

  constructor(app: ASGIApp, options: LifespanRunnerOptions = {}) {
    this.#app = app;
    this.#options = options;
    this.state = options.state ?? {};
  }

  /** Settles (never rejects) once the app has returned or failed. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /**
   * Sends `lifespan.startup`. Resolves to `true` once the app reports startup complete, or `false` when
   * it has no lifespan support; rejects when it reports failure (with the error it raises then, if it
   * raises one at once).
   */
  async startup(): Promise<boolean> {
    const scope: LifespanScope = {
      type: 'lifespan',
      asgi: this.#options.asgi ?? ASGI_VERSIONS,
      state: this.state,
    };
    this.#finished = callApp(this.#app, scope, () => this.#toApp.shift(), this.#send).then(
      () => this.#fromApp.push(null),
      (error: unknown) => this.#fromApp.push(error instanceof Error ? error : new Error(String(error))),
    );
    this.#toApp.push({ type: 'lifespan.startup' });
    const answer = await this.#fromApp.shift();
    if (answer === null) return false;
    if (answer instanceof Error) {
      if (this.#options.unsupported === 'raise') throw answer;
      this.#options.onUnsupported?.(answer);
      return false;
    }
    if (answer.type === 'lifespan.startup.failed') throw await this.#failure(answer);
    this.#running = true;
    return true;
  }

  /**
   * Sends `lifespan.shutdown` and waits for the app's answer; rejects when it reports failure or fails.
   * Resolves to `false`, doing nothing, when startup did not complete.
   */
  async shutdown(): Promise<boolean> {
    if (!this.#running) return false;
    this.#running = false;
    this.#toApp.push({ type: 'lifespan.shutdown' });
    const answer = await this.#fromApp.shift();
    if (answer instanceof Error) throw answer;
    if (answer?.type === 'lifespan.shutdown.failed') throw await this.#failure(answer);
    return true;
  }

  #send = async (message: SendMessage): Promise<void> => {
    switch (message.type) {
      case 'lifespan.startup.complete':
      case 'lifespan.startup.failed':
      case 'lifespan.shutdown.complete':
      case 'lifespan.shutdown.failed':
        this.#fromApp.push(message);
        return;
      default:
        throw new Error(`Unexpected ASGI message '${message.type}' sent during lifespan.`);
    }
  };

  /** The error for a reported failure: the app's own when it raises one at once (it has the stack). */
  async #failure(message: SendMessage & { message?: string }): Promise<Error> {
    const next = await Promise.race([
      this.#fromApp.shift(),
      new Promise<null>((resolve) => setTimeout(resolve, 0, null)),
    ]);
    if (next instanceof Error) return next;
    return new LifespanError(message.message || message.type);
  }
}
