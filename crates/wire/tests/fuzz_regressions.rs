//! Inputs from the fuzz targets (`fuzz/`, "Fuzzing" in the README) that
//! broke a promise of the codec, kept so the promise stays kept.

use rumor_wire::*;

/// `decode` promises that an envelope of another protocol version fails
/// with `UnsupportedProtocol`. It read the version before the body only in
/// MessagePack's one-byte form, so a version written as `0xcc N` (a valid,
/// longer encoding of the same integer) decoded as if it were this build's.
/// The `datagram` target's input (selector byte first) was
/// `00 93 cc 03 c4 07 04 7f 00 00 01 0b b8 ab 4d 65 6d 62 65 72 51 75 65 72 79`:
/// a `MemberQuery` of protocol 3 from 127.0.0.1:3000, decoded as protocol
/// 3 while this build spoke 2. Built here from whatever version this build
/// speaks.
#[test]
fn a_protocol_version_in_a_longer_integer_form_is_refused() {
    let from = "127.0.0.1:3000".parse().unwrap();
    let envelope = Envelope::new(from, Control::MemberQuery);
    let mut bytes = Vec::new();
    encode_to_vec(&envelope, &mut bytes, usize::MAX).unwrap();
    assert_eq!(bytes[..2], [0x93, PROTOCOL_VERSION]);
    let long_form = |version: u8| [&[0x93, 0xcc, version][..], &bytes[2..]].concat();

    let other = PROTOCOL_VERSION + 1;
    assert!(
        matches!(decode(&long_form(other)), Err(WireError::UnsupportedProtocol(v)) if v == other),
        "{:?}",
        decode(&long_form(other))
    );
    // The version this build speaks, however it is written, still decodes.
    assert_eq!(decode(&long_form(PROTOCOL_VERSION)).unwrap(), envelope);
}
