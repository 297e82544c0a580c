use std::net::SocketAddr;
use std::net::SocketAddrV6;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rumor_wire::{Incarnation, MemberState, MemberUpdate, Metadata, NodeId, Version};

use super::digest::{DIGEST_BITS, bucket_of, fingerprint};
use super::entry::{Entry, hash, is_live};
use super::*;

fn id(port: u16, version: u64) -> NodeId {
    NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(version))
}

/// Every live member's entry points back at its place in the live set,
/// every place at a live member other than `me`, and every member is found
/// in the slot it sits in.
fn assert_consistent(list: &MemberList) {
    for (pos, slot) in list.live.iter().enumerate() {
        let entry = list.entry(*slot);
        assert_eq!(entry.live_pos as usize, pos);
        assert!(entry.is_live());
        assert_ne!(entry.id(&list.v6), list.me);
    }
    let mut live = 0;
    for (slot, entry) in list.table.slots() {
        let member = entry.id(&list.v6);
        assert_eq!(list.slot_of_id(&member), Some(slot), "{member} found");
        if entry.is_live() && member != list.me {
            live += 1;
        }
    }
    assert_eq!(live, list.live.len());
}

#[test]
fn choose_live_is_distinct_and_excludes() {
    let mut list = MemberList::new(id(1000, 1), Time::ZERO);
    for p in 0..50 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    list.set_state(&id(7, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
    let mut rng = SmallRng::seed_from_u64(3);
    for k in [1, 3, 10, 40, 60] {
        let mut out = Vec::new();
        list.choose_live(&mut rng, k, &[id(0, 1)], &mut out);
        assert_eq!(out.len(), k.min(48));
        let mut dedup = out.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), out.len());
        assert!(!out.contains(&id(0, 1)) && !out.contains(&id(7, 1)));
    }
}

/// The live set keeps the order of a vector with swap-removal: a member
/// that becomes live goes last; one that stops being live is replaced by
/// the last. (Random choices draw positions of it, so a seeded run
/// depends on this order.)
#[test]
fn the_live_set_is_ordered_as_a_vector_with_swap_removal() {
    let mut list = MemberList::new(id(1000, 1), Time::ZERO);
    let mut model: Vec<NodeId> = Vec::new();
    for p in 0..20 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        model.push(id(p, 1));
    }
    let live = |l: &MemberList| {
        (0..l.live_len())
            .filter_map(|p| l.live_at(p))
            .collect::<Vec<_>>()
    };
    assert_eq!(live(&list), model);
    let gone = |model: &mut Vec<NodeId>, x: NodeId| {
        let pos = model.iter().position(|m| *m == x).unwrap();
        model.swap_remove(pos);
    };
    list.set_state(&id(3, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
    gone(&mut model, id(3, 1));
    list.remove(&id(11, 1));
    gone(&mut model, id(11, 1));
    list.set_state(&id(5, 1), MemberState::Suspect, Incarnation(1), Time::ZERO);
    list.insert(id(40, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    model.push(id(40, 1));
    list.remove(&id(3, 1));
    list.insert(id(41, 1), MemberState::Left, Incarnation(0), Time::ZERO);
    list.reserve_exact(5_000);
    assert_eq!(live(&list), model, "a rebuilt table keeps the order");
    assert_consistent(&list);
}

proptest::proptest! {
    /// The table against a plain map under any mix of inserts, state
    /// changes, removals, lookups of newer versions and exact reservations
    /// (tables of any length, not only powers of two) over a few dozen
    /// addresses (many collisions, growth, and entries shifting back into
    /// holes): every lookup, the live set and the bucket summaries agree.
    #[test]
    fn agrees_with_a_map_model(
        ops in proptest::collection::vec((0u8..6, 0u16..48, 1u64..3, 0u8..4), 1..300)
    ) {
        use std::collections::BTreeMap;
        let me = id(1000, 1);
        let mut list = MemberList::new(me, Time::ZERO);
        let mut model: BTreeMap<SocketAddr, (NodeId, MemberState, Incarnation)> = BTreeMap::new();
        let states = [MemberState::Alive, MemberState::Suspect, MemberState::Failed, MemberState::Left];
        for (step, (op, port, version, state)) in ops.into_iter().enumerate() {
            let node = id(port, version);
            let state = states[state as usize];
            let at = Time::from_millis(step as u64);
            match op {
                0 => {
                    if let std::collections::btree_map::Entry::Vacant(slot) = model.entry(node.addr) {
                        list.insert(node, state, Incarnation(step as u64), at);
                        slot.insert((node, state, Incarnation(step as u64)));
                    }
                }
                1 => {
                    if let Some(entry) = model.get_mut(&node.addr).filter(|e| e.0 == node) {
                        *entry = (node, state, Incarnation(step as u64));
                    }
                    list.set_state(&node, state, Incarnation(step as u64), at);
                }
                2 => {
                    let listed = model.get(&node.addr).is_some_and(|e| e.0 == node);
                    proptest::prop_assert_eq!(list.remove(&node).is_some(), listed);
                    if listed {
                        model.remove(&node.addr);
                    }
                }
                3 => {
                    let listed = model.get(&node.addr).map(|e| e.0);
                    proptest::prop_assert_eq!(list.superseded_by(&node), listed.filter(|l| l.is_superseded_by(&node)));
                }
                4 => list.reserve_exact(usize::from(port)),
                _ => {}
            }
            proptest::prop_assert_eq!(list.len(), model.len() + 1);
            let mut live: Vec<NodeId> = (0..list.live_len()).filter_map(|p| list.live_at(p)).collect();
            live.sort();
            let mut expected: Vec<NodeId> = model
                .values()
                .filter(|e| matches!(e.1, MemberState::Alive | MemberState::Suspect))
                .map(|e| e.0)
                .collect();
            expected.sort();
            proptest::prop_assert_eq!(live, expected);
            for (node, state, incarnation) in model.values() {
                let member = list.get(node);
                proptest::prop_assert!(member.is_some_and(|m| m.state == *state && m.incarnation == *incarnation));
            }
            proptest::prop_assert!(list.get(&me).is_some());
            let mut digests = vec![0u32; DIGEST_BUCKETS];
            let everyone = model.values().copied().chain([(me, MemberState::Alive, Incarnation(0))]);
            for (node, state, _) in everyone {
                let h = hash(&node.addr);
                digests[bucket_of(h, DIGEST_BUCKETS)] ^= fingerprint(h, node.version, is_live(state), None);
            }
            proptest::prop_assert!(list.summaries.finest() == digests, "bucket summaries drifted");
            assert_consistent(&list);
        }
    }
}

#[test]
fn a_full_table_of_odd_length_survives_removal_in_any_order() {
    // Sized exactly (not a power of two) and three quarters full, so
    // probe runs cross the table's end and removals shift entries back
    // across it.
    let me = id(60_000, 1);
    let mut list = MemberList::new(me, Time::ZERO);
    list.reserve_exact(1_000);
    assert_ne!(list.slot_count().count_ones(), 1, "not a power of two");
    // Ten addresses whose probe runs start at the last slot, so nine of
    // them wrap to the front.
    let last = list.slot_count() - 1;
    let mut ports: Vec<u16> = (1_000..u16::MAX)
        .filter(|&p| list.table.home(&id(p, 1).addr) == last)
        .take(10)
        .collect();
    ports.extend(0..990);
    for &p in &ports {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    assert_eq!(list.slot_count(), 1_344, "no growth beyond the reservation");
    assert!(list.in_slot(0).is_some() && list.in_slot(last).is_some());
    let mut rng = SmallRng::seed_from_u64(5);
    for i in (1..ports.len()).rev() {
        ports.swap(i, rng.random_range(0..=i));
    }
    for (gone, &p) in ports.iter().enumerate() {
        assert!(list.remove(&id(p, 1)).is_some());
        for &q in &ports[gone + 1..] {
            assert!(list.get(&id(q, 1)).is_some(), "{q} lost after removing {p}");
        }
        if gone % 50 == 0 {
            assert_consistent(&list);
        }
    }
    assert_eq!(list.len(), 1);
    assert_eq!(list.live_len(), 0);
}

#[test]
fn the_live_set_follows_entries_through_growth_and_churn() {
    // Growth from one entry by doubling, then churn: removals shift
    // entries back into holes, and the live set must move with them.
    let me = id(60_000, 1);
    let mut list = MemberList::new(me, Time::ZERO);
    for p in 0..3_000 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
        if p % 97 == 0 {
            assert_consistent(&list);
        }
    }
    assert_consistent(&list);
    let slots = list.slot_count();
    let mut rng = SmallRng::seed_from_u64(5);
    let mut version = 1;
    for round in 0..20 {
        version += 1;
        for p in 0..3_000 {
            let old = id(p, version - 1);
            match rng.random_range(0..4) {
                0 => {
                    assert!(list.remove(&old).is_some());
                }
                1 => list.set_state(&old, MemberState::Failed, Incarnation(0), Time::ZERO),
                _ => {}
            }
        }
        assert_consistent(&list);
        for p in 0..3_000 {
            list.remove(&id(p, version - 1));
            list.insert(
                id(p, version),
                MemberState::Alive,
                Incarnation(0),
                Time::ZERO,
            );
        }
        assert_consistent(&list);
        assert_eq!(list.len(), 3_001, "round {round}");
        assert_eq!(list.live_len(), 3_000);
    }
    assert_eq!(list.slot_count(), slots, "churn does not grow the table");
    for p in 0..3_000 {
        assert!(list.get(&id(p, version)).is_some());
        assert_eq!(list.standing(&id(p, version - 1)), Standing::Gone);
    }
}

#[test]
fn a_slot_is_32_bytes() {
    assert_eq!(std::mem::size_of::<Option<Entry>>(), 32);
}

/// What a simulator of 10,000 nodes holds 10,000 of: a list of 10,000
/// members as a join response builds it, in 13,344 slots of 32 bytes
/// (hashbrown's power-of-two sizing would take 16,384 buckets of 33).
#[test]
fn a_list_of_ten_thousand_fills_three_quarters_of_its_slots() {
    let mut list = MemberList::new(id(60_000, 1), Time::ZERO);
    list.reserve_exact(9_999);
    for p in 0..9_999 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    assert_eq!(list.slot_count(), 13_344);
    let copy = list.copy_for(id(5, 1)).expect("listed alive");
    assert_eq!(copy.slot_count(), 13_344, "a copy is slot for slot");
}

#[test]
fn ipv6_members_keep_their_whole_address_and_their_table_slot_is_reused() {
    let v6 = |port: u16, scope: u32, version: u64| {
        let ip = "fe80::1".parse().unwrap();
        NodeId::new(
            SocketAddr::V6(SocketAddrV6::new(ip, port, 7, scope)),
            Version(version),
        )
    };
    let me = v6(1, 3, 1);
    let mut list = MemberList::new(me, Time::ZERO);
    let other = v6(2, 4, 1);
    list.insert(other, MemberState::Alive, Incarnation(2), Time::ZERO);
    list.insert(id(9, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    assert_eq!(
        list.get(&me).map(|m| m.id),
        Some(me),
        "scope id and flow info kept"
    );
    assert_eq!(list.get(&other).unwrap().incarnation, Incarnation(2));
    assert!(
        list.get(&v6(2, 5, 1)).is_none(),
        "another scope is another address"
    );
    assert_eq!(list.iter_sorted().len(), 3);
    list.remove(&other);
    assert!(list.get(&other).is_none());
    let again = v6(3, 4, 1);
    list.insert(again, MemberState::Alive, Incarnation(0), Time::ZERO);
    assert_eq!(list.v6.len(), 2, "the freed table slot is reused");
    assert_eq!(list.get(&again).map(|m| m.id), Some(again));
    assert_eq!(list.get(&me).map(|m| m.id), Some(me));
    assert_consistent(&list);
}

#[test]
fn largest_entry_bound_holds() {
    let addr: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
        .parse()
        .unwrap();
    let update = MemberUpdate {
        node: NodeId::new(addr, Version(u64::MAX)),
        state: MemberState::Suspect,
        incarnation: Incarnation(u64::MAX),
    };
    assert!(rumor_wire::encoded_len(&update) <= LARGEST_ENTRY);
}

#[test]
fn join_response_fits_the_budget_newest_first() {
    let mut list = MemberList::new(id(1, 1), Time::ZERO);
    for p in 2..200 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    assert_eq!(list.join_response(1 << 20).len(), 199);
    let small = list.join_response(1000);
    assert!(rumor_wire::encoded_len(&small) <= 1000);
    assert_eq!(small[0].node, id(199, 1), "newest first");
}

#[test]
fn standing_tracks_versions_and_tombstones() {
    let mut list = MemberList::new(id(1, 1), Time::ZERO);
    list.insert(id(2, 5), MemberState::Alive, Incarnation(0), Time::ZERO);
    assert_eq!(list.standing(&id(2, 5)), Standing::Known);
    assert_eq!(list.standing(&id(2, 4)), Standing::Gone);
    assert_eq!(list.standing(&id(2, 6)), Standing::Unknown);
    assert_eq!(list.superseded_by(&id(2, 6)), Some(id(2, 5)));
    list.set_state(&id(2, 5), MemberState::Failed, Incarnation(0), Time::ZERO);
    assert_eq!(list.live_len(), 0);
    list.remove(&id(2, 5));
    assert_eq!(list.standing(&id(2, 5)), Standing::Gone);
    assert_eq!(list.standing(&id(2, 6)), Standing::Unknown);
}

/// What a summary must be: the XOR of the fingerprints of the bucket's
/// members, found by scanning every member.
fn scanned(list: &MemberList, buckets: usize, bucket: usize) -> (Vec<NodeId>, u32) {
    let mut ids = Vec::new();
    let mut summary = 0;
    for m in list.iter_sorted() {
        let h = hash(&m.id.addr);
        if bucket_of(h, buckets) == bucket {
            ids.push(m.id);
            let meta = list.metadata(&m.id).map(|(at, _)| at);
            summary ^= fingerprint(h, m.id.version, m.is_live(), meta);
        }
    }
    (ids, summary)
}

#[test]
fn bucket_summaries_and_members_agree_with_a_full_scan() {
    let mut list = MemberList::new(id(60_000, 1), Time::ZERO);
    for p in 0..1_500 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    for p in (0..1_500).step_by(5) {
        let at = Incarnation(u64::from(p % 3));
        list.set_metadata(&id(p, 1), at, tags(&p.to_string()));
    }
    for p in (0..1_500).step_by(7) {
        list.set_state(&id(p, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
    }
    for p in (0..1_500).step_by(11) {
        list.remove(&id(p, 1));
    }
    for p in (0..1_500).step_by(13) {
        list.set_state(&id(p, 1), MemberState::Suspect, Incarnation(2), Time::ZERO);
    }
    for bits in 0..=DIGEST_BITS {
        let buckets = 1 << bits;
        for bucket in 0..buckets {
            let (ids, summary) = scanned(&list, buckets, bucket);
            assert_eq!(list.bucket_summary(buckets, bucket), summary);
            let mut found = Vec::new();
            list.bucket_members(buckets, bucket, |m| {
                found.push(m.id);
                true
            });
            found.sort();
            assert_eq!(found, ids, "bucket {bucket} of {buckets}");
        }
    }
    // The walk stops when told to.
    let mut seen = 0;
    list.bucket_members(1, 0, |_| {
        seen += 1;
        seen < 5
    });
    assert_eq!(seen, 5);
    // Suspicion does not change a summary; failure does.
    let before = list.bucket_summary(1, 0);
    list.set_state(&id(1, 1), MemberState::Suspect, Incarnation(0), Time::ZERO);
    assert_eq!(list.bucket_summary(1, 0), before);
    list.set_state(&id(1, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
    assert_ne!(list.bucket_summary(1, 0), before);
    // New metadata of a live member changes its summary, by its stamp; a
    // failed member's metadata counts for nothing.
    let before = list.bucket_summary(1, 0);
    assert!(list.set_metadata(&id(2, 1), Incarnation(4), tags("a")));
    assert_ne!(list.bucket_summary(1, 0), before);
    assert!(list.set_metadata(&id(7, 1), Incarnation(4), tags("b")));
    assert_eq!(scanned(&list, 1, 0).1, list.bucket_summary(1, 0));
    assert!(
        !list.set_metadata(&id(11, 1), Incarnation(4), tags("c")),
        "removed"
    );
    list.remove(&id(2, 1));
    assert!(
        list.metadata(&id(2, 1)).is_none(),
        "forgotten with the member"
    );
    assert_eq!(scanned(&list, 1, 0).1, list.bucket_summary(1, 0));
}

fn tags(value: &str) -> Metadata {
    Metadata::from_pairs([("n", value)]).unwrap()
}

#[test]
fn a_copy_lists_the_same_members_with_its_own_live_set() {
    let mut list = MemberList::new(id(1, 1), Time::ZERO);
    for p in 2..40 {
        list.insert(id(p, 1), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    list.set_state(&id(7, 1), MemberState::Failed, Incarnation(0), Time::ZERO);
    assert!(
        list.copy_for(id(7, 1)).is_none(),
        "a failed member copies nothing"
    );
    assert!(
        list.copy_for(id(99, 1)).is_none(),
        "an unlisted one neither"
    );
    let ids = |l: &MemberList| {
        l.iter_sorted()
            .iter()
            .map(|m| (m.id, m.state))
            .collect::<Vec<_>>()
    };
    let live = |l: &MemberList| {
        let mut v: Vec<NodeId> = (0..l.live_len()).filter_map(|p| l.live_at(p)).collect();
        v.sort();
        v
    };
    for me in [id(5, 1), id(1, 1)] {
        let copy = list.copy_for(me).expect("listed alive");
        assert_eq!(ids(&copy), ids(&list));
        let mut expected: Vec<NodeId> = (1..40)
            .filter(|&p| p != 7)
            .map(|p| id(p, 1))
            .filter(|m| *m != me)
            .collect();
        expected.sort();
        assert_eq!(live(&copy), expected, "live: everyone alive but {me}");
        assert_consistent(&copy);
    }
}

/// The 32-bit summaries are what the 64-bit ones folded for the wire
/// (high XOR low): members of other versions keep agreeing on buckets.
#[test]
fn summaries_are_the_folded_64_bit_xor() {
    let mut list = MemberList::new(id(60_000, 1), Time::ZERO);
    for p in 0..300 {
        list.insert(id(p, 3), MemberState::Alive, Incarnation(0), Time::ZERO);
    }
    for p in (0..300).step_by(3) {
        list.set_state(&id(p, 3), MemberState::Left, Incarnation(1), Time::ZERO);
    }
    let buckets = 64;
    for bucket in 0..buckets {
        let mut wide = 0u64;
        for m in list.iter_sorted() {
            let h = hash(&m.id.addr);
            if bucket_of(h, buckets) == bucket {
                let live = u64::from(m.is_live()).wrapping_mul(0xa076_1d64_78bd_642f);
                wide ^= super::entry::mix(h ^ m.id.version.0.rotate_left(23) ^ live);
            }
        }
        let folded = (wide ^ (wide >> 32)) as u32;
        assert_eq!(
            list.bucket_summary(buckets, bucket),
            folded,
            "bucket {bucket}"
        );
    }
}
