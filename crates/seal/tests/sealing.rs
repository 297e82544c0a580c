//! Sealing and opening through a `Sealer`: round trips, every refusal
//! cause and its counter, key rotation; every check under each cipher
//! (`xchacha::` and `aes::` at the end run them).

use std::collections::HashMap;
use std::time::Duration;

use rumor_seal::{
    Cipher, DEFAULT_LABEL, HEADER_LEN, Key, Keyring, LabelId, OVERHEAD, OpenError, SealError,
    Sealer, SealerConfig, generate_key,
};

const NOW: u64 = 1_763_900_000_000;
const WINDOW_MS: u64 = 60_000;

fn key(n: u8) -> Key {
    Key::from_bytes([n; 32])
}

fn sealer_with(keys: &[Key], label: &str, cipher: Cipher) -> Sealer {
    Sealer::new(
        Keyring::from_keys(keys.iter().cloned()).unwrap(),
        label,
        SealerConfig::default(),
    )
    .unwrap()
    .sealing_with(cipher)
}

fn sealer(cipher: Cipher) -> Sealer {
    sealer_with(&[key(1)], DEFAULT_LABEL, cipher)
}

fn seal(sealer: &Sealer, plaintext: &[u8], now: u64) -> Vec<u8> {
    let mut packet = Vec::new();
    sealer.seal_into(plaintext, &mut packet, now).unwrap();
    packet
}

fn open(sealer: &Sealer, packet: &[u8], now: u64) -> Result<Vec<u8>, OpenError> {
    let mut out = Vec::new();
    sealer.open_into(packet, &mut out, now).map(|()| out)
}

fn round_trip_at_every_size(cipher: Cipher) {
    let sealer = sealer(cipher);
    for size in [0, 1, 60, 1400, 1 << 20] {
        let plaintext: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();

        let mut packet = Vec::with_capacity(3 + size + cipher.overhead());
        packet.extend_from_slice(b"len");
        let buffer = packet.as_ptr();
        sealer.seal_into(&plaintext, &mut packet, NOW).unwrap();
        assert_eq!(packet.as_ptr(), buffer, "sealing into capacity reallocated");
        assert_eq!(&packet[..3], b"len", "sealing appends");
        let packet = &packet[3..];
        assert_eq!(packet.len(), size + cipher.overhead());
        assert!(packet.len() <= size + OVERHEAD);
        assert_eq!(packet[0], cipher.format());
        assert_eq!(&packet[1..5], key(1).id().as_bytes());
        assert_eq!(&packet[5..9], LabelId::of(DEFAULT_LABEL).as_bytes());
        assert_eq!(&packet[9..17], &NOW.to_be_bytes());
        if size >= 16 {
            assert!(
                !packet.windows(16).any(|w| w == &plaintext[..16]),
                "plaintext visible in the packet"
            );
        }

        let mut out = Vec::with_capacity(2 + size);
        out.extend_from_slice(b"in");
        let buffer = out.as_ptr();
        sealer.open_into(packet, &mut out, NOW + 1).unwrap();
        assert_eq!(out.as_ptr(), buffer, "opening into capacity reallocated");
        assert_eq!(&out[..2], b"in", "opening appends");
        assert_eq!(&out[2..], &plaintext[..], "size {size}");
    }
    let stats = sealer.stats();
    assert_eq!(
        (stats.sealed, stats.opened, stats.refused_total()),
        (5, 5, 0)
    );
}

fn nonces_differ_between_packets(cipher: Cipher) {
    let sealer = sealer(cipher);
    let a = seal(&sealer, b"same", NOW);
    let b = seal(&sealer, b"same", NOW);
    let end = cipher.header_len();
    assert_ne!(a[17..end], b[17..end]);
    assert_ne!(a[end..], b[end..]);
}

fn every_truncation_is_refused_as_truncated_or_bad_tag(cipher: Cipher) {
    let sealer = sealer(cipher);
    let packet = seal(&sealer, &[0x5a; 60], NOW);
    for len in 0..cipher.overhead() {
        assert_eq!(
            open(&sealer, &packet[..len], NOW),
            Err(OpenError::Truncated),
            "{len}"
        );
    }
    for len in cipher.overhead()..packet.len() {
        assert_eq!(
            open(&sealer, &packet[..len], NOW),
            Err(OpenError::BadTag),
            "{len}"
        );
    }
    let stats = sealer.stats();
    assert_eq!(stats.truncated, cipher.overhead() as u64);
    assert_eq!(stats.bad_tag, 60);
    assert_eq!(stats.opened, 0);
    // Nothing was remembered: the intact packet still opens.
    assert!(open(&sealer, &packet, NOW).is_ok());
}

fn every_single_byte_flip_is_refused_with_the_right_cause(cipher: Cipher) {
    let sealer = sealer(cipher);
    let packet = seal(&sealer, &[0x5a; 60], NOW);
    let mut expected: HashMap<OpenError, u64> = HashMap::new();
    for index in 0..packet.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut flipped = packet.clone();
            flipped[index] ^= mask;
            let mut out = Vec::new();
            let cause = sealer
                .open_into(&flipped, &mut out, NOW)
                .expect_err("a flipped byte opened");
            assert!(out.is_empty(), "plaintext handed out on failure");
            let allowed: &[OpenError] = match index {
                0 => &[OpenError::UnknownVersion],
                1..5 => &[OpenError::WrongKey],
                5..9 => &[OpenError::OtherCluster],
                // A low timestamp byte stays within the window and fails
                // the tag; a high one leaves it.
                9..17 => &[OpenError::Stale, OpenError::BadTag],
                _ => &[OpenError::BadTag],
            };
            assert!(allowed.contains(&cause), "byte {index}: {cause:?}");
            *expected.entry(cause).or_default() += 1;
        }
    }
    let stats = sealer.stats();
    for cause in OpenError::ALL {
        assert_eq!(
            stats.refused(cause),
            expected.get(&cause).copied().unwrap_or(0),
            "{}",
            cause.name()
        );
    }
    assert_eq!(stats.refused_total(), 3 * packet.len() as u64);
    assert_eq!(stats.opened, 0);
    assert!(stats.stale > 0 && stats.bad_tag > 0);
}

fn unknown_version(cipher: Cipher) {
    let sealer = sealer(cipher);
    let packet = seal(&sealer, b"x", NOW);
    for format in [0, 3, 0x80, 0xff] {
        let mut unknown = packet.clone();
        unknown[0] = format;
        assert_eq!(open(&sealer, &unknown, NOW), Err(OpenError::UnknownVersion));
    }
    assert_eq!(sealer.stats().unknown_version, 4);
}

fn a_key_not_in_the_ring_is_wrong_key(cipher: Cipher) {
    let sender = sealer_with(&[key(1)], DEFAULT_LABEL, cipher);
    let receiver = sealer_with(&[key(2), key(3)], DEFAULT_LABEL, cipher);
    let packet = seal(&sender, b"hello", NOW);
    assert_eq!(open(&receiver, &packet, NOW), Err(OpenError::WrongKey));
    assert_eq!(receiver.stats().wrong_key, 1);
}

fn another_label_is_other_cluster(cipher: Cipher) {
    let sender = sealer_with(&[key(1)], "blue", cipher);
    let receiver = sealer_with(&[key(1)], "green", cipher);
    let packet = seal(&sender, b"hello", NOW);
    assert_eq!(open(&receiver, &packet, NOW), Err(OpenError::OtherCluster));
    assert_eq!(receiver.stats().other_cluster, 1);
    assert_eq!(sender.label(), "blue");
}

/// Two labels whose 4-byte ids collide pass the label-id check; the label
/// itself in the AAD must still keep the clusters apart.
fn the_label_itself_is_authenticated(cipher: Cipher) {
    let mut seen: HashMap<LabelId, String> = HashMap::new();
    let (a, b) = (0u32..)
        .find_map(|n| {
            let label = format!("cluster-{n}");
            let id = LabelId::of(&label);
            seen.insert(id, label.clone()).map(|other| (other, label))
        })
        .unwrap();
    assert_eq!(LabelId::of(&a), LabelId::of(&b));
    let sender = sealer_with(&[key(1)], &a, cipher);
    let receiver = sealer_with(&[key(1)], &b, cipher);
    let packet = seal(&sender, b"hello", NOW);
    assert_eq!(open(&receiver, &packet, NOW), Err(OpenError::BadTag));
}

/// Two keys with colliding ids cannot share a ring, since a packet's key id
/// would not say which one sealed it.
#[test]
fn keys_with_colliding_ids_cannot_share_a_ring() {
    let mut seen: HashMap<[u8; 4], Key> = HashMap::new();
    let (a, b) = (0u64..)
        .find_map(|n| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&n.to_le_bytes());
            let key = Key::from_bytes(bytes);
            seen.insert(*key.id().as_bytes(), key.clone())
                .map(|other| (other, key))
        })
        .unwrap();
    assert_ne!(a, b);
    let mut ring = Keyring::new(a);
    assert!(matches!(ring.install(b), Err(SealError::KeyIdCollision(_))));
}

fn stale_either_way(cipher: Cipher) {
    let sealer = sealer(cipher);
    for (sealed_at, opened_at, fresh) in [
        (NOW, NOW + WINDOW_MS + 1, false),
        (NOW, NOW - WINDOW_MS - 1, false),
        (NOW, NOW + WINDOW_MS, true),
        (NOW, NOW - WINDOW_MS, true),
        (0, NOW, false),
        (u64::MAX, NOW, false),
    ] {
        let packet = seal(&sealer, b"tick", sealed_at);
        let result = open(&sealer, &packet, opened_at);
        if fresh {
            assert_eq!(result, Ok(b"tick".to_vec()));
        } else {
            assert_eq!(result, Err(OpenError::Stale), "{sealed_at} at {opened_at}");
        }
    }
    assert_eq!(sealer.stats().stale, 4);
}

fn the_window_is_configurable(cipher: Cipher) {
    let sealer = Sealer::new(
        Keyring::new(key(1)),
        DEFAULT_LABEL,
        SealerConfig::new(Duration::from_secs(5), SealerConfig::default().max_entries),
    )
    .unwrap()
    .sealing_with(cipher);
    assert_eq!(sealer.window(), Duration::from_secs(5));
    let packet = seal(&sealer, b"tick", NOW);
    assert_eq!(open(&sealer, &packet, NOW + 5_001), Err(OpenError::Stale));
    assert!(open(&sealer, &packet, NOW + 5_000).is_ok());
}

fn a_replay_of_an_accepted_packet_is_refused(cipher: Cipher) {
    let sealer = sealer(cipher);
    let packet = seal(&sealer, b"join", NOW);
    assert!(open(&sealer, &packet, NOW).is_ok());
    for later in [0, 1, 1_000, WINDOW_MS / 2, WINDOW_MS] {
        assert_eq!(
            open(&sealer, &packet, NOW + later),
            Err(OpenError::Replayed),
            "{later} ms later"
        );
    }
    // Past the window the clock check refuses it.
    assert_eq!(
        open(&sealer, &packet, NOW + WINDOW_MS + 1),
        Err(OpenError::Stale)
    );
    let stats = sealer.stats();
    assert_eq!((stats.opened, stats.replayed, stats.stale), (1, 5, 1));
}

fn a_full_replay_cache_refuses_until_it_rotates(cipher: Cipher) {
    let sealer = Sealer::new(
        Keyring::new(key(1)),
        DEFAULT_LABEL,
        SealerConfig::new(Duration::from_secs(10), 3),
    )
    .unwrap()
    .sealing_with(cipher);
    for _ in 0..3 {
        let packet = seal(&sealer, b"ok", NOW);
        assert!(open(&sealer, &packet, NOW).is_ok());
    }
    let refused = seal(&sealer, b"later", NOW);
    assert_eq!(
        open(&sealer, &refused, NOW),
        Err(OpenError::ReplayCacheFull)
    );
    assert_eq!(
        open(&sealer, &refused, NOW + 4_999),
        Err(OpenError::ReplayCacheFull)
    );
    // Half a window later the cache rotates and the packet, still fresh,
    // opens once.
    assert_eq!(open(&sealer, &refused, NOW + 5_000), Ok(b"later".to_vec()));
    assert_eq!(
        open(&sealer, &refused, NOW + 5_001),
        Err(OpenError::Replayed)
    );
    let stats = sealer.stats();
    assert_eq!(
        (stats.opened, stats.replay_cache_full, stats.replayed),
        (4, 2, 1)
    );
}

fn rotation_keeps_old_packets_opening_until_the_old_key_is_removed(cipher: Cipher) {
    let old = generate_key().unwrap();
    let new = generate_key().unwrap();
    let sealer = sealer_with(std::slice::from_ref(&old), DEFAULT_LABEL, cipher);
    let under_old = seal(&sealer, b"old", NOW);
    let also_under_old = seal(&sealer, b"old 2", NOW);
    assert_eq!(&under_old[1..5], old.id().as_bytes());

    assert!(sealer.install(new.clone()).unwrap());
    assert!(!sealer.install(new.clone()).unwrap());
    assert!(sealer.use_key(&new).unwrap());
    assert!(!sealer.use_key(&new).unwrap());
    assert_eq!(sealer.keyring().primary(), &new);
    assert_eq!(
        sealer.keyring().list(),
        vec![new.to_base64(), old.to_base64()]
    );

    let under_new = seal(&sealer, b"new", NOW);
    assert_eq!(&under_new[1..5], new.id().as_bytes());
    assert_eq!(open(&sealer, &under_old, NOW), Ok(b"old".to_vec()));
    assert_eq!(open(&sealer, &under_new, NOW), Ok(b"new".to_vec()));

    assert!(matches!(
        sealer.remove(&new),
        Err(SealError::RemovePrimary(_))
    ));
    sealer.remove(&old).unwrap();
    assert!(matches!(
        sealer.remove(&old),
        Err(SealError::NotInstalled(_))
    ));
    assert_eq!(
        open(&sealer, &also_under_old, NOW),
        Err(OpenError::WrongKey)
    );
    assert_eq!(sealer.keyring().keys(), std::slice::from_ref(&new));
}

fn replacing_the_whole_keyring(cipher: Cipher) {
    let sealer = sealer(cipher);
    let packet = seal(&sealer, b"x", NOW);
    assert!(!sealer.set_keyring(Keyring::new(key(1))));
    assert!(sealer.set_keyring(Keyring::new(key(2))));
    assert_eq!(open(&sealer, &packet, NOW), Err(OpenError::WrongKey));
    assert_eq!(sealer.keyring().primary(), &key(2));
}

fn the_system_clock_conveniences_round_trip(cipher: Cipher) {
    let sealer = sealer(cipher);
    let mut packet = Vec::new();
    sealer.seal_now(b"now", &mut packet).unwrap();
    let mut out = Vec::new();
    sealer.open_now(&packet, &mut out).unwrap();
    assert_eq!(out, b"now");
    assert_eq!(sealer.overhead(), cipher.overhead());
    assert_eq!(sealer.header_len(), cipher.header_len());
    assert_eq!(HEADER_LEN, 41);
    assert_eq!(OVERHEAD, 57);
}

fn a_packet_sealed_for_one_recipient_does_not_open_at_another(cipher: Cipher) {
    let sealer = rumor_seal::Sealer::new(
        rumor_seal::Keyring::new(rumor_seal::generate_key().unwrap()),
        "rumor",
        rumor_seal::SealerConfig::default(),
    )
    .unwrap()
    .sealing_with(cipher);
    let now = 1_000_000;
    let mut packet = Vec::new();
    sealer
        .seal_for(b"hello", &mut packet, now, b"10.0.0.1:4000")
        .unwrap();
    let mut out = Vec::new();
    assert_eq!(
        sealer.open_for(&packet, &mut out, now, b"10.0.0.2:4000"),
        Err(rumor_seal::OpenError::BadTag)
    );
    assert!(out.is_empty());
    sealer
        .open_for(&packet, &mut out, now, b"10.0.0.1:4000")
        .unwrap();
    assert_eq!(out, b"hello");
    // Sealed for nobody in particular, it opens only where nobody is named.
    let mut plain = Vec::new();
    sealer.seal_into(b"x", &mut plain, now).unwrap();
    assert!(
        sealer
            .open_for(&plain, &mut Vec::new(), now, b"10.0.0.1:4000")
            .is_err()
    );
    assert!(sealer.open_into(&plain, &mut Vec::new(), now).is_ok());
}

/// Each check above, once per cipher.
macro_rules! under {
    ($module:ident, $cipher:expr, $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    super::$name($cipher);
                }
            )*
        }
    };
}

macro_rules! under_both {
    ($($name:ident),* $(,)?) => {
        under!(xchacha, rumor_seal::Cipher::XChaCha20Poly1305, $($name),*);
        under!(aes, rumor_seal::Cipher::Aes256Gcm, $($name),*);
    };
}

under_both!(
    round_trip_at_every_size,
    nonces_differ_between_packets,
    every_truncation_is_refused_as_truncated_or_bad_tag,
    every_single_byte_flip_is_refused_with_the_right_cause,
    unknown_version,
    a_key_not_in_the_ring_is_wrong_key,
    another_label_is_other_cluster,
    the_label_itself_is_authenticated,
    stale_either_way,
    the_window_is_configurable,
    a_replay_of_an_accepted_packet_is_refused,
    a_full_replay_cache_refuses_until_it_rotates,
    rotation_keeps_old_packets_opening_until_the_old_key_is_removed,
    replacing_the_whole_keyring,
    the_system_clock_conveniences_round_trip,
    a_packet_sealed_for_one_recipient_does_not_open_at_another,
);
