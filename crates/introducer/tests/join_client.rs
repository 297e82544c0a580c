//! The join client against live, dead and refusing introducers.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use rumor_introducer::{
    Backoff, Delivery, IntroducerError, JoinClient, JoinOutcome, JoinSignal, ServiceConfig,
    TcpService,
};
use rumor_wire::{Envelope, Message, NodeId, Version};

/// An introducer answering every join request with `answer`, as a new connection.
fn introducer(answer: fn(NodeId) -> Message) -> (TcpService, NodeId) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let me = NodeId::new(listener.local_addr().unwrap(), Version(1));
    let service = TcpService::spawn(
        listener,
        ServiceConfig::default(),
        Arc::new(move |d: Delivery<'_>| {
            if let Message::JoinRequest { .. } = d.envelope.body {
                rumor_wire::tcp::send(
                    d.envelope.from,
                    &Envelope::new(me.addr, answer(me)),
                    Duration::from_secs(1),
                )
                .map_err(|e| e.to_string())?;
            }
            Ok(())
        }),
    )
    .unwrap();
    (service, me)
}

/// A joiner's listener that raises the signal on answers.
fn joiner() -> (TcpService, NodeId, Arc<JoinSignal>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let me = NodeId::new(listener.local_addr().unwrap(), Version(2));
    let signal = Arc::new(JoinSignal::new());
    let raise = Arc::clone(&signal);
    let service = TcpService::spawn(
        listener,
        ServiceConfig::default(),
        Arc::new(move |d: Delivery<'_>| {
            match &d.envelope.body {
                Message::JoinResponse { introducer, .. } => raise.raise(JoinOutcome::Admitted {
                    introducer: *introducer,
                }),
                Message::JoinRefused { reason } => raise.raise(JoinOutcome::Refused {
                    by: d.envelope.from,
                    reason: reason.clone(),
                }),
                _ => {}
            }
            Ok(())
        }),
    )
    .unwrap();
    (service, me, signal)
}

/// An address nobody listens on.
fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn quick(introducers: Vec<SocketAddr>, budget: Duration) -> JoinClient {
    JoinClient {
        introducers,
        connect_timeout: Duration::from_millis(200),
        answer_timeout: Duration::from_millis(500),
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        budget,
        auth: None,
    }
}

#[test]
fn a_dead_first_introducer_is_skipped() {
    let (_live, live_id) = introducer(|me| Message::JoinResponse {
        introducer: me,
        members: vec![],
    });
    let (_listener, me, signal) = joiner();
    let client = quick(vec![dead_address(), live_id.addr], Duration::from_secs(10));
    assert_eq!(client.join(me, &signal).unwrap(), live_id);
}

#[test]
fn an_introducer_that_comes_up_late_is_found_by_a_later_round() {
    let (_listener, me, signal) = joiner();
    let late = dead_address();
    let client = quick(vec![late], Duration::from_secs(10));
    let joining = std::thread::spawn(move || client.join(me, &signal));
    std::thread::sleep(Duration::from_millis(300));
    let listener = TcpListener::bind(late).unwrap();
    let late_id = NodeId::new(late, Version(1));
    let _service = TcpService::spawn(
        listener,
        ServiceConfig::default(),
        Arc::new(move |d: Delivery<'_>| {
            let answer = Message::JoinResponse {
                introducer: late_id,
                members: vec![],
            };
            rumor_wire::tcp::send(
                d.envelope.from,
                &Envelope::new(late, answer),
                Duration::from_secs(1),
            )
            .map_err(|e| e.to_string())
        }),
    )
    .unwrap();
    assert_eq!(joining.join().unwrap().unwrap(), late_id);
}

#[test]
fn the_budget_bounds_a_join_with_nobody_there() {
    let (_listener, me, signal) = joiner();
    let client = quick(
        vec![dead_address(), dead_address()],
        Duration::from_millis(400),
    );
    match client.join(me, &signal) {
        Err(IntroducerError::JoinTimedOut { attempts, .. }) => assert!(attempts >= 2),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_refusal_ends_the_join() {
    let (_refuser, refuser_id) = introducer(|_| Message::JoinRefused {
        reason: "stale version".into(),
    });
    let (_listener, me, signal) = joiner();
    let client = quick(vec![refuser_id.addr], Duration::from_secs(10));
    match client.join(me, &signal) {
        Err(IntroducerError::JoinRefused { by, reason }) => {
            assert_eq!(by, refuser_id.addr);
            assert_eq!(reason, "stale version");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn no_introducers_is_an_error() {
    let (_listener, me, signal) = joiner();
    assert!(matches!(
        JoinClient::new(vec![]).join(me, &signal),
        Err(IntroducerError::NoIntroducers)
    ));
}
