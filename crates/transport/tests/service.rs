//! The TCP service as an attacker on the same network meets it: forged and
//! unsealed frames, silent and trickling connections, oversized prefixes,
//! floods from one source; and an honest client from another source still
//! gets its answer.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumor_seal::{Keyring, Sealer, SealerConfig, generate_key};
use rumor_transport::{Delivery, ServiceConfig, TcpService, TransportError, request};
use rumor_wire::{Control, Envelope, Message, NodeId, Version};

/// A service on `ip` that answers member queries with an empty list.
fn service(ip: &str, config: ServiceConfig) -> (TcpService, SocketAddr) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let me = NodeId::new(addr, Version(1));
    let handler = move |mut d: Delivery| {
        let answer = Envelope::new(
            addr,
            Control::MemberList {
                node: me,
                members: vec![],
            },
        );
        d.reply
            .send(&answer, Duration::from_secs(1))
            .map_err(|e| e.to_string())
    };
    let service = TcpService::spawn(listener, config, Arc::new(handler)).unwrap();
    (service, addr)
}

fn query() -> Envelope {
    Envelope::new("127.0.0.1:9".parse().unwrap(), Control::MemberQuery)
}

fn sealer(key: rumor_seal::Key, label: &str) -> Sealer {
    Sealer::new(Keyring::new(key), label, SealerConfig::default()).unwrap()
}

/// A connection to `to` from the local address `from` (loopback has every
/// 127.x address, so one host plays several sources).
fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(from, 0).into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(1))?;
    Ok(socket.into())
}

#[test]
fn with_a_keyring_only_sealed_requests_are_served_and_answers_are_sealed() {
    let key = generate_key().unwrap();
    let ours = Arc::new(sealer(key.clone(), "prod"));
    let mut config = ServiceConfig::default();
    config.sealer = Some(Arc::clone(&ours));
    let (service, addr) = service("127.0.0.1", config);
    let timeout = Duration::from_secs(2);
    // Sealed under the cluster key: answered, and the answer opens.
    let answer = request(addr, &query(), Some(&ours), timeout).unwrap();
    assert!(matches!(
        answer.body,
        Message::Control(Control::MemberList { .. })
    ));
    // In the clear, under another key, or under the right key of another
    // cluster: no answer at all.
    let other_key = sealer(generate_key().unwrap(), "prod");
    let other_cluster = sealer(key, "staging");
    assert!(request(addr, &query(), None, timeout).is_err());
    assert!(request(addr, &query(), Some(&other_key), timeout).is_err());
    assert!(request(addr, &query(), Some(&other_cluster), timeout).is_err());
    let stats = service.stats();
    assert_eq!(stats.delivered, 1);
    assert_eq!(stats.unauthenticated, 3, "{stats:?}");
    // A clear client cannot read a sealed answer either.
    let err = request(addr, &query(), None, timeout).unwrap_err();
    assert!(!matches!(err, TransportError::Unsealed { .. }), "{err}");
}

#[test]
fn a_flood_of_silent_connections_from_one_source_does_not_starve_another() {
    let mut config = ServiceConfig::default();
    config.read_timeout = Duration::from_secs(5);
    let (service, addr) = service("127.0.0.1", config);
    let attacker: IpAddr = "127.0.0.66".parse().unwrap();
    // 500 connections that never say a word, as fast as they can be made.
    let mut silent = Vec::new();
    for _ in 0..500 {
        if let Ok(stream) = connect_from(attacker, addr) {
            silent.push(stream);
        }
    }
    // The honest client's query is still answered, quickly.
    let started = Instant::now();
    let answer = request(addr, &query(), None, Duration::from_secs(2)).unwrap();
    let took = started.elapsed();
    assert!(matches!(
        answer.body,
        Message::Control(Control::MemberList { .. })
    ));
    let stats = service.stats();
    eprintln!(
        "query answered in {took:?} beside {} silent connections: {stats:?}",
        silent.len()
    );
    assert!(
        stats.refused_source >= 400,
        "one source holds at most 16 open: {stats:?}"
    );
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[test]
fn trickling_clients_are_cut_at_the_deadline_and_oversized_prefixes_refused_unread() {
    let mut config = ServiceConfig::default();
    config.read_timeout = Duration::from_millis(300);
    let (service, addr) = service("127.0.0.1", config);
    // Claims a 16 MiB frame: refused at the prefix.
    let mut huge = TcpStream::connect(addr).unwrap();
    huge.write_all(&(16u32 << 20).to_be_bytes()).unwrap();
    // A slowloris: a valid prefix, then a byte now and then.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(&100u32.to_be_bytes()).unwrap();
    for _ in 0..5 {
        let _ = slow.write_all(&[0x93]);
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while service.stats().timed_out == 0 || service.stats().oversized == 0 {
        assert!(Instant::now() < deadline, "{:?}", service.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Garbage of the right length is counted as malformed, and the service
    // still answers.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage.write_all(&8u32.to_be_bytes()).unwrap();
    garbage.write_all(&[0xc1; 8]).unwrap();
    drop(garbage);
    assert!(request(addr, &query(), None, Duration::from_secs(2)).is_ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    while service.stats().malformed == 0 {
        assert!(Instant::now() < deadline, "{:?}", service.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_source_that_asks_too_often_is_metered_and_others_are_not() {
    let mut config = ServiceConfig::default();
    config.limits.requests_per_second = 5.0;
    config.limits.burst = 10.0;
    let (service, addr) = service("127.0.0.1", config);
    let noisy: IpAddr = "127.0.0.77".parse().unwrap();
    let mut answered = 0;
    for _ in 0..40 {
        let mut stream = connect_from(noisy, addr).unwrap();
        rumor_transport::frame::write_frame(&mut stream, &query(), None, 1 << 20).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let peer = addr;
        if let Ok(Some(_)) = rumor_transport::frame::read_frame(&mut stream, None, 1 << 20, peer) {
            answered += 1;
        }
    }
    assert!((10..20).contains(&answered), "{answered} answered");
    assert!(service.stats().rate_limited >= 20, "{:?}", service.stats());
    // 127.0.0.1 has a bucket of its own.
    assert!(request(addr, &query(), None, Duration::from_secs(2)).is_ok());
}
