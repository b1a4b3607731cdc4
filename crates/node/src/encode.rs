//! Packs a batch of events into one `Uint32Array`, one latin1 string and at most one buffer.
//!
//! Record layouts (u32 words), by kind:
//! - `REQUEST`: kind, id, flags, method(off,len), path(off,len), query(off,len), headers(off,len),
//!   addresses(off,len), body(off,len) — strings index `strs`, body indexes `bin`. `flags` bit 0 is
//!   `more_body`, bit 1 "has a query", bits 2..4 the HTTP version (0 = 1.0, 1 = 1.1, 2 = 2).
//! - `BODY`: kind, id, more_body, body(off,len)
//! - `DISCONNECT`, `DRAIN`: kind, id
//! - `WS_MESSAGE`: kind, id, is_text, data(off,len) in `bin`
//! - `WS_CLOSE`: kind, id, code, reason(off,len) in `bin` (UTF-8)
//! - `MEM_DATA`: kind, conn, data(off,len) in `bin`; `MEM_END`: kind, conn
//! - `CLOSED`: kind, 0
//!
//! `REQUEST` flags bit 4 marks a WebSocket handshake.
use napi::bindgen_prelude::{Buffer, Uint32Array};
use starling_core::Event;
use std::io::Write;

use crate::lane::LaneEvent;
use crate::latin1::Latin1;

pub const REQUEST: u32 = 1;
pub const BODY: u32 = 2;
pub const DISCONNECT: u32 = 3;
pub const DRAIN: u32 = 4;
pub const CLOSED: u32 = 5;
pub const WS_MESSAGE: u32 = 6;
pub const WS_CLOSE: u32 = 7;
pub const MEM_DATA: u32 = 8;
pub const MEM_END: u32 = 9;

/// The arguments of one JS call: the `Uint32Array` of records, the latin1 strings, the bytes.
pub type Batch = (Uint32Array, Latin1, Option<Buffer>);

#[derive(Default)]
pub struct Encoder {
    meta: Vec<u32>,
    strs: Vec<u8>,
    bin: Vec<u8>,
}

impl Encoder {
    fn str_span(&mut self, bytes: &[u8]) -> (u32, u32) {
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(bytes);
        (off, bytes.len() as u32)
    }

    fn bin_span(&mut self, bytes: &[u8]) -> (u32, u32) {
        let off = self.bin.len() as u32;
        self.bin.extend_from_slice(bytes);
        (off, bytes.len() as u32)
    }

    pub fn push(&mut self, event: LaneEvent) {
        match event {
            LaneEvent::Core(Event::Request {
                id,
                head,
                body,
                more_body,
                websocket,
            }) => {
                let version = match head.version {
                    http::Version::HTTP_10 => 0,
                    http::Version::HTTP_2 => 2,
                    _ => 1,
                };
                let query = head.uri.query();
                let flags = u32::from(more_body)
                    | (u32::from(query.is_some()) << 1)
                    | (version << 2)
                    | (u32::from(websocket) << 4);
                let method = self.str_span(head.method.as_str().as_bytes());
                let path = self.str_span(head.uri.path().as_bytes());
                let query = self.str_span(query.unwrap_or("").as_bytes());
                let start = self.strs.len() as u32;
                for (name, value) in head.headers.iter() {
                    self.strs.extend_from_slice(name.as_str().as_bytes());
                    self.strs.push(0);
                    self.strs.extend_from_slice(value.as_bytes());
                    self.strs.push(0);
                }
                let headers = (start, self.strs.len() as u32 - start);
                let start = self.strs.len() as u32;
                for addr in [head.conn.client, head.conn.server] {
                    match addr {
                        Some(a) => {
                            let _ = write!(self.strs, "{}\0{}\0", a.ip(), a.port());
                        }
                        None => self.strs.extend_from_slice(b"\0\0"),
                    }
                }
                self.strs.extend_from_slice(head.conn.scheme.as_bytes());
                let addrs = (start, self.strs.len() as u32 - start);
                let body = self.bin_span(&body);
                self.meta.extend_from_slice(&[
                    REQUEST, id, flags, method.0, method.1, path.0, path.1, query.0, query.1,
                    headers.0, headers.1, addrs.0, addrs.1, body.0, body.1,
                ]);
            }
            LaneEvent::Core(Event::Body {
                id,
                chunk,
                more_body,
            }) => {
                let body = self.bin_span(&chunk);
                self.meta
                    .extend_from_slice(&[BODY, id, u32::from(more_body), body.0, body.1]);
            }
            LaneEvent::Core(Event::WsMessage { id, data, text }) => {
                let data = self.bin_span(&data);
                self.meta
                    .extend_from_slice(&[WS_MESSAGE, id, u32::from(text), data.0, data.1]);
            }
            LaneEvent::Core(Event::WsClose { id, code, reason }) => {
                let reason = self.bin_span(reason.as_bytes());
                self.meta
                    .extend_from_slice(&[WS_CLOSE, id, u32::from(code), reason.0, reason.1]);
            }
            LaneEvent::Core(Event::Disconnect { id }) => {
                self.meta.extend_from_slice(&[DISCONNECT, id])
            }
            LaneEvent::Core(Event::Drain { id }) => self.meta.extend_from_slice(&[DRAIN, id]),
            LaneEvent::Closed => self.meta.extend_from_slice(&[CLOSED, 0]),
            LaneEvent::MemData { conn, data } => {
                let data = self.bin_span(&data);
                self.meta
                    .extend_from_slice(&[MEM_DATA, conn, data.0, data.1]);
            }
            LaneEvent::MemEnd { conn } => self.meta.extend_from_slice(&[MEM_END, conn]),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    pub fn finish(self) -> Batch {
        let bin = (!self.bin.is_empty()).then(|| Buffer::from(self.bin));
        (Uint32Array::new(self.meta), Latin1(self.strs), bin)
    }
}
