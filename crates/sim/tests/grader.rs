//! The detector contract ([`rumor_sim::contract`]) for every built-in
//! detector, on 10 nodes: joins are seen everywhere, crashes are detected
//! by the first node within 3 s and by every live node within 6 s, no live
//! node is ever marked failed, and a leave shows as `left` everywhere.
//! Deterministic: each check runs a fixed set of seeds. Out-of-tree
//! detectors run the same checks in their own tests (examples/all-to-all).

macro_rules! grader {
    ($($module:ident => $name:expr),* $(,)?) => {$(
        mod $module {
            use rumor_sim::{contract, registry};

            #[test]
            fn every_node_sees_the_other_nine_join() {
                contract::joins(&registry(), $name).unwrap();
            }
            #[test]
            fn one_crash() {
                contract::crashes(&registry(), $name, 1, 0.0).unwrap();
            }
            #[test]
            fn five_of_ten_crash_at_once() {
                contract::crashes(&registry(), $name, 5, 0.0).unwrap();
            }
            #[test]
            fn one_crash_with_ten_percent_drop() {
                contract::crashes(&registry(), $name, 1, 0.1).unwrap();
            }
            #[test]
            fn a_leave_shows_as_left_everywhere() {
                contract::leave(&registry(), $name).unwrap();
            }
        }
    )*};
}

grader! {
    gossip => "gossip",
    swim => "swim",
    phi => "phi",
}
