//! Response header blocks packed as `name\0value\0...` by the binding.
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

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
    /// size on both protocols. A request's most common header then costs no name lookup, no value
    /// copy and no map entry; a length that differs from the body's is kept (hyper checks it).
    pub fn into_map_for(self, body_len: Option<usize>) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut parts = self.0.split(|b| *b == 0);
        while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
            if name.is_empty() {
                continue;
            }
            if body_len.is_some_and(|len| is_length_of(name, value, len)) {
                continue;
            }
            let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            else {
                continue;
            };
            map.append(name, value);
        }
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
