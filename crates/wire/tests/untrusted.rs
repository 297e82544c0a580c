//! Untrusted bytes never panic the decoder: random inputs, and valid
//! encodings mutated by flipping, truncating, extending and splicing.

mod common;

use common::{encode, envelope};
use proptest::prelude::*;
use rumor_wire::*;

fn must_not_panic(bytes: &[u8]) {
    // Any result is fine; a decoded value must re-encode.
    if let Ok(env) = decode(bytes) {
        let mut out = Vec::new();
        encode_to_vec(&env, &mut out, usize::MAX).unwrap();
    }
    let mut reader = bytes;
    let mut buf = Vec::new();
    let _ = read_frame(&mut reader, &mut buf, 1 << 16);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        must_not_panic(&bytes);
    }

    #[test]
    fn mutated_encodings(
        env in envelope(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let bytes = encode(&env);
        let mut flipped = bytes.clone();
        for (i, b) in &flips {
            let i = i.index(flipped.len());
            flipped[i] = *b;
        }
        must_not_panic(&flipped);
        must_not_panic(&bytes[..cut.index(bytes.len() + 1)]);
        let mut extended = bytes.clone();
        extended.extend_from_slice(&tail);
        if !tail.is_empty() {
            prop_assert!(decode(&extended).is_err(), "trailing bytes accepted");
        }
        must_not_panic(&extended);
    }
}
