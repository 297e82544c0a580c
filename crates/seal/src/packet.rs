//! The sealed packet's layout: a 41-byte clear header, the ciphertext, and
//! the 16-byte tag.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::key::KeyId;
use crate::open_error::OpenError;

/// The format version this build writes and reads (byte 0).
pub const VERSION: u8 = 1;
/// Length of the XChaCha20 nonce (bytes 17..41).
pub const NONCE_LEN: usize = 24;
/// Length of the clear header: version, key id, label id, timestamp,
/// nonce.
pub const HEADER_LEN: usize = 1 + 4 + 4 + 8 + NONCE_LEN;
/// Length of the Poly1305 tag at the end of the packet.
pub const TAG_LEN: usize = 16;
/// Bytes sealing adds to a plaintext: header plus tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Longest cluster label, in bytes of UTF-8.
pub const MAX_LABEL_LEN: usize = 64;
/// The cluster label when none is configured.
pub const DEFAULT_LABEL: &str = "rumor";

const _: () = assert!(HEADER_LEN == 41 && OVERHEAD == 57);

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
    pub key_id: KeyId,
    pub label_id: LabelId,
    pub timestamp_ms: u64,
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    /// The header as it goes on the wire.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[0] = VERSION;
        bytes[1..5].copy_from_slice(self.key_id.as_bytes());
        bytes[5..9].copy_from_slice(self.label_id.as_bytes());
        bytes[9..17].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        bytes[17..HEADER_LEN].copy_from_slice(&self.nonce);
        bytes
    }

    /// Reads the header of `packet`, which must be long enough to hold a
    /// header and a tag.
    pub fn parse(packet: &[u8]) -> Result<Header, OpenError> {
        if packet.len() < OVERHEAD {
            return Err(OpenError::Truncated);
        }
        let (version, rest) = packet.split_first().ok_or(OpenError::Truncated)?;
        if *version != VERSION {
            return Err(OpenError::UnknownVersion);
        }
        let (key_id, rest) = rest.split_first_chunk::<4>().ok_or(OpenError::Truncated)?;
        let (label_id, rest) = rest.split_first_chunk::<4>().ok_or(OpenError::Truncated)?;
        let (timestamp, rest) = rest.split_first_chunk::<8>().ok_or(OpenError::Truncated)?;
        let (nonce, _) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(OpenError::Truncated)?;
        Ok(Header {
            key_id: KeyId::from_bytes(*key_id),
            label_id: LabelId(*label_id),
            timestamp_ms: u64::from_be_bytes(*timestamp),
            nonce: *nonce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_layout() {
        let header = Header {
            key_id: KeyId::from_bytes([1, 2, 3, 4]),
            label_id: LabelId::of("rumor"),
            timestamp_ms: 0x0102_0304_0506_0708,
            nonce: [9; NONCE_LEN],
        };
        let mut packet = header.to_bytes().to_vec();
        packet.extend_from_slice(&[0; TAG_LEN]);
        assert_eq!(packet[0], 1);
        assert_eq!(&packet[1..5], &[1, 2, 3, 4]);
        assert_eq!(&packet[9..17], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&packet[17..41], &[9; NONCE_LEN]);
        assert_eq!(Header::parse(&packet), Ok(header));
        assert_eq!(
            Header::parse(&packet[..OVERHEAD - 1]),
            Err(OpenError::Truncated)
        );
        packet[0] = 2;
        assert_eq!(Header::parse(&packet), Err(OpenError::UnknownVersion));
    }

    #[test]
    fn label_id_is_the_specified_hash_prefix() {
        let digest = Sha256::digest(b"rumor-labelrumor");
        assert_eq!(LabelId::of("rumor").as_bytes(), &digest[..4]);
        assert_ne!(LabelId::of("rumor"), LabelId::of("rumor2"));
    }
}
