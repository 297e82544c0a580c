//! A foca identity for a simulated node: its listening address and the
//! version of the process, as rumor's [`NodeId`] has them.

use std::net::SocketAddr;

use rumor_membership::{NodeId, Version};
use serde::{Deserialize, Serialize};

/// One process of one slot, as foca knows it. Two processes at one address
/// conflict; the higher version wins, so a restarted or renewed process
/// replaces the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct FocaId {
    /// The listening address.
    pub addr: SocketAddr,
    /// The process's version (rises on every restart and renewal).
    pub version: u64,
}

impl FocaId {
    /// The identity of `node`.
    pub fn of(node: NodeId) -> FocaId {
        FocaId {
            addr: node.addr,
            version: node.version.0,
        }
    }

    /// The same process as a rumor node id, for events and the ledger.
    pub fn node(self) -> NodeId {
        NodeId::new(self.addr, Version(self.version))
    }

    /// An identity foca accepts an announce for at `addr`, whatever the
    /// version running there (foca takes an `Announce` addressed to any
    /// identity of its address).
    pub fn anyone_at(addr: SocketAddr) -> FocaId {
        FocaId { addr, version: 0 }
    }
}

impl foca::Identity for FocaId {
    type Addr = SocketAddr;

    /// Declared down, a node takes the next version and rejoins by itself,
    /// as rumor's cores do.
    fn renew(&self) -> Option<Self> {
        Some(FocaId {
            addr: self.addr,
            version: self.version + 1,
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.version > adversary.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foca::Identity;

    #[test]
    fn newer_versions_win_and_renewal_rises() {
        let a = FocaId::of("10.0.0.1:4000#5".parse().unwrap());
        let b = a.renew().unwrap();
        assert_eq!((b.addr, b.version), (a.addr, 6));
        assert!(b.win_addr_conflict(&a) && !a.win_addr_conflict(&b));
        assert_eq!(FocaId::of(b.node()), b);
    }
}
