//! Messages waiting for the driver to poll them, each with how it must
//! travel, and their encoding: a message is built and encoded once, when
//! the driver polls it, so a detector's payload gets the membership news
//! that is current then, in exactly the room its datagram leaves.

use std::collections::VecDeque;
use std::net::SocketAddr;

use rumor_wire::{Envelope, Extras, Gossip, MemberUpdate, NodeId};

use crate::journal::shrink_idle;
use crate::room::Room;
use crate::{Channel, Outbound, Stats, Transmit};

/// What fills a detector message after its payload: the updates and extras
/// for the given bytes of news (see [`Room::news_after_payload`]).
pub(crate) type Piggyback<'a> = dyn FnMut(usize) -> (Vec<MemberUpdate>, Extras) + 'a;

/// What an outgoing message is made of.
#[derive(Debug)]
enum Body {
    /// A message complete as it is.
    Message(Gossip),
    /// A detector's payload, to be wrapped with piggybacked updates.
    Detector(Vec<u8>),
    /// An `Updates` message filled with the news current when polled; not
    /// sent if there is none left to tell by then.
    News,
}

/// A message waiting for the driver to poll it.
#[derive(Debug)]
struct Outgoing {
    to: SocketAddr,
    body: Body,
    channel: Channel,
}

/// The queue of messages to send.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Outgoing>,
}

impl Outbox {
    /// Queues a complete message.
    pub(crate) fn push(&mut self, to: SocketAddr, message: Gossip, channel: Channel) {
        let body = Body::Message(message);
        self.queue.push_back(Outgoing { to, body, channel });
    }

    /// Queues a detector's payload for `to`, wrapped when the driver polls it.
    pub(crate) fn push_detector(&mut self, to: SocketAddr, payload: Vec<u8>) {
        let body = Body::Detector(payload);
        let channel = Channel::Datagram;
        self.queue.push_back(Outgoing { to, body, channel });
    }

    /// Queues news for `to`: an `Updates` datagram of whatever news is
    /// still to be told when the driver polls it.
    pub(crate) fn push_news(&mut self, to: SocketAddr) {
        let body = Body::News;
        let channel = Channel::Datagram;
        self.queue.push_back(Outgoing { to, body, channel });
    }

    /// Drops everything not yet sent (this version is over).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }

    /// The next message, complete: a detector's payload is wrapped with the
    /// news `piggyback` gives for the bytes of news left after it.
    fn next(
        &mut self,
        me: NodeId,
        detector: &str,
        room: &Room,
        piggyback: &mut Piggyback<'_>,
    ) -> Option<(SocketAddr, Gossip, Channel)> {
        loop {
            let Some(Outgoing { to, body, channel }) = self.queue.pop_front() else {
                shrink_idle(&mut self.queue);
                return None;
            };
            let message = match body {
                Body::Message(message) => message,
                Body::Detector(payload) => {
                    let (updates, extras) = piggyback(room.news_after_payload(payload.len()));
                    Gossip::Detector {
                        detector: detector.to_string(),
                        sender: me,
                        payload,
                        updates,
                        extras,
                    }
                }
                Body::News => {
                    let (updates, extras) = piggyback(room.news());
                    if updates.is_empty() && extras.is_empty() {
                        continue;
                    }
                    Gossip::Updates {
                        sender: me,
                        updates,
                        extras,
                    }
                }
            };
            return Some((to, message, channel));
        }
    }

    /// The next message, encoded into `buf` (cleared first), counted in
    /// `stats`.
    pub(crate) fn next_transmit(
        &mut self,
        buf: &mut Vec<u8>,
        me: NodeId,
        detector: &str,
        room: &Room,
        stats: &mut Stats,
        piggyback: &mut Piggyback<'_>,
    ) -> Option<Transmit> {
        while let Some((to, message, channel)) = self.next(me, detector, room, piggyback) {
            buf.clear();
            let envelope = Envelope::new(me.addr, message);
            if rumor_wire::encode_to_vec(&envelope, buf, limit(room, channel)).is_err() {
                // Every budget is exact; this is a bug, counted.
                stats.oversize_payloads += 1;
                continue;
            }
            stats.messages_sent += 1;
            stats.bytes_sent += buf.len() as u64;
            return Some(Transmit {
                to,
                channel,
                len: buf.len(),
            });
        }
        None
    }

    /// The next message as a value, with its encoded length, counted in
    /// `stats`.
    pub(crate) fn next_message(
        &mut self,
        me: NodeId,
        detector: &str,
        room: &Room,
        stats: &mut Stats,
        piggyback: &mut Piggyback<'_>,
    ) -> Option<Outbound> {
        while let Some((to, message, channel)) = self.next(me, detector, room, piggyback) {
            let envelope = Envelope::new(me.addr, message);
            let len = rumor_wire::encoded_len(&envelope);
            if len > limit(room, channel) {
                stats.oversize_payloads += 1;
                continue;
            }
            // The envelope is built only to measure it; the core speaks
            // nothing but gossip, so the body always comes back out.
            if let rumor_wire::Message::Gossip(message) = envelope.body {
                stats.messages_sent += 1;
                stats.bytes_sent += len as u64;
                return Some(Outbound {
                    to,
                    channel,
                    len,
                    message,
                });
            }
        }
        None
    }
}

/// The most bytes a message on `channel` may encode to.
fn limit(room: &Room, channel: Channel) -> usize {
    match channel {
        Channel::Datagram => room.datagram(),
        Channel::Request => rumor_wire::DEFAULT_MAX_FRAME,
    }
}
