//! How a [`Membership`] starts: its configuration, its seed, what the
//! driver adds to every datagram, and how many members' histories it keeps.

use std::sync::Arc;

use rumor_wire::{Metadata, NodeId};

use crate::admission::Gate;
use crate::core::Core;
use crate::metadata;
use crate::provenance::Provenance;
use crate::room::Room;
use crate::{Admission, Config, FailureDetector, Membership, Time};

/// How a [`Membership`] starts: its configuration, its seed, what the
/// driver adds to every datagram, how many members' histories it keeps,
/// its metadata and its admission check.
pub struct Builder {
    me: NodeId,
    detector: Box<dyn FailureDetector>,
    config: Config,
    seed: u64,
    packet_overhead: usize,
    provenance: usize,
    metadata: Metadata,
    admission: Option<Box<dyn Admission>>,
}

impl Builder {
    /// A builder with the defaults.
    pub(crate) fn new(me: NodeId, detector: Box<dyn FailureDetector>) -> Builder {
        Builder {
            me,
            detector,
            config: Config::default(),
            seed: 0,
            packet_overhead: 0,
            provenance: Provenance::DEFAULT_MEMBERS,
            metadata: Metadata::new(),
            admission: None,
        }
    }

    /// The configuration (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// The seed of every random choice (default 0).
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = seed;
        self
    }

    /// Bytes the driver adds to every datagram after the core's envelope
    /// (an AEAD's header and tag, say): the core keeps every datagram
    /// within `Config::datagram_limit` less this.
    pub fn packet_overhead(mut self, bytes: usize) -> Builder {
        self.packet_overhead = bytes;
        self
    }

    /// How many members' histories [`Membership::history`] keeps (default
    /// 128; 0 keeps none, as a simulator of thousands of nodes may want).
    pub fn provenance(mut self, members: usize) -> Builder {
        self.provenance = members;
        self
    }

    /// This node's metadata from the start (default none): its join
    /// requests carry it, so the cluster learns it with the join. See
    /// [`Membership::set_metadata`] to change it later.
    pub fn metadata(mut self, metadata: Metadata) -> Builder {
        self.metadata = metadata;
        self
    }

    /// The check this node runs, as an introducer, on every join request
    /// (default: none, every joiner is admitted). See [`Admission`].
    pub fn admission(mut self, check: impl Admission + 'static) -> Builder {
        self.admission = Some(Box::new(check));
        self
    }

    /// Checks the configuration and starts the node, alone in its own
    /// cluster, at `now`.
    pub fn start(self, now: Time) -> Result<Membership, crate::MembershipError> {
        self.config.validate()?;
        let room = self
            .config
            .datagram_limit
            .saturating_sub(self.packet_overhead);
        if room < crate::config::MIN_DATAGRAM_ROOM {
            return Err(crate::MembershipError::InvalidConfig {
                key: "datagram_limit",
                problem: "leaves less than 512 bytes after the driver's packet overhead",
            });
        }
        let name: Arc<str> = Arc::from(self.detector.name());
        let room = Room::new(
            self.me,
            &name,
            self.config.datagram_limit,
            self.packet_overhead,
        );
        if self.metadata.encoded_len() > metadata::own_limit(self.me, &room) {
            return Err(crate::MembershipError::InvalidConfig {
                key: "metadata",
                problem: "does not fit this node's datagrams (datagram_limit less the driver's packet overhead)",
            });
        }
        let core = Core::new(
            self.me,
            self.config,
            name,
            self.seed,
            self.packet_overhead,
            self.provenance,
            (self.metadata, Gate::new(self.admission)),
            now,
        );
        Ok(Membership::start(core, self.detector))
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("me", &self.me)
            .field("detector", &self.detector.name())
            .field("seed", &self.seed)
            .field("packet_overhead", &self.packet_overhead)
            .field("provenance", &self.provenance)
            .field("metadata", &self.metadata)
            .field("admission", &self.admission.is_some())
            .finish_non_exhaustive()
    }
}
