//! Nonces that never repeat within a sealer: consecutive 96-bit integers
//! from a random starting point, one atomic increment per packet.
//!
//! # Why they are unique under a key
//!
//! AES-GCM loses everything when a nonce repeats under one key (the
//! authentication key leaks and forgeries follow), and every member of a
//! cluster seals under the same key. Random 96-bit nonces would allow about
//! 2^32 packets per key across the whole cluster (NIST SP 800-38D), a
//! bound a busy cluster reaches within a day. Here each [`NonceSource`]
//! (one per [`Sealer`](crate::Sealer), so per process) draws a random
//! 96-bit start `S` from the operating system once, and its `n`-th nonce
//! is `S + n` modulo 2^96, for every key and both ciphers:
//!
//! - Within one source no nonce repeats: `n` comes from a 64-bit atomic
//!   counter that no two seals share and that does not wrap (2^64 packets
//!   at a billion a second is 584 years).
//! - Two sources collide only if their ranges overlap. After `L` packets
//!   each, that has a probability below `2L / 2^96` per pair of sources;
//!   for a million sealer starts (agents and their restarts) of 2^32
//!   packets each, below 2^-23 in all, against 2^-33 for just 2^32
//!   random nonces.
//!
//! XChaCha20-Poly1305 gets 12 more random bytes per source in front of the
//! same counter (24 bytes in all), so its nonces never collide across
//! sources in practice either.
//!
//! A process that forks and seals in both parent and child, or a virtual
//! machine restored twice from one snapshot, would repeat nonces: rumor
//! never forks without exec; do not clone a running agent's memory.
//! Nonces are not secret: the counter shows how many packets a sealer has
//! sealed since it started, nothing more.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::cipher::Cipher;
use crate::error::SealError;

/// Random bytes in front of the counter in XChaCha20's 24-byte nonce.
const SALT_LEN: usize = 12;
/// The counter's width: AES-GCM's whole nonce.
const COUNTER_LEN: usize = 12;
const COUNTER_MASK: u128 = (1 << 96) - 1;

/// A sealer's source of never-repeating nonces; shared by every thread
/// that seals through it.
#[derive(Debug)]
pub(crate) struct NonceSource {
    salt: [u8; SALT_LEN],
    start: u128,
    next: AtomicU64,
}

impl NonceSource {
    /// A source with a random salt and starting point from the operating
    /// system.
    ///
    /// # Errors
    ///
    /// [`SealError::Random`] if the operating system gives no randomness.
    pub fn new() -> Result<NonceSource, SealError> {
        let mut seed = [0u8; SALT_LEN + 16];
        getrandom::fill(&mut seed).map_err(SealError::random)?;
        let (salt, start) = seed.split_at(SALT_LEN);
        let start = u128::from_be_bytes(start.try_into().expect("16 bytes"));
        Ok(NonceSource::from_parts(
            salt.try_into().expect("12 bytes"),
            start,
        ))
    }

    fn from_parts(salt: [u8; SALT_LEN], start: u128) -> NonceSource {
        NonceSource {
            salt,
            start: start & COUNTER_MASK,
            next: AtomicU64::new(0),
        }
    }

    /// Writes the next nonce for `cipher` into `out`, which is
    /// [`Cipher::nonce_len`] bytes long.
    pub fn fill(&self, cipher: Cipher, out: &mut [u8]) {
        // Relaxed: uniqueness needs only that no two calls get the same n.
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let counter = self.start.wrapping_add(u128::from(n)) & COUNTER_MASK;
        let counter = &counter.to_be_bytes()[16 - COUNTER_LEN..];
        match cipher {
            Cipher::Aes256Gcm => out.copy_from_slice(counter),
            Cipher::XChaCha20Poly1305 => {
                out[..SALT_LEN].copy_from_slice(&self.salt);
                out[SALT_LEN..].copy_from_slice(counter);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;

    fn nonce(source: &NonceSource, cipher: Cipher) -> Vec<u8> {
        let mut out = vec![0u8; cipher.nonce_len()];
        source.fill(cipher, &mut out);
        out
    }

    #[test]
    fn consecutive_from_a_random_start() {
        let source = NonceSource::new().unwrap();
        let a = nonce(&source, Cipher::Aes256Gcm);
        let b = nonce(&source, Cipher::Aes256Gcm);
        let x = nonce(&source, Cipher::XChaCha20Poly1305);
        let value = |bytes: &[u8]| {
            let mut wide = [0u8; 16];
            wide[4..].copy_from_slice(bytes);
            u128::from_be_bytes(wide)
        };
        assert_eq!(value(&b), (value(&a) + 1) & COUNTER_MASK);
        assert_eq!(value(&x[SALT_LEN..]), (value(&a) + 2) & COUNTER_MASK);
        assert_eq!(&x[..SALT_LEN], &source.salt);
        let other = NonceSource::new().unwrap();
        assert_ne!(nonce(&other, Cipher::Aes256Gcm), a, "a fresh random start");
    }

    #[test]
    fn the_counter_wraps_within_96_bits() {
        let source = NonceSource::from_parts([7; SALT_LEN], COUNTER_MASK);
        assert_eq!(nonce(&source, Cipher::Aes256Gcm), [0xff; 12]);
        assert_eq!(nonce(&source, Cipher::Aes256Gcm), [0; 12]);
        assert_eq!(
            nonce(&source, Cipher::Aes256Gcm),
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn no_repeat_across_threads() {
        let source = Arc::new(NonceSource::new().unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let source = Arc::clone(&source);
                std::thread::spawn(move || {
                    (0..25_000)
                        .map(|_| nonce(&source, Cipher::Aes256Gcm))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = HashSet::new();
        for thread in threads {
            for nonce in thread.join().unwrap() {
                assert!(all.insert(nonce), "a nonce repeated");
            }
        }
        assert_eq!(all.len(), 100_000);
    }
}
