//! `--agent`: fetching every member's events.jsonl through dgrep, against a
//! small fake cluster that speaks the wire protocol.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rumor_seal::{DEFAULT_LABEL, Keyring, Sealer, SealerConfig, generate_key};
use rumor_transport::frame::{read_frame, write_frame};
use rumor_viz::agent_source::{EVENT_PATTERN, fetch_events, fetch_events_sealed};
use rumor_viz::{EventKind, Replay};
use rumor_wire::{
    Control, DEFAULT_MAX_FRAME, Dgrep, DgrepChunk, DgrepDone, Envelope, GrepLine, Incarnation,
    MemberInfo, MemberState, Message, NodeId,
};

const TIMEOUT: Duration = Duration::from_secs(10);

fn line(ts: u64, observer: NodeId, event: &str, member: NodeId) -> Vec<u8> {
    format!(
        r#"{{"ts_ms":{ts},"observer":"{observer}","event":"{event}","member":"{member}","incarnation":0,"detector":"swim"}}"#
    )
    .into_bytes()
}

fn grep_line(file: &str, number: u64, text: Vec<u8>) -> GrepLine {
    GrepLine {
        file: file.into(),
        line_number: Some(number),
        text,
    }
}

/// A fake agent: takes `requests` connections, one request each, then
/// stops, answering on the request's connection as agents do (sealed under
/// `sealer` when given; then an unsealed request is dropped unanswered). A
/// member query is answered with `members`; a dgrep request with `lines`,
/// in one chunk or (if `split`) two. Returns the requests it took.
fn fake_agent(
    listener: TcpListener,
    me: NodeId,
    members: Vec<MemberInfo>,
    lines: Vec<GrepLine>,
    split: bool,
    requests: usize,
    sealer: Option<Arc<Sealer>>,
) -> JoinHandle<Vec<Message>> {
    std::thread::spawn(move || {
        let sealer = sealer.as_deref();
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (mut stream, peer) = listener.accept().unwrap();
            let Ok(Some(request)) = read_frame(&mut stream, sealer, DEFAULT_MAX_FRAME, peer) else {
                continue;
            };
            let mut answer = |body: Message| {
                write_frame(
                    &mut stream,
                    &Envelope::new(me.addr, body),
                    sealer,
                    DEFAULT_MAX_FRAME,
                )
                .unwrap();
            };
            match &request.body {
                Message::Control(Control::MemberQuery) => answer(
                    Control::MemberList {
                        node: me,
                        members: members.clone(),
                    }
                    .into(),
                ),
                Message::Dgrep(Dgrep::Request(query)) => {
                    let at = if split { lines.len() / 2 } else { lines.len() };
                    for part in [&lines[..at], &lines[at..]] {
                        if !part.is_empty() {
                            answer(
                                Dgrep::Chunk(DgrepChunk {
                                    query: query.query,
                                    node: me,
                                    lines: part.to_vec(),
                                })
                                .into(),
                            );
                        }
                    }
                    let mut done = DgrepDone::new(query.query, me);
                    done.elapsed_ms = 1;
                    answer(Dgrep::Done(done).into());
                }
                other => panic!("unexpected request {other:?}"),
            }
            seen.push(request.body);
        }
        seen
    })
}

fn bind() -> (TcpListener, NodeId) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, NodeId::new(addr, rumor_wire::Version(1)))
}

#[test]
fn fetches_every_live_members_event_log() {
    let (listener_a, a) = bind();
    let (listener_b, b) = bind();
    // A failed member must not be asked: nothing listens there.
    let dead = NodeId::new(
        SocketAddr::from(([127, 0, 0, 1], 1)),
        rumor_wire::Version(1),
    );
    let info = |node, state| MemberInfo::new(node, state, Incarnation(0));
    let members = vec![
        info(a, MemberState::Alive),
        info(b, MemberState::Suspect),
        info(dead, MemberState::Failed),
    ];

    let lines_a = vec![
        grep_line("events.jsonl", 1, line(1_000, a, "joined", a)),
        grep_line("events.jsonl", 2, line(1_500, a, "joined", b)),
        grep_line("events.jsonl", 3, line(4_000, a, "failed", dead)),
        grep_line("agent.log", 7, b"an event in the operational log".to_vec()),
    ];
    let lines_b = vec![
        grep_line("events.jsonl", 1, line(1_200, b, "joined", b)),
        grep_line("events.jsonl", 2, b"{\"event\": truncated".to_vec()),
        grep_line("old/events.jsonl", 4, line(1_300, b, "joined", a)),
    ];
    let agent_a = fake_agent(listener_a, a, members.clone(), lines_a, false, 2, None);
    let agent_b = fake_agent(listener_b, b, members, lines_b, true, 1, None);

    let fetched = fetch_events(a.addr, TIMEOUT).unwrap();
    let asked_a = agent_a.join().unwrap();
    let asked_b = agent_b.join().unwrap();

    let mut everyone = vec![a, b];
    everyone.sort();
    assert_eq!(fetched.answered, everyone);
    assert!(fetched.missing.is_empty(), "{:?}", fetched.missing);
    let Message::Dgrep(Dgrep::Request(request)) = &asked_b[0] else {
        panic!("b was asked {:?}", asked_b[0])
    };
    assert_eq!(request.patterns, [EVENT_PATTERN]);
    assert!(request.flags.fixed_strings && request.flags.line_number);
    assert_eq!(asked_a.len(), 2);

    let events = &fetched.loaded.events;
    let times: Vec<u64> = events.iter().map(|e| e.ts_ms).collect();
    assert_eq!(
        times,
        [1_000, 1_200, 1_300, 1_500, 4_000],
        "merged by time, agent.log left out"
    );
    assert_eq!(events[4].kind, EventKind::Failed);
    assert_eq!(fetched.loaded.malformed.len(), 1);
    let bad = &fetched.loaded.malformed[0];
    assert_eq!(bad.source, format!("{b}:events.jsonl"));
    assert_eq!(bad.line, 2);

    let replay = Replay::new(events).unwrap();
    assert_eq!(replay.crashes().len(), 1);
}

#[test]
fn an_unreachable_agent_is_an_error() {
    let (listener, me) = bind();
    drop(listener);
    assert!(fetch_events(me.addr, Duration::from_millis(500)).is_err());
}

#[test]
fn a_keyed_cluster_is_fetched_with_its_keyring_only() {
    let keyring = Keyring::from_keys([generate_key().unwrap()]).unwrap();
    let sealer = Arc::new(Sealer::new(keyring, DEFAULT_LABEL, SealerConfig::default()).unwrap());
    let (listener, a) = bind();
    let members = vec![MemberInfo::new(a, MemberState::Alive, Incarnation(0))];
    let lines = vec![grep_line("events.jsonl", 1, line(1_000, a, "joined", a))];
    // Three connections: the unsealed member query (dropped), then the
    // sealed member query and dgrep request.
    let agent = fake_agent(listener, a, members, lines, false, 3, Some(sealer.clone()));
    let unsealed = fetch_events(a.addr, TIMEOUT).unwrap_err().to_string();
    assert!(unsealed.contains("give --keyring"), "{unsealed}");
    let fetched = fetch_events_sealed(a.addr, Some(&sealer), TIMEOUT).unwrap();
    assert_eq!(fetched.answered, [a]);
    assert_eq!(fetched.loaded.events.len(), 1);
    assert_eq!(agent.join().unwrap().len(), 2, "two sealed requests taken");
}
