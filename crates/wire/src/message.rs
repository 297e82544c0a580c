//! The message union every rumor process speaks, and the envelope around it.
//!
//! A [`Message`] is one of three families, each its own enum: the
//! membership protocol ([`Gossip`]), an operator's control requests
//! ([`Control`]) and distributed grep ([`Dgrep`]). A receiver can refuse
//! a whole family by where it arrived (control and dgrep never come as
//! datagrams) before looking inside.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{Control, Dgrep, Gossip};

/// The protocol version this build speaks; carried in every [`Envelope`].
pub const PROTOCOL_VERSION: u8 = 6;

/// What travels in one datagram or one TCP frame.
///
/// There is no socket or connection in a message: `from` is the sender's
/// listening address, and a reply is a new message sent there.
///
/// On the wire an envelope is `[protocol, from, body]`; `from` is `nil`
/// when the body names its sender at that very address (every membership
/// message a member sends of itself), which saves 8 of a ping's bytes. The
/// decoder restores it from the body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "WireEnvelope")]
pub struct Envelope {
    /// The sender's protocol version ([`PROTOCOL_VERSION`] for this build).
    pub protocol: u8,
    /// Where the sender listens; replies go here.
    pub from: SocketAddr,
    /// The message itself.
    pub body: Message,
}

/// An envelope as on the wire: `from` absent when the body implies it.
/// Decoded with an owned body, encoded borrowing the envelope's.
#[derive(Serialize, Deserialize)]
struct WireEnvelope<B = Message> {
    protocol: u8,
    #[serde(with = "crate::compact::maybe_addr")]
    from: Option<SocketAddr>,
    body: B,
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let implied = self.body.sender_addr() == Some(self.from);
        WireEnvelope {
            protocol: self.protocol,
            from: (!implied).then_some(self.from),
            body: &self.body,
        }
        .serialize(ser)
    }
}

impl TryFrom<WireEnvelope> for Envelope {
    type Error = &'static str;

    fn try_from(wire: WireEnvelope) -> Result<Envelope, &'static str> {
        let from = wire
            .from
            .or_else(|| wire.body.sender_addr())
            .ok_or("an envelope without `from` whose body names no sender")?;
        Ok(Envelope {
            protocol: wire.protocol,
            from,
            body: wire.body,
        })
    }
}

impl Envelope {
    /// An envelope of this build's protocol version.
    pub fn new(from: SocketAddr, body: impl Into<Message>) -> Envelope {
        Envelope {
            protocol: PROTOCOL_VERSION,
            from,
            body: body.into(),
        }
    }
}

/// Every message rumor speaks, by family.
///
/// A kind this build does not know (sent by a newer peer) fails to decode
/// with [`crate::WireError::UnknownKind`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Message {
    /// The membership protocol, between members and joiners.
    #[serde(rename = "g")]
    Gossip(Gossip),
    /// An operator's request to one agent, or its answer.
    #[serde(rename = "c")]
    Control(Control),
    /// Distributed grep.
    #[serde(rename = "d")]
    Dgrep(Dgrep),
}

impl Message {
    /// The address of the node the message names as its sender, if it
    /// names one (membership messages do; control and dgrep do not).
    pub fn sender_addr(&self) -> Option<SocketAddr> {
        let Message::Gossip(gossip) = self else {
            return None;
        };
        match gossip {
            Gossip::JoinRequest { node, .. } | Gossip::Leave { node, .. } => Some(node.addr),
            Gossip::JoinResponse { introducer, .. } => Some(introducer.addr),
            Gossip::Gone { sender, .. }
            | Gossip::Updates { sender, .. }
            | Gossip::Detector { sender, .. }
            | Gossip::Digest { sender, .. } => Some(sender.addr),
            Gossip::JoinRefused { .. } => None,
        }
    }

    /// A short name of the kind, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Gossip(m) => m.kind(),
            Message::Control(m) => m.kind(),
            Message::Dgrep(m) => m.kind(),
        }
    }
}

impl From<Gossip> for Message {
    fn from(m: Gossip) -> Message {
        Message::Gossip(m)
    }
}

impl From<Control> for Message {
    fn from(m: Control) -> Message {
        Message::Control(m)
    }
}

impl From<Dgrep> for Message {
    fn from(m: Dgrep) -> Message {
        Message::Dgrep(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Version, decode, encode_to_vec};

    fn ping(sender: SocketAddr) -> Gossip {
        Gossip::Detector {
            detector: "swim".into(),
            sender: crate::NodeId::new(sender, Version(1_795_686_377_949)),
            payload: vec![0x81, 0xa1, 0x70, 0x01],
            updates: Vec::new(),
            extras: Default::default(),
        }
    }

    fn encoded(envelope: &Envelope) -> Vec<u8> {
        let mut out = Vec::new();
        encode_to_vec(envelope, &mut out, 1400).unwrap();
        out
    }

    #[test]
    fn a_sender_at_the_envelope_address_leaves_from_out() {
        let me: SocketAddr = "10.0.0.1:7400".parse().unwrap();
        let own = Envelope::new(me, ping(me));
        let bytes = encoded(&own);
        assert_eq!(bytes[..3], [0x93, PROTOCOL_VERSION, 0xc0]);
        assert_eq!(decode(&bytes).unwrap(), own);
        // Relayed from elsewhere, `from` is written out: 8 bytes more.
        let relayed = Envelope::new("10.0.0.2:7400".parse().unwrap(), ping(me));
        let longer = encoded(&relayed);
        assert_eq!(longer.len(), bytes.len() + 8);
        assert_eq!(decode(&longer).unwrap(), relayed);
    }

    #[test]
    fn a_body_without_a_sender_keeps_from_and_cannot_go_without_it() {
        let me: SocketAddr = "10.0.0.1:7400".parse().unwrap();
        let query = Envelope::new(me, Control::MemberQuery);
        let bytes = encoded(&query);
        assert_ne!(bytes[2], 0xc0);
        assert_eq!(decode(&bytes).unwrap(), query);
        // A forged `nil` in its place is refused, not guessed.
        let body = rmp_serde::to_vec(&query.body).unwrap();
        let forged = [&[0x93, PROTOCOL_VERSION, 0xc0][..], &body].concat();
        let err = decode(&forged).unwrap_err().to_string();
        assert!(err.contains("names no sender"), "{err}");
    }
}
