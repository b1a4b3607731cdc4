/**
 * Runs an app's ASGI lifespan protocol from the server side: startup before serving, shutdown
 * after. Internal; used by `serve()` and the TestClient's native transport.
 */
import type { ASGIFunction, LifespanReceiveMessage, LifespanScope, SendMessage } from '../asgi.ts';

/** `auto`: an app that rejects the lifespan scope is served anyway; `on`: it must support it. */
export type LifespanMode = 'auto' | 'on' | 'off';

/** Raised when startup or shutdown fails. */
export class LifespanError extends Error {
  override name = 'LifespanError';
}

/** One running lifespan: `startup()` once, later `shutdown()` once. */
export class Lifespan {
  readonly state: Record<string, unknown> = {};
  #inbox: LifespanReceiveMessage[] = [];
  #waiting: ((m: LifespanReceiveMessage) => void) | null = null;
  #reply: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #running: Promise<void> | null = null;
  #unsupported = false;

  constructor(
    readonly app: ASGIFunction,
    readonly mode: LifespanMode = 'auto',
    readonly log: (message: string) => void = (m) => console.error(m),
  ) {}

  #push(message: LifespanReceiveMessage): void {
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      w(message);
    } else this.#inbox.push(message);
  }

  #receive = (): Promise<LifespanReceiveMessage> => {
    const next = this.#inbox.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve) => (this.#waiting = resolve));
  };

  #send = async (message: SendMessage): Promise<void> => {
    const reply = this.#reply;
    this.#reply = null;
    switch (message.type) {
      case 'lifespan.startup.complete':
      case 'lifespan.shutdown.complete':
        reply?.resolve();
        return;
      case 'lifespan.startup.failed':
      case 'lifespan.shutdown.failed':
        reply?.reject(new LifespanError(message.message || message.type));
        return;
      default:
        // Not a LifespanError: in `auto` mode this reads as "the app has no lifespan support".
        throw new Error(`Unexpected ASGI message '${message.type}' sent during lifespan.`);
    }
  };

  #step(message: LifespanReceiveMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#reply = { resolve, reject };
      this.#push(message);
    });
  }

  /** Runs startup; resolves when the app reports it complete (or has no lifespan, in `auto` mode). */
  async startup(): Promise<void> {
    if (this.mode === 'off') return;
    const scope: LifespanScope = {
      type: 'lifespan',
      asgi: { version: '3.0', spec_version: '2.0' },
      state: this.state,
    };
    const step = this.#step({ type: 'lifespan.startup' });
    const running = Promise.resolve().then(() => this.app(scope, this.#receive, this.#send));
    this.#running = running.catch(() => undefined);
    const ENDED = Symbol('ended');
    let outcome: unknown;
    try {
      outcome = await Promise.race([step, running.then(() => ENDED)]);
    } catch (error) {
      if (error instanceof LifespanError) throw error;
      if (this.mode === 'on') throw new LifespanError(`Lifespan startup failed: ${describe(error)}`);
      this.#unsupported = true;
      this.log(`INFO:     ASGI 'lifespan' protocol appears unsupported.`);
      return;
    }
    if (outcome === ENDED) {
      // Returning without answering startup means "no lifespan here".
      this.#unsupported = true;
      this.#reply = null;
    }
  }

  /** Runs shutdown; a no-op when startup never ran or the app has no lifespan. */
  async shutdown(): Promise<void> {
    if (this.mode === 'off' || this.#unsupported || !this.#running) return;
    const step = this.#step({ type: 'lifespan.shutdown' });
    const ended = this.#running.then(() => {
      if (this.#reply) throw new LifespanError('Lifespan returned before shutdown completed.');
    });
    await Promise.race([step, ended]);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
