//! An outgoing message the driver must send.

use std::net::SocketAddr;

use rumor_wire::Message;

/// A message to send as one datagram to `to`. The driver wraps it in
/// `Envelope::new(own listening address, message)`; the core keeps every
/// such envelope within `Config::datagram_limit`, assuming the listening
/// address is the one in the core's own [`rumor_wire::NodeId`].
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// The destination's listening address.
    pub to: SocketAddr,
    /// What to send.
    pub message: Message,
}
