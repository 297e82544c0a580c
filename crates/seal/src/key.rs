//! One 32-byte cluster key and the id that names it in packets.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::error::SealError;

/// Length of a key in bytes (both ciphers take 256-bit keys).
pub const KEY_LEN: usize = 32;

/// A 32-byte cluster key.
///
/// `Debug` shows the key's [`KeyId`], never its bytes, so a key can sit in
/// a logged struct without leaking. The secret is reachable only on
/// purpose: [`Key::to_base64`] and [`Key::as_bytes`].
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; KEY_LEN],
    // Computed once: every packet opened looks keys up by id.
    id: KeyId,
}

/// The 4-byte name of a key inside a packet: the first 4 bytes of
/// SHA-256("rumor-key-id" || key).
///
/// It says which key to try without revealing the key. Displayed as 8
/// lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl Key {
    /// Wraps 32 bytes as a key.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        let mut hash = Sha256::new();
        hash.update(b"rumor-key-id");
        hash.update(bytes);
        let digest = hash.finalize();
        Key {
            bytes,
            id: KeyId([digest[0], digest[1], digest[2], digest[3]]),
        }
    }

    /// Parses a key from standard, padded base64; surrounding whitespace
    /// is ignored.
    ///
    /// # Errors
    ///
    /// [`SealError::BadBase64`] or [`SealError::WrongKeyLength`] ("expected
    /// 32 bytes, got N").
    pub fn from_base64(text: &str) -> Result<Key, SealError> {
        let text = text.trim();
        // A key is 44 characters; refusing long text first keeps a pasted
        // file or certificate from being decoded whole.
        if text.len() > 4 * KEY_LEN {
            return Err(SealError::WrongKeyLength {
                got: text.len() / 4 * 3,
            });
        }
        let decoded = STANDARD.decode(text).map_err(|e| SealError::BadBase64 {
            detail: e.to_string(),
        })?;
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| SealError::WrongKeyLength { got: decoded.len() })?;
        Ok(Key::from_bytes(bytes))
    }

    /// The key as standard, padded base64 (44 characters): the form of
    /// keyring files and of operator commands.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// The key's raw bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The id that names this key in the packets it seals.
    pub fn id(&self) -> KeyId {
        self.id
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(id {})", self.id)
    }
}

impl FromStr for Key {
    type Err = SealError;

    fn from_str(text: &str) -> Result<Key, SealError> {
        Key::from_base64(text)
    }
}

/// A fresh key of 32 random bytes from the operating system.
///
/// # Errors
///
/// [`SealError::Random`] if the operating system has no randomness to give.
pub fn generate_key() -> Result<Key, SealError> {
    let mut bytes = [0u8; KEY_LEN];
    getrandom::fill(&mut bytes).map_err(SealError::random)?;
    Ok(Key::from_bytes(bytes))
}

impl KeyId {
    /// Wraps the 4 bytes found in a packet.
    pub fn from_bytes(bytes: [u8; 4]) -> KeyId {
        KeyId(bytes)
    }

    /// The 4 bytes as they appear in a packet.
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        let key = generate_key().unwrap();
        let text = key.to_base64();
        assert_eq!(text.len(), 44);
        assert_eq!(Key::from_base64(&text).unwrap(), key);
        assert_eq!(format!("  {text}\n").parse::<Key>().unwrap(), key);
    }

    #[test]
    fn debug_shows_the_id_not_the_bytes() {
        let key = Key::from_bytes([7; KEY_LEN]);
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("Key(id {})", key.id()));
        assert!(!shown.contains(&key.to_base64()));
        assert_eq!(key.id().to_string().len(), 8);
    }

    #[test]
    fn the_id_is_the_specified_hash_prefix() {
        let key = Key::from_bytes([0; KEY_LEN]);
        let digest = Sha256::digest([b"rumor-key-id".as_slice(), &[0; KEY_LEN]].concat());
        assert_eq!(key.id().as_bytes(), &digest[..4]);
    }

    #[test]
    fn bad_text_says_what_is_wrong() {
        let short = STANDARD.encode([1u8; 16]);
        assert_eq!(
            Key::from_base64(&short).unwrap_err().to_string(),
            "bad key: expected 32 bytes, got 16"
        );
        let error = Key::from_base64("not base64!").unwrap_err().to_string();
        assert!(error.starts_with("bad key: not base64"), "{error}");
        assert!(!error.contains('\n'));
        assert!(matches!(
            Key::from_base64(&"A".repeat(1000)),
            Err(SealError::WrongKeyLength { .. })
        ));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(generate_key().unwrap(), generate_key().unwrap());
    }
}
