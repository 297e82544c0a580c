//! The AEAD instances of one key, built once when the key enters the live
//! keyring rather than for every packet.

use std::fmt;

use aes_gcm::Aes256Gcm;
use chacha20poly1305::aead::array::Array;
use chacha20poly1305::{AeadInOut, KeyInit, XChaCha20Poly1305};
use sha2::{Digest, Sha256};

use crate::cipher::Cipher;
use crate::key::{KEY_LEN, Key, KeyId};
use crate::packet::TAG_LEN;

/// The authentication tag failed, or the message is too long for the
/// cipher; the buffer's contents are then unspecified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Failed;

/// One key's AEADs, ready to use: AES-256-GCM's round keys and GHASH
/// powers are computed here, once.
pub(crate) struct KeyCiphers {
    id: KeyId,
    xchacha: XChaCha20Poly1305,
    aes: Aes256Gcm,
}

impl KeyCiphers {
    /// The ciphers of `key`: XChaCha20-Poly1305 under the key itself (as
    /// in format 1 from the start), AES-256-GCM under
    /// [`aes_key`](KeyCiphers::aes_key), so no two algorithms ever share
    /// key material.
    pub fn new(key: &Key) -> KeyCiphers {
        KeyCiphers {
            id: key.id(),
            xchacha: XChaCha20Poly1305::new(&(*key.as_bytes()).into()),
            aes: Aes256Gcm::new(&KeyCiphers::aes_key(key).into()),
        }
    }

    /// The AES-256-GCM key: SHA-256("rumor-seal-aes256gcm" || key).
    fn aes_key(key: &Key) -> [u8; KEY_LEN] {
        let mut hash = Sha256::new();
        hash.update(b"rumor-seal-aes256gcm");
        hash.update(key.as_bytes());
        hash.finalize().into()
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Encrypts `buf` in place and returns the tag. `nonce` is
    /// [`Cipher::nonce_len`] bytes long.
    pub fn seal(
        &self,
        cipher: Cipher,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Failed> {
        let tag = match cipher {
            Cipher::XChaCha20Poly1305 => {
                self.xchacha
                    .encrypt_inout_detached(&nonce_array(nonce)?, aad, buf.into())
            }
            Cipher::Aes256Gcm => {
                self.aes
                    .encrypt_inout_detached(&nonce_array(nonce)?, aad, buf.into())
            }
        };
        tag.map(Into::into).map_err(|_| Failed)
    }

    /// Decrypts `buf` in place if `tag` verifies.
    pub fn open(
        &self,
        cipher: Cipher,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Failed> {
        let tag = Array::from(*tag);
        let opened = match cipher {
            Cipher::XChaCha20Poly1305 => {
                self.xchacha
                    .decrypt_inout_detached(&nonce_array(nonce)?, aad, buf.into(), &tag)
            }
            Cipher::Aes256Gcm => {
                self.aes
                    .decrypt_inout_detached(&nonce_array(nonce)?, aad, buf.into(), &tag)
            }
        };
        opened.map_err(|_| Failed)
    }
}

/// `nonce` as the fixed-size array a cipher takes; its length is the
/// cipher's by construction, so this never fails in practice.
fn nonce_array<N>(nonce: &[u8]) -> Result<Array<u8, N>, Failed>
where
    N: chacha20poly1305::aead::array::ArraySize,
{
    Array::try_from(nonce).map_err(|_| Failed)
}

impl fmt::Debug for KeyCiphers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyCiphers(id {})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_under_each_cipher_and_distinct_keys() {
        let key = Key::from_bytes([3; KEY_LEN]);
        let ciphers = KeyCiphers::new(&key);
        assert_ne!(&KeyCiphers::aes_key(&key), key.as_bytes());
        for cipher in Cipher::ALL {
            let nonce = vec![5u8; cipher.nonce_len()];
            let mut buf = *b"plaintext";
            let tag = ciphers.seal(cipher, &nonce, b"aad", &mut buf).unwrap();
            assert_ne!(&buf, b"plaintext");
            let sealed = buf;
            ciphers
                .open(cipher, &nonce, b"aad", &mut buf, &tag)
                .unwrap();
            assert_eq!(&buf, b"plaintext");
            let mut forged = sealed;
            assert_eq!(
                ciphers.open(cipher, &nonce, b"aae", &mut forged, &tag),
                Err(Failed)
            );
            let other = Cipher::ALL.into_iter().find(|&c| c != cipher).unwrap();
            let other_nonce = vec![5u8; other.nonce_len()];
            let mut crossed = sealed;
            assert_eq!(
                ciphers.open(other, &other_nonce, b"aad", &mut crossed, &tag),
                Err(Failed),
                "opened as the other cipher"
            );
        }
        assert_eq!(
            format!("{ciphers:?}"),
            format!("KeyCiphers(id {})", key.id())
        );
    }
}
