//! Every message kind survives encode → decode unchanged, through every
//! encoding entry point, and the datagram limit is enforced exactly.

mod common;

use common::{encode, envelope};
use proptest::prelude::*;
use rumor_wire::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn vec_roundtrip(env in envelope()) {
        let bytes = encode(&env);
        prop_assert_eq!(decode(&bytes).unwrap(), env.clone());
        prop_assert_eq!(encoded_len(&env), bytes.len());
    }

    #[test]
    fn slice_encoding_matches_vec_or_refuses(env in envelope(), limit in 0usize..3000) {
        let bytes = encode(&env);
        let mut buf = vec![0u8; 4096];
        match encode_datagram(&env, &mut buf, limit) {
            Ok(n) => {
                prop_assert!(n <= limit);
                prop_assert_eq!(&buf[..n], &bytes[..]);
                prop_assert_eq!(decode_datagram(&buf[..n], limit).unwrap(), env);
            }
            Err(WireError::TooLarge { limit: l }) => {
                prop_assert_eq!(l, limit);
                prop_assert!(bytes.len() > limit, "refused a {}-byte message under limit {}", bytes.len(), limit);
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }

    #[test]
    fn frame_roundtrip(envs in proptest::collection::vec(envelope(), 1..5)) {
        let mut stream = Vec::new();
        let mut scratch = Vec::new();
        for env in &envs {
            write_frame(&mut stream, env, &mut scratch, DEFAULT_MAX_FRAME).unwrap();
        }
        let mut reader = &stream[..];
        let mut buf = Vec::new();
        for env in &envs {
            prop_assert_eq!(&read_frame(&mut reader, &mut buf, DEFAULT_MAX_FRAME).unwrap().unwrap(), env);
        }
        prop_assert!(read_frame(&mut reader, &mut buf, DEFAULT_MAX_FRAME).unwrap().is_none());
    }

    #[test]
    fn node_id_text_roundtrip(id in common::node_id()) {
        prop_assert_eq!(id.to_string().parse::<NodeId>().unwrap(), id);
    }
}
