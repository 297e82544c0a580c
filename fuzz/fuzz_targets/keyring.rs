//! Keyring files: `Keyring::parse` on arbitrary text, and a keyring that
//! parses written back with `to_text` and parsed again to the same keys in
//! the same order (the primary first).
//!
//! Input: the file's bytes (not UTF-8 in places: read lossily, as any
//! bytes a file may hold must be met with an error, not a panic).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rumor_seal::{Keyring, MAX_KEYS};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(ring) = Keyring::parse(&text) else {
        return;
    };
    assert!(!ring.keys().is_empty() && ring.keys().len() <= MAX_KEYS);
    assert_eq!(ring.primary(), &ring.keys()[0]);
    let written = ring.to_text();
    let back = Keyring::parse(&written).expect("to_text output parses");
    assert_eq!(back, ring, "a keyring changed through to_text");
});
