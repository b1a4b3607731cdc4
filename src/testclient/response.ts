/**
 * What a `TestClient` request resolves to: status, headers, body and the cookies it set, with the
 * content-encoding already undone (as httpx does), so `res.text` of a gzipped response is readable.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { statusPhrase } from '../status.ts';

/**
 * Response headers: case-insensitive, multi-valued, in arrival order. `get` joins repeated values with
 * `", "` like `fetch` and httpx; `getAll` gives them one by one.
 *
 * @example
 * ```ts
 * res.headers.get('content-type'); // 'text/plain; charset=utf-8'
 * res.headers.getAll('set-cookie');
 * ```
 */
export class ResponseHeaders implements Iterable<[string, string]> {
  readonly #raw: [string, string][];

  constructor(raw: [string, string][]) {
    this.#raw = raw.map(([k, v]) => [k.toLowerCase(), v]);
  }

  get(name: string): string | null {
    const values = this.getAll(name);
    return values.length === 0 ? null : values.join(', ');
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.#raw.filter(([k]) => k === key).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.getAll(name).length > 0;
  }

  keys(): string[] {
    return [...new Set(this.#raw.map(([k]) => k))];
  }

  entries(): [string, string][] {
    return this.#raw.map(([k, v]) => [k, v]);
  }

  /** Plain object of the headers (repeated values joined), handy for `t.deepEqual`. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.keys().map((k) => [k, this.get(k) as string]));
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.entries()[Symbol.iterator]();
  }
}

/** The request that produced a response, as it was sent. */
export interface SentRequest {
  method: string;
  url: string;
  headers: ResponseHeaders;
  content: Uint8Array;
}

function decode(content: Uint8Array, encoding: string | null): Uint8Array {
  if (!encoding || content.length === 0) return content;
  let out: Uint8Array = content;
  for (const coding of encoding
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') out = gunzipSync(out);
    else if (coding === 'deflate') out = inflateSync(out);
    else if (coding === 'br') out = brotliDecompressSync(out);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * A response seen by the `TestClient`.
 *
 * @example
 * ```ts
 * const res = await client.get('/');
 * t.is(res.status, 200);
 * t.deepEqual(res.json(), { hello: 'world' });
 * ```
 */
export class TestResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The body bytes, decoded from any `Content-Encoding`. */
  readonly content: Uint8Array;
  /** The final URL (after redirects). */
  readonly url: string;
  readonly request: SentRequest;
  /** Redirect responses followed to reach this one, oldest first. */
  history: TestResponse[] = [];

  constructor(init: {
    status: number;
    headers: [string, string][];
    body: Uint8Array;
    url: string;
    request: SentRequest;
  }) {
    this.status = init.status;
    this.headers = new ResponseHeaders(init.headers);
    this.content = decode(init.body, this.headers.get('content-encoding'));
    this.url = init.url;
    this.request = init.request;
  }

  /** Alias of `status`, for Starlette-style tests. */
  get statusCode(): number {
    return this.status;
  }

  /**
   * The reason phrase of the status (`'OK'`, `'Not Found'`), from Starling's status table rather than
   * the wire, so both transports agree; `''` for an unknown code. httpx's `reason_phrase`.
   */
  get reasonPhrase(): string {
    return statusPhrase(this.status);
  }

  get text(): string {
    return new TextDecoder().decode(this.content);
  }

  json<T = any>(): T {
    return JSON.parse(this.text) as T;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get isRedirect(): boolean {
    return [301, 302, 303, 307, 308].includes(this.status) && this.headers.has('location');
  }

  /**
   * Cookies set by this response (name → value, exactly as in `Set-Cookie`, so a quoted value keeps
   * its quotes, as in httpx); deleted ones have value `''` or `'""'`.
   */
  get cookies(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const header of this.headers.getAll('set-cookie')) {
      const pair = header.split(';', 1)[0] as string;
      const eq = pair.indexOf('=');
      if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return out;
  }
}
