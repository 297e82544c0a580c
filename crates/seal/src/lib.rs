//! Authenticated encryption of every rumor datagram and TCP frame, a
//! keyring with live rotation, and replay protection.
//!
//! # What it is for
//!
//! A rumor cluster on a network it does not own: members must refuse
//! membership traffic from anyone without the cluster key, and nobody
//! without it should read who is in the cluster. A [`Sealer`], shared by
//! an agent's UDP receive path, TCP service threads and sender pool,
//! seals each outgoing datagram or frame body with XChaCha20-Poly1305 under
//! the keyring's primary key and opens incoming ones under any installed
//! key, refusing what is forged, corrupted, for another cluster, stale or
//! replayed, and counting each cause.
//!
//! Keys rotate live and without loss: [`Sealer::install`] the new key on
//! every node, then [`Sealer::use_key`] it everywhere, then
//! [`Sealer::remove`] the old one. A [`Keyring`] is kept in a file of
//! base64 keys ([`Keyring::load`], [`Keyring::save`]) readable by its
//! owner only.
//!
//! # What it is not for
//!
//! - Not a secure channel between two peers: every member holds the same
//!   key, so any member can impersonate any other. Sealing keeps out those
//!   without the key, not a compromised member.
//! - No forward secrecy, no handshake, no key exchange: keys are
//!   distributed out of band (the keyring file).
//! - It hides contents, not traffic: packet sizes, timing, addresses and
//!   the key and label ids travel in clear.
//! - Replay protection needs clocks agreeing to well within the window
//!   (default 60 s) and is per process: a restarted agent forgets what it
//!   accepted, so a packet captured shortly before the restart, and still
//!   within the window, can be replayed to it once.
//!
//! # Packet format
//!
//! A sealed packet is a datagram or a TCP frame body (the frame's length
//! prefix stays outside, in clear):
//!
//! ```text
//! byte 0        format version = 1
//! bytes 1..5    key id   = first 4 bytes of SHA-256("rumor-key-id" || key)
//! bytes 5..9    label id = first 4 bytes of SHA-256("rumor-label" || label)
//! bytes 9..17   sender's Unix time in milliseconds, u64 big-endian
//! bytes 17..41  XChaCha20 nonce (24 random bytes)
//! bytes 41..    ciphertext || 16-byte Poly1305 tag
//! AAD = bytes 0..41 of the packet, followed by the label's UTF-8 bytes
//! ```
//!
//! Sealing adds [`OVERHEAD`] = 57 bytes. Random 24-byte nonces never
//! collide in practice however many senders share a key for however long,
//! so no node coordinates nonces with another. The label binds into the
//! AAD so two clusters sharing a key never accept each other's packets.
//! Opening checks, in order: length, version, label id, key id,
//! timestamp, tag, replay; see [`OpenError`].
//!
//! # Example
//!
//! ```
//! use rumor_seal::{DEFAULT_LABEL, Keyring, OpenError, Sealer, SealerConfig, generate_key};
//!
//! let keyring = Keyring::new(generate_key()?);
//! let sealer = Sealer::new(keyring, DEFAULT_LABEL, SealerConfig::default())?;
//! let now_ms = 1_763_900_000_000;
//!
//! let mut packet = Vec::new();
//! sealer.seal_into(b"ping", &mut packet, now_ms)?;
//! assert_eq!(packet.len(), 4 + sealer.overhead());
//!
//! let mut plaintext = Vec::new();
//! sealer.open_into(&packet, &mut plaintext, now_ms + 5)?;
//! assert_eq!(plaintext, b"ping");
//!
//! // The same packet again is a replay.
//! plaintext.clear();
//! assert_eq!(sealer.open_into(&packet, &mut plaintext, now_ms + 9), Err(OpenError::Replayed));
//!
//! // One flipped bit anywhere in the ciphertext and the tag fails.
//! let mut forged = packet.clone();
//! forged[45] ^= 0x01;
//! assert_eq!(sealer.open_into(&forged, &mut plaintext, now_ms + 9), Err(OpenError::BadTag));
//! assert!(plaintext.is_empty());
//!
//! let stats = sealer.stats();
//! assert_eq!((stats.sealed, stats.opened, stats.replayed, stats.bad_tag), (1, 1, 1, 1));
//! assert_eq!(OpenError::BadTag.name(), "bad_tag");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod error;
mod key;
mod keyring;
mod keyring_file;
mod nonce;
mod open_error;
mod packet;
mod replay;
mod sealer;
mod stats;

pub use error::SealError;
pub use key::{KEY_LEN, Key, KeyId, generate_key};
pub use keyring::{Keyring, MAX_KEYS};
pub use keyring_file::MAX_FILE_LEN;
pub use open_error::OpenError;
pub use packet::{
    DEFAULT_LABEL, HEADER_LEN, LabelId, MAX_LABEL_LEN, NONCE_LEN, OVERHEAD, TAG_LEN, VERSION,
};
pub use sealer::{
    DEFAULT_MAX_ENTRIES, DEFAULT_WINDOW, MAX_RECIPIENT_LEN, Sealer, SealerConfig, unix_millis,
};
pub use stats::Stats;
