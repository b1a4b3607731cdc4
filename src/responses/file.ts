/**
 * FileResponse: a file from disk, with validators (ETag, Last-Modified), conditional 304s, byte ranges
 * (single and multipart) and the `http.response.pathsend` extension so the core can send the bytes itself.
 */
import { randomBytes } from 'node:crypto';
import { open, stat as statFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { HeaderLike, Receive, Scope, Send } from '../asgi.ts';
import { guessMediaType, latin1Encode, quote } from '../_utils.ts';
import { Headers, MutableHeaders } from '../datastructures.ts';
import { PlainTextResponse, Response, websocketDenialSend, type ResponseOptions } from './base.ts';
import { httpDate } from './cookies.ts';

/** Options of `new FileResponse(path, ...)`. */
export interface FileResponseOptions extends ResponseOptions {
  /** Sets `Content-Disposition` so the browser saves the file under this name. */
  filename?: string | null;
  /** A stat result to use instead of calling `stat` when sending. */
  stat?: Pick<Stats, 'size' | 'mtimeMs' | 'isFile'> | null;
  contentDispositionType?: 'attachment' | 'inline' | string;
}

class RangeError400 extends Error {}
class RangeNotSatisfiable extends Error {}

// Headers a 304 keeps (RFC 9110 §15.4.5).
const NOT_MODIFIED_HEADERS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
]);

/**
 * Sends a file. The media type is guessed from `filename` or `path`.
 *
 * @example
 * ```ts
 * return new FileResponse('reports/q3.pdf', { filename: 'Q3 report.pdf' });
 * ```
 */
export class FileResponse extends Response {
  static chunkSize = 64 * 1024;
  static maxRanges = 100;

  readonly path: string;
  readonly filename: string | null;
  statResult: FileResponseOptions['stat'];

  constructor(path: string, options: FileResponseOptions = {}) {
    const mediaType =
      options.mediaType ?? guessMediaType(options.filename ?? path) ?? 'application/octet-stream';
    super(null, { ...options, mediaType });
    this.path = path;
    this.filename = options.filename ?? null;
    this.headers.setDefault('accept-ranges', 'bytes');
    if (this.filename !== null) {
      const type = options.contentDispositionType ?? 'attachment';
      const quoted = quote(this.filename);
      this.headers.setDefault(
        'content-disposition',
        quoted !== this.filename
          ? `${type}; filename*=utf-8''${quoted}`
          : `${type}; filename="${this.filename}"`,
      );
    }
    this.statResult = options.stat ?? null;
    if (this.statResult) this.#setStatHeaders(this.statResult);
  }

  protected override initHeaders(headers: ResponseOptions['headers']) {
    return super.initHeaders(headers, null);
  }

  #setStatHeaders(stat: NonNullable<FileResponseOptions['stat']>): void {
    this.headers.setDefault('content-length', String(stat.size));
    this.headers.setDefault('last-modified', httpDate(Math.floor(stat.mtimeMs / 1000) * 1000));
    // mtime (whole ms) and size in hex, as nginx does: cheap, and the core's native static path
    // (crates/core/src/statics.rs) computes the very same tag.
    this.headers.setDefault('etag', `"${Math.floor(stat.mtimeMs).toString(16)}-${stat.size.toString(16)}"`);
  }

  override async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    const isHTTP = scope.type === 'http';
    const method = isHTTP ? scope.method.toUpperCase() : 'GET';
    const headOnly = method === 'HEAD';
    const pathsend = isHTTP && scope.extensions?.['http.response.pathsend'] !== undefined;
    if (scope.type === 'websocket') send = websocketDenialSend(send);

    let stat = this.statResult;
    if (!stat) {
      try {
        stat = await statFile(this.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new Error(`File at path ${this.path} does not exist.`);
        throw error;
      }
      this.#setStatHeaders(stat);
      if (!stat.isFile()) throw new Error(`File at path ${this.path} is not a file.`);
    }
    const size = stat.size;
    const request = new Headers({ scope: scope as { headers?: Iterable<HeaderLike> } });

    if (this.status === 200 && (method === 'GET' || method === 'HEAD') && this.#notModified(request)) {
      const kept = this.rawHeaders.filter(([k]) => NOT_MODIFIED_HEADERS.has(String.fromCharCode(...k)));
      await send({ type: 'http.response.start', status: 304, headers: kept as HeaderLike[] });
      await send({ type: 'http.response.body', body: new Uint8Array(0) });
    } else {
      const range = request.get('range');
      const ifRange = request.get('if-range');
      let ranges: [number, number][] = [];
      if (this.status === 200 && range !== null && (method === 'GET' || method === 'HEAD')) {
        if (ifRange === null || this.#rangeStillValid(ifRange)) {
          try {
            ranges = parseRangeHeader(range, size, (this.constructor as typeof FileResponse).maxRanges);
          } catch (error) {
            if (error instanceof RangeNotSatisfiable) {
              const response = new PlainTextResponse(null, {
                status: 416,
                headers: { 'content-range': `bytes */${size}` },
              });
              return response.asgi(scope, receive, send);
            }
            return new PlainTextResponse((error as Error).message, { status: 400 }).asgi(
              scope,
              receive,
              send,
            );
          }
        }
      }
      if (ranges.length === 0) await this.#sendWhole(send, size, headOnly, pathsend);
      else if (ranges.length === 1) await this.#sendRange(send, ranges[0]!, size, headOnly);
      else await this.#sendRanges(send, ranges, size, headOnly);
    }
    if (this.background !== null) await this.background.run();
  }

  #notModified(request: Headers): boolean {
    const ifNoneMatch = request.get('if-none-match');
    const etag = this.headers.get('etag');
    if (ifNoneMatch !== null) {
      const strip = (tag: string) => tag.trim().replace(/^W\//, '');
      return (
        etag !== null &&
        ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || strip(tag) === strip(etag))
      );
    }
    const ifModifiedSince = request.get('if-modified-since');
    const lastModified = this.headers.get('last-modified');
    if (ifModifiedSince === null || lastModified === null) return false;
    const since = Date.parse(ifModifiedSince);
    return !Number.isNaN(since) && Date.parse(lastModified) <= since;
  }

  #rangeStillValid(ifRange: string): boolean {
    if (ifRange.startsWith('W/')) return false;
    return ifRange === this.headers.get('last-modified') || ifRange === this.headers.get('etag');
  }

  async #streamRange(send: Send, start: number, end: number, last: boolean): Promise<void> {
    const chunkSize = (this.constructor as typeof FileResponse).chunkSize;
    const handle = await open(this.path, 'r');
    try {
      let position = start;
      do {
        const buf = Buffer.alloc(Math.min(chunkSize, end - position));
        const { bytesRead } = await handle.read(buf, 0, buf.length, position);
        if (bytesRead === 0 && position < end)
          throw new Error(`File at path ${this.path} is shorter than expected.`);
        position += bytesRead;
        const more = !last || position < end;
        await send({ type: 'http.response.body', body: buf.subarray(0, bytesRead), more_body: more });
      } while (position < end);
    } finally {
      await handle.close();
    }
  }

  async #sendWhole(send: Send, size: number, headOnly: boolean, pathsend: boolean): Promise<void> {
    await send({
      type: 'http.response.start',
      status: this.status,
      headers: this.rawHeaders as HeaderLike[],
    });
    if (headOnly) await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
    else if (pathsend) await send({ type: 'http.response.pathsend', path: this.path });
    else {
      if (size === 0) await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
      else await this.#streamRange(send, 0, size, true);
    }
  }

  async #sendRange(
    send: Send,
    [start, end]: [number, number],
    size: number,
    headOnly: boolean,
  ): Promise<void> {
    const headers = new MutableHeaders({ raw: this.rawHeaders.slice() });
    headers.set('content-range', `bytes ${start}-${end - 1}/${size}`);
    headers.set('content-length', String(end - start));
    await send({ type: 'http.response.start', status: 206, headers: headers.raw as HeaderLike[] });
    if (headOnly) await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
    else await this.#streamRange(send, start, end, true);
  }

  async #sendRanges(send: Send, ranges: [number, number][], size: number, headOnly: boolean): Promise<void> {
    const boundary = randomBytes(13).toString('hex');
    const contentType = this.headers.get('content-type') ?? 'application/octet-stream';
    const partHead = (start: number, end: number) =>
      `--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${start}-${end - 1}/${size}\r\n\r\n`;
    const tail = `--${boundary}--`;
    let length = tail.length;
    for (const [start, end] of ranges) length += partHead(start, end).length + (end - start) + 2;
    const headers = new MutableHeaders({ raw: this.rawHeaders.slice() });
    headers.set('content-type', `multipart/byteranges; boundary=${boundary}`);
    headers.set('content-length', String(length));
    await send({ type: 'http.response.start', status: 206, headers: headers.raw as HeaderLike[] });
    if (headOnly) {
      await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
      return;
    }
    for (const [start, end] of ranges) {
      await send({ type: 'http.response.body', body: latin1Encode(partHead(start, end)), more_body: true });
      await this.#streamRange(send, start, end, false);
      await send({ type: 'http.response.body', body: latin1Encode('\r\n'), more_body: true });
    }
    await send({ type: 'http.response.body', body: latin1Encode(tail), more_body: false });
  }
}

const DIGITS = /^\d+$/;

/** Parses a `Range` header into sorted, merged `[start, end)` pairs (empty: serve the whole file). */
export function parseRangeHeader(header: string, size: number, maxRanges = 100): [number, number][] {
  const eq = header.indexOf('=');
  if (eq === -1) throw new RangeError400('Malformed range header.');
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes')
    throw new RangeError400('Only support bytes range');
  const spec = header.slice(eq + 1);
  if (spec.split(',').length > maxRanges) return [];
  const ranges: [number, number][] = [];
  for (let part of spec.split(',')) {
    part = part.trim();
    const dash = part.indexOf('-');
    // Empty, bare "-", dash-less and non-numeric parts are ignored, as browsers and Starlette do.
    if (!part || part === '-' || dash === -1) continue;
    const startStr = part.slice(0, dash).trim();
    const endStr = part.slice(dash + 1).trim();
    if ((startStr && !DIGITS.test(startStr)) || (endStr && !DIGITS.test(endStr))) continue;
    if (!startStr && !endStr) continue;
    const start = startStr ? Number(startStr) : Math.max(size - Number(endStr), 0);
    const end = startStr && endStr && Number(endStr) < size ? Number(endStr) + 1 : size;
    ranges.push([start, end]);
  }
  if (ranges.length === 0) throw new RangeError400('Range header: range must be requested');
  if (ranges.some(([start]) => !(start >= 0 && start < size))) throw new RangeNotSatisfiable();
  if (ranges.some(([start, end]) => start >= end))
    throw new RangeError400('Range header: start must be less than end');
  if (ranges.length === 1) return ranges;
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [ranges[0]!];
  for (const [start, end] of ranges.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}
