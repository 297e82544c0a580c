//! The TCP service under hostile and broken clients: each is refused and
//! counted, and joins keep being served.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumor_introducer::{Delivery, ServiceConfig, ServiceStats, TcpService};
use rumor_wire::{Envelope, Message, NodeId, Version};

fn joiner() -> NodeId {
    NodeId::new("127.0.0.1:9".parse().unwrap(), Version(7))
}

/// A service that counts the join requests it is handed.
fn counting_service(config: ServiceConfig) -> (TcpService, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let joins = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&joins);
    let service = TcpService::spawn(
        listener,
        config,
        Arc::new(move |d: Delivery<'_>| {
            if matches!(d.envelope.body, Message::JoinRequest { .. }) {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }),
    )
    .unwrap();
    (service, joins)
}

fn send_join(to: SocketAddr) {
    let me = joiner();
    rumor_wire::tcp::send(
        to,
        &Envelope::new(me.addr, Message::JoinRequest { node: me }),
        Duration::from_secs(1),
    )
    .unwrap();
}

fn wait_for(what: &str, service: &TcpService, mut done: impl FnMut(&ServiceStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = service.stats();
        if done(&stats) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_joins(joins: &AtomicU64, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while joins.load(Ordering::SeqCst) < want {
        assert!(
            Instant::now() < deadline,
            "join request {want} never delivered"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn garbage_and_wrong_kinds_are_refused_and_joins_go_on() {
    let (service, joins) = counting_service(ServiceConfig::default());
    let addr = service.addr();

    // A well-framed body that is not MessagePack of an envelope.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage
        .write_all(&[0, 0, 0, 4, 0xc1, 0xff, 0x00, 0x13])
        .unwrap();
    drop(garbage);
    wait_for("the garbage frame", &service, |s| s.malformed == 1);

    // Closed mid-frame.
    let mut truncated = TcpStream::connect(addr).unwrap();
    truncated.write_all(&[0, 0, 0, 100, 1, 2, 3]).unwrap();
    drop(truncated);
    wait_for("the truncated frame", &service, |s| s.malformed == 2);

    // A gossip message has no business on TCP.
    let me = joiner();
    rumor_wire::tcp::send(
        addr,
        &Envelope::new(
            me.addr,
            Message::Updates {
                sender: me,
                updates: vec![],
            },
        ),
        Duration::from_secs(1),
    )
    .unwrap();
    wait_for("the wrong kind", &service, |s| s.refused_kind == 1);

    send_join(addr);
    wait_joins(&joins, 1);
    assert_eq!(service.stats().delivered, 1);
}

#[test]
fn oversized_frames_are_refused_before_reading() {
    let (service, joins) = counting_service(ServiceConfig {
        max_frame: 4096,
        ..ServiceConfig::default()
    });
    let mut huge = TcpStream::connect(service.addr()).unwrap();
    huge.write_all(&(1u32 << 30).to_be_bytes()).unwrap();
    wait_for("the oversized frame", &service, |s| s.oversized == 1);
    // The service closed on it without reading a gigabyte.
    let refused_write = (0..64).any(|_| huge.write_all(&[0u8; 65536]).is_err());
    assert!(refused_write, "the service kept reading an oversized frame");

    send_join(service.addr());
    wait_joins(&joins, 1);
}

#[test]
fn silent_and_slow_clients_time_out_while_joins_are_served() {
    let (service, joins) = counting_service(ServiceConfig {
        read_timeout: Duration::from_millis(300),
        workers: 2,
        ..ServiceConfig::default()
    });
    let addr = service.addr();
    let silent = TcpStream::connect(addr).unwrap();
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(&[0, 0]).unwrap(); // half a length prefix, then nothing
    // Both handlers are now held; the join waits at most one timeout.
    send_join(addr);
    wait_for("both timeouts", &service, |s| s.timed_out == 2);
    wait_joins(&joins, 1);
    drop((silent, slow));
}

#[test]
fn a_flood_of_connections_is_refused_at_the_door_and_service_resumes() {
    let (service, joins) = counting_service(ServiceConfig {
        read_timeout: Duration::from_millis(300),
        workers: 1,
        backlog: 2,
        ..ServiceConfig::default()
    });
    let addr = service.addr();
    let flood: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(addr).unwrap()).collect();
    wait_for("refusals", &service, |s| {
        s.refused_busy > 0 && s.accepted == 40
    });
    // The held connections time out one handler at a time; then joins flow again.
    wait_for("the flood to drain", &service, |s| {
        s.timed_out + s.refused_busy == 40
    });
    send_join(addr);
    wait_joins(&joins, 1);
    drop(flood);
}

#[test]
fn a_refusing_handler_is_counted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let service = TcpService::spawn(
        listener,
        ServiceConfig::default(),
        Arc::new(|_: Delivery<'_>| Err("queue full".to_string())),
    )
    .unwrap();
    send_join(service.addr());
    wait_for("the refusal", &service, |s| s.refused_by_handler == 1);
}

/// A toy key for the test: the tag is one byte, the wrapping sum of the body
/// plus the key. (The agent uses HMAC-SHA256.)
#[derive(Debug)]
struct ToyAuth(u8);

impl rumor_introducer::FrameAuth for ToyAuth {
    fn seal(&self, body: &mut Vec<u8>) {
        let tag = body.iter().fold(self.0, |a, b| a.wrapping_add(*b));
        body.push(tag);
    }
    fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        let (tag, body) = sealed.split_last()?;
        (body.iter().fold(self.0, |a, b| a.wrapping_add(*b)) == *tag).then_some(body)
    }
}

#[test]
fn with_a_key_joins_must_be_sealed_and_queries_need_not() {
    let key: Arc<dyn rumor_introducer::FrameAuth> = Arc::new(ToyAuth(42));
    let (service, joins) = counting_service(ServiceConfig {
        auth: Some(Arc::clone(&key)),
        ..ServiceConfig::default()
    });
    let addr = service.addr();
    let me = joiner();
    let join = Envelope::new(me.addr, Message::JoinRequest { node: me });

    send_join(addr); // unsealed
    wait_for("the unsealed join", &service, |s| s.unauthenticated == 1);
    rumor_introducer::send_frame(addr, &join, Some(&ToyAuth(7)), Duration::from_secs(1)).unwrap();
    wait_for("the join sealed under another key", &service, |s| {
        s.unauthenticated == 2
    });
    rumor_introducer::send_frame(addr, &join, Some(&*key), Duration::from_secs(1)).unwrap();
    wait_joins(&joins, 1);
    rumor_wire::tcp::send(
        addr,
        &Envelope::new(me.addr, Message::MemberQuery),
        Duration::from_secs(1),
    )
    .unwrap();
    wait_for("the plain query", &service, |s| s.delivered == 2);
    assert_eq!(joins.load(Ordering::SeqCst), 1);
}
