//! The fire-and-forget request helper: the answer arrives as a new connection
//! to the requester's own listener, never on the request's connection.

use std::net::TcpListener;
use std::time::Duration;

use rumor_wire::tcp::{request, send};
use rumor_wire::*;

#[test]
fn reply_arrives_on_the_requesters_listener() {
    let agent = TcpListener::bind("127.0.0.1:0").unwrap();
    let agent_addr = agent.local_addr().unwrap();
    let me: NodeId = format!("{agent_addr}#5").parse().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = agent.accept().unwrap();
        let mut buf = Vec::new();
        let env = read_frame(&mut stream, &mut buf, DEFAULT_MAX_FRAME)
            .unwrap()
            .unwrap();
        assert_eq!(env.body, Message::MemberQuery);
        drop(stream); // the request's connection closes without an answer
        let reply = Envelope::new(
            agent_addr,
            Message::MemberList {
                node: me,
                members: vec![],
            },
        );
        send(env.from, &reply, Duration::from_secs(2)).unwrap();
    });
    let reply = request(agent_addr, Message::MemberQuery, Duration::from_secs(5)).unwrap();
    assert_eq!(reply.from, agent_addr);
    assert!(matches!(reply.body, Message::MemberList { .. }));
    server.join().unwrap();
}

#[test]
fn silent_agent_times_out() {
    let agent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = agent.local_addr().unwrap();
    let err = request(addr, Message::MemberQuery, Duration::from_millis(200)).unwrap_err();
    assert!(err.to_string().contains("no reply"), "{err}");
}
