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
pub const PROTOCOL_VERSION: u8 = 5;

/// What travels in one datagram or one TCP frame.
///
/// There is no socket or connection in a message: `from` is the sender's
/// listening address, and a reply is a new message sent there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's protocol version ([`PROTOCOL_VERSION`] for this build).
    pub protocol: u8,
    /// Where the sender listens; replies go here.
    #[serde(with = "crate::compact::addr")]
    pub from: SocketAddr,
    /// The message itself.
    pub body: Message,
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
