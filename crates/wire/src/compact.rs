//! Compact binary forms for the values that dominate membership traffic.
//!
//! A `NodeId` and a list of `MemberUpdate`s travel as single MessagePack `bin`
//! values of fixed-layout records rather than as nested arrays and maps. The
//! generic form spends a MessagePack value on every byte of an IP address and
//! a string on every enum variant; the fixed layout is a third of the size and
//! decodes without a serde visit per field, which is what keeps decoding a
//! full datagram of updates close to the cost of copying it.
//!
//! Layouts (all integers big-endian):
//!
//! ```text
//! address : family (4 | 6) · IP (4 | 16 bytes) · port (2)
//! node id : address · version (8)
//! update  : node id · state (1: 0 alive, 1 suspect, 2 failed, 3 left) · incarnation (8)
//! updates : update*   (a bin holding the records back to back)
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

use crate::{Incarnation, MemberState, MemberUpdate, NodeId, Version};

const NODE_V4: usize = 1 + 4 + 2 + 8;
/// The longest encoded node id (IPv6).
pub(crate) const NODE_V6: usize = 1 + 16 + 2 + 8;
const UPDATE_TAIL: usize = 1 + 8;
/// The longest record; lists up to this many bytes are encoded on the stack.
const STACK_BYTES: usize = 4096;

pub(crate) fn put_node(out: &mut [u8], node: &NodeId) -> usize {
    let (mut at, port) = match node.addr.ip() {
        IpAddr::V4(ip) => {
            out[0] = 4;
            out[1..5].copy_from_slice(&ip.octets());
            (5, node.addr.port())
        }
        IpAddr::V6(ip) => {
            out[0] = 6;
            out[1..17].copy_from_slice(&ip.octets());
            (17, node.addr.port())
        }
    };
    out[at..at + 2].copy_from_slice(&port.to_be_bytes());
    at += 2;
    out[at..at + 8].copy_from_slice(&node.version.0.to_be_bytes());
    at + 8
}

pub(crate) fn u64_at(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(word)
}

/// Parses one address from the front of `bytes`, returning it and its length.
fn take_addr(bytes: &[u8]) -> Option<(SocketAddr, usize)> {
    let (ip, at): (IpAddr, usize) = match *bytes.first()? {
        4 if bytes.len() >= NODE_V4 - 8 => {
            let octets: [u8; 4] = bytes[1..5].try_into().ok()?;
            (Ipv4Addr::from(octets).into(), 5)
        }
        6 if bytes.len() >= NODE_V6 - 8 => {
            let octets: [u8; 16] = bytes[1..17].try_into().ok()?;
            (Ipv6Addr::from(octets).into(), 17)
        }
        _ => return None,
    };
    let port = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    Some((SocketAddr::new(ip, port), at + 2))
}

/// Parses one node id from the front of `bytes`, returning it and its length.
pub(crate) fn take_node(bytes: &[u8]) -> Option<(NodeId, usize)> {
    let (addr, at) = take_addr(bytes)?;
    let version = bytes.get(at..at + 8)?;
    Some((NodeId::new(addr, Version(u64_at(version))), at + 8))
}

/// The encoded size of `node`'s id: 15 bytes for IPv4, 27 for IPv6.
pub(crate) fn node_len(node: &NodeId) -> usize {
    if node.addr.is_ipv4() {
        NODE_V4
    } else {
        NODE_V6
    }
}

fn state_code(state: MemberState) -> u8 {
    match state {
        MemberState::Alive => 0,
        MemberState::Suspect => 1,
        MemberState::Failed => 2,
        MemberState::Left => 3,
    }
}

fn state_from(code: u8) -> Option<MemberState> {
    Some(match code {
        0 => MemberState::Alive,
        1 => MemberState::Suspect,
        2 => MemberState::Failed,
        3 => MemberState::Left,
        _ => return None,
    })
}

/// The encoded size of one update record in a list of updates (24 bytes
/// for an IPv4 member, 36 for IPv6): what one more update costs in a
/// message, less the list's own header ([`bin_header_len`]).
pub fn update_len(update: &MemberUpdate) -> usize {
    UPDATE_TAIL
        + if update.node.addr.is_ipv4() {
            NODE_V4
        } else {
            NODE_V6
        }
}

fn put_update(out: &mut [u8], update: &MemberUpdate) -> usize {
    let at = put_node(out, &update.node);
    out[at] = state_code(update.state);
    out[at + 1..at + 9].copy_from_slice(&update.incarnation.0.to_be_bytes());
    at + 9
}

/// The size of the header of a MessagePack `bin` of `len` bytes: how a
/// list of updates (or a detector payload) is framed inside a message.
pub fn bin_header_len(len: usize) -> usize {
    match len {
        0..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

pub(crate) fn serialize_node<S: Serializer>(node: &NodeId, ser: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; NODE_V6];
    let len = put_node(&mut buf, node);
    ser.serialize_bytes(&buf[..len])
}

pub(crate) fn deserialize_node<'de, D: Deserializer<'de>>(de: D) -> Result<NodeId, D::Error> {
    struct NodeVisitor;
    impl<'de> Visitor<'de> for NodeVisitor {
        type Value = NodeId;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a compact node id")
        }
        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<NodeId, E> {
            match take_node(bytes) {
                Some((node, len)) if len == bytes.len() => Ok(node),
                _ => Err(E::custom("malformed node id")),
            }
        }
    }
    de.deserialize_bytes(NodeVisitor)
}

/// serde `with` module for a `SocketAddr` as one bin: family · IP · port.
pub(crate) mod addr {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(addr: &SocketAddr, ser: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; NODE_V6];
        // A node id without its version is an address.
        let len = put_node(&mut buf, &NodeId::new(*addr, Version(0))) - 8;
        ser.serialize_bytes(&buf[..len])
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<SocketAddr, D::Error> {
        struct AddrVisitor;
        impl<'de> Visitor<'de> for AddrVisitor {
            type Value = SocketAddr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a compact socket address")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<SocketAddr, E> {
                match take_addr(bytes) {
                    Some((addr, len)) if len == bytes.len() => Ok(addr),
                    _ => Err(E::custom("malformed socket address")),
                }
            }
        }
        de.deserialize_bytes(AddrVisitor)
    }
}

/// serde `with` module for an optional `SocketAddr`: `nil`, or [`addr`]'s
/// bin.
pub(crate) mod maybe_addr {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        addr: &Option<SocketAddr>,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        match addr {
            Some(addr) => super::addr::serialize(addr, ser),
            None => ser.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        struct Present(SocketAddr);
        impl<'de> serde::Deserialize<'de> for Present {
            fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Present, D::Error> {
                super::addr::deserialize(de).map(Present)
            }
        }
        Ok(<Option<Present> as serde::Deserialize>::deserialize(de)?.map(|p| p.0))
    }
}

/// serde `with` module for `Vec<MemberUpdate>` as one bin of records.
pub(crate) mod updates {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        updates: &[MemberUpdate],
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        let total: usize = updates.iter().map(update_len).sum();
        let mut stack = [0u8; STACK_BYTES];
        let mut heap = Vec::new();
        let buf: &mut [u8] = if total <= STACK_BYTES {
            &mut stack[..total]
        } else {
            heap.resize(total, 0);
            &mut heap
        };
        let mut at = 0;
        for update in updates {
            at += put_update(&mut buf[at..], update);
        }
        ser.serialize_bytes(buf)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Vec<MemberUpdate>, D::Error> {
        struct UpdatesVisitor;
        impl<'de> Visitor<'de> for UpdatesVisitor {
            type Value = Vec<MemberUpdate>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("compact member updates")
            }
            fn visit_bytes<E: de::Error>(self, mut bytes: &[u8]) -> Result<Self::Value, E> {
                // Every record is at least this long, so the capacity is
                // bounded by the input.
                let mut out = Vec::with_capacity(bytes.len() / (NODE_V4 + UPDATE_TAIL));
                while !bytes.is_empty() {
                    // IPv4 records, the common case, are parsed from a
                    // fixed-size view so every bounds check folds away.
                    if let Some(record) = bytes.first_chunk::<{ NODE_V4 + UPDATE_TAIL }>()
                        && record[0] == 4
                    {
                        let ip = Ipv4Addr::new(record[1], record[2], record[3], record[4]);
                        let port = u16::from_be_bytes([record[5], record[6]]);
                        let version = u64_at(&record[7..15]);
                        let state = state_from(record[15])
                            .ok_or_else(|| E::custom("unknown member state"))?;
                        out.push(MemberUpdate {
                            node: NodeId::new(SocketAddr::new(ip.into(), port), Version(version)),
                            state,
                            incarnation: Incarnation(u64_at(&record[16..24])),
                        });
                        bytes = &bytes[NODE_V4 + UPDATE_TAIL..];
                        continue;
                    }
                    let (node, at) =
                        take_node(bytes).ok_or_else(|| E::custom("malformed update record"))?;
                    let tail = bytes
                        .get(at..at + UPDATE_TAIL)
                        .ok_or_else(|| E::custom("truncated update record"))?;
                    let state =
                        state_from(tail[0]).ok_or_else(|| E::custom("unknown member state"))?;
                    out.push(MemberUpdate {
                        node,
                        state,
                        incarnation: Incarnation(u64_at(&tail[1..])),
                    });
                    bytes = &bytes[at + UPDATE_TAIL..];
                }
                Ok(out)
            }
        }
        de.deserialize_bytes(UpdatesVisitor)
    }
}
