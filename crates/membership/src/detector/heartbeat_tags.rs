//! Short names for members in heartbeat messages.
//!
//! A heartbeat entry used to name its member by full identity (address and
//! join version, 14 bytes encoded) beside a MessagePack counter (up to 5
//! bytes): 16–20 bytes an entry, most of every `gossip` datagram. Entries
//! now name members by a 32-bit tag of their identity and carry the counter
//! as LEB128 (one byte for the first 12 s of a member's life, three for
//! its first 58 hours), 5–7 bytes in all, packed in one byte string.
//!
//! Tags are the same at every node (a fixed mix of address and version),
//! so a receiver finds the member a tag names in its own table. Two members
//! whose tags collide (about one pair in 100 clusters of 10,000 members)
//! are sent by full identity instead by every node that holds both; a
//! receiver ignores a tag that names two of its members, or none.

use std::net::SocketAddr;

use rumor_wire::NodeId;

use crate::member_list::Map;

/// The 32-bit tag of a member's identity, the same at every node.
pub(crate) fn tag(id: &NodeId) -> u32 {
    let ip = match id.addr {
        SocketAddr::V4(a) => u64::from(a.ip().to_bits()),
        SocketAddr::V6(a) => {
            let bits = a.ip().to_bits();
            mix((bits >> 64) as u64) ^ bits as u64
        }
    };
    let h = mix(ip ^ mix(u64::from(id.addr.port()) ^ mix(id.version.0)));
    (h ^ (h >> 32)) as u32
}

/// splitmix64's finalizer: every input bit reaches every output bit.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Which member each tag names in this node's table.
#[derive(Debug, Default)]
pub(crate) struct TagIndex {
    /// Tags that name exactly one member.
    unique: Map<u32, NodeId>,
    /// Tags shared by two or more members, with how many.
    shared: Map<u32, u32>,
}

impl TagIndex {
    pub(crate) fn insert(&mut self, id: NodeId) {
        let t = tag(&id);
        if let Some(n) = self.shared.get_mut(&t) {
            *n += 1;
        } else if let Some(other) = self.unique.get(&t) {
            if *other != id {
                self.unique.remove(&t);
                self.shared.insert(t, 2);
            }
        } else {
            self.unique.insert(t, id);
        }
    }

    /// Forgets `id`; `others` lists the members still tracked (scanned
    /// only when a shared tag becomes unique again, which is rare).
    pub(crate) fn remove<'a>(&mut self, id: &NodeId, others: impl Iterator<Item = &'a NodeId>) {
        let t = tag(id);
        if self.unique.get(&t) == Some(id) {
            self.unique.remove(&t);
            return;
        }
        let Some(n) = self.shared.get_mut(&t) else {
            return;
        };
        *n -= 1;
        if *n < 2 {
            self.shared.remove(&t);
            if let Some(last) = others.filter(|o| *o != id).find(|o| tag(o) == t) {
                self.unique.insert(t, *last);
            }
        }
    }

    /// The one member `t` names, if it names exactly one.
    pub(crate) fn resolve(&self, t: u32) -> Option<NodeId> {
        self.unique.get(&t).copied()
    }

    /// Whether `id` may go out by tag (no other tracked member shares it).
    pub(crate) fn is_unique(&self, id: &NodeId) -> bool {
        self.unique.get(&tag(id)) == Some(id)
    }
}

/// The bytes [`push`] writes for `counter`.
pub(crate) fn entry_len(counter: u64) -> usize {
    4 + (64 - counter.max(1).leading_zeros() as usize).div_ceil(7)
}

/// Appends one packed entry: the tag, then the counter as LEB128.
pub(crate) fn push(out: &mut Vec<u8>, t: u32, mut counter: u64) {
    out.extend_from_slice(&t.to_le_bytes());
    loop {
        let byte = (counter & 0x7f) as u8;
        counter >>= 7;
        if counter == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The packed entries in `bytes`, in order; `Err` at the first malformed
/// one (cut short, or a counter longer than a `u64`).
pub(crate) fn entries(bytes: &[u8]) -> impl Iterator<Item = Result<(u32, u64), ()>> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some((t, tail)) = rest.split_first_chunk::<4>() else {
            rest = &[];
            return Some(Err(()));
        };
        let mut counter = 0u64;
        for (i, &byte) in tail.iter().enumerate().take(10) {
            let bits = u64::from(byte & 0x7f);
            if i == 9 && bits > 1 {
                break; // more than 64 bits
            }
            counter |= bits << (7 * i);
            if byte & 0x80 == 0 {
                rest = &tail[i + 1..];
                return Some(Ok((u32::from_le_bytes(*t), counter)));
            }
        }
        rest = &[];
        Some(Err(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumor_wire::Version;

    fn id(port: u16, version: u64) -> NodeId {
        NodeId::new(SocketAddr::from(([10, 0, 0, 1], port)), Version(version))
    }

    #[test]
    fn entries_round_trip_with_their_announced_length() {
        let mut out = Vec::new();
        let counters = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, u64::MAX];
        for (i, &c) in counters.iter().enumerate() {
            let before = out.len();
            push(&mut out, i as u32 * 0x0101_0101, c);
            assert_eq!(out.len() - before, entry_len(c), "{c}");
        }
        let back: Vec<_> = entries(&out).collect::<Result<_, _>>().unwrap();
        let expected: Vec<_> = counters
            .iter()
            .enumerate()
            .map(|(i, &c)| (i as u32 * 0x0101_0101, c))
            .collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn malformed_entries_are_errors_not_panics() {
        let mut out = Vec::new();
        push(&mut out, 7, 300);
        for cut in 1..out.len() {
            assert_eq!(entries(&out[..cut]).last(), Some(Err(())), "{cut}");
        }
        // Eleven continuation bytes: longer than any u64.
        let long = [[1, 2, 3, 4].as_slice(), &[0xff; 11]].concat();
        assert_eq!(entries(&long).next(), Some(Err(())));
        let mut max = Vec::new();
        push(&mut max, 1, u64::MAX);
        assert_eq!(entries(&max).next(), Some(Ok((1, u64::MAX))));
        *max.last_mut().unwrap() = 0x02; // a 65th bit
        assert_eq!(entries(&max).next(), Some(Err(())));
    }

    #[test]
    fn tags_differ_by_address_port_and_version() {
        let base = tag(&id(4000, 1));
        assert_ne!(base, tag(&id(4001, 1)));
        assert_ne!(base, tag(&id(4000, 2)));
        let other = NodeId::new(SocketAddr::from(([10, 0, 0, 2], 4000)), Version(1));
        assert_ne!(base, tag(&other));
        assert_eq!(base, tag(&id(4000, 1)), "the same at every node");
    }

    #[test]
    fn a_shared_tag_names_nobody_until_one_member_is_left() {
        // Find two identities whose tags collide.
        let mut seen = Map::default();
        let (a, b) = (1..)
            .find_map(|v| {
                let m = id(4000, v);
                seen.insert(tag(&m), m).map(|earlier| (earlier, m))
            })
            .unwrap();
        let c = id(4001, 1);
        let mut index = TagIndex::default();
        for m in [a, b, c] {
            index.insert(m);
        }
        assert_eq!(index.resolve(tag(&a)), None);
        assert!(!index.is_unique(&a) && !index.is_unique(&b));
        assert_eq!(index.resolve(tag(&c)), Some(c));
        index.remove(&a, [a, b, c].iter());
        assert_eq!(index.resolve(tag(&b)), Some(b));
        assert!(index.is_unique(&b));
        index.remove(&b, [b, c].iter());
        assert_eq!(index.resolve(tag(&b)), None);
    }
}
