/**
 * The exchanges the app has not finished, by the core's exchange id.
 *
 * Not a `Map`: a Map that gains and loses an entry on every request keeps rebuilding its hash table (V8
 * compacts an ordered table once deletions fill it, and shrinks it when it empties), about 300
 * instructions a request. Ids come from a counter, so the ones alive at once sit close together: a slot
 * array indexed by the id's low bits holds nearly all of them, and the rare id whose slot is taken (a
 * WebSocket that outlived a few thousand requests) goes to a Map beside it.
 */
const SLOTS = 4096; // a power of two

export class LiveTable<T extends object> {
  // A slot is taken when its value is set; its id says whose it is (any u32, 0 included).
  readonly #ids = new Uint32Array(SLOTS);
  readonly #values: (T | undefined)[] = new Array<T | undefined>(SLOTS).fill(undefined);
  readonly #overflow = new Map<number, T>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const slot = id & (SLOTS - 1);
    const value = this.#values[slot];
    if (value !== undefined && this.#ids[slot] === id) return value;
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(id);
  }

  set(id: number, value: T): void {
    const slot = id & (SLOTS - 1);
    const taken = this.#values[slot] !== undefined;
    if (taken && this.#ids[slot] === id) {
      this.#values[slot] = value;
      return;
    }
    if (this.#overflow.size !== 0 && this.#overflow.has(id)) {
      this.#overflow.set(id, value);
      return;
    }
    if (taken) this.#overflow.set(id, value);
    else {
      this.#ids[slot] = id;
      this.#values[slot] = value;
    }
    this.#size++;
  }

  delete(id: number): void {
    const slot = id & (SLOTS - 1);
    if (this.#values[slot] !== undefined && this.#ids[slot] === id) {
      this.#values[slot] = undefined;
      this.#size--;
    } else if (this.#overflow.delete(id)) this.#size--;
  }
}
