//! `--key-file`: every datagram carries a truncated HMAC-SHA256 of its bytes
//! under a key all members share, and datagrams without a valid tag are
//! counted and dropped before decoding.
//!
//! Wire format with a key: `encoded envelope ‖ first 16 bytes of
//! HMAC-SHA256(key, encoded envelope)`. The core is given a datagram limit
//! 16 bytes smaller, so the sealed datagram still fits the configured limit.
//! The TCP frames that change membership (the join request and its
//! answers) are sealed the same way, so only key holders join or admit;
//! member queries, leave commands (same host only) and dgrep stay open.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::DaemonError;

/// Bytes of tag appended to each datagram (128 bits of HMAC-SHA256).
pub const TAG_LEN: usize = 16;
/// The shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 16;

/// Seals outgoing and opens incoming datagrams under one shared key.
#[derive(Clone)]
pub struct DatagramAuth {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for DatagramAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatagramAuth { key: <hidden> }")
    }
}

impl DatagramAuth {
    /// Keys from raw bytes (at least [`MIN_KEY_LEN`]).
    pub fn new(key: &[u8]) -> Result<DatagramAuth, DaemonError> {
        if key.len() < MIN_KEY_LEN {
            return Err(DaemonError::Usage(format!(
                "key too short: {} bytes, at least {MIN_KEY_LEN} needed",
                key.len()
            )));
        }
        let keyed =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        Ok(DatagramAuth { keyed })
    }

    /// Reads the key from `path`: its bytes, less trailing whitespace (so a
    /// key written by `head -c 32 /dev/urandom | base64 > key` works).
    pub fn from_file(path: &Path) -> Result<DatagramAuth, DaemonError> {
        let bytes = std::fs::read(path).map_err(|e| {
            DaemonError::Usage(format!("cannot read key file {}: {e}", path.display()))
        })?;
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        DatagramAuth::new(&bytes[..end])
            .map_err(|e| DaemonError::Usage(format!("bad key file {}: {e}", path.display())))
    }

    /// Appends the tag of `buf[..len]` at `buf[len..len + TAG_LEN]`; returns
    /// the sealed length, or `None` if `buf` has no room.
    pub fn seal(&self, buf: &mut [u8], len: usize) -> Option<usize> {
        let end = len.checked_add(TAG_LEN)?;
        if end > buf.len() {
            return None;
        }
        let mut mac = self.keyed.clone();
        mac.update(&buf[..len]);
        let tag = mac.finalize().into_bytes();
        buf[len..end].copy_from_slice(&tag[..TAG_LEN]);
        Some(end)
    }

    /// The envelope bytes of a sealed datagram if its tag is valid
    /// (compared in constant time).
    pub fn open<'a>(&self, datagram: &'a [u8]) -> Option<&'a [u8]> {
        let body_len = datagram.len().checked_sub(TAG_LEN)?;
        let (body, tag) = datagram.split_at(body_len);
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.verify_truncated_left(tag).ok().map(|()| body)
    }
}

/// With `--key-file`, the join request and its answers travel sealed the
/// same way (tag appended to the frame body).
impl rumor_introducer::FrameAuth for DatagramAuth {
    fn seal(&self, body: &mut Vec<u8>) {
        let mut mac = self.keyed.clone();
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        body.extend_from_slice(&tag[..TAG_LEN]);
    }

    fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        DatagramAuth::open(self, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_datagrams_open_and_tampered_ones_do_not() {
        let auth = DatagramAuth::new(b"0123456789abcdef0123").unwrap();
        let mut buf = [0u8; 64];
        buf[..5].copy_from_slice(b"hello");
        let sealed = auth.seal(&mut buf, 5).unwrap();
        assert_eq!(sealed, 5 + TAG_LEN);
        assert_eq!(auth.open(&buf[..sealed]), Some(&b"hello"[..]));

        let mut flipped = buf;
        flipped[1] ^= 1;
        assert_eq!(auth.open(&flipped[..sealed]), None);
        let mut bad_tag = buf;
        bad_tag[sealed - 1] ^= 0x80;
        assert_eq!(auth.open(&bad_tag[..sealed]), None);
        assert_eq!(auth.open(&buf[..TAG_LEN - 1]), None);

        let other = DatagramAuth::new(b"another key of 16+ bytes").unwrap();
        assert_eq!(other.open(&buf[..sealed]), None);
        assert_eq!(auth.seal(&mut [0u8; 20], 5), None);
    }

    #[test]
    fn short_keys_are_refused_and_trailing_whitespace_is_not_key() {
        assert!(DatagramAuth::new(b"short").is_err());
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"0123456789abcdef\n").unwrap();
        std::fs::write(&b, b"0123456789abcdef").unwrap();
        let (a, b) = (
            DatagramAuth::from_file(&a).unwrap(),
            DatagramAuth::from_file(&b).unwrap(),
        );
        let mut buf = [7u8; 40];
        let sealed = a.seal(&mut buf, 10).unwrap();
        assert!(b.open(&buf[..sealed]).is_some());
        assert!(DatagramAuth::from_file(&dir.path().join("missing")).is_err());
    }
}
