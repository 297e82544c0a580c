//! A failure detector's own message: arbitrary bytes as the payload of a
//! `Gossip::Detector` from a member the core already knows, so the
//! detector's payload decoder and handler run (an unknown sender would
//! stop at the core's sender check).
//!
//! Input: one selector byte (the detector, as in `rumor_fuzz::setup`, and
//! how long time runs afterwards), the sender's host octet on the setup's
//! loopback network, its version (8 bytes, big-endian), then the payload.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rumor_fuzz::{CORE_CLOCK_MS, Harness, SPY_HOST, host_addr, schedule, setup};
use rumor_membership::{Gossip, NodeId, Version};

fuzz_target!(|data: &[u8]| {
    let [selector, host, v0, v1, v2, v3, v4, v5, v6, v7, payload @ ..] = data else {
        return;
    };
    let setup = setup(*selector);
    // The core's own address is never another member's.
    let host = if *host == SPY_HOST { 1 } else { *host };
    // A version past the core's clock is refused before the detector
    // sees anything: keep every sender one the core believes.
    let version = u64::from_be_bytes([*v0, *v1, *v2, *v3, *v4, *v5, *v6, *v7]).min(CORE_CLOCK_MS);
    let sender = NodeId::new(host_addr(setup, host), Version(version));

    let mut harness = Harness::new(*selector);
    assert!(harness.learn(sender), "a fresh core did not learn {sender}");
    let message = Gossip::Detector {
        detector: setup.detector.to_string(),
        sender,
        payload: payload.to_vec(),
        updates: Vec::new(),
        extras: Default::default(),
    };
    harness.deliver(rumor_wire::Envelope::new(sender.addr, message));
    let (steps, step) = schedule(*selector);
    harness.run(steps, step);
});
