//! Members that hang, die or talk nonsense during a query are named as
//! missing or cut short within the timeout, the exit status says the result
//! is partial, and every other member's answer is complete.

mod support;

use std::time::{Duration, Instant};

use rumor_dgrep::ServeConfig;
use support::{Behaviour, by_node, data_dir, gnu_grep, run_dgrep, start_cluster, write_logs};

#[test]
fn silent_dying_and_garbled_members_are_reported_and_the_rest_is_complete() {
    let dirs: Vec<_> = (0..5).map(|_| data_dir()).collect();
    for (i, dir) in dirs.iter().enumerate() {
        write_logs(dir.path(), 40 + i as u64, 5_000, false);
    }
    let behaviours = [
        Behaviour::Answer,
        Behaviour::Silent,
        Behaviour::Answer,
        Behaviour::DiesMidAnswer,
        Behaviour::Garbage,
    ];
    let configs = dirs
        .iter()
        .zip(behaviours)
        .map(|(d, b)| (ServeConfig::new(vec![], d.path().to_path_buf()), b))
        .collect();
    let ids = start_cluster(configs);

    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let out = run_dgrep(ids[0].addr, &["--timeout", "2s", "ERROR"]);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(
        out.status.code(),
        Some(3),
        "partial result expected: {stderr}"
    );
    assert!(
        took >= timeout,
        "the silent member is waited for until the timeout"
    );
    assert!(
        took < timeout + Duration::from_secs(8),
        "ends soon after the timeout: {took:?}"
    );
    assert!(
        stderr.contains(&format!("{}: no answer in time", ids[1])),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}: answer cut short", ids[3])),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}: answer cut short", ids[4])),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("2 of 5 members answered"), "{stderr}");

    let got = by_node(&out.stdout);
    for i in [0, 2] {
        let (want, status) = gnu_grep(
            &ids[i],
            dirs[i].path(),
            &["agent.log", "events.jsonl"],
            &["ERROR"],
        );
        assert_eq!(status, 0);
        assert_eq!(
            got.get(&ids[i].to_string()),
            Some(&want),
            "node {i} complete"
        );
    }
    assert!(!got.contains_key(&ids[1].to_string()));
    assert!(!got.contains_key(&ids[4].to_string()));
}

#[test]
fn an_unreachable_member_is_named_without_waiting() {
    let dir = data_dir();
    write_logs(dir.path(), 7, 100, false);
    let ids = start_cluster(vec![(
        ServeConfig::new(vec![], dir.path().to_path_buf()),
        Behaviour::Answer,
    )]);
    // A second member that is listed but gone: a port nobody listens on.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_addr = gone.local_addr().unwrap();
    drop(gone);
    let members = vec![
        ids[0],
        rumor_wire::NodeId {
            addr: gone_addr,
            version: rumor_wire::Version(9),
        },
    ];
    let mut flags = rumor_wire::GrepFlags::default();
    flags.count = true;
    let request = rumor_wire::DgrepRequest {
        query: 5,
        patterns: vec!["INFO".into()],
        flags,
    };
    let mut replies = 0;
    let outcome = rumor_dgrep::client::fan_out(
        &members,
        &request,
        None,
        Duration::from_secs(30),
        &mut |_| {
            replies += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(replies, 1);
    assert_eq!(outcome.answered.len(), 1);
    assert_eq!(outcome.unreachable.len(), 1);
    assert_eq!(outcome.unreachable[0].0.addr, gone_addr);
    assert!(outcome.missing.is_empty() && !outcome.complete());
}
