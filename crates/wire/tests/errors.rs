//! One test per error the codec and framing report.

use rumor_wire::*;

fn me() -> NodeId {
    "127.0.0.1:3000#1".parse().unwrap()
}

fn big_update(n: usize) -> Envelope {
    let updates = (0..n)
        .map(|i| MemberUpdate {
            node: NodeId::new(
                format!("10.0.{}.{}:4000", i / 250, i % 250)
                    .parse()
                    .unwrap(),
                Version(i as u64),
            ),
            state: MemberState::Alive,
            incarnation: Incarnation(0),
        })
        .collect();
    Envelope::new(
        me().addr,
        Gossip::Updates {
            sender: me(),
            updates,
            extras: Extras::new(),
        },
    )
}

#[test]
fn too_large_for_datagram_is_refused_not_truncated() {
    let env = big_update(200);
    let mut buf = [0u8; 4096];
    let err = encode_datagram(&env, &mut buf, DEFAULT_DATAGRAM_LIMIT).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::TooLarge {
                limit: DEFAULT_DATAGRAM_LIMIT
            }
        ),
        "{err}"
    );
    let mut v = Vec::new();
    assert!(matches!(
        encode_to_vec(&env, &mut v, 100),
        Err(WireError::TooLarge { .. })
    ));
    assert!(v.is_empty(), "a refused encoding leaves nothing behind");
}

#[test]
fn oversized_datagram_is_refused_unread() {
    let bytes = vec![0u8; 2000];
    assert!(matches!(
        decode_datagram(&bytes, 1400),
        Err(WireError::TooLarge { .. })
    ));
}

#[test]
fn unknown_kind_from_newer_peer() {
    let env = Envelope::new(me().addr, Control::MemberQuery);
    let mut bytes = Vec::new();
    encode_to_vec(&env, &mut bytes, usize::MAX).unwrap();
    // The unit variant is encoded by name; rename it to a kind we do not know.
    let pos = bytes.windows(11).position(|w| w == b"MemberQuery").unwrap();
    bytes[pos..pos + 11].copy_from_slice(b"MemberQuake");
    let err = decode(&bytes).unwrap_err();
    assert!(matches!(err, WireError::UnknownKind(_)), "{err}");
}

#[test]
fn newer_protocol_version_is_named() {
    let mut env = Envelope::new(me().addr, Control::MemberQuery);
    env.protocol = 9;
    let mut bytes = Vec::new();
    encode_to_vec(&env, &mut bytes, usize::MAX).unwrap();
    assert!(matches!(
        decode(&bytes),
        Err(WireError::UnsupportedProtocol(9))
    ));
}

#[test]
fn malformed_input() {
    for bytes in [&b""[..], &[0xc1], &[0x93, 0x01], b"hello world"] {
        assert!(
            matches!(decode(bytes), Err(WireError::Malformed(_))),
            "{bytes:?}"
        );
    }
}

#[test]
fn oversized_frame_is_refused_before_reading_its_body() {
    // A prefix announcing 4 GiB followed by nothing: refused from the prefix alone.
    let mut reader = &[0xff, 0xff, 0xff, 0xff][..];
    let mut buf = Vec::new();
    let err = read_frame(&mut reader, &mut buf, DEFAULT_MAX_FRAME).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::FrameTooLarge {
                size: 0xffff_ffff,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(buf.capacity(), 0, "nothing allocated for a refused frame");
}

#[test]
fn writing_an_oversized_frame_is_refused() {
    let env = big_update(100);
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let err = write_frame(&mut out, &env, &mut scratch, 512).unwrap_err();
    assert!(matches!(err, WireError::TooLarge { .. }), "{err}");
    assert!(out.is_empty());
}

#[test]
fn truncated_frames() {
    let mut reader = &[0x00, 0x00][..];
    let mut buf = Vec::new();
    assert!(matches!(
        read_frame(&mut reader, &mut buf, 1024),
        Err(WireError::Truncated { got: 2, want: 4 })
    ));
    let mut reader = &[0x00, 0x00, 0x00, 0x10, 0x93][..];
    assert!(matches!(
        read_frame(&mut reader, &mut buf, 1024),
        Err(WireError::Truncated { got: 1, want: 16 })
    ));
}

#[test]
fn ping_sized_message_fits_easily() {
    let env = Envelope::new(
        me().addr,
        Gossip::Detector {
            detector: "swim".into(),
            sender: me(),
            payload: vec![1, 2, 3, 4, 5, 6, 7, 8],
            updates: Vec::new(),
            extras: Extras::new(),
        },
    );
    let mut buf = [0u8; DEFAULT_DATAGRAM_LIMIT];
    let n = encode_into(&env, &mut buf).unwrap();
    assert!(n < 100, "ping is {n} bytes");
}

#[test]
fn compact_records_with_bad_contents_are_malformed() {
    let env = big_update(2);
    let mut bytes = Vec::new();
    encode_to_vec(&env, &mut bytes, usize::MAX).unwrap();
    // The update list is the last value: a bin8 of two 24-byte IPv4 records.
    let list = bytes.len() - 48;
    assert_eq!(bytes[list - 2..list], [0xc4, 48]);
    let mut bad_state = bytes.clone();
    bad_state[list + 15] = 9; // state code of the first record
    assert!(matches!(decode(&bad_state), Err(WireError::Malformed(_))));
    let mut bad_family = bytes.clone();
    bad_family[list] = 5; // address family of the first record
    assert!(matches!(decode(&bad_family), Err(WireError::Malformed(_))));
    let mut short = bytes[..bytes.len() - 1].to_vec();
    short[list - 1] = 47; // a record cut short
    assert!(matches!(decode(&short), Err(WireError::Malformed(_))));
}
