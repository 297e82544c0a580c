//! A foca identity for a simulated node: its listening address and the
//! version of the process, as rumor's [`NodeId`] has them.

use std::net::{SocketAddr, SocketAddrV4};

use rumor_membership::{NodeId, Version};
use serde::{Deserialize, Serialize};

/// One process of one slot, as foca knows it. Two processes at one address
/// conflict; the higher version wins, so a restarted or renewed process
/// replaces the one before it. Simulated nodes listen on IPv4 addresses
/// (6 bytes on foca's wire; foca compares addresses on every member
/// lookup, so a small one also keeps a large simulation fast).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct FocaId {
    /// The listening address.
    pub addr: SocketAddrV4,
    /// The process's version (rises on every restart and renewal).
    pub version: u64,
}

impl FocaId {
    /// The identity of `node`.
    pub fn of(node: NodeId) -> FocaId {
        FocaId {
            addr: v4(node.addr),
            version: node.version.0,
        }
    }

    /// The same process as a rumor node id, for events and the ledger.
    pub fn node(self) -> NodeId {
        NodeId::new(SocketAddr::V4(self.addr), Version(self.version))
    }

    /// An identity foca accepts an announce for at `addr`, whatever the
    /// version running there (foca takes an `Announce` addressed to any
    /// identity of its address).
    pub fn anyone_at(addr: SocketAddr) -> FocaId {
        FocaId {
            addr: v4(addr),
            version: 0,
        }
    }
}

/// The IPv4 address every simulated node listens on
/// ([`crate::slot_addr`] gives no other kind).
fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => panic!("simulated nodes listen on IPv4 addresses, not {a}"),
    }
}

impl foca::Identity for FocaId {
    type Addr = SocketAddrV4;

    /// Declared down, a node takes the next version and rejoins by itself,
    /// as rumor's cores do.
    fn renew(&self) -> Option<Self> {
        Some(FocaId {
            addr: self.addr,
            version: self.version + 1,
        })
    }

    fn addr(&self) -> SocketAddrV4 {
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
