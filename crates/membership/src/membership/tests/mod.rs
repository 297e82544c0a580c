//! The core's unit tests, by subject.

mod joins;
mod news;
mod transitions;
mod views;

/// What every test module uses.
mod prelude {
    pub(super) use std::net::SocketAddr;
    pub(super) use std::time::Duration;

    pub(super) use rumor_wire::{
        Gossip, Incarnation, JoinRetry, MemberState, MemberUpdate, NodeId, Version,
    };

    pub(super) use crate::detector::MemberChange;
    pub(super) use crate::{
        Channel, Config, DetectorContext, DetectorRegistry, DetectorSettings, Event, EventKind,
        FailureDetector, Membership, Notice, Time,
    };
}
