//! What travels beside membership updates: members' metadata and the
//! broadcasts programs that embed the core send to every member.
//!
//! [`Extras`] ride in `JoinRequest`, `JoinResponse`, `Updates` and
//! `Detector` messages as their last field, which is left out entirely
//! when there are none: a cluster without metadata or broadcasts sends
//! exactly the bytes it sent before they existed. Encoded as one
//! MessagePack `bin` of records back to back (integers big-endian; node id
//! as in the compact updates):
//!
//! ```text
//! extras    : record*
//! record    : 1 · node id · incarnation (8) · length (2) · metadata   a member's metadata
//!           | 2 · node id · sequence (8) · length (2) · payload      a user broadcast
//! ```
//!
//! A metadata record is at most [`crate::METADATA_LIMIT`] bytes of
//! metadata, a broadcast at most [`BROADCAST_LIMIT`] bytes of payload;
//! both limits are checked before anything is allocated.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

use crate::compact::{NODE_V6, node_len, put_node, take_node, u64_at};
use crate::{Incarnation, Metadata, NodeId};

/// The most bytes of payload one user broadcast carries.
pub const BROADCAST_LIMIT: usize = 512;

const METADATA_KIND: u8 = 1;
const BROADCAST_KIND: u8 = 2;
/// Kind, sequence or incarnation, and length: a record's bytes besides its
/// node id and body.
const RECORD_OVERHEAD: usize = 1 + 8 + 2;

/// A member's metadata as of the incarnation at which the member set it.
/// A member sets new metadata under a new incarnation, so the pair
/// (member, incarnation) names one content, and a newer incarnation
/// replaces an older one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberMetadata {
    /// The member.
    pub node: NodeId,
    /// Its incarnation when it set this metadata.
    pub incarnation: Incarnation,
    /// The metadata.
    pub metadata: Metadata,
}

impl MemberMetadata {
    /// `node`'s `metadata`, set at `incarnation`.
    pub fn new(node: NodeId, incarnation: Incarnation, metadata: Metadata) -> MemberMetadata {
        MemberMetadata {
            node,
            incarnation,
            metadata,
        }
    }

    /// Encoded bytes of this record in [`Extras`].
    pub fn record_len(&self) -> usize {
        RECORD_OVERHEAD + node_len(&self.node) + self.metadata.encoded_len()
    }
}

/// A message a program sends to every member of its cluster, piggybacked
/// by the cores and handed to each program once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserBroadcast {
    /// The member that sent it.
    pub origin: NodeId,
    /// Its sequence number at the origin (each broadcast of an origin has
    /// its own, rising).
    pub seq: u64,
    /// The program's bytes, at most [`BROADCAST_LIMIT`].
    pub payload: Vec<u8>,
}

impl UserBroadcast {
    /// Broadcast `seq` of `origin`, carrying `payload`.
    pub fn new(origin: NodeId, seq: u64, payload: Vec<u8>) -> UserBroadcast {
        UserBroadcast {
            origin,
            seq,
            payload,
        }
    }

    /// Encoded bytes of this record in [`Extras`].
    pub fn record_len(&self) -> usize {
        RECORD_OVERHEAD + node_len(&self.origin) + self.payload.len()
    }
}

/// Members' metadata and user broadcasts carried by a message: eight
/// bytes and no allocation when there are none (most messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras(Option<Box<Records>>);

/// The records of non-empty [`Extras`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Records {
    metadata: Vec<MemberMetadata>,
    broadcasts: Vec<UserBroadcast>,
}

impl Extras {
    /// Nothing to carry.
    pub fn new() -> Extras {
        Extras(None)
    }

    /// Extras of these records (none if both are empty).
    pub fn from_parts(metadata: Vec<MemberMetadata>, broadcasts: Vec<UserBroadcast>) -> Extras {
        if metadata.is_empty() && broadcasts.is_empty() {
            return Extras(None);
        }
        Extras(Some(Box::new(Records {
            metadata,
            broadcasts,
        })))
    }

    /// The records: members' metadata, each beside an update about the
    /// same member (or, in a join request, the joiner's own), and user
    /// broadcasts.
    pub fn into_parts(self) -> (Vec<MemberMetadata>, Vec<UserBroadcast>) {
        match self.0 {
            Some(records) => (records.metadata, records.broadcasts),
            None => (Vec::new(), Vec::new()),
        }
    }

    /// Members' metadata carried.
    pub fn metadata(&self) -> &[MemberMetadata] {
        self.0.as_ref().map_or(&[], |r| &r.metadata)
    }

    /// User broadcasts carried.
    pub fn broadcasts(&self) -> &[UserBroadcast] {
        self.0.as_ref().map_or(&[], |r| &r.broadcasts)
    }

    /// Adds a member's metadata.
    pub fn push_metadata(&mut self, record: MemberMetadata) {
        self.0.get_or_insert_default().metadata.push(record);
    }

    /// Adds a user broadcast.
    pub fn push_broadcast(&mut self, broadcast: UserBroadcast) {
        self.0.get_or_insert_default().broadcasts.push(broadcast);
    }

    /// Whether there is nothing to carry (the field is then left out).
    pub fn is_empty(&self) -> bool {
        self.metadata().is_empty() && self.broadcasts().is_empty()
    }

    /// Encoded bytes of the records, the `bin` header aside.
    pub fn records_len(&self) -> usize {
        let metadata: usize = self.metadata().iter().map(MemberMetadata::record_len).sum();
        let broadcasts: usize = self
            .broadcasts()
            .iter()
            .map(UserBroadcast::record_len)
            .sum();
        metadata + broadcasts
    }
}

fn put_record(out: &mut Vec<u8>, kind: u8, node: &NodeId, number: u64, body_len: usize) {
    let mut id = [0u8; NODE_V6];
    let len = put_node(&mut id, node);
    out.push(kind);
    out.extend_from_slice(&id[..len]);
    out.extend_from_slice(&number.to_be_bytes());
    // Bodies are bounded by their limits, far below 64 KiB.
    out.extend_from_slice(&(body_len as u16).to_be_bytes());
}

fn encode(extras: &Extras) -> Vec<u8> {
    let mut out = Vec::with_capacity(extras.records_len());
    for record in extras.metadata() {
        let body = record.metadata.encoded_len();
        put_record(
            &mut out,
            METADATA_KIND,
            &record.node,
            record.incarnation.0,
            body,
        );
        record.metadata.encode_into(&mut out);
    }
    for broadcast in extras.broadcasts() {
        let body = broadcast.payload.len();
        put_record(
            &mut out,
            BROADCAST_KIND,
            &broadcast.origin,
            broadcast.seq,
            body,
        );
        out.extend_from_slice(&broadcast.payload);
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<Extras, &'static str> {
    let (mut metadata, mut broadcasts) = (Vec::new(), Vec::new());
    while let Some((&kind, rest)) = bytes.split_first() {
        let (node, at) = take_node(rest).ok_or("malformed node id in extras")?;
        let rest = &rest[at..];
        let (head, rest) = rest
            .split_first_chunk::<10>()
            .ok_or("truncated extras record")?;
        let number = u64_at(&head[..8]);
        let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let limit = match kind {
            METADATA_KIND => crate::METADATA_LIMIT,
            BROADCAST_KIND => BROADCAST_LIMIT,
            _ => return Err("unknown extras record"),
        };
        if len > limit {
            return Err("extras record over its limit");
        }
        let (body, rest) = rest
            .split_at_checked(len)
            .ok_or("truncated extras record")?;
        if kind == METADATA_KIND {
            let tags = Metadata::decode(body).map_err(|_| "malformed metadata")?;
            metadata.push(MemberMetadata::new(node, Incarnation(number), tags));
        } else {
            broadcasts.push(UserBroadcast::new(node, number, body.to_vec()));
        }
        bytes = rest;
    }
    Ok(Extras::from_parts(metadata, broadcasts))
}

/// serde `with` module for [`Extras`] as one bin of records.
pub(crate) mod compact {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(extras: &Extras, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_bytes(&encode(extras))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Extras, D::Error> {
        struct ExtrasVisitor;
        impl<'de> Visitor<'de> for ExtrasVisitor {
            type Value = Extras;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("metadata and broadcast records")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Extras, E> {
                decode(bytes).map_err(E::custom)
            }
        }
        de.deserialize_bytes(ExtrasVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> NodeId {
        text.parse().unwrap()
    }

    #[test]
    fn records_round_trip_with_their_exact_sizes() {
        let mut extras = Extras::new();
        let tags = Metadata::from_pairs([("role", "web")]).unwrap();
        let web = MemberMetadata::new(node("10.0.0.1:7000#5"), Incarnation(3), tags);
        extras.push_metadata(web);
        let none = MemberMetadata::new(node("[::1]:7000#5"), Incarnation(0), Metadata::new());
        extras.push_metadata(none);
        let hello = UserBroadcast::new(node("10.0.0.2:7000#9"), 7, b"hello".to_vec());
        extras.push_broadcast(hello);
        let bytes = encode(&extras);
        assert_eq!(bytes.len(), extras.records_len());
        assert_eq!(extras.metadata()[0].record_len(), 11 + 15 + 10);
        assert_eq!(extras.metadata()[1].record_len(), 11 + 27);
        assert_eq!(extras.broadcasts()[0].record_len(), 11 + 15 + 5);
        assert_eq!(decode(&bytes).unwrap(), extras);
        assert_eq!(decode(&[]).unwrap(), Extras::new());
        assert_eq!(size_of::<Extras>(), 8, "no room taken in messages without");
    }

    #[test]
    fn bodies_over_their_limits_and_broken_records_are_refused() {
        let origin = node("10.0.0.2:7000#9");
        let big = UserBroadcast::new(origin, 1, vec![0; BROADCAST_LIMIT + 1]);
        let extras = Extras::from_parts(Vec::new(), vec![big]);
        assert!(decode(&encode(&extras)).is_err());
        let most = UserBroadcast::new(origin, 1, vec![0; BROADCAST_LIMIT]);
        let extras = Extras::from_parts(Vec::new(), vec![most]);
        let mut bytes = encode(&extras);
        assert!(decode(&bytes).is_ok());
        bytes.pop();
        assert!(decode(&bytes).is_err(), "truncated");
        bytes[0] = 3;
        assert!(decode(&bytes).is_err(), "unknown kind");
    }
}
