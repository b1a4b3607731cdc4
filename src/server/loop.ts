/**
 * Holding Node's event loop open from the JS side. Internal; used by `serve()` and the bridge.
 */

/**
 * A counted reference on Node's event loop. The core's doorbell never holds the loop open, so the JS
 * side does, exactly while something can still arrive: a listener, an open in-memory connection, a
 * close in progress.
 */
export class LoopRef {
  #count = 0;
  #timer: NodeJS.Timeout | null = null;
  hold(): void {
    if (this.#count++ === 0) this.#timer = setInterval(() => undefined, 2 ** 30);
  }
  release(): void {
    if (--this.#count === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
