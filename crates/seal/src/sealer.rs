//! The shared sealer: its configuration, its keyring, what it is made of.
//! Sealing is in `seal.rs`, opening in `open.rs`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};

use crate::cipher::Cipher;
use crate::error::SealError;
use crate::key::Key;
use crate::keyring::Keyring;
use crate::live_ring::LiveRing;
use crate::nonce::NonceSource;
use crate::packet::{HEADER_LEN, LabelId, MAX_LABEL_LEN};
use crate::replay::{NonceNames, ReplayGuard};
use crate::stats::{Counters, Stats};

/// The longest recipient name bound into a packet ([`Sealer::seal_for`]):
/// room for an IPv6 socket address in any compact form.
pub const MAX_RECIPIENT_LEN: usize = 32;

/// The largest associated data: header, label, recipient.
pub(crate) const AAD_MAX: usize = HEADER_LEN + MAX_LABEL_LEN + MAX_RECIPIENT_LEN;

/// How far a packet's timestamp may be from our clock, either way, unless
/// configured otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Nonces each replay-cache generation holds unless configured otherwise.
pub const DEFAULT_MAX_ENTRIES: usize = 65_536;

/// Tuning of a [`Sealer`]'s freshness and replay checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealerConfig {
    /// A packet whose timestamp is further than this from our clock, in
    /// either direction, is refused as [`OpenError::Stale`](crate::OpenError::Stale).
    /// Clocks across the cluster must agree to well within it.
    pub window: Duration,
    /// Nonces one replay-cache generation holds; a generation spans
    /// `window / 2` of arrivals. When it is full, packets are refused as
    /// [`OpenError::ReplayCacheFull`](crate::OpenError::ReplayCacheFull)
    /// until it rotates, so this bounds the packets a node can accept per
    /// `window / 2`. The cache holds at most five generations, 10 to 20
    /// bytes per entry (about 6 MiB at the default).
    pub max_entries: usize,
}

impl SealerConfig {
    /// A `window` either way and `max_entries` nonces per replay-cache
    /// generation.
    pub const fn new(window: Duration, max_entries: usize) -> SealerConfig {
        SealerConfig {
            window,
            max_entries,
        }
    }
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
/// It seals with one [`Cipher`] ([`Cipher::preferred`] unless
/// [`sealing_with`](Sealer::sealing_with) says otherwise) and opens
/// packets of either. Each key's cipher instances are built when the key
/// enters the keyring, not per packet. The keyring sits behind a
/// read-write lock, so [`install`](Sealer::install),
/// [`use_key`](Sealer::use_key) and [`remove`](Sealer::remove) take effect
/// for the next packet on every thread; sealing and opening hold the read
/// lock while the AEAD runs. Nonces come from one atomic counter (see
/// the crate's docs). The replay cache sits behind a mutex held for a few
/// hash-set operations per opened packet.
pub struct Sealer {
    pub(crate) label: String,
    pub(crate) label_id: LabelId,
    pub(crate) window_ms: u64,
    pub(crate) cipher: Cipher,
    pub(crate) ring: RwLock<LiveRing>,
    pub(crate) nonces: NonceSource,
    pub(crate) names: NonceNames,
    pub(crate) replay: Mutex<ReplayGuard>,
    pub(crate) counters: Counters,
}

impl Sealer {
    /// A sealer for the cluster named `label` (at most 64 bytes; see
    /// [`DEFAULT_LABEL`](crate::DEFAULT_LABEL)), sealing with
    /// [`Cipher::preferred`].
    ///
    /// # Errors
    ///
    /// [`SealError::LabelTooLong`]; [`SealError::Random`] if the operating
    /// system gives no random bytes to start the nonces from.
    pub fn new(keyring: Keyring, label: &str, config: SealerConfig) -> Result<Sealer, SealError> {
        if label.len() > MAX_LABEL_LEN {
            return Err(SealError::LabelTooLong { len: label.len() });
        }
        let window_ms = u64::try_from(config.window.as_millis()).unwrap_or(u64::MAX);
        Ok(Sealer {
            label: label.to_owned(),
            label_id: LabelId::of(label),
            window_ms,
            cipher: Cipher::preferred(),
            ring: RwLock::new(LiveRing::new(keyring)),
            nonces: NonceSource::new()?,
            names: NonceNames::default(),
            replay: Mutex::new(ReplayGuard::new(window_ms, config.max_entries)),
            counters: Counters::default(),
        })
    }

    /// This sealer, sealing with `cipher` from now on (it opens both
    /// either way). For a cluster part of which runs a build that knows
    /// only [`Cipher::XChaCha20Poly1305`], or to compare.
    #[must_use]
    pub fn sealing_with(mut self, cipher: Cipher) -> Sealer {
        self.cipher = cipher;
        self
    }

    /// The cipher this sealer seals with.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The AAD: the clear header, the label, and the recipient, so the
    /// label and the recipient bind without travelling.
    pub(crate) fn aad<'a>(
        &self,
        header: &[u8],
        recipient: &[u8],
        buf: &'a mut [u8; AAD_MAX],
    ) -> &'a [u8] {
        let label_end = header.len() + self.label.len();
        let len = label_end + recipient.len();
        buf[..header.len()].copy_from_slice(header);
        buf[header.len()..label_end].copy_from_slice(self.label.as_bytes());
        buf[label_end..len].copy_from_slice(recipient);
        &buf[..len]
    }

    /// A copy of the current keyring.
    pub fn keyring(&self) -> Keyring {
        self.ring.read().keyring().clone()
    }

    /// Replaces the whole keyring, e.g. after rereading the keyring file.
    /// Returns whether it differed.
    pub fn set_keyring(&self, keyring: Keyring) -> bool {
        self.ring.write().change(|current| {
            let changed = *current != keyring;
            *current = keyring;
            changed
        })
    }

    /// [`Keyring::install`] on the live keyring.
    ///
    /// # Errors
    ///
    /// As [`Keyring::install`].
    pub fn install(&self, key: Key) -> Result<bool, SealError> {
        self.ring.write().change(|ring| ring.install(key))
    }

    /// [`Keyring::use_key`] on the live keyring: the next packet sealed on
    /// any thread uses `key`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::use_key`].
    pub fn use_key(&self, key: &Key) -> Result<bool, SealError> {
        self.ring.write().change(|ring| ring.use_key(key))
    }

    /// [`Keyring::remove`] on the live keyring: packets sealed with `key`
    /// are refused as [`OpenError::WrongKey`](crate::OpenError::WrongKey)
    /// from now on.
    ///
    /// # Errors
    ///
    /// As [`Keyring::remove`].
    pub fn remove(&self, key: &Key) -> Result<(), SealError> {
        self.ring.write().change(|ring| ring.remove(key))
    }

    /// The cluster label bound into every packet.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Bytes this sealer adds to a plaintext: its cipher's
    /// [`overhead`](Cipher::overhead), at most
    /// [`OVERHEAD`](crate::OVERHEAD). A packet received may carry up to
    /// [`OVERHEAD`](crate::OVERHEAD).
    pub fn overhead(&self) -> usize {
        self.cipher.overhead()
    }

    /// Length of the header this sealer writes in front of the ciphertext:
    /// the room [`seal_in_place`](Sealer::seal_in_place) needs.
    pub fn header_len(&self) -> usize {
        self.cipher.header_len()
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
            .field("cipher", &self.cipher)
            .field("window_ms", &self.window_ms)
            .field("keyring", self.ring.read().keyring())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
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
        let aad = sealer.aad(&[7; 29], b"to", &mut buf);
        assert_eq!(aad, [[7; 29].as_slice(), b"abc", b"to"].concat());
    }

    #[test]
    fn seals_with_the_preferred_cipher_unless_told() {
        let ring = Keyring::new(Key::from_bytes([1; 32]));
        let sealer = Sealer::new(ring, "rumor", SealerConfig::default()).unwrap();
        assert_eq!(sealer.cipher(), Cipher::preferred());
        let sealer = sealer.sealing_with(Cipher::XChaCha20Poly1305);
        assert_eq!(sealer.cipher(), Cipher::XChaCha20Poly1305);
        assert_eq!(sealer.overhead(), 57);
        assert_eq!(sealer.header_len(), 41);
        let sealer = sealer.sealing_with(Cipher::Aes256Gcm);
        assert_eq!((sealer.overhead(), sealer.header_len()), (45, 29));
    }
}
