//! An outgoing message the driver must send, and how it must travel.

use std::net::SocketAddr;

use rumor_wire::Message;

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

/// A message to send to `to`. The driver wraps it in
/// `Envelope::new(own listening address, message)`; the core keeps every
/// datagram envelope within `Config::datagram_limit`, assuming the listening
/// address is the one in the core's own [`rumor_wire::NodeId`].
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// The destination's listening address.
    pub to: SocketAddr,
    /// What to send.
    pub message: Message,
    /// How to send it.
    pub channel: Channel,
}
