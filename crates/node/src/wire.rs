//! The bridge's wire format, declared once: event kinds, record layouts and flag bits.
//!
//! A batch is one `Uint32Array` of records, one latin1 string, a buffer of short ASCII WebSocket
//! messages (or null) and at most one other buffer (see `encode.rs`). Each record starts with its kind and an id; the rest of its words are named
//! here. `src/server/wire.ts` is generated from these declarations, and a test fails when the
//! checked-in file differs (`STARLING_WRITE_WIRE=1 cargo test -p starling-node wire` rewrites it),
//! so a layout change is a change both compilers see.

/// Declares the records: for each, a module of word indices, its length, and its TS rendering.
macro_rules! records {
    ($( $(#[doc = $doc:literal])* $name:ident = $kind:literal { $($field:ident),* } )*) => {
        /// Event kinds: the first word of every record.
        #[allow(dead_code)]
        pub mod kind {
            $( pub const $name: u32 = $kind; )*
        }
        $(
            $(#[doc = $doc])*
            #[allow(non_snake_case, dead_code)]
            pub mod $name {
                records!(@index 2usize; $($field),*);
                /// Words in the record.
                pub const LEN: usize = 2 $(+ { let _ = stringify!($field); 1 })*;
            }
        )*
        /// The TypeScript declarations of the same records.
        #[cfg(test)]
        pub fn typescript_records() -> String {
            let mut out = String::from("/** Event kinds: the first word of every record. */\nexport const enum Kind {\n");
            $( out += &format!("  {} = {},\n", camel(stringify!($name)), $kind); )*
            out += "}\n";
            $(
                out += &format!("\n/**{} */\nexport const enum {} {{\n  id = 1,\n", concat!($($doc),*), camel(stringify!($name)));
                #[allow(unused_mut)] // records without fields never move it
                let mut at = 2;
                $( out += &format!("  {} = {},\n", lower_camel(stringify!($field)), at); at += 1; )*
                out += &format!("  length = {},\n}}\n", at);
            )*
            out
        }
    };
    (@index $at:expr; $first:ident $(, $rest:ident)*) => {
        pub const $first: usize = $at;
        records!(@index $at + 1usize; $($rest),*);
    };
    (@index $at:expr;) => {};
}

records! {
    /// A new request: method, path, query, headers (`name\0value\0`…) and addresses are spans
    /// (offset, length) of the string; the inline body is a span of the buffer. `CONN` names the
    /// connection: its requests carry the same addresses, which JS may keep from the first.
    /// `PATH_ID` names the path's slot in the paths JS holds (see `paths.rs`), 0 for none.
    REQUEST = 1 { FLAGS, METHOD_AT, METHOD_LEN, PATH_AT, PATH_LEN, QUERY_AT, QUERY_LEN, HEADERS_AT, HEADERS_LEN, ADDRS_AT, ADDRS_LEN, CONN, BODY_AT, BODY_LEN, PATH_ID }
    /// A chunk of request body asked for with `readMore`.
    BODY = 2 { MORE_BODY, BODY_AT, BODY_LEN }
    /// The client left, or the request can no longer be answered.
    DISCONNECT = 3 { }
    /// A streamed response or WebSocket drained below its low-water mark.
    DRAIN = 4 { }
    /// `close()` finished (the id word is 0).
    CLOSED = 5 { }
    /// A WebSocket message: its data is a span of the buffer or, for short ASCII text, of the
    /// text buffer (see `ws_form`).
    WS_MESSAGE = 6 { FORM, DATA_AT, DATA_LEN }
    /// The WebSocket closed; the reason is a span of the buffer (UTF-8).
    WS_CLOSE = 7 { CODE, REASON_AT, REASON_LEN }
    /// Bytes the core wrote to an in-memory connection (the id word is the connection).
    MEM_DATA = 8 { DATA_AT, DATA_LEN }
    /// The core closed an in-memory connection (the id word is the connection).
    MEM_END = 9 { }
}

/// Bits of `REQUEST::FLAGS`.
pub mod flags {
    /// The body continues past what the record carries: ask with `readMore`.
    pub const MORE_BODY: u32 = 1;
    /// The target had a `?` (an empty query is still a query).
    pub const HAS_QUERY: u32 = 2;
    /// Two bits of HTTP version at this shift: 0 = 1.0, 1 = 1.1, 2 = 2.
    pub const VERSION_SHIFT: u32 = 2;
    /// A WebSocket handshake: answer with `wsAccept` or an HTTP response.
    pub const WEBSOCKET: u32 = 16;
    /// The path takes its slot (`PATH_ID`) with this request: JS makes what it holds for it anew.
    pub const NEW_PATH: u32 = 32;
}

/// Values of `WS_MESSAGE::FORM`.
pub mod ws_form {
    /// Bytes, a span of the buffer.
    pub const BINARY: u32 = 0;
    /// UTF-8 text, a span of the buffer.
    pub const TEXT: u32 = 1;
    /// ASCII text, a span of the text buffer (the call's fifth argument, the lane's own, reused):
    /// JS reads it as latin1, with no buffer to make per batch and no UTF-8 to decode.
    pub const ASCII_TEXT: u32 = 2;
}

/// Request path slots (see `paths.rs`): `REQUEST::PATH_ID` is a slot + 1, or 0 for none.
pub const PATH_SLOTS: usize = 256;

/// The answer queue (see `answers.rs`): one buffer of 32-bit words, then an arena of body bytes.
/// The first words say whether a delivery runs and what is queued; each answer takes `WORDS`
/// words after them, and its body the next `len` bytes of the arena.
#[allow(dead_code)] // `BODY_MOST` is JS's rule
pub mod answers {
    /// 1 while a delivery's call runs (its microtasks included): only then may JS queue.
    pub const OPEN: usize = 0;
    /// Answers queued.
    pub const COUNT: usize = 1;
    /// Arena bytes used.
    pub const USED: usize = 2;
    /// Words before the first answer.
    pub const FIRST: usize = 4;
    /// An answer's words: the exchange, its status, its registered header list, its body's length.
    pub const ID: usize = 0;
    pub const STATUS: usize = 1;
    pub const LIST: usize = 2;
    pub const LEN: usize = 3;
    pub const WORDS: usize = 4;
    /// The most answers one delivery queues; later ones go by call.
    pub const MOST: usize = 1024;
    /// The arena's bytes, and the largest body queued (a larger one goes by call, copied once).
    pub const ARENA_BYTES: usize = 128 * 1024;
    pub const BODY_MOST: usize = 8 * 1024;
    /// The whole buffer's bytes.
    pub const BYTES: usize = (FIRST + MOST * WORDS) * 4 + ARENA_BYTES;
}

#[cfg(test)]
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| w[..1].to_string() + &w[1..].to_lowercase())
        .collect()
}

#[cfg(test)]
fn lower_camel(name: &str) -> String {
    let c = camel(name);
    c[..1].to_lowercase() + &c[1..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typescript() -> String {
        let mut out = String::from(
            "// Generated from crates/node/src/wire.rs: do not edit. After changing the Rust side,\n\
             // run `STARLING_WRITE_WIRE=1 cargo test -p starling-node wire` to rewrite this file.\n\n",
        );
        out += &typescript_records();
        out += &const_enum(
            "Bits of `Request.flags`.",
            "RequestFlag",
            &[
                ("moreBody", flags::MORE_BODY as usize),
                ("hasQuery", flags::HAS_QUERY as usize),
                ("versionShift", flags::VERSION_SHIFT as usize),
                ("webSocket", flags::WEBSOCKET as usize),
                ("newPath", flags::NEW_PATH as usize),
            ],
        );
        out += &const_enum(
            "Values of `WsMessage.form`.",
            "WsForm",
            &[
                ("binary", ws_form::BINARY as usize),
                ("text", ws_form::TEXT as usize),
                ("asciiText", ws_form::ASCII_TEXT as usize),
            ],
        );
        out += &const_enum(
            "Request path slots (crates/node/src/paths.rs): `Request.pathId` is a slot + 1, or 0.",
            "PathSlots",
            &[("count", PATH_SLOTS)],
        );
        out += &const_enum(
            "The answer queue's layout (words, bytes; see answers.ts).",
            "AnswerQueue",
            &[
                ("open", answers::OPEN),
                ("count", answers::COUNT),
                ("used", answers::USED),
                ("first", answers::FIRST),
                ("id", answers::ID),
                ("status", answers::STATUS),
                ("list", answers::LIST),
                ("len", answers::LEN),
                ("words", answers::WORDS),
                ("most", answers::MOST),
                ("arenaBytes", answers::ARENA_BYTES),
                ("bodyMost", answers::BODY_MOST),
                ("bytes", answers::BYTES),
            ],
        );
        out
    }

    /// A TypeScript `const enum` of named values.
    fn const_enum(doc: &str, name: &str, values: &[(&str, usize)]) -> String {
        let mut out = format!("\n/** {doc} */\nexport const enum {name} {{\n");
        for (member, value) in values {
            out += &format!("  {member} = {value},\n");
        }
        out + "}\n"
    }

    #[test]
    fn wire_ts_matches_the_rust_declarations() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/server/wire.ts");
        let want = typescript();
        if std::env::var_os("STARLING_WRITE_WIRE").is_some() {
            std::fs::write(path, &want).expect("write wire.ts");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "src/server/wire.ts is out of date: run STARLING_WRITE_WIRE=1 cargo test -p starling-node wire"
        );
    }

    #[test]
    fn layouts_count_their_words() {
        assert_eq!(REQUEST::LEN, 17);
        assert_eq!(REQUEST::PATH_ID, 16);
        assert_eq!(BODY::LEN, 5);
        assert_eq!(DISCONNECT::LEN, 2);
        assert_eq!(MEM_DATA::LEN, 4);
    }
}
