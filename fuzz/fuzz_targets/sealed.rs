//! The sealer's opening side: `Sealer::open_into`, `open_for` and
//! `open_in_place_for` on arbitrary bytes, and on mutations of a packet
//! sealed here (with either cipher), under the fuzz key at a fixed time.
//!
//! Input: one mode byte. Even modes: the rest is a packet, opened at
//! `FIXED_NOW_MS`, then for the keyed cluster's pseudo member at the
//! packet's own timestamp (so captured datagrams reach the tag check and,
//! being genuine, open; a second open of one is a replay), and opened in
//! place by another sealer, which must agree. Odd modes: an
//! operation byte, a position (2 bytes, big-endian), a value byte, then a
//! plaintext, sealed for the pseudo member at `FIXED_NOW_MS` with the
//! cipher the operation byte picks, and altered
//! by the operation: flip a bit, truncate, extend, overwrite a byte, leave
//! it, open it as another recipient, or open it late or early. It must
//! open exactly when nothing changed and it is within the window.
//!
//! Whatever the outcome, the output buffer is checked against the
//! documented contract: untouched on a refusal, grown by the plaintext's
//! length on success.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rumor_fuzz::{FIXED_NOW_MS, SETUPS, fuzz_sealer, recipient, spy};
use rumor_seal::{Cipher, OpenError, Sealer};

/// Opens `packet` into a buffer already holding something (`open_into`
/// without a recipient, `open_for` with one), checking what the call did
/// to the buffer; returns the result and the plaintext.
fn open(
    sealer: &Sealer,
    packet: &[u8],
    now_ms: u64,
    recipient: Option<&[u8]>,
) -> (Result<(), OpenError>, Vec<u8>) {
    const BEFORE: &[u8] = b"kept";
    let mut out = BEFORE.to_vec();
    let result = match recipient {
        None => sealer.open_into(packet, &mut out, now_ms),
        Some(recipient) => sealer.open_for(packet, &mut out, now_ms, recipient),
    };
    match result {
        Ok(()) => {
            let cipher = Cipher::of_packet(packet).expect("an opened packet names its cipher");
            let plaintext = packet.len() - cipher.overhead();
            assert_eq!(out.len(), BEFORE.len() + plaintext, "{result:?}");
            assert_eq!(&out[..BEFORE.len()], BEFORE);
        }
        Err(_) => assert_eq!(
            out, BEFORE,
            "a refused packet left plaintext behind: {result:?}"
        ),
    }
    (result, out.split_off(BEFORE.len()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let sealer = fuzz_sealer();
    let me = recipient(spy(SETUPS[3]).addr);
    if mode % 2 == 0 {
        let _ = open(&sealer, rest, FIXED_NOW_MS, None);
        if let Some(sent) = rest.get(9..17) {
            let sent = u64::from_be_bytes(sent.try_into().expect("8 bytes"));
            let (first, _) = open(&sealer, rest, sent, Some(&me));
            if first.is_ok() {
                let (again, _) = open(&sealer, rest, sent, Some(&me));
                assert_eq!(again, Err(OpenError::Replayed));
            }
            // In place, by sealers that have seen nothing: the same verdict
            // and plaintext as a copy, and a packet refused before its tag
            // was checked left as it was.
            let (copied, plain) = open(&fuzz_sealer(), rest, sent, Some(&me));
            let mut packet = rest.to_vec();
            let in_place = fuzz_sealer().open_in_place_for(&mut packet, sent, &me);
            assert_eq!(in_place.clone().map(|_| ()), copied);
            match in_place {
                Ok(range) => assert_eq!(packet[range], plain[..]),
                Err(OpenError::BadTag | OpenError::Replayed | OpenError::ReplayCacheFull) => {}
                Err(_) => assert_eq!(packet, rest, "refused early, yet changed"),
            }
        }
        return;
    }
    let [op, hi, lo, value, plaintext @ ..] = rest else {
        return;
    };
    let position = usize::from(u16::from_be_bytes([*hi, *lo]));
    // Operations 0..7 seal with one cipher, 7..14 with the other, and so on.
    let cipher = Cipher::ALL[usize::from(op / 7) % Cipher::ALL.len()];
    let sealer = sealer.sealing_with(cipher);
    let mut packet = Vec::new();
    sealer
        .seal_for(plaintext, &mut packet, FIXED_NOW_MS, &me)
        .expect("sealing a short plaintext");
    let original = packet.clone();
    let mut to = me.clone();
    let mut now_ms = FIXED_NOW_MS;
    match op % 7 {
        0 => packet[position % original.len()] ^= 1 << (value & 7),
        1 => packet.truncate(position % (original.len() + 1)),
        2 => packet.extend(std::iter::repeat_n(*value, usize::from(value % 32) + 1)),
        3 => packet[position % original.len()] = *value,
        4 => {}
        5 => to = recipient(spy(SETUPS[usize::from(value & 3)]).addr),
        _ => {
            // Up to ±65.5 s, either side of the 60 s window.
            let shift = position as u64;
            now_ms = if value & 1 == 0 {
                now_ms + shift
            } else {
                now_ms - shift
            };
        }
    }
    let fresh = now_ms.abs_diff(FIXED_NOW_MS) <= sealer.window().as_millis() as u64;
    let should_open = packet == original && to == me && fresh;
    let (result, opened) = open(&sealer, &packet, now_ms, Some(&to));
    assert_eq!(result.is_ok(), should_open, "op {op}: {result:?}");
    if should_open {
        assert_eq!(opened, plaintext);
        let (again, _) = open(&sealer, &packet, now_ms, Some(&to));
        assert_eq!(again, Err(OpenError::Replayed));
    }
});
