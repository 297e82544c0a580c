//! The bad-input load test at a size that fits the suite: random and
//! mutated datagrams and bad TCP connections at live clusters, keyed and
//! in the clear. `rumor bench-flood` runs the full size (1,000,000
//! datagrams, 10,000 connections; crates/daemon/README.md).

mod common;

use rumor_daemon::flood::{FloodConfig, run};

fn flood(keyed: bool, net: u8, port: u16) -> rumor_daemon::flood::FloodReport {
    let report = run(&FloodConfig {
        exe: common::RUMOR.into(),
        nodes: 3,
        datagrams: 40_000,
        connections: 600,
        keyed,
        net,
        port,
        seed: 7,
        dir: None,
    })
    .expect("the flood runs");
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.exited, 0, "an agent exited: {report:?}");
    assert!(
        report.heal_seconds.is_some(),
        "not one full membership within 15 s of the flood: {report:?}"
    );
    // Memory stays bounded: the queues and tables are bounded, so a flood
    // leaves at most a few megabytes behind.
    assert!(
        report.rss_peak_kib < report.rss_before_kib + 32 * 1024,
        "RSS grew from {} to {} KiB",
        report.rss_before_kib,
        report.rss_peak_kib
    );
    report
}

#[test]
fn a_keyed_cluster_shrugs_off_a_flood_and_nothing_forged_reaches_the_decoder() {
    let report = flood(true, 47, 7047);
    assert_eq!(
        report.reached_decoder_malformed, 0,
        "forged datagrams got past the sealer: {report:?}"
    );
    assert!(report.refused_by_sealer > 20_000, "{report:?}");
}

#[test]
fn a_cluster_in_the_clear_shrugs_off_a_flood() {
    let report = flood(false, 48, 7048);
    assert!(report.reached_decoder_malformed > 0, "the flood did arrive");
}
