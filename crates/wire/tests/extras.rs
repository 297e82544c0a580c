//! Extras (members' metadata, user broadcasts) cost nothing when there are
//! none, and exactly their `bin` when there are: the membership core sizes
//! its datagrams by that arithmetic.

use rumor_wire::*;

fn me() -> NodeId {
    "10.1.2.3:7000#1795000000000".parse().unwrap()
}

fn extras(records: usize, payload: usize) -> Extras {
    let mut extras = Extras::new();
    for i in 0..records {
        let tags = Metadata::from_pairs([("role", "web"), ("n", &i.to_string())]).unwrap();
        extras.push_metadata(MemberMetadata::new(me(), Incarnation(i as u64), tags));
        let bytes = vec![i as u8; payload];
        extras.push_broadcast(UserBroadcast::new(me(), i as u64, bytes));
    }
    extras
}

fn messages(extras: Extras) -> [Gossip; 4] {
    let update = MemberUpdate {
        node: me(),
        state: MemberState::Alive,
        incarnation: Incarnation(3),
    };
    [
        Gossip::JoinRequest {
            node: me(),
            nonce: 9,
            extras: extras.clone(),
        },
        Gossip::JoinResponse {
            introducer: me(),
            nonce: 9,
            members: vec![update; 3],
            extras: extras.clone(),
        },
        Gossip::Updates {
            sender: me(),
            updates: vec![update; 2],
            extras: extras.clone(),
        },
        Gossip::Detector {
            detector: "gossip".into(),
            sender: me(),
            payload: vec![7; 40],
            updates: vec![update],
            extras,
        },
    ]
}

#[test]
fn extras_add_exactly_their_bin_and_nothing_when_empty() {
    for (records, payload) in [(1, 0), (1, 5), (2, 300), (3, BROADCAST_LIMIT)] {
        let extras = extras(records, payload);
        let n = extras.records_len();
        let plain = messages(Extras::new());
        let carried = messages(extras.clone());
        for (plain, carried) in plain.into_iter().zip(carried) {
            let kind = plain.kind();
            let (plain, carried) = (
                Envelope::new(me().addr, plain),
                Envelope::new(me().addr, carried),
            );
            let (a, b) = (encoded_len(&plain), encoded_len(&carried));
            assert_eq!(
                b,
                a + bin_header_len(n) + n,
                "{kind} with {records} records"
            );
            let mut bytes = Vec::new();
            encode_to_vec(&carried, &mut bytes, usize::MAX).unwrap();
            assert_eq!(decode(&bytes).unwrap(), carried, "{kind}");
            bytes.clear();
            encode_to_vec(&plain, &mut bytes, usize::MAX).unwrap();
            assert_eq!(decode(&bytes).unwrap(), plain, "{kind}");
        }
    }
}

#[test]
fn oversized_metadata_in_a_message_is_malformed_not_allocated() {
    let envelope = Envelope::new(me().addr, messages(extras(1, 0))[2].clone());
    let mut bytes = Vec::new();
    encode_to_vec(&envelope, &mut bytes, usize::MAX).unwrap();
    // The metadata record's length field (15 bytes: n=0, role=web) claims
    // 600 bytes instead: over the limit.
    let length = bytes
        .windows(4)
        .position(|w| w == [0, 15, 1, b'n'])
        .expect("the encoded metadata and its length");
    bytes[length..length + 2].copy_from_slice(&600u16.to_be_bytes());
    assert!(matches!(decode(&bytes), Err(WireError::Malformed(_))));
}
