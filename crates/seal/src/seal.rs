//! Sealing: the primary key's cipher, a fresh nonce, the header, the AEAD
//! over the plaintext where it lies.

use crate::error::SealError;
use crate::packet::{Header, NONCE_LEN};
use crate::sealer::{AAD_MAX, MAX_RECIPIENT_LEN, Sealer, unix_millis};

impl Sealer {
    /// Seals `plaintext` with the primary key, stamped `now_ms` (Unix time
    /// in milliseconds), and *appends* the packet (header, ciphertext, tag:
    /// `plaintext.len() +` [`overhead()`](Sealer::overhead) bytes) to
    /// `out`, after whatever it holds, e.g. a frame's length prefix.
    /// Allocates nothing when `out` has the capacity; copies the plaintext
    /// once, into `out`, and encrypts it there.
    ///
    /// # Errors
    ///
    /// [`SealError::TooLong`] past the cipher's limit (64 GiB); `out` is
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
        let start = out.len();
        out.reserve(self.overhead() + plaintext.len());
        out.resize(start + self.header_len(), 0);
        out.extend_from_slice(plaintext);
        self.seal_in_place_for(out, start, now_ms, recipient)
            .inspect_err(|_| out.truncate(start))
    }

    /// [`seal_into`](Sealer::seal_into) stamped with the system clock.
    ///
    /// # Errors
    ///
    /// As [`seal_into`](Sealer::seal_into).
    pub fn seal_now(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        self.seal_into(plaintext, out, unix_millis())
    }

    /// Seals the plaintext where it lies: `packet[start..]` is
    /// [`header_len()`](Sealer::header_len) bytes of room (any contents),
    /// then the plaintext, e.g. encoded straight into the buffer behind the
    /// room. Writes the header into the room, encrypts the plaintext in
    /// place and appends the tag: no copy, and no allocation when `packet`
    /// has room for 16 more bytes.
    ///
    /// # Errors
    ///
    /// [`SealError::NoHeaderRoom`] when `packet` holds fewer than
    /// `start + header_len()` bytes, [`SealError::TooLong`] past the
    /// cipher's limit; the plaintext is then untouched and nothing is
    /// appended (the room may hold a header).
    pub fn seal_in_place(
        &self,
        packet: &mut Vec<u8>,
        start: usize,
        now_ms: u64,
    ) -> Result<(), SealError> {
        self.seal_in_place_for(packet, start, now_ms, &[])
    }

    /// [`seal_in_place`](Sealer::seal_in_place) for one recipient, as
    /// [`seal_for`](Sealer::seal_for).
    ///
    /// # Errors
    ///
    /// As [`seal_in_place`](Sealer::seal_in_place) and
    /// [`seal_for`](Sealer::seal_for).
    pub fn seal_in_place_for(
        &self,
        packet: &mut Vec<u8>,
        start: usize,
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<(), SealError> {
        if recipient.len() > MAX_RECIPIENT_LEN {
            return Err(SealError::TooLong {
                len: recipient.len(),
            });
        }
        let cipher = self.cipher;
        let header_len = cipher.header_len();
        let Some((head, body)) = packet
            .get_mut(start..)
            .and_then(|rest| rest.split_at_mut_checked(header_len))
        else {
            return Err(SealError::NoHeaderRoom {
                len: packet.len().saturating_sub(start),
                need: header_len,
            });
        };
        let mut nonce = [0u8; NONCE_LEN];
        self.nonces.fill(cipher, &mut nonce[..cipher.nonce_len()]);
        let ring = self.ring.read();
        let key = ring.primary();
        let header = Header {
            cipher,
            key_id: key.id(),
            label_id: self.label_id,
            timestamp_ms: now_ms,
            nonce,
        };
        let mut aad = [0u8; AAD_MAX];
        header.write(head);
        let aad = self.aad(head, recipient, &mut aad);
        let tag = key
            .seal(cipher, header.nonce(), aad, body)
            .map_err(|_| SealError::TooLong { len: body.len() })?;
        drop(ring);
        packet.extend_from_slice(&tag);
        self.counters.sealed();
        Ok(())
    }
}
