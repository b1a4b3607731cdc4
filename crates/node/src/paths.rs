//! Request paths JS already holds, by slot: a request to a path seen lately names its slot, and JS
//! reuses the strings and bytes it made for it instead of slicing the path out of the batch,
//! hashing it to look up its `raw_path` bytes, and unquoting it (some 400 instructions a request).
//!
//! A direct-mapped table: a path's hash picks its slot, and a path that finds another in its slot
//! takes it over, marked new so that JS replaces what it holds for the slot. A stream of distinct
//! paths only keeps slots changing hands; what JS holds stays bounded by the slots.

/// Slots (a power of two); ids are slot + 1, and 0 is "no slot".
const SLOTS: usize = crate::wire::PATH_SLOTS;
const _: () = assert!(SLOTS.is_power_of_two());
/// Longer paths get no slot (JS decodes them each time).
const KEPT_MAX: usize = 256;

#[derive(Default)]
pub struct KnownPaths {
    slots: Vec<Option<Box<[u8]>>>,
}

impl KnownPaths {
    /// The slot id for `path`, and whether JS learns it with this request (the slot was empty or
    /// held another path); `(0, false)` for a path too long to keep.
    pub fn id(&mut self, path: &[u8]) -> (u32, bool) {
        if path.len() > KEPT_MAX {
            return (0, false);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let slot = fnv1a(path) as usize & (SLOTS - 1);
        let id = slot as u32 + 1;
        match &self.slots[slot] {
            Some(kept) if **kept == *path => (id, false),
            _ => {
                self.slots[slot] = Some(path.into());
                (id, true)
            }
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash: u32, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_new_once_then_known_until_another_takes_its_slot() {
        let mut paths = KnownPaths::default();
        let (id, new) = paths.id(b"/plaintext");
        assert!(id >= 1 && id as usize <= SLOTS && new);
        assert_eq!(paths.id(b"/plaintext"), (id, false));
        // Many other paths: some take this one's slot, after which it is new again.
        let mut taken = false;
        for n in 0..SLOTS * 4 {
            let path = format!("/p/{n}");
            let (other, _) = paths.id(path.as_bytes());
            taken |= other == id;
        }
        assert!(taken);
        assert!(paths.id(b"/plaintext").1);
        assert_eq!(paths.id(&[b'x'; KEPT_MAX + 1]), (0, false));
        assert_eq!(paths.slots.len(), SLOTS);
    }
}
