//! What the agent's main thread receives, and how it shares one queue.
//!
//! The main thread has one wait point: the [`rumor_msgqueue`] consumer. UDP
//! datagrams, messages accepted by the TCP service, and control notices
//! (a signal arrived, the join client finished) all go through the same
//! queue, each entry prefixed with one tag byte saying where it came from.
//! The UDP listener receives straight into its buffer after the tag byte, so
//! the tag costs no copy. The tag matters: only TCP entries may carry joins,
//! queries and leave commands, and only they carry the TCP peer address that
//! the leave command's same-host check needs.

/// Tag of a UDP datagram.
pub const TAG_UDP: u8 = 0;
/// Tag of a message accepted by the TCP service.
pub const TAG_TCP: u8 = 1;
/// Tag of a control notice.
pub const TAG_CONTROL: u8 = 2;

/// A control notice to the main thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Control {
    /// SIGTERM or SIGINT: leave gracefully.
    Shutdown = 1,
    /// The join client finished (its result waits in a slot).
    JoinDone = 2,
}

impl Control {
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
    /// An encoded envelope accepted over TCP.
    Tcp(&'a [u8]),
    /// A control notice.
    Control(Control),
    /// Something no part of this agent pushes; counted and dropped.
    Unknown,
}

/// Splits a queue entry by its tag byte.
pub fn parse(entry: &[u8]) -> Entry<'_> {
    match entry {
        [TAG_UDP, rest @ ..] => Entry::Udp(rest),
        [TAG_TCP, rest @ ..] => Entry::Tcp(rest),
        [TAG_CONTROL, 1] => Entry::Control(Control::Shutdown),
        [TAG_CONTROL, 2] => Entry::Control(Control::JoinDone),
        _ => Entry::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        assert_eq!(parse(&[TAG_UDP, 9, 8]), Entry::Udp(&[9, 8]));
        assert_eq!(parse(&[TAG_TCP]), Entry::Tcp(&[]));
        assert_eq!(
            parse(&Control::Shutdown.entry()),
            Entry::Control(Control::Shutdown)
        );
        assert_eq!(
            parse(&Control::JoinDone.entry()),
            Entry::Control(Control::JoinDone)
        );
        assert_eq!(parse(&[]), Entry::Unknown);
        assert_eq!(parse(&[TAG_CONTROL, 77]), Entry::Unknown);
        assert_eq!(parse(&[42, 1]), Entry::Unknown);
    }
}
