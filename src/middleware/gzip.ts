/**
 * Gzip compression of response bodies, streamed or whole, for clients that accept it.
 */
import { constants, createGzip, gzip, type Gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type {
  ASGIApp,
  ASGIFunction,
  HTTPResponseStartEvent,
  HTTPScope,
  Receive,
  Scope,
  Send,
  SendMessage,
} from '../asgi.ts';
import { toASGIFunction, toBytes } from '../_utils.ts';
import { HeaderList, requestHeader } from './_helpers.ts';

const gzipAsync = promisify(gzip);

/** A held-back `http.response.start` whose headers may still change. */
type Start = Omit<HTTPResponseStartEvent, 'headers'> & { headers: HeaderList };
const EMPTY = new Uint8Array(0);

/**
 * Media types not worth compressing (already compressed), or that must not wait in a compressor
 * (`text/event-stream`). A `type/*` entry covers the whole type.
 */
export const DEFAULT_EXCLUDED_CONTENT_TYPES: readonly string[] = [
  'application/grpc',
  'application/gzip',
  'application/x-gzip',
  'application/zip',
  'audio/*',
  'font/woff',
  'font/woff2',
  'image/avif',
  'image/gif',
  'image/jpeg',
  'image/png',
  'image/webp',
  'text/event-stream',
  'video/*',
];

/**
 * The scope extension a native server announces when it compresses responses itself. When present, this
 * middleware compresses nothing and adds {@link COMPRESSION_HINT_HEADER} to each response it would have
 * compressed, for the server to act on and strip.
 */
export const COMPRESSION_EXTENSION = 'starling.compression';
/** The response header carrying the hint: `gzip; minimum-size=500; level=9`. */
export const COMPRESSION_HINT_HEADER = 'x-starling-compress';

export interface GZipOptions {
  /** Bodies smaller than this many bytes, sent whole, are left alone (default 500). */
  minimumSize?: number;
  /** zlib level from 1 (fast) to 9 (small; the default). */
  compressLevel?: number;
  /** Media types never compressed; defaults to {@link DEFAULT_EXCLUDED_CONTENT_TYPES}. */
  excludeContentTypes?: readonly string[];
  /**
   * Codings offered, in order of preference when the client rates them equally (default `['gzip']`).
   * `'br'` (brotli) is produced by the native core only; in-process (TestClient) runs fall back to gzip.
   */
  encodings?: readonly ('gzip' | 'br')[];
}

/**
 * Compresses responses with gzip when the request's `Accept-Encoding` allows it and the body is at least
 * `minimumSize` bytes. Streaming responses are compressed chunk by chunk (each chunk flushed, so a client
 * sees it at once) and lose their `Content-Length`. Responses that already have a `Content-Encoding`,
 * partial (206) responses and excluded media types pass untouched. `Vary: Accept-Encoding` is added to
 * every response whose body could have been compressed.
 *
 * @example
 * ```ts
 * new Starling({ routes, middleware: [new Middleware(GZipMiddleware, { minimumSize: 1000 })] });
 * ```
 */
export class GZipMiddleware {
  readonly #app: ASGIFunction;
  readonly #minimumSize: number;
  readonly #level: number;
  readonly #encodings: string;
  readonly #excluded: Set<string>;

  constructor(app: ASGIApp, options: GZipOptions = {}) {
    this.#app = toASGIFunction(app);
    this.#minimumSize = options.minimumSize ?? 500;
    this.#level = options.compressLevel ?? 9;
    this.#encodings = (options.encodings ?? ['gzip']).join(', ');
    this.#excluded = new Set(
      (options.excludeContentTypes ?? DEFAULT_EXCLUDED_CONTENT_TYPES).map((t) => t.toLowerCase()),
    );
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http') return this.#app(scope, receive, send);
    if (scope.extensions?.[COMPRESSION_EXTENSION] !== undefined) return this.#hint(scope, receive, send);
    return new Responder(this.#minimumSize, acceptsGzip(scope) ? this.#level : null, send, (start) =>
      this.#skips(start),
    ).run(this.#app, scope, receive);
  }

  /** Whether a response must go out as is, whatever the client accepts. */
  #skips(start: Start): boolean {
    if (start.headers.has('content-encoding') || start.status === 206) return true;
    const mediaType = (start.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (this.#excluded.has(mediaType) || this.#excluded.has(mediaType.split('/')[0] + '/*')) return true;
    return mediaType.startsWith('application/grpc+') && this.#excluded.has('application/grpc');
  }

  // The core announces `scope.extensions['starling.compression']`, reads this header from
  // `http.response.start`, strips it, negotiates the coding with Accept-Encoding (gzip, and br when the
  // app opts in), applies `minimum-size` and `level`, and sets Content-Encoding, Vary and Content-Length.
  async #hint(scope: HTTPScope, receive: Receive, send: Send): Promise<void> {
    const hint = `${this.#encodings}; minimum-size=${this.#minimumSize}; level=${this.#level}`;
    await this.#app(scope, receive, (message) => {
      if (message.type !== 'http.response.start') return send(message);
      const headers = new HeaderList(message.headers);
      if (!this.#skips({ ...message, headers })) headers.set(COMPRESSION_HINT_HEADER, hint);
      return send({ ...message, headers: headers.toArray() });
    });
  }
}

/** True when `Accept-Encoding` lists gzip (or `*`) with a non-zero quality. */
function acceptsGzip(scope: Scope): boolean {
  const header = requestHeader(scope, 'accept-encoding');
  if (!header) return false;
  return header.split(',').some((item) => {
    const [coding = '', ...params] = item.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (
      (coding === 'gzip' || coding === 'x-gzip' || coding === '*') &&
      (q === undefined || Number(q.slice(2)) > 0)
    );
  });
}

/**
 * One response's pass through the middleware. `level === null` means the client does not accept gzip:
 * nothing is compressed, but `Vary` is still added where a gzip-accepting client would get another body.
 */
class Responder {
  #start: Start | undefined;
  #passthrough = false;
  #stream: GzipStream | undefined;

  constructor(
    readonly minimumSize: number,
    readonly level: number | null,
    readonly send: Send,
    readonly skips: (start: Start) => boolean,
  ) {}

  run(app: ASGIFunction, scope: HTTPScope, receive: Receive): Promise<void> {
    return app(scope, receive, (message) => this.#onMessage(message));
  }

  async #onMessage(message: SendMessage): Promise<void> {
    if (message.type === 'http.response.start') {
      const start: Start = { ...message, headers: new HeaderList(message.headers) };
      this.#start = start;
      this.#passthrough = this.skips(start);
      // Held back until the first body shows whether the headers change.
      if (this.#passthrough) return this.send(message);
      return;
    }
    if (this.#passthrough) return this.send(message);
    if (this.#stream) {
      if (message.type !== 'http.response.body') {
        await this.#stream.end();
        return this.send(message);
      }
      await this.#stream.write(toBytes(message.body));
      if (!message.more_body) await this.#stream.end();
      return;
    }
    if (this.#start === undefined || message.type !== 'http.response.body') {
      // A pathsend (the server sends the file itself) stays uncompressed; anything else passes.
      if (this.#start !== undefined) await this.#flushStart();
      return this.send(message);
    }
    const body = toBytes(message.body);
    if (!message.more_body && body.byteLength < this.minimumSize) {
      await this.#flushStart();
      return this.send(message);
    }
    const headers = this.#start.headers;
    headers.addVary('Accept-Encoding');
    if (this.level === null) {
      await this.#flushStart();
      return this.send(message);
    }
    headers.set('content-encoding', 'gzip');
    if (!message.more_body) {
      const compressed = await gzipAsync(body, { level: this.level });
      if (this.#start.trailers) headers.delete('content-length');
      else headers.set('content-length', String(compressed.byteLength));
      await this.#flushStart();
      return this.send({ type: 'http.response.body', body: compressed, more_body: false });
    }
    headers.delete('content-length');
    await this.#flushStart();
    this.#stream = new GzipStream(this.level, this.send);
    await this.#stream.write(body);
  }

  async #flushStart(): Promise<void> {
    const start = this.#start!;
    this.#start = undefined;
    await this.send({ ...start, headers: start.headers.toArray() });
  }
}

/** A gzip stream whose output is sent as body chunks as soon as each input chunk has been flushed. */
class GzipStream {
  readonly #gz: Gzip;
  readonly #pump: Promise<void>;
  readonly #send: Send;
  readonly #failed: Promise<never>;
  #ended = false;

  constructor(level: number, send: Send) {
    const gz = createGzip({ level });
    this.#gz = gz;
    this.#pump = (async () => {
      for await (const chunk of gz)
        await send({ type: 'http.response.body', body: chunk as Buffer, more_body: true });
    })();
    // If sending fails (the client left), writers must not wait forever for room in the compressor.
    this.#failed = this.#pump.then(() => new Promise<never>(() => {}));
    this.#failed.catch(() => gz.destroy());
    this.#send = send;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const written = new Promise<void>((resolve, reject) => {
      this.#gz.write(chunk, (error) =>
        error ? reject(error) : this.#gz.flush(constants.Z_SYNC_FLUSH, () => resolve()),
      );
    });
    await Promise.race([written, this.#failed]);
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#gz.end();
    await this.#pump;
    await this.#send({ type: 'http.response.body', body: EMPTY, more_body: false });
  }
}
