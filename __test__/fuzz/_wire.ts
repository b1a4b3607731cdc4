/**
 * The bridge as the property tests drive it: events, an encoder that lays them out in one batch with
 * the record layouts of src/server/wire.ts (as crates/node/src/encode.rs does), and a Bridge over a
 * native server that records what the exchanges ask of it.
 */
import type { ASGIFunction } from '../../src/asgi.ts';
import { Bridge } from '../../src/server/bridge.ts';
import { LoopRef } from '../../src/server/loop.ts';
import type { NativeServer } from '../../src/server/native.ts';
import {
  Body,
  Closed,
  Disconnect,
  Drain,
  Kind,
  MemData,
  MemEnd,
  Request,
  RequestFlag,
  WsClose,
  WsForm,
  WsMessage,
} from '../../src/server/wire.ts';

export type Address = [string, number] | null;
export interface RequestEvent {
  kind: 'request';
  id: number;
  version: number;
  websocket: boolean;
  method: string;
  path: string;
  query: string | null;
  headers: [string, string][];
  client: Address;
  server: Address;
  scheme: string;
  body: Uint8Array;
  moreBody: boolean;
}
export type Event =
  | RequestEvent
  | { kind: 'body'; id: number; chunk: Uint8Array; moreBody: boolean }
  | { kind: 'wsMessage'; id: number; data: Uint8Array; text: boolean }
  | { kind: 'wsClose'; id: number; code: number; reason: string }
  | { kind: 'disconnect' | 'drain' | 'memEnd'; id: number }
  | { kind: 'memData'; id: number; data: Uint8Array }
  | { kind: 'closed' };

export interface Batch {
  meta: Uint32Array;
  strs: string;
  bin: Buffer | null;
  texts: Buffer | null;
}

/**
 * Encodes events into one batch. `pad` puts junk before each span (the decoder must use the offsets,
 * not assume spans are packed).
 */
/** Each request comes on a connection of its own: the decoder keeps a connection's addresses from its first request. */
let nextConn = 1;

export function encode(events: readonly Event[], pad: (n: number) => string = () => ''): Batch {
  const meta: number[] = [];
  let strs = '';
  let texts = '';
  const bin: Uint8Array[] = [];
  let binLength = 0;
  let spans = 0;
  const str = (s: string): [number, number] => {
    strs += pad(spans++);
    const at = strs.length;
    strs += s;
    return [at, s.length];
  };
  const bytes = (b: Uint8Array): [number, number] => {
    const junk = Buffer.from(pad(spans++), 'latin1');
    bin.push(junk, b);
    binLength += junk.length;
    const at = binLength;
    binLength += b.length;
    return [at, b.length];
  };
  const record = (length: number, kind: Kind, id: number, fields: [number, number][] = []) => {
    const words = new Array<number>(length).fill(0);
    words[0] = kind;
    words[1] = id;
    for (const [field, value] of fields) words[field] = value;
    meta.push(...words);
  };
  for (const e of events) {
    switch (e.kind) {
      case 'request': {
        let flags = e.version << RequestFlag.versionShift;
        if (e.moreBody) flags |= RequestFlag.moreBody;
        if (e.query !== null) flags |= RequestFlag.hasQuery;
        if (e.websocket) flags |= RequestFlag.webSocket;
        const method = str(e.method);
        const path = str(e.path);
        const query = str(e.query ?? '');
        const headers = str(e.headers.map(([n, v]) => `${n}\0${v}\0`).join(''));
        const addr = (a: Address) => (a ? `${a[0]}\0${a[1]}\0` : '\0\0');
        const addrs = str(addr(e.client) + addr(e.server) + e.scheme);
        const body = bytes(e.body);
        record(Request.length, Kind.Request, e.id, [
          [Request.flags, flags],
          [Request.methodAt, method[0]],
          [Request.methodLen, method[1]],
          [Request.pathAt, path[0]],
          [Request.pathLen, path[1]],
          [Request.queryAt, query[0]],
          [Request.queryLen, query[1]],
          [Request.headersAt, headers[0]],
          [Request.headersLen, headers[1]],
          [Request.addrsAt, addrs[0]],
          [Request.addrsLen, addrs[1]],
          [Request.conn, nextConn++],
          [Request.bodyAt, body[0]],
          [Request.bodyLen, body[1]],
        ]);
        break;
      }
      case 'body': {
        const [at, len] = bytes(e.chunk);
        record(Body.length, Kind.Body, e.id, [
          [Body.moreBody, e.moreBody ? 1 : 0],
          [Body.bodyAt, at],
          [Body.bodyLen, len],
        ]);
        break;
      }
      case 'wsMessage': {
        // As encode.rs: short ASCII text travels in the text buffer, other messages in the buffer.
        const ascii = e.text && e.data.length <= 1024 && e.data.every((b) => b < 0x80);
        let at: number;
        let len: number;
        if (ascii) {
          texts += pad(spans++);
          [at, len] = [texts.length, e.data.length];
          texts += Buffer.from(e.data).toString('latin1');
        } else [at, len] = bytes(e.data);
        const form = ascii ? WsForm.asciiText : e.text ? WsForm.text : WsForm.binary;
        record(WsMessage.length, Kind.WsMessage, e.id, [
          [WsMessage.form, form],
          [WsMessage.dataAt, at],
          [WsMessage.dataLen, len],
        ]);
        break;
      }
      case 'wsClose': {
        const [at, len] = bytes(Buffer.from(e.reason));
        record(WsClose.length, Kind.WsClose, e.id, [
          [WsClose.code, e.code],
          [WsClose.reasonAt, at],
          [WsClose.reasonLen, len],
        ]);
        break;
      }
      case 'memData': {
        const [at, len] = bytes(e.data);
        record(MemData.length, Kind.MemData, e.id, [
          [MemData.dataAt, at],
          [MemData.dataLen, len],
        ]);
        break;
      }
      case 'disconnect':
        record(Disconnect.length, Kind.Disconnect, e.id);
        break;
      case 'drain':
        record(Drain.length, Kind.Drain, e.id);
        break;
      case 'memEnd':
        record(MemEnd.length, Kind.MemEnd, e.id);
        break;
      case 'closed':
        record(Closed.length, Kind.Closed, 0);
    }
  }
  // As encode.rs: no buffer at all when no record has bytes.
  const joined = Buffer.concat(bin);
  return {
    meta: Uint32Array.from(meta),
    strs,
    bin: joined.length ? joined : null,
    texts: texts ? Buffer.from(texts, 'latin1') : null,
  };
}

type Call = [method: string, id: number, ...args: unknown[]];

export class RecordingNative implements NativeServer {
  readonly calls: Call[] = [];
  #conns = 0;
  #log(method: string, id: number, ...args: unknown[]): true {
    this.calls.push([method, id, ...args]);
    return true;
  }
  /** Ids of the `readMore` calls since the last look. */
  takeReadMore(): number[] {
    const ids = this.calls.filter(([m]) => m === 'readMore').map(([, id]) => id);
    this.calls.splice(0, this.calls.length, ...this.calls.filter(([m]) => m !== 'readMore'));
    return ids;
  }
  listen = () => 0;
  fastCalls = () => {
    const { respondText, respondBytes, write, writeText, wsSendText, wsSendBytes, wsCredit } = this;
    return { respondText, respondBytes, write, writeText, wsSendText, wsSendBytes, wsCredit };
  };
  respondText = (id: number, status: number, headers: string | null, body: string) =>
    this.#log('respond', id, status, headers, Buffer.from(body));
  respondBytes = (id: number, status: number, headers: string | null, body: Uint8Array) =>
    this.#log('respond', id, status, headers, Buffer.from(body));
  respondStatus = (id: number, status: number) => this.#log('respondStatus', id, status);
  sendFile = (id: number) => this.#log('sendFile', id);
  start = (id: number) => this.#log('start', id);
  write = (id: number) => (this.#log('write', id), 1);
  writeText = (id: number) => (this.#log('writeText', id), 1);
  end = (id: number) => this.#log('end', id);
  readMore = (id: number) => this.#log('readMore', id);
  abort = (id: number) => this.#log('abort', id);
  wsAccept = (id: number) => this.#log('wsAccept', id);
  wsSendText = (id: number) => (this.#log('wsSendText', id), 1);
  wsSendBytes = (id: number) => (this.#log('wsSendBytes', id), 1);
  wsClose = (id: number, code: number) => this.#log('wsClose', id, code);
  wsCredit = (id: number) => this.#log('wsCredit', id);
  connectMemory = () => ++this.#conns;
  memoryWrite = () => true;
  memoryEnd = () => true;
  connections = () => 0;
  parked = () => 0;
  answerQueue = () => new ArrayBuffer(0);
  pending = () => 0;
  close = () => undefined;
  dispose = () => undefined;
}

export function bridge(app: ASGIFunction, rootPath = '') {
  const errors: unknown[] = [];
  let closed = 0;
  const b = new Bridge(app, {
    rootPath,
    state: { shared: true },
    onError: (error) => errors.push(error),
    onClosed: () => closed++,
    loop: new LoopRef(),
  });
  const native = new RecordingNative();
  b.native = native;
  return { bridge: b, native, errors, closed: () => closed };
}
