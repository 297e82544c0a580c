//! The AEADs a packet may be sealed with, and which one this machine
//! prefers.

use std::fmt;

use crate::packet::{FIXED_HEADER_LEN, TAG_LEN};

/// The AEAD that sealed a packet, named by the packet's first byte (its
/// *format*), which also sets the header's length.
///
/// Every [`Sealer`](crate::Sealer) opens both; it seals with one, by
/// default [`Cipher::preferred`]. So a cluster may mix machines with and
/// without AES instructions, each sealing with what is fast for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cipher {
    /// XChaCha20-Poly1305 under the cluster key itself, 24-byte nonce
    /// (format 1, the first format: packets of earlier builds open).
    /// Fast in software on any CPU.
    XChaCha20Poly1305,
    /// AES-256-GCM under a key derived from the cluster key, 12-byte
    /// nonce (format 2). Several times faster than XChaCha20-Poly1305
    /// where the CPU has AES and carry-less multiply instructions
    /// (x86 AES-NI and PCLMULQDQ, the ARMv8 cryptography extension); much
    /// slower where it has not.
    Aes256Gcm,
}

impl Cipher {
    /// Both ciphers, in format order.
    pub const ALL: [Cipher; 2] = [Cipher::XChaCha20Poly1305, Cipher::Aes256Gcm];

    /// AES-256-GCM if this CPU has AES and carry-less multiply
    /// instructions (detected at run time), XChaCha20-Poly1305 otherwise:
    /// what a [`Sealer`](crate::Sealer) seals with unless told.
    pub fn preferred() -> Cipher {
        if aes_in_hardware() {
            Cipher::Aes256Gcm
        } else {
            Cipher::XChaCha20Poly1305
        }
    }

    /// The format byte that opens a packet sealed with this cipher.
    pub fn format(self) -> u8 {
        match self {
            Cipher::XChaCha20Poly1305 => 1,
            Cipher::Aes256Gcm => 2,
        }
    }

    /// The cipher a format byte names, if this build knows it.
    pub fn from_format(format: u8) -> Option<Cipher> {
        Cipher::ALL.into_iter().find(|c| c.format() == format)
    }

    /// The cipher `packet`'s first byte names, if any: how a receiver
    /// knows the packet's layout, e.g. its [`overhead`](Cipher::overhead).
    pub fn of_packet(packet: &[u8]) -> Option<Cipher> {
        packet.first().copied().and_then(Cipher::from_format)
    }

    /// Length of the nonce in the header.
    pub fn nonce_len(self) -> usize {
        match self {
            Cipher::XChaCha20Poly1305 => 24,
            Cipher::Aes256Gcm => 12,
        }
    }

    /// Length of the clear header: format, key id, label id, timestamp,
    /// nonce.
    pub fn header_len(self) -> usize {
        FIXED_HEADER_LEN + self.nonce_len()
    }

    /// Bytes sealing adds to a plaintext: header plus tag.
    pub fn overhead(self) -> usize {
        self.header_len() + TAG_LEN
    }

    /// A stable lowercase name: `xchacha20poly1305` or `aes256gcm`.
    pub fn name(self) -> &'static str {
        match self {
            Cipher::XChaCha20Poly1305 => "xchacha20poly1305",
            Cipher::Aes256Gcm => "aes256gcm",
        }
    }
}

impl fmt::Display for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether AES-256-GCM runs on dedicated instructions here: the `aes`
/// and `ghash` crates pick the same instructions at run time.
fn aes_in_hardware() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        // "aes" on aarch64 includes the PMULL carry-less multiply.
        std::arch::is_aarch64_feature_detected!("aes")
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_lengths() {
        assert_eq!(Cipher::from_format(1), Some(Cipher::XChaCha20Poly1305));
        assert_eq!(Cipher::from_format(2), Some(Cipher::Aes256Gcm));
        assert_eq!(Cipher::from_format(0), None);
        assert_eq!(Cipher::from_format(3), None);
        assert_eq!(Cipher::XChaCha20Poly1305.overhead(), 57);
        assert_eq!(Cipher::Aes256Gcm.overhead(), 45);
        assert_eq!(Cipher::of_packet(&[2, 0]), Some(Cipher::Aes256Gcm));
        assert_eq!(Cipher::of_packet(&[]), None);
        for cipher in Cipher::ALL {
            assert_eq!(Cipher::from_format(cipher.format()), Some(cipher));
            assert_eq!(cipher.to_string(), cipher.name());
        }
    }
}
