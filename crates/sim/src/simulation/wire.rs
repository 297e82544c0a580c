//! Messages through the real codec ([`crate::RunOptions::wire`]), and the
//! sizes of the datagrams every run hands to the network.
//!
//! Without the option a rumor core's messages travel as values
//! (`Membership::poll_message`, with the length their encoding takes),
//! which is what large runs can afford. With it each one is drained as the
//! bytes an agent would send (`Membership::poll_transmit`), checked and
//! decoded, so that its receiver handles exactly what the bytes say.

use std::net::SocketAddr;

use rumor_membership::{Gossip, Membership};
use rumor_wire::{Envelope, Message, decode, encode_to_vec};

use super::engine::{Outgoing, Payload};

/// The codec checks of one run: a reusable buffer and what failed.
#[derive(Debug, Default)]
pub(super) struct WireCheck {
    buf: Vec<u8>,
    /// Transmits and join answers that failed a check (never delivered).
    pub errors: u64,
}

impl WireCheck {
    /// The next transmit of `core` that passes the checks, decoded:
    /// the length the core reported is the buffer's, the bytes decode,
    /// the envelope names the core's own address and holds gossip.
    pub fn next(&mut self, core: &mut Membership) -> Option<Outgoing> {
        let from = core.id().addr;
        loop {
            let transmit = core.poll_transmit(&mut self.buf)?;
            if transmit.len != self.buf.len() {
                self.errors += 1;
                continue;
            }
            match decode(&self.buf) {
                Ok(Envelope {
                    from: sender,
                    body: Message::Gossip(message),
                    ..
                }) if sender == from => {
                    return Some(Outgoing {
                        to: transmit.to,
                        channel: transmit.channel,
                        len: transmit.len,
                        payload: Payload::Rumor(message),
                    });
                }
                _ => self.errors += 1,
            }
        }
    }

    /// A join answer from `from` encoded and decoded back: the gossip its
    /// asker reads, or `None` (counted) when the bytes do not give back
    /// the same envelope.
    pub fn round_trip(&mut self, from: SocketAddr, answer: Gossip) -> Option<Gossip> {
        let envelope = Envelope::new(from, answer);
        self.buf.clear();
        if encode_to_vec(&envelope, &mut self.buf, usize::MAX).is_err() {
            self.errors += 1;
            return None;
        }
        match decode(&self.buf) {
            Ok(decoded) if decoded == envelope => match decoded.body {
                Message::Gossip(message) => Some(message),
                _ => None,
            },
            _ => {
                self.errors += 1;
                None
            }
        }
    }
}

/// Datagrams the nodes sent (to any address, oversized ones included),
/// and the largest of them in bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct DatagramSizes {
    pub count: u64,
    pub largest: usize,
}

impl DatagramSizes {
    pub fn on_datagram(&mut self, len: usize) {
        self.count += 1;
        self.largest = self.largest.max(len);
    }
}
