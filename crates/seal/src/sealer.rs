//! The shared sealer: seals outgoing packets with the primary key, opens
//! incoming ones with any installed key, refuses replays, counts causes.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chacha20poly1305::{AeadInOut, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use parking_lot::{Mutex, RwLock};

use crate::error::SealError;
use crate::key::Key;
use crate::keyring::Keyring;
use crate::nonce::fresh_nonce;
use crate::open_error::OpenError;
use crate::packet::{HEADER_LEN, Header, LabelId, MAX_LABEL_LEN, OVERHEAD, TAG_LEN};
use crate::replay::ReplayGuard;
use crate::stats::{Counters, Stats};

/// The longest recipient name bound into a packet ([`Sealer::seal_for`]):
/// room for an IPv6 socket address in any compact form.
pub const MAX_RECIPIENT_LEN: usize = 32;

/// The largest associated data: header, label, recipient.
const AAD_MAX: usize = HEADER_LEN + MAX_LABEL_LEN + MAX_RECIPIENT_LEN;

/// How far a packet's timestamp may be from our clock, either way, unless
/// configured otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Nonces each replay-cache generation holds unless configured otherwise.
pub const DEFAULT_MAX_ENTRIES: usize = 65_536;

/// Tuning of a [`Sealer`]'s freshness and replay checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealerConfig {
    /// A packet whose timestamp is further than this from our clock, in
    /// either direction, is refused as [`OpenError::Stale`]. Clocks across
    /// the cluster must agree to well within it.
    pub window: Duration,
    /// Nonces one replay-cache generation holds; a generation spans
    /// `window / 2` of arrivals. When it is full, packets are refused as
    /// [`OpenError::ReplayCacheFull`] until it rotates, so this bounds the
    /// packets a node can accept per `window / 2`. The cache holds at most
    /// five generations, 10 to 20 bytes per entry (about 6 MiB at the
    /// default).
    pub max_entries: usize,
}

impl Default for SealerConfig {
    fn default() -> SealerConfig {
        SealerConfig {
            window: DEFAULT_WINDOW,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Seals and opens packets for one cluster label; shared by every thread
/// of an agent that sends or receives.
///
/// The keyring sits behind a read-write lock, so [`install`](Sealer::install),
/// [`use_key`](Sealer::use_key) and [`remove`](Sealer::remove) take effect
/// for the next packet on every thread; sealing and opening hold the read
/// lock only to copy one key. The replay cache sits behind a mutex held for
/// a few hash-set operations per opened packet.
pub struct Sealer {
    label: String,
    label_id: LabelId,
    window_ms: u64,
    keyring: RwLock<Keyring>,
    replay: Mutex<ReplayGuard>,
    counters: Counters,
}

impl Sealer {
    /// A sealer for the cluster named `label` (at most 64 bytes; see
    /// [`DEFAULT_LABEL`](crate::DEFAULT_LABEL)).
    ///
    /// # Errors
    ///
    /// [`SealError::LabelTooLong`].
    pub fn new(keyring: Keyring, label: &str, config: SealerConfig) -> Result<Sealer, SealError> {
        if label.len() > MAX_LABEL_LEN {
            return Err(SealError::LabelTooLong { len: label.len() });
        }
        let window_ms = u64::try_from(config.window.as_millis()).unwrap_or(u64::MAX);
        Ok(Sealer {
            label: label.to_owned(),
            label_id: LabelId::of(label),
            window_ms,
            keyring: RwLock::new(keyring),
            replay: Mutex::new(ReplayGuard::new(window_ms, config.max_entries)),
            counters: Counters::default(),
        })
    }

    /// Seals `plaintext` with the primary key, stamped `now_ms` (Unix time
    /// in milliseconds), and *appends* the packet (header, ciphertext, tag:
    /// `plaintext.len() + OVERHEAD` bytes) to `out`, after whatever it
    /// holds, e.g. a frame's length prefix. Allocates nothing when `out`
    /// has the capacity.
    ///
    /// # Errors
    ///
    /// [`SealError::Random`] if the operating system gives no random
    /// nonce, [`SealError::TooLong`] past XChaCha20's 256 GiB; `out` is
    /// then as it was.
    pub fn seal_into(
        &self,
        plaintext: &[u8],
        out: &mut Vec<u8>,
        now_ms: u64,
    ) -> Result<(), SealError> {
        self.seal_for(plaintext, out, now_ms, &[])
    }

    /// [`seal_into`](Sealer::seal_into) for one recipient: `recipient` (at
    /// most [`MAX_RECIPIENT_LEN`] bytes, e.g. the destination's address) is
    /// bound into the associated data without travelling, so the packet
    /// opens only at a receiver that names itself the same way
    /// ([`open_for`](Sealer::open_for)): a datagram captured on its way to
    /// one member and replayed to another is refused as a bad tag, where
    /// each member's nonce cache alone would take it once.
    ///
    /// # Errors
    ///
    /// As [`seal_into`](Sealer::seal_into), and [`SealError::TooLong`]
    /// for a recipient over [`MAX_RECIPIENT_LEN`] bytes.
    pub fn seal_for(
        &self,
        plaintext: &[u8],
        out: &mut Vec<u8>,
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<(), SealError> {
        if recipient.len() > MAX_RECIPIENT_LEN {
            return Err(SealError::TooLong {
                len: recipient.len(),
            });
        }
        let key = self.keyring.read().primary().clone();
        let nonce = fresh_nonce()?;
        let header = Header {
            key_id: key.id(),
            label_id: self.label_id,
            timestamp_ms: now_ms,
            nonce,
        }
        .to_bytes();
        let start = out.len();
        out.reserve(OVERHEAD + plaintext.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(plaintext);
        let mut aad = [0u8; AAD_MAX];
        let aad = self.aad(&header, recipient, &mut aad);
        let sealed = cipher(&key).encrypt_inout_detached(
            &XNonce::from(nonce),
            aad,
            (&mut out[start + HEADER_LEN..]).into(),
        );
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                self.counters.sealed();
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(SealError::TooLong {
                    len: plaintext.len(),
                })
            }
        }
    }

    /// [`seal_into`](Sealer::seal_into) stamped with the system clock.
    ///
    /// # Errors
    ///
    /// As [`seal_into`](Sealer::seal_into).
    pub fn seal_now(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        self.seal_into(plaintext, out, unix_millis())
    }

    /// Opens `packet` received at `now_ms` (Unix time in milliseconds) and
    /// *appends* its plaintext to `out`, decrypting in place there. Checks
    /// run in the order of [`OpenError`]; the first failing one is
    /// returned and counted, and `out` is left as it was. `out` grows by at
    /// most `packet.len() - OVERHEAD` bytes; nothing else is allocated once
    /// the replay cache has grown to its working size. Never panics, on any
    /// input.
    ///
    /// # Errors
    ///
    /// The [`OpenError`] cause.
    pub fn open_into(
        &self,
        packet: &[u8],
        out: &mut Vec<u8>,
        now_ms: u64,
    ) -> Result<(), OpenError> {
        self.open_for(packet, out, now_ms, &[])
    }

    /// [`open_into`](Sealer::open_into) for a packet sealed
    /// [`for`](Sealer::seal_for) `recipient`: this receiver names itself.
    ///
    /// # Errors
    ///
    /// As [`open_into`](Sealer::open_into); a packet sealed for another
    /// recipient fails as [`OpenError::BadTag`].
    pub fn open_for(
        &self,
        packet: &[u8],
        out: &mut Vec<u8>,
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<(), OpenError> {
        let start = out.len();
        let recipient = &recipient[..recipient.len().min(MAX_RECIPIENT_LEN)];
        match self.open_checked(packet, out, start, now_ms, recipient) {
            Ok(()) => {
                self.counters.opened();
                Ok(())
            }
            Err(cause) => {
                // Never hand unauthenticated or replayed plaintext onward.
                out.truncate(start);
                self.counters.refused(cause);
                Err(cause)
            }
        }
    }

    /// [`open_into`](Sealer::open_into) at the system clock's time.
    ///
    /// # Errors
    ///
    /// As [`open_into`](Sealer::open_into).
    pub fn open_now(&self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), OpenError> {
        self.open_into(packet, out, unix_millis())
    }

    fn open_checked(
        &self,
        packet: &[u8],
        out: &mut Vec<u8>,
        start: usize,
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<(), OpenError> {
        let header = Header::parse(packet)?;
        if header.label_id != self.label_id {
            return Err(OpenError::OtherCluster);
        }
        let key = self
            .keyring
            .read()
            .get(header.key_id)
            .cloned()
            .ok_or(OpenError::WrongKey)?;
        if now_ms.abs_diff(header.timestamp_ms) > self.window_ms {
            return Err(OpenError::Stale);
        }
        let (header_bytes, rest) = packet
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(OpenError::Truncated)?;
        let (body, tag) = rest
            .split_last_chunk::<TAG_LEN>()
            .ok_or(OpenError::Truncated)?;
        out.extend_from_slice(body);
        let mut aad = [0u8; AAD_MAX];
        let aad = self.aad(header_bytes, recipient, &mut aad);
        cipher(&key)
            .decrypt_inout_detached(
                &XNonce::from(header.nonce),
                aad,
                (&mut out[start..]).into(),
                &Tag::from(*tag),
            )
            .map_err(|_| OpenError::BadTag)?;
        // Nonces are random: with the cache at its largest (5 × 65,536
        // entries), a fresh packet's 64-bit prefix matches one of them with
        // probability below 2^-45.
        let [a, b, c, d, e, f, g, h, ..] = header.nonce;
        let prefix = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
        self.replay.lock().accept(prefix, now_ms)
    }

    /// The AAD: the clear header, the label, and the recipient, so the
    /// label and the recipient bind without travelling.
    fn aad<'a>(
        &self,
        header: &[u8; HEADER_LEN],
        recipient: &[u8],
        buf: &'a mut [u8; AAD_MAX],
    ) -> &'a [u8] {
        let label_end = HEADER_LEN + self.label.len();
        let len = label_end + recipient.len();
        buf[..HEADER_LEN].copy_from_slice(header);
        buf[HEADER_LEN..label_end].copy_from_slice(self.label.as_bytes());
        buf[label_end..len].copy_from_slice(recipient);
        &buf[..len]
    }

    /// A copy of the current keyring.
    pub fn keyring(&self) -> Keyring {
        self.keyring.read().clone()
    }

    /// Replaces the whole keyring, e.g. after rereading the keyring file.
    /// Returns whether it differed.
    pub fn set_keyring(&self, keyring: Keyring) -> bool {
        let mut current = self.keyring.write();
        let changed = *current != keyring;
        *current = keyring;
        changed
    }

    /// [`Keyring::install`] on the live keyring.
    ///
    /// # Errors
    ///
    /// As [`Keyring::install`].
    pub fn install(&self, key: Key) -> Result<bool, SealError> {
        self.keyring.write().install(key)
    }

    /// [`Keyring::use_key`] on the live keyring: the next packet sealed on
    /// any thread uses `key`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::use_key`].
    pub fn use_key(&self, key: &Key) -> Result<bool, SealError> {
        self.keyring.write().use_key(key)
    }

    /// [`Keyring::remove`] on the live keyring: packets sealed with `key`
    /// are refused as [`OpenError::WrongKey`] from now on.
    ///
    /// # Errors
    ///
    /// As [`Keyring::remove`].
    pub fn remove(&self, key: &Key) -> Result<(), SealError> {
        self.keyring.write().remove(key)
    }

    /// The cluster label bound into every packet.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Bytes sealing adds to a plaintext: [`OVERHEAD`].
    pub fn overhead(&self) -> usize {
        OVERHEAD
    }

    /// The freshness window either side of our clock.
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("label", &self.label)
            .field("window_ms", &self.window_ms)
            .field("keyring", &*self.keyring.read())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key.as_bytes()))
}

/// The system clock as Unix time in milliseconds (0 before 1970).
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const _: fn() = || {
        fn shared<T: Send + Sync>() {}
        shared::<Sealer>();
    };

    #[test]
    fn labels_longer_than_64_bytes_are_refused() {
        let ring = Keyring::new(Key::from_bytes([1; 32]));
        assert!(Sealer::new(ring.clone(), &"x".repeat(64), SealerConfig::default()).is_ok());
        let error = Sealer::new(ring, &"x".repeat(65), SealerConfig::default()).unwrap_err();
        assert!(matches!(error, SealError::LabelTooLong { len: 65 }));
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let key = Key::from_bytes([1; 32]);
        let sealer =
            Sealer::new(Keyring::new(key.clone()), "rumor", SealerConfig::default()).unwrap();
        let shown = format!("{sealer:?}");
        assert!(shown.contains(&key.id().to_string()), "{shown}");
        assert!(!shown.contains(&key.to_base64()), "{shown}");
    }

    #[test]
    fn the_aad_is_header_then_label_then_recipient() {
        let sealer = Sealer::new(
            Keyring::new(Key::from_bytes([1; 32])),
            "abc",
            SealerConfig::default(),
        )
        .unwrap();
        let mut buf = [0u8; AAD_MAX];
        let aad = sealer.aad(&[7; HEADER_LEN], b"", &mut buf);
        assert_eq!(aad, [[7; HEADER_LEN].as_slice(), b"abc"].concat());
        let aad = sealer.aad(&[7; HEADER_LEN], b"to", &mut buf);
        assert_eq!(aad, [[7; HEADER_LEN].as_slice(), b"abc", b"to"].concat());
    }
}
