//! The sealed packet's layout: a clear header whose first byte names the
//! cipher (and so the nonce's length), the ciphertext, and the 16-byte tag.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::cipher::Cipher;
use crate::key::KeyId;
use crate::open_error::OpenError;

/// Length of the longest nonce, XChaCha20's (bytes 17..41 of its packets);
/// AES-256-GCM's is 12 ([`Cipher::nonce_len`]).
pub const NONCE_LEN: usize = 24;
/// Length of the longest clear header (format, key id, label id,
/// timestamp, nonce): [`Cipher::header_len`] is at most this.
pub const HEADER_LEN: usize = FIXED_HEADER_LEN + NONCE_LEN;
/// Length of the authentication tag at the end of the packet.
pub const TAG_LEN: usize = 16;
/// The most sealing adds to a plaintext under any cipher: header plus tag.
/// A receiver's buffers allow for this; [`Cipher::overhead`] is the exact
/// figure for one cipher.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Longest cluster label, in bytes of UTF-8.
pub const MAX_LABEL_LEN: usize = 64;
/// The cluster label when none is configured.
pub const DEFAULT_LABEL: &str = "rumor";

/// Header bytes before the nonce: format, key id, label id, timestamp.
pub(crate) const FIXED_HEADER_LEN: usize = 1 + 4 + 4 + 8;
/// The shortest packet of any cipher.
const MIN_OVERHEAD: usize = FIXED_HEADER_LEN + 12 + TAG_LEN;

const _: () = assert!(HEADER_LEN == 41 && OVERHEAD == 57 && MIN_OVERHEAD == 45);

/// The 4-byte name of a cluster label inside a packet: the first 4 bytes
/// of SHA-256("rumor-label" || label). Displayed as 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LabelId([u8; 4]);

impl LabelId {
    /// The id of `label`.
    pub fn of(label: &str) -> LabelId {
        let mut hash = Sha256::new();
        hash.update(b"rumor-label");
        hash.update(label.as_bytes());
        let digest = hash.finalize();
        LabelId([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The 4 bytes as they appear in a packet.
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Display for LabelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for LabelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabelId({self})")
    }
}

/// The clear header of a sealed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub cipher: Cipher,
    pub key_id: KeyId,
    pub label_id: LabelId,
    pub timestamp_ms: u64,
    /// The first [`Cipher::nonce_len`] bytes are the nonce, the rest zero.
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    /// The nonce's bytes.
    pub fn nonce(&self) -> &[u8] {
        &self.nonce[..self.cipher.nonce_len()]
    }

    /// Writes the header as it goes on the wire into `out`, which is
    /// [`Cipher::header_len`] bytes long.
    pub fn write(&self, out: &mut [u8]) {
        out[0] = self.cipher.format();
        out[1..5].copy_from_slice(self.key_id.as_bytes());
        out[5..9].copy_from_slice(self.label_id.as_bytes());
        out[9..FIXED_HEADER_LEN].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        out[FIXED_HEADER_LEN..].copy_from_slice(self.nonce());
    }

    /// Reads the header of `packet`, which must be long enough to hold its
    /// cipher's header and a tag.
    pub fn parse(packet: &[u8]) -> Result<Header, OpenError> {
        if packet.len() < MIN_OVERHEAD {
            return Err(OpenError::Truncated);
        }
        let (format, rest) = packet.split_first().ok_or(OpenError::Truncated)?;
        let cipher = Cipher::from_format(*format).ok_or(OpenError::UnknownVersion)?;
        if packet.len() < cipher.overhead() {
            return Err(OpenError::Truncated);
        }
        let (key_id, rest) = rest.split_first_chunk::<4>().ok_or(OpenError::Truncated)?;
        let (label_id, rest) = rest.split_first_chunk::<4>().ok_or(OpenError::Truncated)?;
        let (timestamp, rest) = rest.split_first_chunk::<8>().ok_or(OpenError::Truncated)?;
        let len = cipher.nonce_len();
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..len].copy_from_slice(rest.get(..len).ok_or(OpenError::Truncated)?);
        Ok(Header {
            cipher,
            key_id: KeyId::from_bytes(*key_id),
            label_id: LabelId(*label_id),
            timestamp_ms: u64::from_be_bytes(*timestamp),
            nonce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cipher: Cipher) -> Header {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..cipher.nonce_len()].fill(9);
        Header {
            cipher,
            key_id: KeyId::from_bytes([1, 2, 3, 4]),
            label_id: LabelId::of("rumor"),
            timestamp_ms: 0x0102_0304_0506_0708,
            nonce,
        }
    }

    #[test]
    fn header_round_trip_and_layout() {
        for (cipher, format) in [(Cipher::XChaCha20Poly1305, 1), (Cipher::Aes256Gcm, 2)] {
            let header = header(cipher);
            let end = cipher.header_len();
            let mut packet = vec![0u8; cipher.overhead()];
            header.write(&mut packet[..end]);
            assert_eq!(packet[0], format);
            assert_eq!(&packet[1..5], &[1, 2, 3, 4]);
            assert_eq!(&packet[9..17], &[1, 2, 3, 4, 5, 6, 7, 8]);
            assert_eq!(&packet[17..end], &[9; NONCE_LEN][..cipher.nonce_len()]);
            assert_eq!(Header::parse(&packet), Ok(header));
            assert_eq!(
                Header::parse(&packet[..cipher.overhead() - 1]),
                Err(OpenError::Truncated)
            );
            packet[0] = 3;
            assert_eq!(Header::parse(&packet), Err(OpenError::UnknownVersion));
        }
        assert_eq!(Cipher::XChaCha20Poly1305.header_len(), HEADER_LEN);
    }

    #[test]
    fn label_id_is_the_specified_hash_prefix() {
        let digest = Sha256::digest(b"rumor-labelrumor");
        assert_eq!(LabelId::of("rumor").as_bytes(), &digest[..4]);
        assert_ne!(LabelId::of("rumor"), LabelId::of("rumor2"));
    }
}
