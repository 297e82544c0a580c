//! One member as the list stores it ([`Entry`], 32 bytes with the table's
//! `Option`) and as the list hands it out ([`Member`]), and the address
//! hash that places it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use rumor_wire::{Incarnation, MemberState, MemberUpdate, NodeId, Version};

/// `Entry::live_pos` of a member outside the live set.
pub(super) const NOT_LIVE: u32 = u32::MAX;

/// Whether a member in `state` counts as live (probed, chosen, listed live).
pub(super) fn is_live(state: MemberState) -> bool {
    matches!(state, MemberState::Alive | MemberState::Suspect)
}

/// One member as this node sees it, as the list hands it out (a copy; the
/// list stores a compact [`Entry`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) id: NodeId,
    pub(crate) incarnation: Incarnation,
    pub(crate) state: MemberState,
}

impl Member {
    pub(crate) fn update(&self) -> MemberUpdate {
        MemberUpdate {
            node: self.id,
            state: self.state,
            incarnation: self.incarnation,
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        is_live(self.state)
    }
}

/// A slot of the member table: 32 bytes, two to a cache line (a simulator
/// holds n² of them; at 10,000 nodes the lists are most of its memory and
/// every received update reads one). An IPv4 address is kept inline; an
/// IPv6 one (rare, and with flow info and scope id) lives in the list's
/// side table and the entry keeps its index there.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub(super) version: Version,
    pub(super) incarnation: Incarnation,
    /// Sequence number of the last change (newest changes first; wraps).
    pub(super) changed: u32,
    /// Position in the live set, or [`NOT_LIVE`].
    pub(super) live_pos: u32,
    /// IPv4 address bits, or the index of the address in the IPv6 table.
    pub(super) ip: u32,
    pub(super) port: u16,
    pub(super) state: MemberState,
    pub(super) v6: bool,
}

impl Entry {
    pub(super) fn addr(&self, v6: &[SocketAddrV6]) -> SocketAddr {
        if self.v6 {
            SocketAddr::V6(v6[self.ip as usize])
        } else {
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from_bits(self.ip), self.port))
        }
    }

    pub(super) fn id(&self, v6: &[SocketAddrV6]) -> NodeId {
        NodeId::new(self.addr(v6), self.version)
    }

    /// Whether this entry is listed under `addr`, without building the
    /// address for IPv4.
    pub(super) fn has_addr(&self, addr: &SocketAddr, v6: &[SocketAddrV6]) -> bool {
        match addr {
            SocketAddr::V4(a) => !self.v6 && self.ip == a.ip().to_bits() && self.port == a.port(),
            SocketAddr::V6(a) => self.v6 && v6[self.ip as usize] == *a,
        }
    }

    /// Whether this entry is `id` (address and version).
    pub(super) fn is(&self, id: &NodeId, v6: &[SocketAddrV6]) -> bool {
        self.version == id.version && self.has_addr(&id.addr, v6)
    }

    pub(super) fn is_live(&self) -> bool {
        is_live(self.state)
    }

    pub(super) fn view(&self, v6: &[SocketAddrV6]) -> Member {
        Member {
            id: self.id(v6),
            incarnation: self.incarnation,
            state: self.state,
        }
    }

    pub(super) fn update(&self, v6: &[SocketAddrV6]) -> MemberUpdate {
        self.view(v6).update()
    }

    /// The hash of this entry's address (see [`hash`]).
    pub(super) fn hash(&self, v6: &[SocketAddrV6]) -> u64 {
        hash(&self.addr(v6))
    }
}

/// A fast, fixed (deterministic) mix of address and port: where the table
/// places the address, and, by its top bits, its digest bucket.
/// Not resistant to chosen collisions, which is fine: entries come from
/// join responses and gossip of cluster members, and a collision costs
/// probe length, not correctness.
pub(super) fn hash(addr: &SocketAddr) -> u64 {
    let (ip, port) = match addr {
        SocketAddr::V4(a) => (u128::from(a.ip().to_bits()), a.port()),
        SocketAddr::V6(a) => (a.ip().to_bits(), a.port()),
    };
    let folded = (ip as u64) ^ ((ip >> 64) as u64).rotate_left(29) ^ (u64::from(port) << 48);
    mix(folded.wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// The splitmix64 finaliser: every input bit moves every output bit.
pub(super) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
