//! Decoding never allocates more than a small multiple of the input length,
//! whatever lengths the input claims. Measured with a counting allocator.
// A global allocator is an unsafe trait; the impl only forwards to System.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak bytes allocated while decoding `bytes`.
fn peak_while_decoding(bytes: &[u8]) -> usize {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let _ = rumor_wire::decode(bytes);
    PEAK.load(Ordering::SeqCst) - base
}

// 64 bytes of decoded structure per input byte is far more than any of our
// types needs, and far less than the megabyte serde would preallocate from a
// hostile length claim.
const PER_BYTE: usize = 64;
const SLACK: usize = 4096;

#[test]
fn hostile_length_claims_allocate_nothing_big() {
    // A valid dgrep request whose pattern list (array of one) is rewritten to
    // claim 2^32-1 patterns, in a few dozen bytes.
    let env = rumor_wire::Envelope::new(
        "127.0.0.1:3000".parse().unwrap(),
        rumor_wire::Dgrep::Request(rumor_wire::DgrepRequest {
            query: 1,
            patterns: vec!["x".into()],
            flags: Default::default(),
        }),
    );
    let mut valid = Vec::new();
    rumor_wire::encode_to_vec(&env, &mut valid, usize::MAX).unwrap();
    let at = valid
        .windows(3)
        .position(|w| w == [0x91, 0xa1, b'x'])
        .unwrap();
    let mut bytes = valid[..at].to_vec();
    bytes.extend_from_slice(&[0xdd, 0xff, 0xff, 0xff, 0xff]);
    bytes.extend_from_slice(&valid[at + 1..]);
    let peak = peak_while_decoding(&bytes);
    assert!(
        peak <= bytes.len() * PER_BYTE + SLACK,
        "peak {peak} for {} bytes",
        bytes.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn random_inputs_allocate_in_proportion(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let peak = peak_while_decoding(&bytes);
        prop_assert!(peak <= bytes.len() * PER_BYTE + SLACK, "peak {} for {} bytes", peak, bytes.len());
    }
}
