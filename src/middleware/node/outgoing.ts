/**
 * The `ServerResponse` a wrapped Node handler gets: a real one, keeping Node's header store
 * (`setHeader`, `getHeader`, `appendHeader`... with their checks), whose output methods are replaced
 * by own properties that turn writes into ASGI `send()` calls.
 */
import { STATUS_CODES, type OutgoingHttpHeader, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HTTPResponseStartEvent, Send, SendMessage } from '../../asgi.ts';
import { RESOLVED } from '../../_utils.ts';

type Callback = (error?: Error | null) => void;
type HeadersArg = OutgoingHttpHeaders | OutgoingHttpHeader[];

interface Queued {
  message: SendMessage;
  size: number;
  last: boolean;
  callback: Callback | undefined;
}

/** What the exchange needs to hear from the response. */
export interface SinkEvents {
  /** The last body message was taken by the server. */
  complete(): void;
  /** `send()` failed, or the response emitted 'error'. */
  fail(error: unknown): void;
}

const EMPTY = new Uint8Array(0);
// Node's check for header values and status messages.
const INVALID_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** An Error with a Node-style `code`, as Node's own errors for the same misuse have. */
export function codedError(code: string, message: string, Kind: ErrorConstructor = Error): Error {
  return Object.assign(new Kind(message), { code });
}

function chunkBytes(chunk: unknown, encoding: BufferEncoding | undefined): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw codedError(
    'ERR_INVALID_ARG_TYPE',
    'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array',
    TypeError,
  );
}

/**
 * Drives `res`: `writeHead` snapshots the headers (so `headersSent` turns true and later `setHeader`
 * throws, as in Node); the start goes out with the first body bytes or at `flushHeaders()`. Messages
 * go to `send()` one at a time: `write()` returns false while one is pending, and 'drain' follows
 * when the queue empties. A `send()` that the server took synchronously (Starling's `RESOLVED`)
 * keeps `write()` returning true.
 */
export class ResponseSink {
  readonly #res: ServerResponse;
  readonly #send: Send;
  readonly #events: SinkEvents;
  #hasBody: boolean;
  #start: HTTPResponseStartEvent | null = null;
  #startQueued = false;
  /** Set by `end(data)` before the implicit `writeHead`, which then adds `Content-Length`, as Node does. */
  #contentLength: number | undefined;
  readonly #queue: Queued[] = [];
  #queuedBytes = 0;
  #busy = false;
  #needDrain = false;
  #ended = false;
  #complete = false;
  #failed = false;

  constructor(res: ServerResponse, send: Send, events: SinkEvents) {
    this.#res = res;
    this.#send = send;
    this.#events = events;
    this.#hasBody = res.req.method !== 'HEAD';
    // Own, writable properties: they survive Express's prototype swap, and wrappers such as
    // `on-headers` that reassign `res.writeHead` still reach these.
    for (const [name, value] of Object.entries({
      writeHead: this.#writeHead,
      write: this.#write,
      end: this.#end,
      flushHeaders: this.#flushHeaders,
    }))
      Object.defineProperty(res, name, { value, writable: true, configurable: true });
    Object.defineProperties(res, {
      writableFinished: { get: () => this.#complete, configurable: true },
      writableNeedDrain: { get: () => this.#needDrain, configurable: true },
      writableLength: { get: () => this.#queuedBytes, configurable: true },
    });
  }

  /** The whole response has been taken by the server. */
  get complete(): boolean {
    return this.#complete;
  }

  #writeHead = (statusCode: number, reason?: string | HeadersArg, headers?: HeadersArg): ServerResponse => {
    const res = this.#res;
    if (res.headersSent)
      throw codedError('ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    const status = Number(statusCode) | 0;
    if (status < 100 || status > 999)
      throw codedError('ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${statusCode}`, RangeError);
    if (typeof reason === 'string') res.statusMessage = reason;
    else {
      res.statusMessage ||= STATUS_CODES[status] ?? 'unknown';
      headers ??= reason;
    }
    if (INVALID_CHAR.test(res.statusMessage))
      throw codedError('ERR_INVALID_CHAR', 'Invalid character in statusMessage', TypeError);
    res.statusCode = status;
    if (Array.isArray(headers)) {
      // Node's rule: these replace headers of the same names, and may repeat among themselves.
      if (headers.length % 2 !== 0)
        throw codedError('ERR_INVALID_ARG_VALUE', 'The argument "headers" is invalid', TypeError);
      for (let i = 0; i < headers.length; i += 2) res.removeHeader(String(headers[i]));
      for (let i = 0; i < headers.length; i += 2) {
        const value = headers[i + 1]!;
        res.appendHeader(String(headers[i]), typeof value === 'number' ? String(value) : value);
      }
    } else if (headers) {
      for (const name of Object.keys(headers)) if (name) res.setHeader(name, headers[name]!);
    }
    if (status === 204 || status === 304 || status < 200) this.#hasBody = false;
    this.#start = { type: 'http.response.start', status, headers: this.#headerList() };
    // Node keeps the header block here; that it is set is what `headersSent`, `setHeader`'s check and
    // finalhandler look at (nothing reads the text, so the status line stands for it).
    Object.assign(res, { _header: `HTTP/1.1 ${status} ${res.statusMessage}\r\n` });
    return res;
  };

  #headerList(): [string, string][] {
    const res = this.#res;
    const list: [string, string][] = [];
    for (const name of res.getHeaderNames()) {
      // Framing is the server's business; it sets Transfer-Encoding itself when it needs it.
      if (name === 'transfer-encoding') continue;
      const value = res.getHeader(name);
      if (Array.isArray(value)) for (const item of value) list.push([name, item]);
      else if (value !== undefined) list.push([name, String(value)]);
    }
    if (this.#contentLength !== undefined && this.#hasBody && !res.hasHeader('content-length'))
      list.push(['content-length', String(this.#contentLength)]);
    return list;
  }

  #write = (chunk: unknown, encoding?: BufferEncoding | Callback, callback?: Callback): boolean => {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    const res = this.#res;
    if (this.#ended || res.destroyed) {
      const error = this.#ended
        ? codedError('ERR_STREAM_WRITE_AFTER_END', 'write after end')
        : codedError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
      process.nextTick(() => {
        callback?.(error);
        if (!res.destroyed) res.emit('error', error);
      });
      return false;
    }
    const bytes = chunkBytes(chunk, encoding);
    if (!res.headersSent) res.writeHead(res.statusCode);
    this.#queueStart();
    if (bytes.byteLength === 0 || !this.#hasBody) {
      // `write('')` is the old way to send the headers early; there is nothing else to send.
      if (callback) process.nextTick(callback);
      return !this.#needDrain;
    }
    this.#enqueue({ type: 'http.response.body', body: bytes, more_body: true }, bytes.byteLength, callback);
    if (this.#busy) this.#needDrain = true;
    return !this.#needDrain;
  };

  #end = (chunk?: unknown, encoding?: BufferEncoding | Callback, callback?: Callback): ServerResponse => {
    const res = this.#res;
    let charset: BufferEncoding | undefined;
    if (typeof chunk === 'function') [callback, chunk] = [chunk as Callback, undefined];
    else if (typeof encoding === 'function') callback = encoding;
    else charset = encoding;
    if (this.#ended || res.destroyed) {
      if (callback) {
        if (this.#ended && !this.#complete) res.once('finish', () => callback());
        else {
          const error = this.#ended
            ? codedError('ERR_STREAM_ALREADY_FINISHED', 'Cannot call end after a stream was finished')
            : codedError('ERR_STREAM_DESTROYED', 'Cannot call end after a stream was destroyed');
          process.nextTick(callback, error);
        }
      }
      return res;
    }
    const bytes = chunk === undefined || chunk === null ? EMPTY : chunkBytes(chunk, charset);
    if (!res.headersSent) {
      this.#contentLength = bytes.byteLength;
      res.writeHead(res.statusCode);
    }
    this.#ended = true;
    Object.assign(res, { finished: true });
    if (callback) res.once('finish', () => callback());
    this.#queueStart();
    const body = this.#hasBody ? bytes : EMPTY;
    this.#enqueue({ type: 'http.response.body', body, more_body: false }, body.byteLength, undefined, true);
    return res;
  };

  #flushHeaders = (): void => {
    if (!this.#res.headersSent) this.#res.writeHead(this.#res.statusCode);
    this.#queueStart();
  };

  #queueStart(): void {
    if (this.#startQueued || this.#start === null) return;
    this.#startQueued = true;
    this.#enqueue(this.#start, 0);
  }

  #enqueue(message: SendMessage, size: number, callback?: Callback, last = false): void {
    this.#queue.push({ message, size, last, callback });
    this.#queuedBytes += size;
    if (!this.#busy) this.#pump();
  }

  /** Hands queued messages to `send()` in order, waiting only on a promise the server did not settle. */
  #pump(): void {
    while (this.#queue.length > 0 && !this.#failed) {
      const item = this.#queue.shift()!;
      let result: Promise<void>;
      try {
        result = this.#send(item.message);
      } catch (error) {
        result = Promise.reject(error);
      }
      if (result === RESOLVED) {
        this.#sent(item);
        continue;
      }
      this.#busy = true;
      result.then(
        () => {
          this.#busy = false;
          this.#sent(item);
          this.#pump();
        },
        (error: unknown) => {
          this.#busy = false;
          this.#failed = true;
          if (item.callback) process.nextTick(item.callback, error as Error);
          this.#events.fail(error);
        },
      );
      return;
    }
    if (this.#needDrain && !this.#failed) {
      this.#needDrain = false;
      this.#res.emit('drain');
    }
  }

  #sent(item: Queued): void {
    this.#queuedBytes -= item.size;
    if (item.callback) process.nextTick(item.callback);
    if (!item.last) return;
    this.#complete = true;
    // Never from inside `end()`, as in Node: a 'finish' listener added right after it still hears it.
    process.nextTick(() => {
      this.#res.emit('prefinish');
      this.#res.emit('finish');
      this.#events.complete();
    });
  }
}
