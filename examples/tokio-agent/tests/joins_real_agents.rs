//! The tokio example against real `rumor agent` processes: it joins their
//! cluster with a tag that both agents list, its broadcast lands once in
//! both agents' agent.log and an agent's broadcast reaches it, it sees a
//! SIGKILLed agent fail, and on SIGTERM it leaves, which the surviving
//! agent records.
//!
//! The agents are the `rumor` binary of rumor-daemon, built into the same
//! target directory by `cargo test --workspace` (or named by `RUMOR_BIN`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use rumor_wire::{Control, Envelope, MemberInfo, MemberState, Message};

/// The `rumor` binary: `RUMOR_BIN`, or beside this test's target directory.
fn rumor_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("RUMOR_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/joins_real_agents-HASH -> target/<profile>/rumor
    let exe = std::env::current_exe().expect("the test knows its path");
    let candidate = exe.parent().and_then(|d| d.parent()).unwrap().join("rumor");
    assert!(
        candidate.is_file(),
        "no rumor binary at {}: run `cargo build -p rumor-daemon --bin rumor` or set RUMOR_BIN",
        candidate.display()
    );
    candidate
}

/// A loopback address free for both TCP and UDP right now.
fn free_addr() -> SocketAddr {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = tcp.local_addr().expect("bound");
        if UdpSocket::bind(addr).is_ok() {
            return addr;
        }
    }
}

/// Processes killed when the test ends, however it ends.
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn agent(data_dir: &std::path::Path, bind: SocketAddr, join: Option<SocketAddr>) -> Child {
    let mut command = Command::new(rumor_bin());
    command
        .args([
            "agent",
            "--quiet",
            "--tag",
            "role=agent",
            "--bind",
            &bind.to_string(),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(join) = join {
        command.args(["--join", &join.to_string()]);
    }
    command.spawn().expect("rumor agent starts")
}

/// The agent's member list, asked over TCP as `rumor members` does.
fn members(agent: SocketAddr) -> Option<Vec<MemberInfo>> {
    let mut stream = TcpStream::connect_timeout(&agent, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let me: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut body = Vec::new();
    let query = Envelope::new(me, Control::MemberQuery);
    rumor_wire::encode_to_vec(&query, &mut body, rumor_wire::DEFAULT_MAX_FRAME).ok()?;
    stream.write_all(&(body.len() as u32).to_be_bytes()).ok()?;
    stream.write_all(&body).ok()?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut answer = vec![0; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut answer).ok()?;
    match rumor_wire::decode(&answer).ok()?.body {
        Message::Control(Control::MemberList { members, .. }) => Some(members),
        _ => None,
    }
}

/// Polls `agent` until `check` holds for its member list, for up to `limit`.
fn await_members(agent: SocketAddr, limit: Duration, check: impl Fn(&[MemberInfo]) -> bool) {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(list) = members(agent) {
            if check(&list) {
                return;
            }
            last = Some(list);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{agent} never got there; its last list: {last:?}");
}

/// Waits until the agent's agent.log in `dir` holds a line ending with
/// `wanted`, for up to `limit`; returns how many it holds.
fn await_log(dir: &std::path::Path, limit: Duration, wanted: &str) -> usize {
    let deadline = Instant::now() + limit;
    let log = dir.join("agent.log");
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let count = text.lines().filter(|l| l.ends_with(wanted)).count();
        if count > 0 {
            return count;
        }
        assert!(Instant::now() < deadline, "no {wanted:?} in\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a line of the example's output that satisfies `wanted`.
fn await_line(lines: &Receiver<String>, limit: Duration, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("the example never printed the line wanted; it printed {seen:#?}");
}

#[test]
fn the_tokio_example_is_a_full_member_of_an_agent_cluster() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (a, b, example) = (free_addr(), free_addr(), free_addr());
    let mut reaper = Reaper(vec![agent(dirs[0].path(), a, None)]);
    reaper.0.push(agent(dirs[1].path(), b, Some(a)));
    let live = |list: &[MemberInfo], addr: SocketAddr| {
        list.iter()
            .any(|m| m.node.addr == addr && m.state == MemberState::Alive)
    };
    await_members(a, Duration::from_secs(20), |l| live(l, a) && live(l, b));

    let mut child = Command::new(env!("CARGO_BIN_EXE_tokio-agent"))
        .args(["--bind", &example.to_string(), "--join", &a.to_string()])
        .args(["--tag", "role=example", "--broadcast", "hello from tokio"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    reaper.0.push(child);
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });

    // Both agents list the example alive with its tag, and it saw both of
    // them join.
    let tagged = |l: &[MemberInfo]| {
        let example = l.iter().find(|m| m.node.addr == example);
        example.is_some_and(|m| m.metadata.get("role") == Some("example"))
    };
    for agent in [a, b] {
        await_members(agent, Duration::from_secs(15), |l| {
            live(l, example) && tagged(l)
        });
    }
    let ids = members(a).unwrap();
    let id_of = |addr: SocketAddr| ids.iter().find(|m| m.node.addr == addr).unwrap().node;
    let (a_id, b_id, example_id) = (id_of(a), id_of(b), id_of(example));
    for id in [a_id, b_id] {
        await_line(&lines, Duration::from_secs(10), |l| {
            l == format!("joined {id}")
        });
    }

    // Its broadcast: in each agent's log (and handed to itself).
    let wanted = format!("broadcast #1 from {example_id}: \"hello from tokio\"");
    for dir in &dirs {
        assert_eq!(await_log(dir.path(), Duration::from_secs(10), &wanted), 1);
    }
    await_line(&lines, Duration::from_secs(5), |l| {
        l == format!("broadcast from {example_id}: hello from tokio")
    });
    // An agent's broadcast reaches the example.
    let sent = Command::new(rumor_bin())
        .args([
            "broadcast",
            "hello from an agent",
            "--agent",
            &a.to_string(),
        ])
        .output()
        .unwrap();
    assert!(sent.status.success(), "{sent:?}");
    await_line(&lines, Duration::from_secs(10), |l| {
        l == format!("broadcast from {a_id}: hello from an agent")
    });

    // A SIGKILLed agent is detected by the example's own detector.
    reaper.0[1].kill().unwrap();
    reaper.0[1].wait().unwrap();
    await_line(&lines, Duration::from_secs(10), |l| {
        l == format!("failed {b_id}")
    });

    // SIGTERM: the example leaves gracefully, and the agent records it.
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    await_line(&lines, Duration::from_secs(5), |l| l == "left");
    let exit = reaper.0[2].wait().unwrap();
    assert!(exit.success(), "the example exited with {exit}");
    await_members(a, Duration::from_secs(10), |l| {
        l.iter()
            .any(|m| m.node.addr == example && m.state == MemberState::Left)
    });
    // After the failure and the leave, the broadcast is still in agent a's
    // log once.
    assert_eq!(await_log(dirs[0].path(), Duration::ZERO, &wanted), 1);
}
