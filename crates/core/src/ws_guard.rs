//! RFC 6455 checks on what a WebSocket client sends, made on the bytes before the frame codec sees
//! them, so that a violation is found at its first byte and answered with the close code the RFC
//! asks for.
//!
//! The codec (yawc) checks frames too, but only once a frame is whole, answers a reserved opcode
//! with 1003 instead of 1002, lets a close frame longer than 125 bytes through, and queues its own
//! close at once, before the app could answer the valid messages that came earlier. Here a
//! violation ends the stream the codec reads just before the offending frame (it sees the end of
//! the input) and is reported to the session, which lets the app answer what it was given, then
//! closes with the right code.
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The close code of the first violation found (0 while there is none).
#[derive(Clone, Default)]
pub(crate) struct Violation(Arc<AtomicU16>);

impl Violation {
    pub(crate) fn code(&self) -> Option<u16> {
        Some(self.0.load(Ordering::Acquire)).filter(|&code| code != 0)
    }

    fn set(&self, code: u16) {
        self.0.store(code, Ordering::Release);
    }
}

const PROTOCOL_ERROR: u16 = 1002;
const INVALID_PAYLOAD: u16 = 1007;

/// Where the reader is in the client's frame stream.
enum Step {
    /// Gathering a frame header (2 to 14 bytes).
    Header { bytes: [u8; 14], len: usize },
    /// Inside a payload: `left` bytes to go, unmasked with `mask` from offset `at`.
    Payload {
        left: u64,
        mask: [u8; 4],
        at: usize,
        /// The payload is (part of) an uncompressed text message: its UTF-8 is checked as it comes.
        text: bool,
        /// The frame ends the message.
        fin: bool,
    },
}

/// The message a run of fragments belongs to, between its first frame and its final one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Message {
    None,
    Text,
    /// Binary, or compressed text (checked by the codec once inflated).
    Other,
}

struct Checker {
    step: Step,
    message: Message,
    /// permessage-deflate was negotiated: RSV1 may mark a message's first frame.
    deflate: bool,
    /// The end of an incomplete UTF-8 sequence carried into the next bytes (at most 3).
    utf8_tail: [u8; 4],
    utf8_tail_len: usize,
}

impl Checker {
    fn new(deflate: bool) -> Checker {
        Checker {
            step: Step::Header {
                bytes: [0; 14],
                len: 0,
            },
            message: Message::None,
            deflate,
            utf8_tail: [0; 4],
            utf8_tail_len: 0,
        }
    }

    /// Scans `data`; on a violation returns its close code and the offset of the first byte of the
    /// frame it is in (bytes of that frame already passed on cannot be taken back; the codec then
    /// sees a frame cut short).
    fn scan(&mut self, data: &[u8]) -> Result<(), (u16, usize)> {
        let mut i = 0;
        let mut frame_start = 0;
        while i < data.len() {
            match &mut self.step {
                Step::Header { bytes, len } => {
                    if *len == 0 {
                        frame_start = i;
                        // A whole header in the input (the usual case) is read where it lies.
                        let whole = match data.get(i + 1).map(|b| b & 0x7f) {
                            Some(126) => 8,
                            Some(127) => 14,
                            Some(_) => 6,
                            None => usize::MAX,
                        };
                        if data.len() - i >= whole {
                            i += whole;
                            match self.header(&data[frame_start..i]) {
                                Ok(_) => continue,
                                Err(code) => return Err((code, frame_start)),
                            }
                        }
                    }
                    bytes[*len] = data[i];
                    *len += 1;
                    i += 1;
                    let (bytes, len) = (*bytes, *len);
                    match self.header(&bytes[..len]) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(code) => return Err((code, frame_start)),
                    }
                }
                Step::Payload {
                    left,
                    mask,
                    at,
                    text,
                    fin,
                } => {
                    let take = (*left).min((data.len() - i) as u64) as usize;
                    let (mask, start, text, fin) = (*mask, *at, *text, *fin);
                    *left -= take as u64;
                    *at += take;
                    let finished = *left == 0;
                    if text && !self.utf8(&data[i..i + take], mask, start) {
                        return Err((INVALID_PAYLOAD, frame_start));
                    }
                    i += take;
                    if finished {
                        self.end_frame(fin).map_err(|code| (code, frame_start))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads a header as far as it goes: `Ok(false)` while it needs more bytes, `Ok(true)` once
    /// it is whole and checked (the step moves on to its payload).
    fn header(&mut self, h: &[u8]) -> Result<bool, u16> {
        if h.len() < 2 {
            return Ok(false);
        }
        let (fin, rsv, opcode) = (h[0] & 0x80 != 0, h[0] & 0x70, h[0] & 0x0f);
        let masked = h[1] & 0x80 != 0;
        let control = opcode & 0x08 != 0;
        if !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10) || !masked {
            return Err(PROTOCOL_ERROR);
        }
        let compressed = rsv == 0x40;
        // RSV1 marks a compressed message, on its first frame only; RSV2 and RSV3 mean nothing here.
        if rsv != 0 && !(compressed && self.deflate && (opcode == 1 || opcode == 2)) {
            return Err(PROTOCOL_ERROR);
        }
        if control && (!fin || h[1] & 0x7f > 125) {
            return Err(PROTOCOL_ERROR);
        }
        let (length, header_len) = match h[1] & 0x7f {
            126 => (None, 8),
            127 => (None, 14),
            n => (Some(u64::from(n)), 6),
        };
        if h.len() < header_len {
            return Ok(false);
        }
        let length = length.unwrap_or_else(|| {
            let wide = &h[2..header_len - 4];
            wide.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        });
        let text = match opcode {
            0 if self.message == Message::None => return Err(PROTOCOL_ERROR),
            0 => self.message == Message::Text,
            1 | 2 if self.message != Message::None => return Err(PROTOCOL_ERROR),
            1 | 2 => {
                self.message = if opcode == 1 && !compressed {
                    Message::Text
                } else {
                    Message::Other
                };
                self.message == Message::Text
            }
            _ => false,
        };
        let mut mask = [0; 4];
        mask.copy_from_slice(&h[header_len - 4..header_len]);
        self.step = Step::Payload {
            left: length,
            mask,
            at: 0,
            text,
            // A control frame between fragments does not end the message around it.
            fin: fin && !control,
        };
        if length == 0 {
            self.end_frame(fin && !control)?;
        }
        Ok(true)
    }

    fn end_frame(&mut self, ends_message: bool) -> Result<(), u16> {
        self.step = Step::Header {
            bytes: [0; 14],
            len: 0,
        };
        if ends_message {
            let complete_utf8 = self.message != Message::Text || self.utf8_tail_len == 0;
            self.message = Message::None;
            self.utf8_tail_len = 0;
            if !complete_utf8 {
                return Err(INVALID_PAYLOAD);
            }
        }
        Ok(())
    }

    /// Unmasks `masked` (payload bytes from offset `at`) and checks that, with what came before,
    /// it can still be UTF-8: false at the first byte that cannot.
    fn utf8(&mut self, masked: &[u8], mask: [u8; 4], at: usize) -> bool {
        if self.utf8_tail_len == 0 && ascii_once_unmasked(masked, mask, at) {
            return true; // most text is ASCII: no copy to unmask, no decoder
        }
        let mut scratch = [0u8; 1024];
        let mut done = 0;
        while done < masked.len() {
            let carried = self.utf8_tail_len;
            scratch[..carried].copy_from_slice(&self.utf8_tail[..carried]);
            let n = (masked.len() - done).min(scratch.len() - carried);
            for (k, byte) in masked[done..done + n].iter().enumerate() {
                scratch[carried + k] = byte ^ mask[(at + done + k) % 4];
            }
            done += n;
            let chunk = &scratch[..carried + n];
            match std::str::from_utf8(chunk) {
                Ok(_) => self.utf8_tail_len = 0,
                Err(e) if e.error_len().is_some() => return false,
                Err(e) => {
                    let tail = &chunk[e.valid_up_to()..];
                    self.utf8_tail[..tail.len()].copy_from_slice(tail);
                    self.utf8_tail_len = tail.len();
                }
            }
        }
        true
    }
}

/// Whether `masked` (payload bytes from offset `at`) is all ASCII once unmasked: a byte is ASCII
/// when its high bit is clear, so eight are checked at a time against the mask repeated in a word.
fn ascii_once_unmasked(masked: &[u8], mask: [u8; 4], at: usize) -> bool {
    let mut word = [0u8; 8];
    for (k, byte) in word.iter_mut().enumerate() {
        *byte = mask[(at + k) % 4];
    }
    let mask_word = u64::from_ne_bytes(word);
    let mut chunks = masked.chunks_exact(8);
    let mut high = 0u64;
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        high |= u64::from_ne_bytes(bytes) ^ mask_word;
    }
    // The tail starts at a multiple of 8 past `at`: its mask offsets are the word's first ones.
    let tail = chunks.remainder();
    let tail_high = tail.iter().zip(word).fold(0, |acc, (b, m)| acc | (b ^ m));
    high & 0x8080_8080_8080_8080 == 0 && tail_high & 0x80 == 0
}

/// The upgraded stream as the codec reads it: checked, and ended before a violation.
pub(crate) struct FrameGuard<S> {
    inner: S,
    checker: Checker,
    violation: Violation,
}

impl<S> FrameGuard<S> {
    pub(crate) fn new(inner: S, deflate: bool, violation: Violation) -> FrameGuard<S> {
        FrameGuard {
            inner,
            checker: Checker::new(deflate),
            violation,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.violation.code().is_some() {
            // The input ends where the violation starts.
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let this = &mut *self;
        if let Err((code, at)) = this.checker.scan(&buf.filled()[before..]) {
            this.violation.set(code);
            buf.set_filled(before + at);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{fuzz_runs, Rng};

    /// A client frame (masked with a fixed key).
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    /// Scans `bytes` in chops of `chop`; the violation's code and where the input is cut (the
    /// offending frame's start if it began in the same chop, else the start of that chop).
    fn scan(bytes: &[u8], chop: usize, deflate: bool) -> Option<(u16, usize)> {
        let mut checker = Checker::new(deflate);
        for (n, piece) in bytes.chunks(chop).enumerate() {
            if let Err((code, at)) = checker.scan(piece) {
                return Some((code, n * chop + at));
            }
        }
        None
    }

    #[test]
    fn valid_streams_pass_in_any_chops() {
        let mut all = frame(0x81, "κόσμε".as_bytes());
        all.extend(frame(0x01, &"κόσμε".as_bytes()[..3]));
        all.extend(frame(0x89, b"ping"));
        all.extend(frame(0x80, &"κόσμε".as_bytes()[3..]));
        all.extend(frame(0x82, &vec![0xff; 70_000]));
        all.extend(frame(0x88, &[0x03, 0xe8]));
        for chop in [1, 2, 3, 7, 64, 100_000] {
            assert_eq!(scan(&all, chop, false), None, "chop {chop}");
        }
    }

    #[test]
    fn violations_are_found_at_the_frame_they_are_in() {
        let ok = frame(0x81, b"hello");
        let cases: [(Vec<u8>, u16); 9] = [
            (frame(0x83, b""), 1002),                 // reserved opcode
            (frame(0x8b, b"x"), 1002),                // reserved control opcode
            (frame(0xa1, b"x"), 1002),                // RSV2
            (frame(0xc1, b"x"), 1002),                // RSV1 without deflate
            (frame(0x80, b"x"), 1002),                // continuation of nothing
            (frame(0x09, b""), 1002),                 // fragmented ping
            (frame(0x88, &[b'x'; 126]), 1002),        // close longer than 125
            (frame(0x81, &[0xce, 0xba, 0xff]), 1007), // bad UTF-8
            (frame(0x81, &[0xce]), 1007),             // message ends inside a character
        ];
        for (bad, code) in cases {
            let mut bytes = ok.clone();
            bytes.extend(&bad);
            // Read whole, the input ends exactly before the bad frame.
            assert_eq!(scan(&bytes, 1000, false), Some((code, ok.len())), "{bad:?}");
            // In chops, the valid message still passes whole.
            for chop in [1, 5] {
                let (found, cut) = scan(&bytes, chop, false).unwrap();
                assert_eq!(found, code, "{bad:?}");
                assert!(cut >= ok.len(), "{bad:?} cut at {cut}");
            }
        }
        let mut unmasked = ok.clone();
        unmasked.extend([0x81, 0x00]);
        assert_eq!(scan(&unmasked, 100, false), Some((1002, ok.len())));
    }

    #[test]
    fn utf8_fails_at_the_first_bad_fragment_not_at_the_end() {
        // 6.4.2: the message becomes invalid at 0xf4 0x90: found before the third fragment.
        let mut bytes = frame(0x01, &[0xce, 0xba, 0xf4]);
        let second = frame(0x00, &[0x90]);
        bytes.extend(&second);
        let first_len = bytes.len() - second.len();
        // Byte by byte, the cut is at the 0x90 itself (after the second frame's 6-byte header).
        assert_eq!(scan(&bytes, 1, false), Some((1007, first_len + 6)));
        assert_eq!(scan(&bytes, 1000, false), Some((1007, first_len)));
    }

    #[test]
    fn random_valid_streams_pass_and_random_bytes_never_panic() {
        let mut rng = Rng::seeded(0x5eed_cafe_f00d_1234);
        for _ in 0..fuzz_runs(2_000) {
            // A valid stream: messages of random kinds, fragment counts and UTF-8 text, with pings
            // between fragments.
            let mut bytes = Vec::new();
            for _ in 0..1 + rng.below(4) {
                let text = rng.below(2) == 0;
                let payload: Vec<u8> = if text {
                    let chars = ['a', 'é', '€', '𝄞', ' '];
                    (0..rng.below(40))
                        .map(|_| chars[rng.below(chars.len())])
                        .collect::<String>()
                        .into_bytes()
                } else {
                    (0..rng.below(300)).map(|_| rng.next() as u8).collect()
                };
                let pieces = 1 + rng.below(3);
                let mut cuts: Vec<usize> = (0..pieces - 1)
                    .map(|_| rng.below(payload.len() + 1))
                    .collect();
                cuts.sort_unstable();
                let mut start = 0;
                for (k, end) in cuts.into_iter().chain([payload.len()]).enumerate() {
                    let opcode = if k == 0 {
                        if text {
                            1
                        } else {
                            2
                        }
                    } else {
                        0
                    };
                    let fin = if k == pieces - 1 { 0x80 } else { 0 };
                    bytes.extend(frame(fin | opcode, &payload[start..end]));
                    if rng.below(4) == 0 {
                        bytes.extend(frame(0x89, b"p"));
                    }
                    start = end;
                }
            }
            let chop = 1 + rng.below(64);
            assert_eq!(
                scan(&bytes, chop, false),
                None,
                "{bytes:?} in chops of {chop}"
            );
            // Random bytes: a verdict or none, never a panic, and a cut inside the input.
            let junk: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            if let Some((code, cut)) = scan(&junk, 1 + rng.below(32), rng.below(2) == 0) {
                assert!(code == 1002 || code == 1007);
                assert!(cut <= junk.len());
            }
        }
    }

    #[test]
    fn the_ascii_check_agrees_with_unmasking_byte_by_byte() {
        let mut rng = Rng::seeded(0xa5c1_1000_0000_0001);
        for _ in 0..fuzz_runs(5_000) {
            let mask = [
                rng.next() as u8,
                rng.next() as u8,
                rng.next() as u8,
                rng.next() as u8,
            ];
            let at = rng.below(8);
            let mut plain: Vec<u8> = (0..rng.below(40))
                .map(|_| rng.next() as u8 & 0x7f)
                .collect();
            if !plain.is_empty() && rng.below(2) == 0 {
                let i = rng.below(plain.len());
                plain[i] |= 0x80;
            }
            let masked: Vec<u8> = (0..plain.len())
                .map(|k| plain[k] ^ mask[(at + k) % 4])
                .collect();
            assert_eq!(
                ascii_once_unmasked(&masked, mask, at),
                plain.is_ascii(),
                "{plain:?} at {at}"
            );
        }
    }

    #[test]
    fn compressed_messages_are_left_to_the_codec() {
        let bytes = frame(0xc1, &[0xff, 0xfe]);
        assert_eq!(scan(&bytes, 3, true), None);
        let mut continued = frame(0x41, b"x");
        continued.extend(frame(0xc0, b"y"));
        assert_eq!(scan(&continued, 3, true).map(|v| v.0), Some(1002));
    }
}
