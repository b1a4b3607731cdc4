//! Response header blocks packed as `name\0value\0...` by the binding.
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use std::cell::RefCell;

/// How many decoded fields [`RECENT`] keeps.
const RECENT_FIELDS: usize = 16;

thread_local! {
    /// Fields decoded lately, by their packed bytes (`name\0value`). Responses repeat a few fields
    /// (an endpoint's `content-type` on every answer): a hit clones a name and a shared value, where
    /// decoding parses the name and copies the value into an allocation of its own.
    static RECENT: RefCell<Recent> = const { RefCell::new(Recent { fields: Vec::new(), next: 0 }) };
}

struct Recent {
    fields: Vec<(Box<[u8]>, HeaderName, HeaderValue)>,
    /// The slot the next new field replaces, round-robin, once the table is full.
    next: usize,
}

impl Recent {
    /// The field packed as `packed`, whose name is its first `name_len` bytes; `None` if invalid.
    fn field(&mut self, packed: &[u8], name_len: usize) -> Option<(HeaderName, HeaderValue)> {
        if let Some((_, name, value)) = self.fields.iter().find(|(key, ..)| &key[..] == packed) {
            return Some((name.clone(), value.clone()));
        }
        let name = HeaderName::from_bytes(&packed[..name_len]).ok()?;
        let value = HeaderValue::from_bytes(&packed[name_len + 1..]).ok()?;
        let kept = (packed.into(), name.clone(), value.clone());
        if self.fields.len() < RECENT_FIELDS {
            self.fields.push(kept);
        } else {
            self.fields[self.next] = kept;
            self.next = (self.next + 1) % RECENT_FIELDS;
        }
        Some((name, value))
    }
}

/// A packed header block: alternating names and values separated by NUL bytes.
#[derive(Debug, Default, Clone)]
pub struct HeaderBlock(pub Vec<u8>);

impl HeaderBlock {
    /// Decodes the block into a header map, skipping pairs that are not valid HTTP.
    ///
    /// Invalid names or values are dropped rather than failing the response: the app already
    /// decided on a status, and a stray byte must not turn it into a 500 on the wire.
    pub fn into_map(self) -> HeaderMap {
        self.into_map_for(None)
    }

    /// As [`into_map`](Self::into_map), for a whole body of `body_len` bytes: a `content-length`
    /// that states exactly that length is left out, because hyper writes it from the body's exact
    /// size on both protocols. A response's most common header then costs no name lookup, no value
    /// copy and no map entry; a length that differs from the body's is kept (hyper checks it).
    pub fn into_map_for(self, body_len: Option<usize>) -> HeaderMap {
        let mut map = HeaderMap::new();
        let block = &self.0[..];
        let mut at = 0;
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            // A name runs to its NUL; a value to the next NUL or to the end of the block.
            while let Some(name_len) = memchr::memchr(0, &block[at..]) {
                let value_at = at + name_len + 1;
                let end =
                    memchr::memchr(0, &block[value_at..]).map_or(block.len(), |n| value_at + n);
                let (name, value) = (&block[at..at + name_len], &block[value_at..end]);
                let packed = &block[at..end];
                at = (end + 1).min(block.len());
                if name.is_empty() || body_len.is_some_and(|len| is_length_of(name, value, len)) {
                    continue;
                }
                if let Some((name, value)) = recent.field(packed, name_len) {
                    map.append(name, value);
                }
            }
        });
        map
    }
}

/// `content-length: len`, in the case and digits the binding writes.
fn is_length_of(name: &[u8], value: &[u8], len: usize) -> bool {
    // Nineteen digits at most: any such number fits in a u64.
    if name.len() != 14
        || value.is_empty()
        || value.len() > 19
        || !name.eq_ignore_ascii_case(b"content-length")
    {
        return false;
    }
    let mut stated: u64 = 0;
    for &digit in value {
        if !digit.is_ascii_digit() {
            return false;
        }
        stated = stated * 10 + u64::from(digit - b'0');
    }
    stated == len as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{fuzz_runs, Rng};

    #[test]
    fn decodes_pairs_and_keeps_repeats() {
        let block =
            HeaderBlock(b"content-type\0text/plain\0set-cookie\0a=1\0set-cookie\0b=2\0".to_vec());
        let map = block.into_map();
        assert_eq!(map["content-type"], "text/plain");
        assert_eq!(map.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn any_bytes_decode_without_panicking() {
        let mut rng = Rng::seeded(0x9e37_79b9_7f4a_7c15);
        for _ in 0..fuzz_runs(5_000) {
            let state = rng.next();
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let b = (state >> (i % 8 * 8)) as u8;
                    // Plenty of separators, so pairs form.
                    if b.is_multiple_of(5) {
                        0
                    } else {
                        b
                    }
                })
                .collect();
            let map = HeaderBlock(bytes).into_map();
            assert!(map.len() <= len);
        }
    }

    #[test]
    fn drops_invalid_pairs() {
        let block = HeaderBlock(b"bad name\0x\0ok\0y\0\0z".to_vec());
        let map = block.into_map();
        assert_eq!(map.len(), 1);
        assert_eq!(map["ok"], "y");
    }

    #[test]
    fn a_length_that_matches_the_whole_body_is_left_to_hyper() {
        let block = || HeaderBlock(b"content-length\x0013\0content-type\0text/plain\0".to_vec());
        let map = block().into_map_for(Some(13));
        assert!(!map.contains_key("content-length"));
        assert_eq!(map["content-type"], "text/plain");
        // Another length, a body of unknown length, or a value that is not plain digits: kept.
        assert_eq!(block().into_map_for(Some(12))["content-length"], "13");
        assert_eq!(block().into_map_for(None)["content-length"], "13");
        let odd = HeaderBlock(b"Content-Length\0+13\0".to_vec()).into_map_for(Some(13));
        assert_eq!(odd["content-length"], "+13");
    }

    #[test]
    fn fields_decoded_before_decode_alike_and_the_table_stays_bounded() {
        let block = || HeaderBlock(b"content-type\0text/plain\0x-id\0a\0".to_vec());
        let (first, again) = (block().into_map(), block().into_map());
        assert_eq!(first, again);
        assert_eq!(again["x-id"], "a");
        // More distinct fields than the table keeps: each still decodes to itself.
        for n in 0..(3 * RECENT_FIELDS) {
            let map = HeaderBlock(format!("x-n\0{n}\0").into_bytes()).into_map();
            assert_eq!(map["x-n"], n.to_string().as_str());
        }
        RECENT.with(|recent| assert_eq!(recent.borrow().fields.len(), RECENT_FIELDS));
        assert_eq!(block().into_map(), first);
    }

    #[test]
    fn a_last_value_may_end_with_the_block() {
        let map = HeaderBlock(b"a\0b\0c\0d".to_vec()).into_map();
        assert_eq!(
            (&map["a"], &map["c"]),
            (&"b".parse().unwrap(), &"d".parse().unwrap())
        );
        let map = HeaderBlock(b"a\0".to_vec()).into_map();
        assert_eq!(map["a"], "");
        assert!(HeaderBlock(b"a".to_vec()).into_map().is_empty());
    }
}
