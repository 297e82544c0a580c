//! A datagram off the wire: `rumor_wire::decode_datagram` on arbitrary
//! bytes, and whatever decodes handed to a live membership core (the
//! pseudo member of a captured cluster, running gossip, swim or phi), which
//! then runs for a while with every transmit, event and notice drained and
//! checked (see `Harness`). Every membership message kind reaches the
//! core, so digests, updates, `Gone`, leaves and the detectors' payload
//! decoders run, not only the codec; control and dgrep messages, which the
//! agent never takes from a datagram, are only decoded.
//!
//! Input: one selector byte (`rumor_fuzz::setup` and `schedule`), then the
//! datagram.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rumor_fuzz::{Harness, schedule};
use rumor_wire::{
    DEFAULT_DATAGRAM_LIMIT, PROTOCOL_VERSION, decode, decode_datagram, encode_to_vec,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, datagram)) = data.split_first() else {
        return;
    };
    let Ok(envelope) = decode_datagram(datagram, DEFAULT_DATAGRAM_LIMIT) else {
        return;
    };
    // `decode` promises an envelope of another protocol version fails.
    assert_eq!(
        envelope.protocol, PROTOCOL_VERSION,
        "decoded an envelope of another protocol version"
    );
    // What decodes encodes, and reads back as itself.
    let mut again = Vec::new();
    encode_to_vec(&envelope, &mut again, usize::MAX).expect("a decoded envelope encodes");
    assert_eq!(
        decode(&again).ok().as_ref(),
        Some(&envelope),
        "no round trip"
    );

    let mut harness = Harness::new(selector);
    harness.deliver(envelope);
    let (steps, step) = schedule(selector);
    harness.run(steps, step);
});
