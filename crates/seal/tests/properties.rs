//! Opening never panics, never allocates past the packet's length, and
//! never accepts anything but an untouched, first-seen sealed packet,
//! whichever cipher sealed it.

use proptest::prelude::*;
use rumor_seal::{
    Cipher, DEFAULT_LABEL, Key, Keyring, LabelId, OVERHEAD, OpenError, Sealer, SealerConfig,
};

const NOW: u64 = 1_763_900_000_000;

fn sealer(cipher: Cipher) -> Sealer {
    Sealer::new(
        Keyring::new(Key::from_bytes([9; 32])),
        DEFAULT_LABEL,
        SealerConfig::default(),
    )
    .unwrap()
    .sealing_with(cipher)
}

fn cipher() -> impl Strategy<Value = Cipher> {
    prop::sample::select(Cipher::ALL.to_vec())
}

/// Opens into a fresh buffer, checking what a refusal must leave behind.
fn open(sealer: &Sealer, packet: &[u8]) -> Result<Vec<u8>, OpenError> {
    let mut out = Vec::new();
    let result = sealer.open_into(packet, &mut out, NOW);
    assert!(out.capacity() <= packet.len(), "allocated past the packet");
    if result.is_err() {
        assert!(out.is_empty(), "plaintext left behind after a refusal");
    }
    result.map(|()| out)
}

/// A header that passes every check before the tag: right format, label,
/// key and time.
fn plausible_header(key: &Key, cipher: Cipher) -> Vec<u8> {
    let mut header = vec![cipher.format()];
    header.extend_from_slice(key.id().as_bytes());
    header.extend_from_slice(LabelId::of(DEFAULT_LABEL).as_bytes());
    header.extend_from_slice(&NOW.to_be_bytes());
    header
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_open(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        cipher in cipher(),
    ) {
        let sealer = sealer(cipher);
        prop_assert!(open(&sealer, &bytes).is_err());
        prop_assert_eq!(sealer.stats().refused_total(), 1);
    }

    #[test]
    fn forgeries_behind_a_plausible_header_fail_the_tag(
        rest in proptest::collection::vec(any::<u8>(), 0..400),
        cipher in cipher(),
    ) {
        let sealer = sealer(Cipher::preferred());
        let mut packet = plausible_header(&Key::from_bytes([9; 32]), cipher);
        packet.extend_from_slice(&rest);
        prop_assert!(cipher.overhead() <= OVERHEAD);
        let expected = if packet.len() < cipher.overhead() { OpenError::Truncated } else { OpenError::BadTag };
        prop_assert_eq!(open(&sealer, &packet), Err(expected));
    }

    #[test]
    fn mutations_of_a_sealed_packet_never_open(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        truncate_to in proptest::option::of(any::<prop::sample::Index>()),
        append in proptest::collection::vec(any::<u8>(), 0..4),
        cipher in cipher(),
    ) {
        let sealer = sealer(cipher);
        let mut packet = Vec::new();
        sealer.seal_into(&plaintext, &mut packet, NOW).unwrap();
        // Accepted once, so even a mutation that changes nothing is a
        // replay and must not open.
        prop_assert_eq!(open(&sealer, &packet), Ok(plaintext));

        let mut mutated = packet.clone();
        for (index, mask) in flips {
            let at = index.index(mutated.len());
            mutated[at] ^= mask;
        }
        if let Some(index) = truncate_to {
            mutated.truncate(index.index(mutated.len()));
        }
        mutated.extend_from_slice(&append);
        let result = open(&sealer, &mutated);
        prop_assert!(result.is_err(), "a mutated packet opened");
        if mutated == packet {
            prop_assert_eq!(result, Err(OpenError::Replayed));
        }
    }
}
