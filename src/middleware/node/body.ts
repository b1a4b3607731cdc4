/**
 * `BodySource`: a request body pulled from ASGI `receive()` one message per read, and the watch for
 * the client leaving once the body is over. Shared by the Node and the fetch adapters.
 */
import type { HTTPRequestEvent, Receive } from '../../asgi.ts';

/** What `read()` gives back when the client disconnected before the body was over. */
export const GONE: unique symbol = Symbol('gone');

export class BodySource {
  readonly #receive: Receive;
  readonly #onGone: () => void;
  #priming: Promise<void> | undefined;
  /** The message `prime()` took ahead of the handler, until a read asks for it. */
  #primed: HTTPRequestEvent | null = null;
  /** The last body message has been received. */
  #done = false;
  #gone = false;
  #stopped = false;

  /** `onGone` runs once, when `receive()` reports `http.disconnect` before `stop()`. */
  constructor(receive: Receive, onGone: () => void) {
    this.#receive = receive;
    this.#onGone = onGone;
  }

  /** The whole body has been received (not necessarily read). */
  get complete(): boolean {
    return this.#done;
  }

  /** The client has disconnected. */
  get gone(): boolean {
    return this.#gone;
  }

  /**
   * Receives the first message at once, whether or not the handler reads, as Node's parser has the
   * start of a request in hand: a body complete with it (every GET) starts the watch for a disconnect
   * right away, so a handler that never reads its request still learns that the client left. Reads
   * wait for it, so `receive()` is never called twice at once.
   */
  prime(): Promise<void> {
    this.#priming ??= this.#next().then((message) => {
      this.#primed = message;
    });
    return this.#priming;
  }

  /** The next non-empty chunk; `null` at the end of the body; `GONE` once the client has left. */
  async read(): Promise<Uint8Array | null | typeof GONE> {
    if (this.#priming !== undefined) await this.#priming;
    for (;;) {
      let message = this.#primed;
      this.#primed = null;
      if (message === null) {
        if (this.#gone) return GONE;
        if (this.#done) return null;
        message = await this.#next();
        if (message === null) return GONE;
      }
      if (message.body.byteLength > 0) return message.body;
      if (!message.more_body) return null;
    }
  }

  /** The exchange is over: a disconnect reported from now on is the normal end, not news. */
  stop(): void {
    this.#stopped = true;
  }

  async #next(): Promise<HTTPRequestEvent | null> {
    for (;;) {
      const message = await this.#receive();
      if (message.type === 'http.disconnect') {
        this.#disconnect();
        return null;
      }
      if (message.type !== 'http.request') continue;
      if (!message.more_body) {
        this.#done = true;
        this.#watch();
      }
      return message;
    }
  }

  /** After the body, the next message can only be the disconnect: wait for it in the background. */
  #watch(): void {
    if (this.#stopped) return;
    this.#receive().then(
      (message) => {
        if (message.type === 'http.disconnect') this.#disconnect();
      },
      () => this.#disconnect(),
    );
  }

  #disconnect(): void {
    if (this.#gone) return;
    this.#gone = true;
    if (!this.#stopped) this.#onGone();
  }
}
