// Generated from crates/node/src/wire.rs: do not edit. After changing the Rust side,
// run `STARLING_WRITE_WIRE=1 cargo test -p starling-node wire` to rewrite this file.

/** Event kinds: the first word of every record. */
export const enum Kind {
  Request = 1,
  Body = 2,
  Disconnect = 3,
  Drain = 4,
  Closed = 5,
  WsMessage = 6,
  WsClose = 7,
  MemData = 8,
  MemEnd = 9,
}

/** A new request: method, path, query, headers (`name\0value\0`…) and addresses are spans (offset, length) of the string; the inline body is a span of the buffer. `CONN` names the connection: its requests carry the same addresses, which JS may keep from the first. `PATH_ID` names the path's slot in the paths JS holds (see `paths.rs`), 0 for none. */
export const enum Request {
  id = 1,
  flags = 2,
  methodAt = 3,
  methodLen = 4,
  pathAt = 5,
  pathLen = 6,
  queryAt = 7,
  queryLen = 8,
  headersAt = 9,
  headersLen = 10,
  addrsAt = 11,
  addrsLen = 12,
  conn = 13,
  bodyAt = 14,
  bodyLen = 15,
  pathId = 16,
  length = 17,
}

/** A chunk of request body asked for with `readMore`. */
export const enum Body {
  id = 1,
  moreBody = 2,
  bodyAt = 3,
  bodyLen = 4,
  length = 5,
}

/** The client left, or the request can no longer be answered. */
export const enum Disconnect {
  id = 1,
  length = 2,
}

/** A streamed response or WebSocket drained below its low-water mark. */
export const enum Drain {
  id = 1,
  length = 2,
}

/** `close()` finished (the id word is 0). */
export const enum Closed {
  id = 1,
  length = 2,
}

/** A WebSocket message: its data is a span of the buffer or, for short ASCII text, of the text buffer (see `ws_form`). */
export const enum WsMessage {
  id = 1,
  form = 2,
  dataAt = 3,
  dataLen = 4,
  length = 5,
}

/** The WebSocket closed; the reason is a span of the buffer (UTF-8). */
export const enum WsClose {
  id = 1,
  code = 2,
  reasonAt = 3,
  reasonLen = 4,
  length = 5,
}

/** Bytes the core wrote to an in-memory connection (the id word is the connection). */
export const enum MemData {
  id = 1,
  dataAt = 2,
  dataLen = 3,
  length = 4,
}

/** The core closed an in-memory connection (the id word is the connection). */
export const enum MemEnd {
  id = 1,
  length = 2,
}

/** Bits of `Request.flags`. */
export const enum RequestFlag {
  moreBody = 1,
  hasQuery = 2,
  versionShift = 2,
  webSocket = 16,
  newPath = 32,
}

/** Values of `WsMessage.form`. */
export const enum WsForm {
  binary = 0,
  text = 1,
  asciiText = 2,
}

/** Request path slots (crates/node/src/paths.rs): `Request.pathId` is a slot + 1, or 0. */
export const enum PathSlots {
  count = 256,
}

/** The answer queue's layout (words, bytes; see answers.ts). */
export const enum AnswerQueue {
  open = 0,
  count = 1,
  used = 2,
  first = 4,
  id = 0,
  status = 1,
  list = 2,
  len = 3,
  words = 4,
  most = 1024,
  arenaBytes = 131072,
  bodyMost = 8192,
  bytes = 147472,
}
