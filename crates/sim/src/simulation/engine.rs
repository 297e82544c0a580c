//! What runs in a simulated process: a rumor membership core with one of
//! the registered detectors, or foca. The driver talks to both through
//! [`Engine`], and carries what they send as a [`Payload`].

use std::net::SocketAddr;

use rumor_membership::{
    Channel, Event, Gossip, MemberInfo, Membership, NodeId, Notice, Outbound, Time,
};

use super::wire::WireCheck;
use crate::foca_node::FocaNode;
use crate::notices::NoticeCounts;

/// What travels between two processes.
pub(super) enum Payload {
    /// A rumor message (the envelope's body; the sender rides beside it).
    Rumor(Gossip),
    /// A foca datagram, as encoded.
    Foca(Box<[u8]>),
}

/// One message a process sends.
pub(super) struct Outgoing {
    pub to: SocketAddr,
    pub channel: Channel,
    /// Encoded bytes (rumor's envelope, or foca's datagram).
    pub len: usize,
    pub payload: Payload,
}

impl From<Outbound> for Outgoing {
    fn from(o: Outbound) -> Outgoing {
        Outgoing {
            to: o.to,
            channel: o.channel,
            len: o.len,
            payload: Payload::Rumor(o.message),
        }
    }
}

/// The membership implementation of one process.
pub(super) enum Engine {
    Rumor(Box<Membership>),
    Foca(Box<FocaNode>),
}

impl Engine {
    /// The process's current identity (it changes on a rejoin).
    pub fn id(&self) -> NodeId {
        match self {
            Engine::Rumor(m) => m.id(),
            Engine::Foca(f) => f.id(),
        }
    }

    /// The rumor core, if this is one (joins over streams are rumor's).
    pub fn rumor(&mut self) -> Option<&mut Membership> {
        match self {
            Engine::Rumor(m) => Some(m),
            Engine::Foca(_) => None,
        }
    }

    /// The rumor core, if this is one, to look at.
    pub fn rumor_ref(&self) -> Option<&Membership> {
        match self {
            Engine::Rumor(m) => Some(m),
            Engine::Foca(_) => None,
        }
    }

    pub fn join(&mut self, now: Time, introducers: Vec<SocketAddr>) {
        match self {
            Engine::Rumor(m) => m.join(now, introducers),
            Engine::Foca(f) => f.join(now, introducers),
        }
    }

    /// Hands over a message; one of the other implementation is dropped
    /// (never happens: every process of a run runs the same).
    pub fn handle(&mut self, now: Time, from: SocketAddr, payload: Payload) {
        match (self, payload) {
            (Engine::Rumor(m), Payload::Rumor(message)) => m.handle(now, from, message),
            (Engine::Foca(f), Payload::Foca(data)) => f.handle(now, &data),
            _ => {}
        }
    }

    pub fn tick(&mut self, now: Time) {
        match self {
            Engine::Rumor(m) => m.tick(now),
            Engine::Foca(f) => f.tick(now),
        }
    }

    pub fn leave(&mut self, now: Time) {
        match self {
            Engine::Rumor(m) => m.leave(now),
            Engine::Foca(f) => f.leave(now),
        }
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        match self {
            Engine::Rumor(m) => m.poll_timeout(),
            Engine::Foca(f) => f.poll_timeout(),
        }
    }

    /// The next message to send; a rumor core's through `wire`'s codec
    /// checks when the run asks for them.
    pub fn poll_outgoing(&mut self, wire: Option<&mut WireCheck>) -> Option<Outgoing> {
        match self {
            Engine::Rumor(m) => match wire {
                Some(wire) => wire.next(m),
                None => m.poll_message().map(Outgoing::from),
            },
            Engine::Foca(f) => f.poll_datagram().map(|(to, data)| Outgoing {
                to,
                channel: Channel::Datagram,
                len: data.len(),
                payload: Payload::Foca(data.into_boxed_slice()),
            }),
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        match self {
            Engine::Rumor(m) => m.poll_event(),
            Engine::Foca(f) => f.poll_event(),
        }
    }

    /// Counts the notices waiting (rumor's cores only give any) and, given
    /// a log, keeps them there.
    pub fn drain_notices(&mut self, counts: &mut NoticeCounts, mut log: Option<&mut Vec<Notice>>) {
        if let Engine::Rumor(m) = self {
            while let Some(notice) = m.poll_notice() {
                counts.count(&notice);
                if let Some(log) = log.as_deref_mut() {
                    log.push(notice);
                }
            }
        }
    }

    /// New versions the process took by itself so far.
    pub fn rejoins(&self) -> u64 {
        match self {
            Engine::Rumor(m) => m.stats().rejoins,
            Engine::Foca(f) => f.rejoins(),
        }
    }

    /// Suspicions this process raised itself so far (not those it heard of).
    pub fn suspicions_raised(&self) -> u64 {
        match self {
            Engine::Rumor(m) => m.stats().suspicions,
            Engine::Foca(f) => f.suspicions(),
        }
    }

    pub fn has_left(&self) -> bool {
        match self {
            Engine::Rumor(m) => m.has_left(),
            Engine::Foca(f) => f.has_left(),
        }
    }

    /// Calls the implementation refused (foca's errors; rumor's cores
    /// count their refusals in their own stats).
    pub fn errors(&self) -> u64 {
        match self {
            Engine::Rumor(_) => 0,
            Engine::Foca(f) => f.errors(),
        }
    }

    /// Members alive or suspected, itself included.
    pub fn live_count(&self) -> usize {
        match self {
            Engine::Rumor(m) => m.live_count(),
            Engine::Foca(f) => f.live_count(),
        }
    }

    pub fn members(&self) -> Vec<MemberInfo> {
        match self {
            Engine::Rumor(m) => m.members(),
            Engine::Foca(f) => f.members(),
        }
    }
}
