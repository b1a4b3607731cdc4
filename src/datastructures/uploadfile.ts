/**
 * UploadFile and the spooled file behind it: bytes stay in memory until they pass a threshold (1 MiB by
 * default), then move to a temporary file so large uploads never sit in the heap.
 */
import { randomUUID } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBytes } from '../_utils.ts';
import { Headers } from './headers.ts';

/** The default size past which a spooled file rolls over to disk. */
export const SPOOL_MAX_SIZE = 1024 * 1024;

/**
 * A random-access byte file kept in memory until it grows past `maxSize`, then on disk.
 *
 * @example
 * ```ts
 * const file = new SpooledTemporaryFile();
 * await file.write(new Uint8Array([1, 2, 3]));
 * await file.seek(0);
 * await file.read(); // Uint8Array [1, 2, 3]
 * ```
 */
export class SpooledTemporaryFile {
  readonly maxSize: number;
  #memory: Buffer | null = Buffer.alloc(0);
  #length = 0;
  #position = 0;
  #handle: FileHandle | null = null;
  #path: string | null = null;
  #closed = false;

  constructor(maxSize = SPOOL_MAX_SIZE) {
    this.maxSize = maxSize;
  }

  /** True once the content lives in a temporary file. */
  get rolledToDisk(): boolean {
    return this.#handle !== null;
  }
  /** The path of the temporary file, once rolled; `null` while in memory. */
  get path(): string | null {
    return this.#path;
  }
  get closed(): boolean {
    return this.#closed;
  }
  /** The current position. */
  tell(): number {
    return this.#position;
  }
  /** The total number of bytes held. */
  get length(): number {
    return this.#length;
  }

  #check(): void {
    if (this.#closed) throw new Error('I/O operation on closed file.');
  }

  async #rollover(): Promise<void> {
    const path = join(tmpdir(), `starling-upload-${randomUUID()}`);
    const handle = await open(path, 'w+', 0o600);
    await handle.write(this.#memory!, 0, this.#length, 0);
    this.#handle = handle;
    this.#path = path;
    this.#memory = null;
  }

  /** Writes at the current position and advances it. */
  async write(data: Uint8Array | string): Promise<number> {
    this.#check();
    const bytes = toBytes(data);
    const end = this.#position + bytes.length;
    if (this.#handle === null && end > this.maxSize) await this.#rollover();
    if (this.#handle !== null) {
      await this.#handle.write(bytes, 0, bytes.length, this.#position);
    } else {
      let memory = this.#memory!;
      if (end > memory.length) {
        const grown = Buffer.alloc(Math.max(end, Math.min(memory.length * 2, this.maxSize)));
        memory.copy(grown, 0, 0, this.#length);
        memory = this.#memory = grown;
      }
      memory.set(bytes, this.#position);
    }
    this.#position = end;
    if (end > this.#length) this.#length = end;
    return bytes.length;
  }

  /** Reads up to `size` bytes from the position (all that remain when `size` is negative or omitted). */
  async read(size = -1): Promise<Uint8Array> {
    this.#check();
    const remaining = Math.max(0, this.#length - this.#position);
    const n = size < 0 ? remaining : Math.min(size, remaining);
    let out: Uint8Array;
    if (this.#handle !== null) {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await this.#handle.read(buf, 0, n, this.#position);
      out = buf.subarray(0, bytesRead);
    } else {
      out = Uint8Array.prototype.slice.call(this.#memory!, this.#position, this.#position + n);
    }
    this.#position += out.length;
    return out;
  }

  /** Moves the position: from the start (`whence` 0), the current position (1) or the end (2). */
  async seek(offset: number, whence: 0 | 1 | 2 = 0): Promise<number> {
    this.#check();
    const base = whence === 0 ? 0 : whence === 1 ? this.#position : this.#length;
    const target = base + offset;
    if (target < 0) throw new RangeError(`negative seek position ${target}`);
    this.#position = target;
    return target;
  }

  /** Releases the memory or closes and deletes the temporary file. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#memory = null;
    if (this.#handle !== null) {
      await this.#handle.close();
      await unlink(this.#path!).catch(() => {});
    }
  }
}

/** Options of `new UploadFile(...)`. */
export interface UploadFileOptions {
  /** The backing file; a new in-memory spooled file when omitted. Bytes or a string become its content. */
  file?: SpooledTemporaryFile | Uint8Array | string;
  filename?: string | null;
  /** The size in bytes, when known (the form parser always sets it). */
  size?: number | null;
  headers?: Headers;
}

/**
 * A file uploaded in a `multipart/form-data` request.
 *
 * @example
 * ```ts
 * const form = await request.form();
 * const upload = form.get('avatar') as UploadFile;
 * upload.filename; upload.contentType; upload.size;
 * const bytes = await upload.read();
 * ```
 */
export class UploadFile {
  readonly file: SpooledTemporaryFile;
  filename: string | null;
  size: number | null;
  headers: Headers;
  #initial: Uint8Array | null = null;

  constructor(options: UploadFileOptions = {}) {
    const { file, filename = null, size = null, headers = new Headers() } = options;
    this.filename = filename;
    this.headers = headers;
    this.size = size;
    if (file instanceof SpooledTemporaryFile) {
      this.file = file;
    } else {
      this.file = new SpooledTemporaryFile();
      if (file !== undefined) {
        this.#initial = toBytes(file);
      }
    }
  }

  /** The media type from the part's `Content-Type` header, or `null`. */
  get contentType(): string | null {
    return this.headers.get('content-type');
  }

  async #ready(): Promise<void> {
    if (this.#initial !== null) {
      const initial = this.#initial;
      this.#initial = null;
      await this.file.write(initial);
      await this.file.seek(0);
    }
  }

  /** Writes bytes at the current position; a known `size` grows (an unknown one, `null`, stays unknown). */
  async write(data: Uint8Array | string): Promise<void> {
    await this.#ready();
    const n = await this.file.write(data);
    if (this.size !== null) this.size += n;
  }
  /** Reads up to `size` bytes (all remaining by default). */
  async read(size = -1): Promise<Uint8Array> {
    await this.#ready();
    return this.file.read(size);
  }
  /** Moves to byte `offset`. */
  async seek(offset: number): Promise<void> {
    await this.#ready();
    await this.file.seek(offset);
  }
  async close(): Promise<void> {
    this.#initial = null;
    await this.file.close();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `UploadFile(filename=${JSON.stringify(this.filename)}, size=${this.size}, headers=${JSON.stringify(this.headers.items())})`;
  }
}
