//! What the agent's main thread receives.
//!
//! The main thread has one wait point: the [`rumor_msgqueue`] consumer. UDP
//! datagrams go through that queue, each entry prefixed with one tag byte
//! (the listener receives straight into its buffer after the tag, so the
//! tag costs no copy). Requests accepted by the TCP service, with the
//! connection to answer on, and the answers to the agent's own requests
//! travel through an [`Inbound`] channel beside it; whoever puts something
//! there, and the signal watcher, push a control entry to wake the main
//! thread.

use std::net::SocketAddr;

use rumor_msgqueue::Producer;
use rumor_transport::Delivery;
use rumor_wire::Gossip;

/// Tag of a UDP datagram.
pub const TAG_UDP: u8 = 0;
/// Tag of a control notice.
pub const TAG_CONTROL: u8 = 2;

/// A control notice to the main thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Wake {
    /// SIGTERM or SIGINT: leave gracefully.
    Shutdown = 1,
    /// Something waits in the inbound channel.
    Inbound = 3,
    /// SIGHUP: reopen the log files (after logrotate moved them).
    Reopen = 4,
}

impl Wake {
    /// The queue entry of this notice.
    pub fn entry(self) -> [u8; 2] {
        [TAG_CONTROL, self as u8]
    }
}

/// One queue entry, split by its tag.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// An encoded envelope received over UDP.
    Udp(&'a [u8]),
    /// A control notice.
    Control(Wake),
    /// Something no part of this agent pushes; counted and dropped.
    Unknown,
}

/// Splits a queue entry by its tag byte.
pub fn parse(entry: &[u8]) -> Entry<'_> {
    match entry {
        [TAG_UDP, rest @ ..] => Entry::Udp(rest),
        [TAG_CONTROL, 1] => Entry::Control(Wake::Shutdown),
        [TAG_CONTROL, 3] => Entry::Control(Wake::Inbound),
        [TAG_CONTROL, 4] => Entry::Control(Wake::Reopen),
        _ => Entry::Unknown,
    }
}

/// What arrives beside the datagrams.
#[derive(Debug)]
pub enum Inbound {
    /// A request accepted by the TCP service, with its way back.
    Request(Delivery),
    /// The answer to one of the agent's own requests.
    Answer {
        /// Who answered (the address asked).
        from: SocketAddr,
        /// The answer.
        message: Gossip,
    },
    /// One of the agent's requests got no answer.
    Unreachable(SocketAddr),
    /// A picture of the agent is wanted (a metrics scrape, a health check).
    Snapshot(crossbeam_channel::Sender<crate::snapshot::Snapshot>),
    /// The introducers' addresses, looked up again (host names).
    Introducers(Vec<SocketAddr>),
}

/// Wakes the main thread: a control entry in its queue.
#[derive(Debug, Clone)]
pub struct Waker(Producer);

impl Waker {
    /// A waker pushing into `producer`'s queue.
    pub fn new(producer: Producer) -> Waker {
        Waker(producer)
    }

    /// Wakes the main thread (a full queue wakes it anyway).
    pub fn wake(&self) {
        let _ = self
            .0
            .push(SocketAddr::from(([0, 0, 0, 0], 0)), &Wake::Inbound.entry());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        assert_eq!(parse(&[TAG_UDP, 9, 8]), Entry::Udp(&[9, 8]));
        assert_eq!(
            parse(&Wake::Shutdown.entry()),
            Entry::Control(Wake::Shutdown)
        );
        assert_eq!(parse(&Wake::Inbound.entry()), Entry::Control(Wake::Inbound));
        assert_eq!(parse(&Wake::Reopen.entry()), Entry::Control(Wake::Reopen));
        assert_eq!(parse(&[]), Entry::Unknown);
        assert_eq!(parse(&[TAG_CONTROL, 77]), Entry::Unknown);
        assert_eq!(parse(&[42, 1]), Entry::Unknown);
    }
}
