//! Who a member is: its listening address plus the version it joined with.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::WireError;

/// The join version of a node: fixed when the process joins, higher on every
/// restart. Under fail-stop semantics a restarted node is a new member, so two
/// `NodeId`s with the same address and different versions are different members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub u64);

/// A per-member counter the member raises to refute a suspicion of itself.
/// Not the same thing as [`Version`]: the incarnation changes while the
/// process lives, the version never does.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Incarnation(pub u64);

impl Incarnation {
    /// The next incarnation, saturating at `u64::MAX`.
    pub fn next(self) -> Incarnation {
        Incarnation(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A cluster member's identity: listening address and join version.
///
/// Text form is `IP:PORT#VERSION`, with IPv6 addresses in brackets:
///
/// ```
/// use rumor_wire::{NodeId, Version};
/// let id: NodeId = "[::1]:3000#7".parse().unwrap();
/// assert_eq!(id.version, Version(7));
/// assert_eq!(id.to_string(), "[::1]:3000#7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// The address the node listens on, for UDP and TCP alike.
    pub addr: SocketAddr,
    /// The version the node joined with.
    pub version: Version,
}

impl NodeId {
    /// A node id from its parts.
    pub fn new(addr: SocketAddr, version: Version) -> NodeId {
        NodeId { addr, version }
    }

    /// Whether `other` is a later incarnation of the same address
    /// (same address, higher version), which supersedes `self`.
    pub fn is_superseded_by(&self, other: &NodeId) -> bool {
        self.addr == other.addr && other.version > self.version
    }
}

impl Serialize for NodeId {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        crate::compact::serialize_node(self, ser)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<NodeId, D::Error> {
        crate::compact::deserialize_node(de)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.addr, self.version)
    }
}

impl FromStr for NodeId {
    type Err = WireError;

    fn from_str(s: &str) -> Result<NodeId, WireError> {
        let bad = |why: &'static str| WireError::BadNodeId {
            input: s.chars().take(80).collect(),
            why,
        };
        let (addr, version) = s.rsplit_once('#').ok_or(bad("missing '#VERSION'"))?;
        let addr: SocketAddr = addr.parse().map_err(|_| bad("bad IP:PORT"))?;
        let version: u64 = version.parse().map_err(|_| bad("bad version number"))?;
        Ok(NodeId::new(addr, Version(version)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_ipv4() {
        let id: NodeId = "127.0.0.2:4000#1763899990001".parse().unwrap();
        assert_eq!(id.addr, "127.0.0.2:4000".parse().unwrap());
        assert_eq!(id.version, Version(1763899990001));
        assert_eq!(id.to_string(), "127.0.0.2:4000#1763899990001");
    }

    #[test]
    fn parses_and_prints_ipv6() {
        let id: NodeId = "[::1]:3000#7".parse().unwrap();
        assert_eq!(id.addr, "[::1]:3000".parse().unwrap());
        assert_eq!(id.to_string(), "[::1]:3000#7");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "127.0.0.1:3000",
            "127.0.0.1#1",
            "127.0.0.1:3000#",
            "127.0.0.1:3000#-1",
            "127.0.0.1:99999#1",
            "::1:3000#1",
            "#",
        ] {
            let err = bad.parse::<NodeId>().unwrap_err();
            assert!(matches!(err, WireError::BadNodeId { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn newer_version_supersedes() {
        let old: NodeId = "127.0.0.1:3000#1".parse().unwrap();
        let new: NodeId = "127.0.0.1:3000#2".parse().unwrap();
        let other: NodeId = "127.0.0.1:3001#9".parse().unwrap();
        assert!(old.is_superseded_by(&new));
        assert!(!new.is_superseded_by(&old));
        assert!(!old.is_superseded_by(&other));
    }
}
