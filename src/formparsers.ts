/**
 * Form body parsers: urlencoded and streaming multipart/form-data, producing FormData. Limits on the number
 * of files and fields and on the size of each non-file part protect the server; breaking one throws a
 * MultiPartException, which `request.form()` turns into HTTP 400 with the message as detail.
 */
import type { RawHeader } from './asgi.ts';
import { latin1Decode, unquote, unquotePlus } from './_utils.ts';
import { FormData, Headers, SpooledTemporaryFile, UploadFile } from './datastructures.ts';

/** Limits for `request.form(...)` and the parsers. */
export interface FormLimits {
  /** Most file parts allowed (default 1000). */
  maxFiles?: number;
  /** Most non-file fields allowed (default 1000). */
  maxFields?: number;
  /** Largest non-file part (multipart) or name plus value (urlencoded), in bytes (default 1 MiB). */
  maxPartSize?: number;
}

/**
 * A malformed form or a broken limit; `message` is safe to show to the client.
 *
 * @example
 * ```ts
 * throw new MultiPartException('Missing boundary in multipart.');
 * ```
 */
export class MultiPartException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultiPartException';
  }
}

const tooManyFields = (n: number) =>
  new MultiPartException(`Too many fields. Maximum number of fields is ${n}.`);
const tooManyFiles = (n: number) =>
  new MultiPartException(`Too many files. Maximum number of files is ${n}.`);
const kb = (size: number) => Math.trunc(size / 1024);

/**
 * Parses `application/x-www-form-urlencoded` bodies as they stream in.
 *
 * @example
 * ```ts
 * const form = await new FormParser(request.headers, request.stream(), { maxFields: 10 }).parse();
 * ```
 */
export class FormParser {
  readonly #stream: AsyncIterable<Uint8Array>;
  readonly #maxFields: number;
  readonly #maxPartSize: number;

  constructor(_headers: Headers, stream: AsyncIterable<Uint8Array>, limits: FormLimits = {}) {
    this.#stream = stream;
    this.#maxFields = limits.maxFields ?? 1000;
    this.#maxPartSize = limits.maxPartSize ?? 1024 * 1024;
  }

  async parse(): Promise<FormData> {
    const items: [string, string][] = [];
    // The bytes of the field being read; the limit is checked per chunk, so a huge field stops early.
    let current = '';
    const finish = () => {
      if (current === '') return;
      if (items.length + 1 > this.#maxFields) throw tooManyFields(this.#maxFields);
      const eq = current.indexOf('=');
      const name = eq === -1 ? current : current.slice(0, eq);
      const value = eq === -1 ? '' : current.slice(eq + 1);
      items.push([unquotePlus(name), unquotePlus(value)]);
      current = '';
    };
    for await (const chunk of this.#stream) {
      const text = latin1Decode(chunk);
      let start = 0;
      for (;;) {
        const amp = text.indexOf('&', start);
        current += amp === -1 ? text.slice(start) : text.slice(start, amp);
        if (current.length - (current.includes('=') ? 1 : 0) > this.#maxPartSize) {
          throw new MultiPartException(`Field exceeded maximum size of ${kb(this.#maxPartSize)}KB.`);
        }
        if (amp === -1) break;
        finish();
        start = amp + 1;
      }
    }
    finish();
    return new FormData(items);
  }
}

/** Splits a header value like `form-data; name="a"; filename="b.txt"` into its value and parameters. */
export function parseOptionsHeader(value: string | null): [string, Record<string, string>] {
  if (!value) return ['', {}];
  const params: Record<string, string> = {};
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      current += ch;
      if (ch === '\\' && i + 1 < value.length) current += value[++i];
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      quoted = true;
      current += ch;
    } else if (ch === ';') {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    let key = part.slice(0, eq).trim().toLowerCase();
    let val = part.slice(eq + 1).trim();
    if (val.length >= 2 && val.startsWith('"') && val.endsWith('"')) {
      // Only `\\` and `\"` are escapes, as in Python's email.utils.unquote: browsers send other
      // backslashes as they are (`filename="C:\dir\x.txt"`).
      val = val.slice(1, -1).replaceAll('\\\\', '\\').replaceAll('\\"', '"');
    }
    if (key.endsWith('*')) {
      // RFC 5987/2231: charset'language'percent-encoded
      key = key.slice(0, -1);
      const m = /^([^']*)'[^']*'(.*)$/.exec(val);
      if (m) val = unquote(m[2]!, m[1]!.toLowerCase() === 'utf-8' || !m[1] ? 'utf-8' : 'latin1');
    }
    if (key === 'filename' && (val.slice(1, 3) === ':\\' || val.startsWith('\\\\'))) {
      // Old browsers send the full Windows path.
      val = val.split('\\').pop()!;
    }
    params[key] = val;
  }
  return [parts[0]!.trim().toLowerCase(), params];
}

function decodeWith(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return latin1Decode(bytes);
  }
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
// A part's header block larger than this is not a form a browser sends.
const MAX_HEADER_BLOCK = 64 * 1024;

interface Part {
  name: string;
  file: UploadFile | null;
  data: Buffer[];
  size: number;
}

/**
 * Parses `multipart/form-data` bodies as they stream in: file parts go to spooled files (memory, then disk
 * past 1 MiB), other parts become strings.
 *
 * @example
 * ```ts
 * const form = await new MultiPartParser(request.headers, request.stream(), { maxFiles: 5 }).parse();
 * ```
 */
export class MultiPartParser {
  /** Size past which an uploaded file moves from memory to a temporary file. */
  static spoolMaxSize = 1024 * 1024;

  readonly #headers: Headers;
  readonly #stream: AsyncIterable<Uint8Array>;
  readonly #maxFiles: number;
  readonly #maxFields: number;
  readonly #maxPartSize: number;

  constructor(headers: Headers, stream: AsyncIterable<Uint8Array>, limits: FormLimits = {}) {
    this.#headers = headers;
    this.#stream = stream;
    this.#maxFiles = limits.maxFiles ?? 1000;
    this.#maxFields = limits.maxFields ?? 1000;
    this.#maxPartSize = limits.maxPartSize ?? 1024 * 1024;
  }

  async parse(): Promise<FormData> {
    const [, params] = parseOptionsHeader(this.#headers.get('content-type'));
    const charset = params.charset ?? 'utf-8';
    if (!params.boundary) throw new MultiPartException('Missing boundary in multipart.');
    const files: UploadFile[] = [];
    try {
      return await this.#run(Buffer.from(params.boundary, 'latin1'), charset, files);
    } catch (error) {
      for (const file of files) await file.close();
      throw error;
    }
  }

  async #run(boundary: Buffer, charset: string, files: UploadFile[]): Promise<FormData> {
    const dashBoundary = Buffer.concat([Buffer.from('--'), boundary]);
    const delimiter = Buffer.concat([CRLF, dashBoundary]);
    const items: [string, string | UploadFile][] = [];
    let state: 'preamble' | 'after-boundary' | 'headers' | 'body' | 'done' = 'preamble';
    let buf: Buffer = Buffer.alloc(0);
    let part: Part | null = null;
    let fields = 0;

    const startPart = (block: Buffer) => {
      const raw: RawHeader[] = [];
      for (const line of block.toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        raw.push([
          Buffer.from(line.slice(0, colon).trim().toLowerCase(), 'latin1'),
          Buffer.from(line.slice(colon + 1).trim(), 'latin1'),
        ]);
      }
      const headers = new Headers({ raw });
      const [, options] = parseOptionsHeader(headers.get('content-disposition'));
      if (options.name === undefined) {
        throw new MultiPartException('The Content-Disposition header field "name" must be provided.');
      }
      const name = decodeWith(Buffer.from(options.name, 'latin1'), charset);
      let file: UploadFile | null = null;
      if (options.filename !== undefined) {
        if (files.length + 1 > this.#maxFiles) throw tooManyFiles(this.#maxFiles);
        const filename = decodeWith(Buffer.from(options.filename, 'latin1'), charset);
        const spool = new SpooledTemporaryFile((this.constructor as typeof MultiPartParser).spoolMaxSize);
        file = new UploadFile({ file: spool, size: 0, filename, headers });
        files.push(file);
      } else {
        fields += 1;
        if (fields > this.#maxFields) throw tooManyFields(this.#maxFields);
      }
      part = { name, file, data: [], size: 0 };
    };

    const partData = async (data: Buffer) => {
      if (data.length === 0) return;
      const p = part!;
      if (p.file) {
        await p.file.write(data);
        return;
      }
      if (p.size + data.length > this.#maxPartSize) {
        throw new MultiPartException(`Part exceeded maximum size of ${kb(this.#maxPartSize)}KB.`);
      }
      p.data.push(Buffer.from(data));
      p.size += data.length;
    };

    const endPart = async () => {
      const p = part!;
      if (p.file) {
        await p.file.seek(0);
        items.push([p.name, p.file]);
      } else {
        items.push([p.name, decodeWith(Buffer.concat(p.data), charset)]);
      }
      part = null;
    };

    const step = async (): Promise<boolean> => {
      switch (state) {
        case 'preamble': {
          const at = buf.indexOf(dashBoundary);
          if (at === -1) {
            buf = buf.subarray(Math.max(0, buf.length - dashBoundary.length + 1));
            return false;
          }
          buf = buf.subarray(at + dashBoundary.length);
          state = 'after-boundary';
          return true;
        }
        case 'after-boundary': {
          let i = 0;
          while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
          if (buf.length - i < 2) return false;
          if (buf[i] === 0x2d && buf[i + 1] === 0x2d) state = 'done';
          else if (buf[i] === 0x0d && buf[i + 1] === 0x0a) state = 'headers';
          else throw new MultiPartException('Invalid multipart data.');
          buf = buf.subarray(i + 2);
          return true;
        }
        case 'headers': {
          if (buf.subarray(0, 2).equals(CRLF)) {
            startPart(Buffer.alloc(0));
            buf = buf.subarray(2);
            state = 'body';
            return true;
          }
          const end = buf.indexOf(HEADER_END);
          if (end === -1) {
            if (buf.length > MAX_HEADER_BLOCK) throw new MultiPartException('Invalid multipart data.');
            return false;
          }
          startPart(buf.subarray(0, end));
          buf = buf.subarray(end + 4);
          state = 'body';
          return true;
        }
        case 'body': {
          const at = buf.indexOf(delimiter);
          if (at === -1) {
            const keep = Math.min(buf.length, delimiter.length - 1);
            await partData(buf.subarray(0, buf.length - keep));
            buf = buf.subarray(buf.length - keep);
            return false;
          }
          await partData(buf.subarray(0, at));
          await endPart();
          buf = buf.subarray(at + delimiter.length);
          state = 'after-boundary';
          return true;
        }
        default:
          buf = Buffer.alloc(0); // the epilogue is ignored
          return false;
      }
    };

    for await (const chunk of this.#stream) {
      if (chunk.length === 0) continue;
      buf = buf.length
        ? Buffer.concat([buf, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      while (await step());
    }
    // Like python-multipart, a body cut short keeps the parts that were complete and drops the rest.
    const open = part as Part | null;
    if (open?.file) {
      files.splice(files.indexOf(open.file), 1);
      await open.file.close();
    }
    return new FormData(items);
  }
}
