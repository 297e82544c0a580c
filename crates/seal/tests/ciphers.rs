//! The two ciphers side by side: each opens what the other seals, the
//! format byte cannot be swapped, both formats are exactly as documented
//! (built here with the bare AEADs), nonces never repeat, and sealing and
//! opening in place keep every refusal.

use std::collections::HashSet;
use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use chacha20poly1305::{AeadInOut, KeyInit, XChaCha20Poly1305};
use rumor_seal::{
    Cipher, DEFAULT_LABEL, Key, Keyring, LabelId, OpenError, SealError, Sealer, SealerConfig,
};
use sha2::{Digest, Sha256};

const NOW: u64 = 1_763_900_000_000;

fn key(n: u8) -> Key {
    Key::from_bytes([n; 32])
}

fn sealer(cipher: Cipher) -> Sealer {
    Sealer::new(Keyring::new(key(1)), DEFAULT_LABEL, SealerConfig::default())
        .unwrap()
        .sealing_with(cipher)
}

fn seal(sealer: &Sealer, plaintext: &[u8]) -> Vec<u8> {
    let mut packet = Vec::new();
    sealer.seal_into(plaintext, &mut packet, NOW).unwrap();
    packet
}

fn open(sealer: &Sealer, packet: &[u8]) -> Result<Vec<u8>, OpenError> {
    let mut out = Vec::new();
    sealer.open_into(packet, &mut out, NOW).map(|()| out)
}

/// The clear header every sealer here writes, for `cipher` and `nonce`.
fn header(cipher: Cipher, nonce: &[u8]) -> Vec<u8> {
    let mut header = vec![cipher.format()];
    header.extend_from_slice(key(1).id().as_bytes());
    header.extend_from_slice(LabelId::of(DEFAULT_LABEL).as_bytes());
    header.extend_from_slice(&NOW.to_be_bytes());
    header.extend_from_slice(nonce);
    header
}

#[test]
fn each_cipher_opens_what_the_other_seals() {
    let aes = sealer(Cipher::Aes256Gcm);
    let xchacha = sealer(Cipher::XChaCha20Poly1305);
    let from_aes = seal(&aes, b"from aes");
    let from_xchacha = seal(&xchacha, b"from xchacha");
    assert_eq!(Cipher::of_packet(&from_aes), Some(Cipher::Aes256Gcm));
    assert_eq!(
        Cipher::of_packet(&from_xchacha),
        Some(Cipher::XChaCha20Poly1305)
    );
    assert_eq!(from_aes.len(), 8 + 45);
    assert_eq!(from_xchacha.len(), 12 + 57);
    assert_eq!(open(&xchacha, &from_aes), Ok(b"from aes".to_vec()));
    assert_eq!(open(&aes, &from_xchacha), Ok(b"from xchacha".to_vec()));
    // Each replay cache holds either cipher's nonces.
    assert_eq!(open(&xchacha, &from_aes), Err(OpenError::Replayed));
    assert_eq!(open(&aes, &from_xchacha), Err(OpenError::Replayed));
}

#[test]
fn the_format_byte_is_authenticated() {
    for cipher in Cipher::ALL {
        let sealer = sealer(cipher);
        let other = Cipher::ALL.into_iter().find(|&c| c != cipher).unwrap();
        // Long enough to pass as either cipher's packet.
        let mut packet = seal(&sealer, &[0x42; 40]);
        packet[0] = other.format();
        assert_eq!(open(&sealer, &packet), Err(OpenError::BadTag), "{cipher}");
        packet[0] = cipher.format();
        assert_eq!(open(&sealer, &packet), Ok(vec![0x42; 40]));
    }
}

#[test]
fn format_1_is_xchacha20poly1305_under_the_key_itself() {
    // As the first build sealed: a random nonce, the key as it is.
    let nonce = [0x24u8; 24];
    let head = header(Cipher::XChaCha20Poly1305, &nonce);
    let aad = [head.as_slice(), DEFAULT_LABEL.as_bytes()].concat();
    let mut body = b"sealed by an earlier build".to_vec();
    let tag = XChaCha20Poly1305::new(&(*key(1).as_bytes()).into())
        .encrypt_inout_detached(&nonce.into(), &aad, body.as_mut_slice().into())
        .unwrap();
    let packet = [head.as_slice(), &body, &tag].concat();
    let receiver = sealer(Cipher::Aes256Gcm);
    assert_eq!(
        open(&receiver, &packet),
        Ok(b"sealed by an earlier build".to_vec())
    );
}

#[test]
fn format_2_is_aes256gcm_under_a_derived_key() {
    let derived: [u8; 32] =
        Sha256::digest([b"rumor-seal-aes256gcm".as_slice(), &[1; 32]].concat()).into();
    let nonce = [0x12u8; 12];
    let head = header(Cipher::Aes256Gcm, &nonce);
    let aad = [head.as_slice(), DEFAULT_LABEL.as_bytes(), b"to"].concat();
    let mut body = b"built by hand".to_vec();
    let tag = Aes256Gcm::new(&derived.into())
        .encrypt_inout_detached(&nonce.into(), &aad, body.as_mut_slice().into())
        .unwrap();
    let packet = [head.as_slice(), &body, &tag].concat();
    let receiver = sealer(Cipher::XChaCha20Poly1305);
    let mut out = Vec::new();
    receiver.open_for(&packet, &mut out, NOW, b"to").unwrap();
    assert_eq!(out, b"built by hand");

    // The cluster key itself is not the AES key.
    let mut body = b"built by hand".to_vec();
    let tag = Aes256Gcm::new(&(*key(1).as_bytes()).into())
        .encrypt_inout_detached(&[0x13u8; 12].into(), &aad, body.as_mut_slice().into())
        .unwrap();
    let head = header(Cipher::Aes256Gcm, &[0x13; 12]);
    let packet = [head.as_slice(), &body, &tag].concat();
    assert_eq!(
        receiver.open_for(&packet, &mut Vec::new(), NOW, b"to"),
        Err(OpenError::BadTag)
    );
}

#[test]
fn nonces_never_repeat_over_many_seals_from_many_threads() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 5_000;
    for cipher in Cipher::ALL {
        let one = Arc::new(sealer(cipher));
        // A second sealer under the same key, as another agent would be.
        let other = Arc::new(sealer(cipher));
        let threads: Vec<_> = (0..THREADS)
            .map(|n| {
                let sealer = Arc::clone(if n == 0 { &other } else { &one });
                std::thread::spawn(move || {
                    let mut packet = Vec::with_capacity(64);
                    (0..PER_THREAD)
                        .map(|_| {
                            packet.clear();
                            sealer.seal_into(b"x", &mut packet, NOW).unwrap();
                            packet[17..cipher.header_len()].to_vec()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for thread in threads {
            for nonce in thread.join().unwrap() {
                assert!(seen.insert(nonce), "{cipher}: a nonce repeated");
            }
        }
        assert_eq!(seen.len(), THREADS * PER_THREAD);
    }
}

#[test]
fn sealing_and_opening_in_place() {
    for cipher in Cipher::ALL {
        let sealer = sealer(cipher);
        let room = sealer.header_len();
        // A frame prefix, the header's room, then the plaintext encoded in place.
        let mut packet = b"len!".to_vec();
        packet.resize(4 + room, 0xee);
        packet.extend_from_slice(b"in place");
        packet.reserve(16);
        let buffer = packet.as_ptr();
        sealer
            .seal_in_place_for(&mut packet, 4, NOW, b"me")
            .unwrap();
        assert_eq!(packet.as_ptr(), buffer, "sealing in place reallocated");
        assert_eq!(&packet[..4], b"len!");
        assert_eq!(packet.len(), 4 + 8 + sealer.overhead());
        assert_eq!(packet[4], cipher.format());
        let sealed = packet[4..].to_vec();
        assert_eq!(
            open(&sealer, &sealed),
            Err(OpenError::BadTag),
            "sealed for a recipient"
        );

        let mut copy = sealed.clone();
        let at = sealer.open_in_place_for(&mut copy, NOW, b"me").unwrap();
        assert_eq!(at, room..room + 8);
        assert_eq!(&copy[at], b"in place");

        // A replay decrypts before the cache refuses it: no plaintext stays.
        let mut replayed = sealed.clone();
        assert_eq!(
            sealer.open_in_place_for(&mut replayed, NOW, b"me"),
            Err(OpenError::Replayed)
        );
        assert_eq!(&replayed[..room], &sealed[..room]);
        assert_eq!(&replayed[room..room + 8], &[0; 8]);
        assert!(!replayed.windows(8).any(|w| w == b"in place"));

        // Refused before the tag: untouched.
        let mut stale = sealed.clone();
        assert_eq!(
            sealer.open_in_place_for(&mut stale, NOW + 3_600_000, b"me"),
            Err(OpenError::Stale)
        );
        assert_eq!(stale, sealed);
        let mut short = sealed[..20].to_vec();
        assert_eq!(
            sealer.open_in_place(&mut short, NOW),
            Err(OpenError::Truncated)
        );

        // A forgery: no plaintext either.
        let mut forged = seal(&sealer, b"secret words");
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            sealer.open_in_place(&mut forged, NOW),
            Err(OpenError::BadTag)
        );
        assert!(!forged.windows(12).any(|w| w == b"secret words"));

        let stats = sealer.stats();
        assert_eq!((stats.sealed, stats.opened), (2, 1));
        assert_eq!((stats.replayed, stats.stale, stats.bad_tag), (1, 1, 2));
        assert_eq!(stats.truncated, 1);

        let mut no_room = vec![0u8; room - 1];
        assert!(matches!(
            sealer.seal_in_place(&mut no_room, 0, NOW),
            Err(SealError::NoHeaderRoom { len, need }) if len == room - 1 && need == room
        ));
        assert!(matches!(
            sealer.seal_in_place(&mut no_room, 99, NOW),
            Err(SealError::NoHeaderRoom { len: 0, .. })
        ));
        assert_eq!(no_room, vec![0u8; room - 1]);
    }
}
