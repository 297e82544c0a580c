//! A live agent's TCP service under garbage, oversized frames, silent clients
//! and a connection flood: each is refused, and joins keep working.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{addr, await_all_see_all, form};
use rumor_wire::Envelope;
use rumor_wire::Gossip;

#[test]
fn bad_clients_do_not_stop_joins() {
    let (net, port) = (35, 7035);
    let (mut cluster, _) = form(net, port, 2, &[]);
    let introducer = addr(net, 0, port);

    // Garbage in a frame, an oversized length prefix, a gossip message over TCP.
    let mut garbage = TcpStream::connect(introducer).unwrap();
    garbage.write_all(&[0, 0, 0, 5, 0xc1, 1, 2, 3, 4]).unwrap();
    let mut huge = TcpStream::connect(introducer).unwrap();
    huge.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let me: rumor_wire::NodeId = format!("{}#1", addr(net, 9, port)).parse().unwrap();
    let gossip = Envelope::new(
        me.addr,
        Gossip::Updates {
            sender: me,
            updates: vec![],
            extras: Default::default(),
        },
    );
    let gossip_over_tcp =
        rumor_transport::Exchange::open(introducer, &gossip, None, Duration::from_secs(1)).unwrap();
    // Garbage and oversized datagrams at the UDP side of the same port.
    let udp = std::net::UdpSocket::bind(addr(net, 9, port)).unwrap();
    for i in 0..50u8 {
        udp.send_to(&[0xc1, i, 0xff, 0x13], introducer).unwrap();
    }
    udp.send_to(&[0x93; 4000], introducer).unwrap();
    // Silent clients holding connections, and a flood beyond the handler pool.
    let held: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(introducer).ok())
        .collect();
    drop((garbage, huge, gossip_over_tcp));

    // Newcomers still join through the hammered introducer (once the silent
    // clients time out, or right away through the free handlers).
    cluster
        .add("newcomer-a", addr(net, 2, port), &[introducer], &[])
        .unwrap();
    cluster
        .add("newcomer-b", addr(net, 3, port), &[introducer], &[])
        .unwrap();
    await_all_see_all(&mut cluster, &[0, 1, 2, 3]);
    drop(held);

    // Its exit summary counts the bad datagrams as malformed.
    cluster.signal_leave(0);
    cluster
        .reap(0, Duration::from_secs(10))
        .expect("the introducer exits after SIGTERM");
    let log = std::fs::read_to_string(cluster.agents[0].data_dir.join("agent.log")).unwrap();
    let malformed: u64 = log
        .rsplit(" unauthenticated, ")
        .next()
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter summary in agent.log:\n{log}"));
    assert!(
        malformed >= 40,
        "{malformed} malformed datagrams counted:\n{log}"
    );
    for refusal in [
        "refused frame",
        "exceeds the maximum",
        "updates message",
        "no complete request",
    ] {
        assert!(
            log.contains(refusal),
            "no {refusal:?} line in the introducer's log:\n{log}"
        );
    }
}

/// The first introducer is not a single point of failure: with it down, a
/// newcomer joins through the next address on its list, and the introducer,
/// restarted, rejoins through the others as a new version.
#[test]
fn joins_go_on_while_the_first_introducer_is_down() {
    let (net, port) = (36, 7036);
    let (mut cluster, ids) = form(net, port, 3, &[]);
    cluster.kill(0);
    cluster
        .add(
            "newcomer",
            addr(net, 3, port),
            &[addr(net, 0, port), addr(net, 1, port)],
            &[],
        )
        .unwrap();
    await_all_see_all(&mut cluster, &[1, 2, 3]);
    cluster
        .restart(0, Some(&[addr(net, 1, port), addr(net, 2, port)]))
        .unwrap();
    let now = await_all_see_all(&mut cluster, &[0, 1, 2, 3]);
    assert!(now[&0].version > ids[&0].version);
    let log = std::fs::read_to_string(cluster.agents[3].data_dir.join("agent.log")).unwrap();
    for line in [
        "no answer from 127.0.36.1:7036: ",
        "no answer to the join request from 127.0.36.1:7036",
        "admitted by 127.0.36.2:7036",
    ] {
        assert!(
            log.contains(line),
            "no {line:?} in the newcomer's log:\n{log}"
        );
    }
}
