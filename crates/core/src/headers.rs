//! Response header blocks packed as `name\0value\0...` by the binding.
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use std::cell::RefCell;

/// Things decoded lately, by the bytes they were decoded from: at most `N`, and once full each new
/// one replaces the oldest (round-robin). Small enough that a linear search beats hashing.
struct Kept<T, const N: usize> {
    entries: Vec<(Box<[u8]>, T)>,
    /// The slot the next new entry replaces once the table is full.
    next: usize,
}

impl<T, const N: usize> Kept<T, N> {
    const fn new() -> Self {
        Kept {
            entries: Vec::new(),
            next: 0,
        }
    }

    fn get(&self, key: &[u8]) -> Option<&T> {
        self.entries
            .iter()
            .find(|(kept, _)| &kept[..] == key)
            .map(|(_, value)| value)
    }

    fn keep(&mut self, key: &[u8], value: T) {
        let entry = (key.into(), value);
        if self.entries.len() < N {
            self.entries.push(entry);
        } else {
            self.entries[self.next] = entry;
            self.next = (self.next + 1) % N;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// How many decoded fields [`RECENT`] keeps.
const RECENT_FIELDS: usize = 16;

thread_local! {
    /// Fields decoded lately, by their packed bytes (`name\0value`). Responses repeat a few fields
    /// (an endpoint's `content-type` on every answer): a hit clones a name and a shared value, where
    /// decoding parses the name and copies the value into an allocation of its own.
    static RECENT: RefCell<Kept<(HeaderName, HeaderValue), RECENT_FIELDS>> =
        const { RefCell::new(Kept::new()) };
}

/// The field packed as `packed`, whose name is its first `name_len` bytes; `None` if invalid.
fn field(
    recent: &mut Kept<(HeaderName, HeaderValue), RECENT_FIELDS>,
    packed: &[u8],
    name_len: usize,
) -> Option<(HeaderName, HeaderValue)> {
    if let Some(field) = recent.get(packed) {
        return Some(field.clone());
    }
    let name = HeaderName::from_bytes(&packed[..name_len]).ok()?;
    let value = HeaderValue::from_bytes(&packed[name_len + 1..]).ok()?;
    recent.keep(packed, (name.clone(), value.clone()));
    Some((name, value))
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
        let block = &self.0[..];
        if block.len() > BLOCK_KEPT_MAX {
            return decode(block, body_len);
        }
        BLOCKS.with(|blocks| {
            let mut blocks = blocks.borrow_mut();
            if let Some(kept) = blocks.get(block) {
                return kept.map_for(body_len);
            }
            let Some(kept) = Prepared::of(block) else {
                return decode(block, body_len);
            };
            let map = kept.map_for(body_len);
            blocks.keep(block, kept);
            map
        })
    }
}

/// How many whole blocks [`BLOCKS`] keeps, and the longest it keeps.
const RECENT_BLOCKS: usize = 8;
const BLOCK_KEPT_MAX: usize = 256;

thread_local! {
    /// Whole blocks decoded lately, by their bytes: an app answers most requests with a few header
    /// lists (a `Response`'s `content-length` and `content-type`), and cloning a decoded map costs a
    /// fraction of decoding it again (some 970 instructions a response, even with [`RECENT`]).
    static BLOCKS: RefCell<Kept<Prepared, RECENT_BLOCKS>> = const { RefCell::new(Kept::new()) };
}

/// A block decoded both ways [`HeaderBlock::into_map_for`] may need it.
struct Prepared {
    /// Every valid pair.
    whole: HeaderMap,
    /// The length the block's one `content-length` pair states, and the map without that pair.
    without_length: Option<(usize, HeaderMap)>,
}

impl Prepared {
    /// `None` for a block with more than one `content-length` pair (decoded each time instead).
    fn of(block: &[u8]) -> Option<Prepared> {
        let mut stated = None;
        for (name, value, ..) in pairs(block) {
            if let Some(len) = stated_length(name, value) {
                if stated.replace(len).is_some() {
                    return None;
                }
            }
        }
        Some(Prepared {
            whole: decode(block, None),
            without_length: stated.map(|len| (len, decode(block, Some(len)))),
        })
    }

    fn map_for(&self, body_len: Option<usize>) -> HeaderMap {
        match &self.without_length {
            Some((len, map)) if body_len == Some(*len) => map.clone(),
            _ => self.whole.clone(),
        }
    }
}

/// The pairs of a block: name, value, the pair as packed (`name\0value`) and the name's length. A
/// name runs to its NUL; a value to the next NUL or to the end of the block.
fn pairs(block: &[u8]) -> impl Iterator<Item = (&[u8], &[u8], &[u8], usize)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let name_len = memchr::memchr(0, &block[at..])?;
        let value_at = at + name_len + 1;
        let end = memchr::memchr(0, &block[value_at..]).map_or(block.len(), |n| value_at + n);
        let pair = (
            &block[at..at + name_len],
            &block[value_at..end],
            &block[at..end],
            name_len,
        );
        at = (end + 1).min(block.len());
        Some(pair)
    })
}

/// Decodes `block`, leaving out a `content-length` that states `body_len`.
fn decode(block: &[u8], body_len: Option<usize>) -> HeaderMap {
    let mut map = HeaderMap::new();
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        for (name, value, packed, name_len) in pairs(block) {
            if name.is_empty()
                || body_len.is_some_and(|len| stated_length(name, value) == Some(len))
            {
                continue;
            }
            if let Some((name, value)) = field(&mut recent, packed, name_len) {
                map.append(name, value);
            }
        }
    });
    map
}

/// The length a `content-length` pair states, in the case and digits the binding writes.
fn stated_length(name: &[u8], value: &[u8]) -> Option<usize> {
    // Nineteen digits at most: any such number fits in a u64.
    if name.len() != 14
        || value.is_empty()
        || value.len() > 19
        || !name.eq_ignore_ascii_case(b"content-length")
    {
        return None;
    }
    let mut stated: u64 = 0;
    for &digit in value {
        if !digit.is_ascii_digit() {
            return None;
        }
        stated = stated * 10 + u64::from(digit - b'0');
    }
    usize::try_from(stated).ok()
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
        RECENT.with(|recent| assert_eq!(recent.borrow().len(), RECENT_FIELDS));
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

    #[test]
    fn a_kept_block_answers_as_decoding_would_for_every_body_length() {
        let block = b"content-length\x0013\0content-type\0text/plain\0".to_vec();
        let twice = b"content-length\x001\0content-length\x002\0x\0y\0".to_vec();
        let long = [b"x-long\0".as_slice(), &[b'v'; 300]].concat();
        for _ in 0..2 {
            // The second round reads the kept blocks.
            for body_len in [None, Some(13), Some(12)] {
                let map = HeaderBlock(block.clone()).into_map_for(body_len);
                assert_eq!(map, decode(&block, body_len));
                assert_eq!(map.contains_key("content-length"), body_len != Some(13));
                assert_eq!(map["content-type"], "text/plain");
                let map = HeaderBlock(twice.clone()).into_map_for(body_len);
                assert_eq!(map, decode(&twice, body_len));
            }
            assert_eq!(
                HeaderBlock(twice.clone())
                    .into_map_for(Some(1))
                    .get_all("content-length")
                    .iter()
                    .count(),
                1
            );
            assert_eq!(HeaderBlock(long.clone()).into_map()["x-long"].len(), 300);
        }
        // More blocks than the table keeps: each still decodes as itself.
        for n in 0..RECENT_BLOCKS * 2 {
            let map = HeaderBlock(format!("x-n\0{n}\0").into_bytes()).into_map();
            assert_eq!(map["x-n"], n.to_string().as_str());
        }
        assert_eq!(BLOCKS.with(|b| b.borrow().len()), RECENT_BLOCKS);
    }
}
