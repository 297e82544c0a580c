//! An outgoing message the driver must send, and how it must travel.

use std::net::SocketAddr;

use rumor_wire::Gossip;

/// How a [`Transmit`] must travel. The core decides; drivers obey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// One datagram, fire-and-forget: it may be lost, and the core's
    /// protocol allows for that.
    Datagram,
    /// A request over a reliable stream (TCP in the agent) whose answer, if
    /// any, comes back on the same stream: the driver hands that answer to
    /// [`crate::Membership::handle`] with the destination as `from`, or
    /// calls [`crate::Membership::handle_unreachable`] when the stream
    /// could not be opened or no answer came.
    Request,
}

/// A message to send: the driver's buffer holds the encoded envelope
/// ([`crate::Membership::poll_transmit`]), `len` bytes of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// The destination's listening address.
    pub to: SocketAddr,
    /// How to send it.
    pub channel: Channel,
    /// Encoded bytes in the buffer.
    pub len: usize,
}

/// A message to send, as a value ([`crate::Membership::poll_message`], for
/// drivers that pass messages in memory).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Outbound {
    /// The destination's listening address.
    pub to: SocketAddr,
    /// How to send it.
    pub channel: Channel,
    /// Bytes its envelope encodes to.
    pub len: usize,
    /// The message.
    pub message: Gossip,
}
