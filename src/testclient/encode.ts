/**
 * Turns TestClient request options (`params`, `json`, `data`, `files`, `content`) into a query string,
 * body bytes and the matching `Content-Type`, as httpx does.
 */
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';

type Scalar = string | number | boolean;
/** Query parameters: an object (arrays repeat the key), pairs, or `URLSearchParams`. */
export type ParamsInit =
  Record<string, Scalar | Scalar[] | null | undefined> | [string, Scalar][] | URLSearchParams;
/** A file to upload: `[filename, content, contentType?]`, or bare content. */
export type FileInit =
  [filename: string, content: Uint8Array | string, contentType?: string] | Uint8Array | string;
export type FilesInit = Record<string, FileInit | FileInit[]> | [string, FileInit][];
export type DataInit = Record<string, Scalar | Scalar[] | null | undefined> | [string, Scalar][];
/** A request body given as is; an (async) iterable is sent in chunks. */
export type ContentInit =
  string | Uint8Array | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

const utf8 = new TextEncoder();

/** Flattens params/data into ordered string pairs. */
export function toPairs(init: ParamsInit | DataInit | undefined): [string, string][] {
  if (init === undefined) return [];
  if (init instanceof URLSearchParams) return [...init.entries()];
  const entries: [string, unknown][] = Array.isArray(init) ? init : Object.entries(init);
  const out: [string, string][] = [];
  for (const [key, value] of entries) {
    if (value === null || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([key, String(v)]);
  }
  return out;
}

/** Percent-encodes pairs the way forms and httpx do (spaces as `+`). */
export function urlencode(pairs: [string, string][]): string {
  return new URLSearchParams(pairs).toString();
}

const MIME: Record<string, string> = {
  '.txt': 'text/plain',
  '.html': 'text/html',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf',
};

function multipart(data: [string, string][], files: FilesInit): { body: Uint8Array; contentType: string } {
  const boundary = randomBytes(16).toString('hex');
  const parts: Uint8Array[] = [];
  const head = (disposition: string, type?: string) =>
    utf8.encode(
      `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\n` +
        (type ? `Content-Type: ${type}\r\n` : '') +
        '\r\n',
    );
  const quote = (s: string) =>
    s.replace(/\\/g, '\\\\').replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  for (const [name, value] of data) {
    parts.push(head(`name="${quote(name)}"`), utf8.encode(value), utf8.encode('\r\n'));
  }
  const fileEntries: [string, FileInit | FileInit[]][] = Array.isArray(files) ? files : Object.entries(files);
  for (const [name, value] of fileEntries) {
    const list =
      Array.isArray(value) && (value.length === 0 || typeof value[0] !== 'string')
        ? (value as FileInit[])
        : [value as FileInit];
    for (const file of list) {
      const [filename, content, type] = Array.isArray(file) ? file : ['upload', file, undefined];
      const contentType = type ?? MIME[extname(filename).toLowerCase()] ?? 'application/octet-stream';
      parts.push(head(`name="${quote(name)}"; filename="${quote(filename)}"`, contentType));
      parts.push(typeof content === 'string' ? utf8.encode(content) : content, utf8.encode('\r\n'));
    }
  }
  parts.push(utf8.encode(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface EncodedBody {
  body: Uint8Array | AsyncIterable<Uint8Array>;
  /** `null` when the length is unknown (a streamed body). */
  length: number | null;
  contentType: string | null;
}

async function* chunks(
  source: Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>,
): AsyncIterable<Uint8Array> {
  for await (const chunk of source) yield typeof chunk === 'string' ? utf8.encode(chunk) : chunk;
}

/** Encodes exactly one of `content`, `json`, `files` (+`data`) or `data`; `null` means no body. */
export function encodeBody(options: {
  content?: ContentInit;
  json?: unknown;
  data?: DataInit | string | Uint8Array;
  files?: FilesInit;
}): EncodedBody | null {
  if (options.content !== undefined) {
    const c = options.content;
    if (typeof c === 'string' || c instanceof Uint8Array) {
      const body = typeof c === 'string' ? utf8.encode(c) : c;
      return { body, length: body.length, contentType: null };
    }
    return { body: chunks(c), length: null, contentType: null };
  }
  if (options.files !== undefined) {
    const data =
      typeof options.data === 'object' && !(options.data instanceof Uint8Array) ? toPairs(options.data) : [];
    const { body, contentType } = multipart(data, options.files);
    return { body, length: body.length, contentType };
  }
  if (options.json !== undefined) {
    const body = utf8.encode(JSON.stringify(options.json));
    return { body, length: body.length, contentType: 'application/json' };
  }
  if (options.data !== undefined) {
    if (typeof options.data === 'string' || options.data instanceof Uint8Array) {
      const body = typeof options.data === 'string' ? utf8.encode(options.data) : options.data;
      return { body, length: body.length, contentType: null };
    }
    const body = utf8.encode(urlencode(toPairs(options.data)));
    return { body, length: body.length, contentType: 'application/x-www-form-urlencoded' };
  }
  return null;
}
