//! A foca identity for a simulated node: its listening address and the
//! version of the process, as rumor's [`NodeId`] has them.
//!
//! foca keeps its members in a vector and finds one by comparing
//! addresses along it: on every message it handles, and for every member
//! it learns (ten thousand nodes learning ten thousand members is 5·10¹¹
//! comparisons). So the identity is held in 8 bytes — the node's slot
//! (its address, since every simulated node listens on `slot_addr(slot)`)
//! and its version counted from [`VERSION_EPOCH_MS`] — where the address
//! and the version themselves took 16, and foca compares one `u32`. On the
//! wire it is exactly what it stands for: the IPv4 address and port, then
//! the version (6 bytes and a varint in foca's postcard codec).

use std::net::{SocketAddr, SocketAddrV4};

use rumor_membership::{NodeId, Version};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::simulation::{PORT, VERSION_EPOCH_MS, slot_addr};

/// One process of one slot, as foca knows it. Two processes at one address
/// conflict; the higher version wins, so a restarted or renewed process
/// replaces the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FocaId {
    /// The slot: which address.
    slot: u32,
    /// 0 for version 0 (an announce to whoever listens at an address),
    /// else the version less [`VERSION_EPOCH_MS`], plus one.
    generation: u32,
}

impl FocaId {
    /// The identity of `node`, a simulated node.
    pub fn of(node: NodeId) -> FocaId {
        FocaId::from_parts(v4(node.addr), node.version.0)
            .unwrap_or_else(|| panic!("{node} is not a simulated node's identity"))
    }

    /// The identity at `addr` with `version`, if a simulated node can have
    /// it.
    fn from_parts(addr: SocketAddrV4, version: u64) -> Option<FocaId> {
        if addr.port() != PORT {
            return None;
        }
        let first = u32::from(*v4(slot_addr(0)).ip());
        let slot = u32::from(*addr.ip()).checked_sub(first)?;
        let generation = match version {
            0 => 0,
            v => u32::try_from(v.checked_sub(VERSION_EPOCH_MS)?.checked_add(1)?).ok()?,
        };
        Some(FocaId { slot, generation })
    }

    /// The listening address.
    pub fn addr(self) -> SocketAddrV4 {
        v4(slot_addr(self.slot as usize))
    }

    /// The process's version (rises on every restart and renewal).
    pub fn version(self) -> u64 {
        match self.generation {
            0 => 0,
            g => VERSION_EPOCH_MS + u64::from(g) - 1,
        }
    }

    /// The same process as a rumor node id, for events and the ledger.
    pub fn node(self) -> NodeId {
        NodeId::new(SocketAddr::V4(self.addr()), Version(self.version()))
    }

    /// An identity foca accepts an announce for at `addr`, whatever the
    /// version running there (foca takes an `Announce` addressed to any
    /// identity of its address).
    pub fn anyone_at(addr: SocketAddr) -> FocaId {
        FocaId::from_parts(v4(addr), 0)
            .unwrap_or_else(|| panic!("{addr} is not a simulated node's address"))
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

/// The identity as foca's codec carries it.
#[derive(Serialize, Deserialize)]
#[serde(rename = "FocaId")]
struct Wire {
    addr: SocketAddrV4,
    version: u64,
}

impl Serialize for FocaId {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        Wire {
            addr: self.addr(),
            version: self.version(),
        }
        .serialize(ser)
    }
}

impl<'de> Deserialize<'de> for FocaId {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<FocaId, D::Error> {
        let wire = Wire::deserialize(de)?;
        FocaId::from_parts(wire.addr, wire.version)
            .ok_or_else(|| serde::de::Error::custom("not a simulated node's identity"))
    }
}

impl foca::Identity for FocaId {
    /// The slot stands for the address.
    type Addr = u32;

    /// Declared down, a node takes the next version and rejoins by itself,
    /// as rumor's cores do.
    fn renew(&self) -> Option<Self> {
        Some(FocaId {
            slot: self.slot,
            generation: self.generation.checked_add(1)?,
        })
    }

    fn addr(&self) -> u32 {
        self.slot
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.generation > adversary.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foca::{Codec, Identity, Member, PostcardCodec};
    use std::net::Ipv4Addr;

    #[test]
    fn newer_versions_win_and_renewal_rises() {
        let node = NodeId::new(slot_addr(41), Version(VERSION_EPOCH_MS + 5));
        let a = FocaId::of(node);
        let b = a.renew().unwrap();
        assert_eq!((b.addr(), b.version()), (a.addr(), VERSION_EPOCH_MS + 6));
        assert!(b.win_addr_conflict(&a) && !a.win_addr_conflict(&b));
        assert!(a.win_addr_conflict(&FocaId::anyone_at(node.addr)));
        assert_eq!(FocaId::of(b.node()), b);
        assert_eq!(a.node(), node);
        assert_eq!(std::mem::size_of::<FocaId>(), 8);
    }

    #[test]
    fn on_the_wire_it_is_the_address_and_the_version() {
        let node = NodeId::new(slot_addr(300), Version(VERSION_EPOCH_MS + 70_000));
        let id = FocaId::of(node);
        let plain = postcard::to_allocvec(&Wire {
            addr: v4(node.addr),
            version: node.version.0,
        })
        .unwrap();
        assert_eq!(postcard::to_allocvec(&id).unwrap(), plain);
        let mut codec = PostcardCodec;
        let mut buf = Vec::new();
        codec.encode_member(&Member::alive(id), &mut buf).unwrap();
        let back: Member<FocaId> = codec.decode_member(&buf[..]).unwrap();
        assert_eq!(*back.id(), id);
        // An address no simulated node has is refused, not mapped.
        let stranger = Wire {
            addr: SocketAddrV4::new(Ipv4Addr::new(192, 168, 0, 1), PORT),
            version: 1,
        };
        let bytes = postcard::to_allocvec(&stranger).unwrap();
        assert!(postcard::from_bytes::<FocaId>(&bytes).is_err());
    }
}
