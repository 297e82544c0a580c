//! Opening: every check in order, the AEAD over the ciphertext in place,
//! then the replay cache.

use std::ops::Range;

use crate::open_error::OpenError;
use crate::packet::{Header, TAG_LEN};
use crate::sealer::{AAD_MAX, MAX_RECIPIENT_LEN, Sealer, unix_millis};

impl Sealer {
    /// Opens `packet` received at `now_ms` (Unix time in milliseconds) and
    /// *appends* its plaintext to `out`, decrypting in place there. Checks
    /// run in the order of [`OpenError`]; the first failing one is
    /// returned and counted, and `out` is left as it was. `out` grows by at
    /// most `packet.len() - 45` bytes; nothing else is allocated once
    /// the replay cache has grown to its working size. Never panics, on any
    /// input.
    ///
    /// # Errors
    ///
    /// The [`OpenError`] cause.
    pub fn open_into(
        &self,
        packet: &[u8],
        out: &mut Vec<u8>,
        now_ms: u64,
    ) -> Result<(), OpenError> {
        self.open_for(packet, out, now_ms, &[])
    }

    /// [`open_into`](Sealer::open_into) for a packet sealed
    /// [`for`](Sealer::seal_for) `recipient`: this receiver names itself.
    ///
    /// # Errors
    ///
    /// As [`open_into`](Sealer::open_into); a packet sealed for another
    /// recipient fails as [`OpenError::BadTag`].
    pub fn open_for(
        &self,
        packet: &[u8],
        out: &mut Vec<u8>,
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<(), OpenError> {
        let start = out.len();
        let opened = Header::parse(packet).and_then(|header| {
            let (head, rest) = packet.split_at(header.cipher.header_len());
            let (body, tag) = rest
                .split_last_chunk::<TAG_LEN>()
                .ok_or(OpenError::Truncated)?;
            let copy = |out: &mut Vec<u8>| -> Range<usize> {
                out.extend_from_slice(body);
                start..out.len()
            };
            self.open_parts(&header, head, out, copy, tag, now_ms, recipient)
        });
        // Never hand unauthenticated or replayed plaintext onward.
        if opened.is_err() {
            out.truncate(start);
        }
        self.count(opened.map(drop))
    }

    /// [`open_into`](Sealer::open_into) at the system clock's time.
    ///
    /// # Errors
    ///
    /// As [`open_into`](Sealer::open_into).
    pub fn open_now(&self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), OpenError> {
        self.open_into(packet, out, unix_millis())
    }

    /// Opens `packet` where it lies, as [`open_into`](Sealer::open_into)
    /// does but decrypting the ciphertext inside `packet` itself, with no
    /// copy, and returns where the plaintext lies in it. On a refusal no
    /// plaintext is left in `packet`: refused before the tag check it is
    /// as it was; from the tag check on (bad tag, replayed, cache full)
    /// the ciphertext's bytes are zeroed, since a replay decrypts before
    /// the replay cache refuses it.
    ///
    /// # Errors
    ///
    /// As [`open_into`](Sealer::open_into).
    pub fn open_in_place(&self, packet: &mut [u8], now_ms: u64) -> Result<Range<usize>, OpenError> {
        self.open_in_place_for(packet, now_ms, &[])
    }

    /// [`open_in_place`](Sealer::open_in_place) for a packet sealed
    /// [`for`](Sealer::seal_for) `recipient`.
    ///
    /// # Errors
    ///
    /// As [`open_for`](Sealer::open_for).
    pub fn open_in_place_for(
        &self,
        packet: &mut [u8],
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<Range<usize>, OpenError> {
        let opened = Header::parse(packet).and_then(|header| {
            let header_len = header.cipher.header_len();
            let (head, rest) = packet.split_at_mut(header_len);
            let (body, tag) = rest
                .split_last_chunk_mut::<TAG_LEN>()
                .ok_or(OpenError::Truncated)?;
            let len = body.len();
            let tag: &[u8; TAG_LEN] = tag;
            self.open_parts(&header, head, body, |_| 0..len, tag, now_ms, recipient)
                .map(|_| header_len..header_len + len)
        });
        self.count(opened)
    }

    /// Counts the outcome.
    fn count<T>(&self, opened: Result<T, OpenError>) -> Result<T, OpenError> {
        match &opened {
            Ok(_) => self.counters.opened(),
            Err(cause) => self.counters.refused(*cause),
        }
        opened
    }

    /// Every check after the header's parse, in order. `fill` puts the
    /// ciphertext into `buf` (a copy, or nothing when it is there already)
    /// and says where it lies, once the checks before the tag have passed;
    /// on a refusal after decryption that range is zeroed.
    #[allow(clippy::too_many_arguments)]
    fn open_parts<B: AsMut<[u8]> + ?Sized>(
        &self,
        header: &Header,
        head: &[u8],
        buf: &mut B,
        fill: impl FnOnce(&mut B) -> Range<usize>,
        tag: &[u8; TAG_LEN],
        now_ms: u64,
        recipient: &[u8],
    ) -> Result<Range<usize>, OpenError> {
        if header.label_id != self.label_id {
            return Err(OpenError::OtherCluster);
        }
        let ring = self.ring.read();
        let key = ring.get(header.key_id).ok_or(OpenError::WrongKey)?;
        if now_ms.abs_diff(header.timestamp_ms) > self.window_ms {
            return Err(OpenError::Stale);
        }
        let at = fill(buf);
        let body = &mut buf.as_mut()[at.clone()];
        let recipient = &recipient[..recipient.len().min(MAX_RECIPIENT_LEN)];
        let mut aad = [0u8; AAD_MAX];
        let aad = self.aad(head, recipient, &mut aad);
        let accepted = match key.open(header.cipher, header.nonce(), aad, body, tag) {
            Err(_) => Err(OpenError::BadTag),
            Ok(()) => {
                drop(ring);
                let name = self.names.name(header.cipher.format(), header.nonce());
                self.replay.lock().accept(name, now_ms)
            }
        };
        if accepted.is_err() {
            // Whatever the AEAD left there, no plaintext stays behind.
            body.fill(0);
        }
        accepted.map(|()| at)
    }
}
