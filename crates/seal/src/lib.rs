//! Authenticated encryption of every rumor datagram and TCP frame, a
//! keyring with live rotation, and replay protection.
//!
//! # What it is for
//!
//! A rumor cluster on a network it does not own: members must refuse
//! membership traffic from anyone without the cluster key, and nobody
//! without it should read who is in the cluster. A [`Sealer`], shared by
//! an agent's UDP receive path, TCP service threads and sender pool,
//! seals each outgoing datagram or frame body under the keyring's primary
//! key, with AES-256-GCM where the CPU has AES instructions and
//! XChaCha20-Poly1305 elsewhere ([`Cipher::preferred`]), and opens
//! incoming ones of either cipher under any installed key, refusing what
//! is forged, corrupted, for another cluster, stale or replayed, and
//! counting each cause.
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
//! - It hides contents, not traffic: packet sizes, timing, addresses, the
//!   cipher, the key and label ids, and how many packets a sender has
//!   sealed since it started (the nonce counter) travel in clear.
//! - Replay protection needs clocks agreeing to well within the window
//!   (default 60 s) and is per process: a restarted agent forgets what it
//!   accepted, so a packet captured shortly before the restart, and still
//!   within the window, can be replayed to it once.
//! - A sealer's nonces must not be duplicated: do not fork a sealing
//!   process without exec, nor restore one virtual machine snapshot twice
//!   (see "Nonces" below).
//!
//! # Packet format
//!
//! A sealed packet is a datagram or a TCP frame body (the frame's length
//! prefix stays outside, in clear). Its first byte, the *format*, names
//! the cipher ([`Cipher`]) and with it the nonce's length `N`:
//!
//! ```text
//! byte 0           format: 1 = XChaCha20-Poly1305 (N = 24), 2 = AES-256-GCM (N = 12)
//! bytes 1..5       key id   = first 4 bytes of SHA-256("rumor-key-id" || key)
//! bytes 5..9       label id = first 4 bytes of SHA-256("rumor-label" || label)
//! bytes 9..17      sender's Unix time in milliseconds, u64 big-endian
//! bytes 17..17+N   nonce
//! bytes 17+N..     ciphertext || 16-byte tag
//! AAD = the header (bytes 0..17+N), the label's UTF-8 bytes, the recipient's name if any
//! ```
//!
//! Format 1 is the crate's first format, unchanged: packets of earlier
//! builds open, and earlier builds open format-1 packets of this one (a
//! sealer pinned with [`Sealer::sealing_with`]; an earlier build refuses
//! format 2 as [`OpenError::UnknownVersion`]). XChaCha20-Poly1305 runs
//! under the key itself; AES-256-GCM under SHA-256("rumor-seal-aes256gcm"
//! || key), so the two never share key material. Sealing adds
//! [`Cipher::overhead`]: 57 bytes with XChaCha20-Poly1305, 45 with
//! AES-256-GCM, at most [`OVERHEAD`]. The label binds into the AAD so two
//! clusters sharing a key never accept each other's packets, and the
//! recipient ([`Sealer::seal_for`]) so a datagram for one member does not
//! open at another. Opening checks, in order: length, format, label id,
//! key id, timestamp, tag, replay; see [`OpenError`].
//!
//! # Nonces
//!
//! Each sealer draws a random 96-bit start once from the operating system
//! and its `n`-th nonce is that start plus `n` (XChaCha20-Poly1305 puts 12
//! more random bytes in front): one atomic increment per packet, no system
//! call, and no repeat within a sealer whatever the key or cipher. Two
//! sealers repeat a nonce only if their counter ranges overlap, below
//! 2^-23 for a million sealers of 2^32 packets each; random 96-bit nonces
//! reach 2^-33 after 2^32 packets in all, the most NIST SP 800-38D allows
//! under one key. The replay
//! cache remembers a keyed 64-bit hash of each accepted nonce. The
//! reasoning in full is in the source of the `nonce` module.
//!
//! With unique nonces the bound that remains is AES-GCM's volume per key:
//! 2^48 blocks (a 1,000-member cluster sending 100 full datagrams a second
//! each for a year) keep an attacker's advantage below 2^-33. Rotate keys
//! ([`Sealer::use_key`]) well within that.
//!
//! # Example
//!
//! ```
//! use rumor_seal::{Cipher, DEFAULT_LABEL, Keyring, OpenError, Sealer, SealerConfig, generate_key};
//!
//! let keyring = Keyring::new(generate_key()?);
//! let sealer = Sealer::new(keyring, DEFAULT_LABEL, SealerConfig::default())?;
//! let now_ms = 1_763_900_000_000;
//!
//! let mut packet = Vec::new();
//! sealer.seal_into(b"ping", &mut packet, now_ms)?;
//! assert_eq!(packet.len(), 4 + sealer.overhead());
//! assert_eq!(Cipher::of_packet(&packet), Some(Cipher::preferred()));
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
//! forged[sealer.header_len()] ^= 0x01;
//! assert_eq!(sealer.open_into(&forged, &mut plaintext, now_ms + 9), Err(OpenError::BadTag));
//! assert!(plaintext.is_empty());
//!
//! // Opening in place: no copy, the plaintext where the ciphertext was.
//! let mut packet = Vec::new();
//! sealer.seal_into(b"pong", &mut packet, now_ms)?;
//! let at = sealer.open_in_place(&mut packet, now_ms)?;
//! assert_eq!(&packet[at], b"pong");
//!
//! let stats = sealer.stats();
//! assert_eq!((stats.sealed, stats.opened, stats.replayed, stats.bad_tag), (2, 2, 1, 1));
//! assert_eq!(OpenError::BadTag.name(), "bad_tag");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod cipher;
mod error;
mod key;
mod key_ciphers;
mod keyring;
mod keyring_file;
mod live_ring;
mod nonce;
mod open;
mod open_error;
mod packet;
mod replay;
mod seal;
mod sealer;
mod stats;

pub use cipher::Cipher;
pub use error::SealError;
pub use key::{KEY_LEN, Key, KeyId, generate_key};
pub use keyring::{Keyring, MAX_KEYS};
pub use keyring_file::MAX_FILE_LEN;
pub use open_error::OpenError;
pub use packet::{DEFAULT_LABEL, HEADER_LEN, LabelId, MAX_LABEL_LEN, NONCE_LEN, OVERHEAD, TAG_LEN};
pub use sealer::{
    DEFAULT_MAX_ENTRIES, DEFAULT_WINDOW, MAX_RECIPIENT_LEN, Sealer, SealerConfig, unix_millis,
};
pub use stats::Stats;
