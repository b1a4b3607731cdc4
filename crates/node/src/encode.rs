//! Packs a batch of events into one `Uint32Array`, one latin1 string, the bytes of short ASCII
//! WebSocket messages and at most one buffer. The record layouts are declared in `wire.rs`.
use napi::bindgen_prelude::Buffer;
use starling_core::Event;
use std::io::Write;

use crate::lane::LaneEvent;
use crate::paths::KnownPaths;
use crate::strings::Latin1;
use crate::wire::{self, flags, kind};

/// The longest WebSocket text message that travels in the lane's text buffer (longer ones go in the
/// batch's buffer, decoded by JS as UTF-8): short messages are the common case.
const ASCII_TEXT_MAX: usize = 1024;
/// The most text one batch carries in the text buffer, whatever the load.
const TEXTS_MAX: usize = 1 << 20;
/// Once an encoder holds this many bytes of strings and bytes, the next event starts another: a
/// tick in which thousands of connections each send a 64 KiB head (or a large WebSocket message)
/// would otherwise pass V8's longest string (~512 MiB) or the `u32` offsets of the records.
const SEGMENT_BYTES: usize = 16 << 20;

#[derive(Default)]
pub struct Encoder {
    meta: Vec<u32>,
    strs: Vec<u8>,
    /// Short ASCII WebSocket messages, copied into the lane's persistent text buffer (a string
    /// would cost a V8 string per batch, and a request's lazily parsed headers keep `strs` alive).
    texts: Vec<u8>,
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

    /// Appends a record of `N` words: its kind, its id, then the named fields set by `fill`.
    fn record<const N: usize>(&mut self, kind: u32, id: u32, fill: impl FnOnce(&mut [u32; N])) {
        let mut words = [0u32; N];
        words[0] = kind;
        words[1] = id;
        fill(&mut words);
        self.meta.extend_from_slice(&words);
    }

    pub fn push(&mut self, event: LaneEvent, paths: &mut KnownPaths) {
        use wire::{BODY, MEM_DATA, REQUEST, WS_CLOSE, WS_MESSAGE};
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
                let mut bits = version << flags::VERSION_SHIFT;
                if more_body {
                    bits |= flags::MORE_BODY;
                }
                if query.is_some() {
                    bits |= flags::HAS_QUERY;
                }
                if websocket {
                    bits |= flags::WEBSOCKET;
                }
                let (path_id, new_path) = paths.id(head.uri.path().as_bytes());
                if new_path {
                    bits |= flags::NEW_PATH;
                }
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
                let addresses = head.conn.memo.get_or_init(|| addresses(&head.conn));
                self.strs.extend_from_slice(addresses);
                let addrs = (start, self.strs.len() as u32 - start);
                let body = self.bin_span(&body);
                self.record::<{ REQUEST::LEN }>(kind::REQUEST, id, |r| {
                    r[REQUEST::FLAGS] = bits;
                    (r[REQUEST::METHOD_AT], r[REQUEST::METHOD_LEN]) = method;
                    (r[REQUEST::PATH_AT], r[REQUEST::PATH_LEN]) = path;
                    (r[REQUEST::QUERY_AT], r[REQUEST::QUERY_LEN]) = query;
                    (r[REQUEST::HEADERS_AT], r[REQUEST::HEADERS_LEN]) = headers;
                    (r[REQUEST::ADDRS_AT], r[REQUEST::ADDRS_LEN]) = addrs;
                    r[REQUEST::CONN] = head.conn.serial;
                    (r[REQUEST::BODY_AT], r[REQUEST::BODY_LEN]) = body;
                    r[REQUEST::PATH_ID] = path_id;
                });
            }
            LaneEvent::Core(Event::Body {
                id,
                chunk,
                more_body,
            }) => {
                let body = self.bin_span(&chunk);
                self.record::<{ BODY::LEN }>(kind::BODY, id, |r| {
                    r[BODY::MORE_BODY] = u32::from(more_body);
                    (r[BODY::BODY_AT], r[BODY::BODY_LEN]) = body;
                });
            }
            LaneEvent::Core(Event::WsMessage { id, data, text }) => {
                let fits =
                    data.len() <= ASCII_TEXT_MAX && self.texts.len() + data.len() <= TEXTS_MAX;
                let (form, data) = if text && fits && data.is_ascii() {
                    let at = self.texts.len() as u32;
                    self.texts.extend_from_slice(&data);
                    (wire::ws_form::ASCII_TEXT, (at, data.len() as u32))
                } else if text {
                    (wire::ws_form::TEXT, self.bin_span(&data))
                } else {
                    (wire::ws_form::BINARY, self.bin_span(&data))
                };
                self.record::<{ WS_MESSAGE::LEN }>(kind::WS_MESSAGE, id, |r| {
                    r[WS_MESSAGE::FORM] = form;
                    (r[WS_MESSAGE::DATA_AT], r[WS_MESSAGE::DATA_LEN]) = data;
                });
            }
            LaneEvent::Core(Event::WsClose { id, code, reason }) => {
                let reason = self.bin_span(reason.as_bytes());
                self.record::<{ WS_CLOSE::LEN }>(kind::WS_CLOSE, id, |r| {
                    r[WS_CLOSE::CODE] = u32::from(code);
                    (r[WS_CLOSE::REASON_AT], r[WS_CLOSE::REASON_LEN]) = reason;
                });
            }
            LaneEvent::Core(Event::Disconnect { id }) => {
                self.record::<{ wire::DISCONNECT::LEN }>(kind::DISCONNECT, id, |_| ())
            }
            LaneEvent::Core(Event::Drain { id }) => {
                self.record::<{ wire::DRAIN::LEN }>(kind::DRAIN, id, |_| ())
            }
            LaneEvent::Closed => self.record::<{ wire::CLOSED::LEN }>(kind::CLOSED, 0, |_| ()),
            LaneEvent::MemData { conn, data } => {
                let data = self.bin_span(&data);
                self.record::<{ MEM_DATA::LEN }>(kind::MEM_DATA, conn, |r| {
                    (r[MEM_DATA::DATA_AT], r[MEM_DATA::DATA_LEN]) = data;
                });
            }
            LaneEvent::MemEnd { conn } => {
                self.record::<{ wire::MEM_END::LEN }>(kind::MEM_END, conn, |_| ())
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// The bytes its strings and byte buffer hold.
    fn weight(&self) -> usize {
        self.strs.len() + self.bin.len()
    }

    /// The records, to copy into the lane's array.
    pub fn records(&self) -> &[u32] {
        &self.meta
    }

    /// The short ASCII WebSocket messages, to copy into the lane's text buffer.
    pub fn texts(&self) -> &[u8] {
        &self.texts
    }

    /// The strings (copied into a JS string) and the bytes (handed over: the app may keep slices
    /// of them) of the batch.
    pub fn take_strings_and_bytes(&mut self) -> (Latin1<'_>, Option<Buffer>) {
        let bin = (!self.bin.is_empty()).then(|| Buffer::from(std::mem::take(&mut self.bin)));
        (Latin1(&self.strs), bin)
    }

    /// Empties the batch, keeping its buffers' capacity.
    pub fn clear(&mut self) {
        self.meta.clear();
        self.strs.clear();
        self.texts.clear();
        self.bin.clear();
    }
}

/// A delivery's events: one encoder, or several in order when they outweigh `SEGMENT_BYTES`, each
/// delivered to JS by a call of its own.
#[derive(Default)]
pub struct Batch {
    sealed: Vec<Encoder>,
    open: Encoder,
    /// Outlives the events: JS holds these paths across deliveries.
    paths: KnownPaths,
}

impl Batch {
    pub fn push(&mut self, event: LaneEvent) {
        if self.open.weight() >= SEGMENT_BYTES {
            self.sealed.push(std::mem::take(&mut self.open));
        }
        self.open.push(event, &mut self.paths);
    }

    /// The events so far, to deliver; the known paths stay.
    pub fn take_events(&mut self) -> Batch {
        Batch {
            sealed: std::mem::take(&mut self.sealed),
            open: std::mem::take(&mut self.open),
            paths: KnownPaths::default(),
        }
    }

    /// Takes back a delivered (and cleared) batch's buffers, unless events came meanwhile.
    pub fn reuse(&mut self, delivered: Batch) {
        if self.is_empty() {
            self.sealed = delivered.sealed;
            self.open = delivered.open;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.sealed.is_empty()
    }

    /// The encoders, oldest first.
    pub fn encoders(&mut self) -> impl Iterator<Item = &mut Encoder> {
        self.sealed
            .iter_mut()
            .chain(std::iter::once(&mut self.open))
    }

    /// Empties the batch, keeping the last encoder's buffers (the others were a burst's).
    pub fn clear(&mut self) {
        self.sealed.clear();
        self.open.clear();
    }
}

/// `client-ip\0port\0server-ip\0port\0scheme`, empty fields for a Unix socket.
fn addresses(conn: &starling_core::ConnInfo) -> Box<[u8]> {
    let mut out = Vec::with_capacity(48);
    for addr in [conn.client, conn.server] {
        match addr {
            Some(a) => {
                let _ = write!(out, "{}\0{}\0", a.ip(), a.port());
            }
            None => out.extend_from_slice(b"\0\0"),
        }
    }
    out.extend_from_slice(conn.scheme.as_bytes());
    out.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use wire::{ws_form, MEM_DATA, WS_MESSAGE};

    fn message(encoder: &mut Encoder, data: &[u8], text: bool) -> (u32, u32, u32) {
        let at = encoder.meta.len();
        encoder.push(
            LaneEvent::Core(Event::WsMessage {
                id: 1,
                data: Bytes::copy_from_slice(data),
                text,
            }),
            &mut KnownPaths::default(),
        );
        let r = &encoder.meta[at..at + WS_MESSAGE::LEN];
        (
            r[WS_MESSAGE::FORM],
            r[WS_MESSAGE::DATA_AT],
            r[WS_MESSAGE::DATA_LEN],
        )
    }

    #[test]
    fn short_ascii_text_goes_in_the_text_buffer_and_the_rest_in_the_batch_buffer() {
        let mut encoder = Encoder::default();
        assert_eq!(
            message(&mut encoder, b"hello", true),
            (ws_form::ASCII_TEXT, 0, 5)
        );
        assert_eq!(
            message(&mut encoder, "κόσμε".as_bytes(), true).0,
            ws_form::TEXT
        );
        assert_eq!(message(&mut encoder, b"bytes", false).0, ws_form::BINARY);
        let long = vec![b'x'; ASCII_TEXT_MAX + 1];
        assert_eq!(message(&mut encoder, &long, true).0, ws_form::TEXT);
        assert_eq!(
            message(&mut encoder, b"again", true),
            (ws_form::ASCII_TEXT, 5, 5)
        );
        // The text buffer stops growing at its bound; later text goes in the batch buffer.
        let most = vec![b'y'; ASCII_TEXT_MAX];
        while encoder.texts.len() + most.len() <= TEXTS_MAX {
            assert_eq!(message(&mut encoder, &most, true).0, ws_form::ASCII_TEXT);
        }
        assert_eq!(message(&mut encoder, &most, true).0, ws_form::TEXT);
        // (Not through `take_strings_and_bytes`: a Buffer needs N-API, which tests run without.)
        assert!(encoder.texts.len() <= TEXTS_MAX && !encoder.bin.is_empty());
        encoder.clear();
        assert!(encoder.texts.is_empty() && encoder.bin.is_empty() && encoder.is_empty());
    }

    #[test]
    fn a_heavy_batch_is_cut_into_encoders_in_order() {
        let mut batch = Batch::default();
        assert!(batch.is_empty());
        let chunk = Bytes::from(vec![b'x'; SEGMENT_BYTES / 2]);
        for id in 0..5 {
            batch.push(LaneEvent::MemData {
                conn: id,
                data: chunk.clone(),
            });
        }
        assert!(!batch.is_empty());
        // Two chunks fill an encoder; the fifth starts a third one.
        let ids: Vec<Vec<u32>> = batch
            .encoders()
            .map(|e| {
                assert!(e.weight() <= SEGMENT_BYTES);
                e.records().chunks(MEM_DATA::LEN).map(|r| r[1]).collect()
            })
            .collect();
        assert_eq!(ids, [vec![0, 1], vec![2, 3], vec![4]]);
        batch.clear();
        assert!(batch.is_empty() && batch.encoders().count() == 1);
    }
}
