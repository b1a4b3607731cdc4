/**
 * A tiny unbounded async queue: `push` never waits, `shift` waits for the next item.
 * Used to hand ASGI messages between the test and the app running in the same process.
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  shift(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
