//! dgrep against real `rumor agent` processes: grep-identical results per
//! node, a stopped or killed agent named as missing, and (when
//! `dgrep-worker` is built beside `rumor`) searches in the agents' workers,
//! one of which dies of SIGBUS without taking its agent along. A keyed
//! cluster answers dgrep with its keyring only; answers go back on the
//! request's connection, never to the address a request names; a symbolic
//! link out of a served directory is not searched.
//!
//! The agents are the `rumor` binary of rumor-daemon, which depends on this
//! crate and so cannot be a dependency of its tests. Build it first into the
//! same target directory (`cargo build -p rumor-daemon --bin rumor`), or
//! name it with `RUMOR_BIN`; without it these tests say so and pass.

mod support;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rumor_dgrep::client::{Reply, fan_out, live_members};
use rumor_seal::{DEFAULT_LABEL, Keyring, Sealer, SealerConfig, generate_key};
use rumor_transport::Exchange;
use rumor_wire::{Dgrep, DgrepRequest, Envelope, GrepFlags, Message, NodeId};
use support::{by_node, data_dir, gnu_grep, run_dgrep, write_logs};
use tempfile::TempDir;

/// The `rumor` binary: `RUMOR_BIN`, or beside this test's target directory.
fn rumor_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RUMOR_BIN") {
        return Some(PathBuf::from(path));
    }
    // target/<profile>/deps/agents-HASH -> target/<profile>/rumor
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("rumor");
    candidate.is_file().then_some(candidate)
}

/// A loopback port free for both TCP and UDP right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = tcp.local_addr().expect("bound").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Running agents, killed when dropped.
struct Agents {
    children: Vec<Child>,
    /// Each agent's data dir and the directory of the log it serves.
    dirs: Vec<(TempDir, TempDir)>,
    addrs: Vec<SocketAddr>,
    ids: Vec<NodeId>,
}

impl Drop for Agents {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(child.id().to_string())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `n` agents serving a generated `app.log` each (the third one alone
/// holds the needle) and waits until the first sees all of them alive.
fn start_agents(bin: &PathBuf, n: usize) -> Agents {
    start_agents_with(bin, n, None)
}

/// As [`start_agents`], keyed with the keyring file and its sealer when given.
fn start_agents_with(bin: &PathBuf, n: usize, keys: Option<(&Path, &Sealer)>) -> Agents {
    let mut agents = Agents {
        children: Vec::new(),
        dirs: Vec::new(),
        addrs: Vec::new(),
        ids: Vec::new(),
    };
    for i in 0..n {
        let dir = data_dir();
        let logs = data_dir();
        write_logs(logs.path(), 100 + i as u64, 10_000, i == 2);
        std::fs::rename(logs.path().join("agent.log"), logs.path().join("app.log")).unwrap();
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut command = Command::new(bin);
        command
            .args(["agent", "--quiet", "--bind", &addr.to_string()])
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--grep-path")
            .arg(logs.path().join("*.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((ring, _)) = keys {
            command.arg("--keyring").arg(ring);
        }
        if let Some(first) = agents.addrs.first() {
            command.args(["--join", &first.to_string()]);
        }
        agents
            .children
            .push(command.spawn().expect("rumor agent starts"));
        agents.dirs.push((dir, logs));
        agents.addrs.push(addr);
    }
    // Membership converges on its own schedule: poll the first agent.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sealer = keys.map(|k| k.1);
        if let Ok(members) = live_members(agents.addrs[0], sealer, Duration::from_secs(1)) {
            if members.len() == n {
                let mut ids = members;
                ids.sort_by_key(|m| agents.addrs.iter().position(|a| *a == m.addr));
                agents.ids = ids;
                return agents;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the agents did not converge in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `dgrep-worker` processes `pid` started.
fn worker_children(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/comm"))
                .is_ok_and(|comm| comm.trim() == "dgrep-worker")
        })
        .count()
}

/// The served log's full path: outside the data dir, dgrep names it so.
fn app_log(logs: &TempDir) -> String {
    logs.path().join("app.log").display().to_string()
}

fn check_same_as_grep(agents: &Agents, args: &[&str]) {
    check_same_as_grep_with(agents, &[], args);
}

/// As [`check_same_as_grep`], with `extra` arguments for dgrep only.
fn check_same_as_grep_with(agents: &Agents, extra: &[&str], args: &[&str]) {
    let all: Vec<&str> = extra.iter().chain(args).copied().collect();
    let out = run_dgrep(agents.addrs[0], &all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let got = by_node(&out.stdout);
    let mut selected = false;
    for (id, (_, logs)) in agents.ids.iter().zip(&agents.dirs) {
        let (want, status) = gnu_grep(id, logs.path(), &[&app_log(logs)], args);
        selected |= status == 0;
        let want = (!want.is_empty()).then_some(want);
        assert_eq!(
            got.get(&id.to_string()),
            want.as_ref(),
            "{args:?} on {id}: {stderr}"
        );
    }
    assert_eq!(
        out.status.code(),
        Some(if selected { 0 } else { 1 }),
        "{stderr}"
    );
}

#[test]
fn real_agents_answer_like_grep_and_a_stopped_one_is_missing() {
    let Some(bin) = rumor_bin() else {
        eprintln!(
            "SKIPPED: no rumor binary; build it with `cargo build -p rumor-daemon --bin rumor` \
             into this target directory or set RUMOR_BIN"
        );
        return;
    };
    let agents = start_agents(&bin, 4);
    check_same_as_grep(&agents, &["-c", "WARN"]);
    check_same_as_grep(&agents, &["-n", "-i", "panic"]);
    check_same_as_grep(&agents, &["-E", "user=(bob|carol) .*ms=19[0-9]{2}$"]);
    check_same_as_grep(&agents, &["needle-only-here"]);
    check_same_as_grep(&agents, &["-v", "-c", "INFO"]);
    // Context, -o, colours and -l through the agents' search workers.
    check_same_as_grep(&agents, &["-n", "-C", "2", "-i", "panic"]);
    check_same_as_grep(&agents, &["-o", "--color=always", "-E", "ms=19[0-9]{2}"]);
    check_same_as_grep(&agents, &["-l", "needle-only-here"]);
    if bin.with_file_name("dgrep-worker").is_file() {
        for (i, child) in agents.children.iter().enumerate() {
            assert!(
                worker_children(child.id()) >= 1,
                "agent {i} searched in a dgrep-worker"
            );
        }
    }

    // Stop one agent: it still looks alive to the others for a moment, takes
    // the request into its socket backlog, and never answers.
    let stopped = agents.children[1].id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &stopped])
            .status()
            .unwrap()
            .success()
    );
    let out = run_dgrep(agents.addrs[0], &["--timeout", "2s", "ERROR"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: no answer in time", agents.ids[1])),
        "{stderr}"
    );
    let got = by_node(&out.stdout);
    for i in [0, 2, 3] {
        let logs = &agents.dirs[i].1;
        let (want, _) = gnu_grep(&agents.ids[i], logs.path(), &[&app_log(logs)], &["ERROR"]);
        assert_eq!(
            got.get(&agents.ids[i].to_string()),
            Some(&want),
            "node {i} complete"
        );
    }
}

#[test]
fn a_worker_killed_by_sigbus_leaves_its_agent_alive() {
    let Some(bin) = rumor_bin() else {
        eprintln!("SKIPPED: no rumor binary (see the test above)");
        return;
    };
    if !bin.with_file_name("dgrep-worker").is_file() {
        eprintln!("SKIPPED: no dgrep-worker beside {}", bin.display());
        return;
    }
    let agents = start_agents(&bin, 2);
    // 40 MB of selected lines for the first agent: far more than can be in
    // flight while the client holds its first chunk.
    let big = agents.dirs[0].1.path().join("app.log");
    {
        use std::io::Write as _;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        for i in 0..400_000 {
            writeln!(
                file,
                "2026-11-24T02:00:00.000Z INFO truncate-me line {i:09} padding padding padding pad"
            )
            .unwrap();
        }
        file.flush().unwrap();
    }
    let request = DgrepRequest {
        query: 77,
        patterns: vec!["truncate-me".into()],
        flags: GrepFlags::default(),
    };
    let mut truncated = false;
    let outcome = fan_out(
        &agents.ids,
        &request,
        None,
        Duration::from_secs(60),
        &mut |reply| {
            // On the first lines from the first agent, shrink its file under
            // the worker's map; the readers stall behind this callback.
            if let Reply::Lines(chunk) = &reply {
                if chunk.node() == agents.ids[0] && !truncated {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&big)?
                        .set_len(0)?;
                    truncated = true;
                }
            }
            Ok(())
        },
    )
    .expect("the fan-out runs");
    assert!(truncated, "the first agent sent lines");
    assert!(outcome.complete(), "both agents answered: {outcome:?}");
    let first = outcome
        .answered
        .iter()
        .find(|d| d.node == agents.ids[0])
        .expect("the first agent answered");
    let error = first.error.as_deref().expect("the lost worker is an error");
    assert!(error.contains("SIGBUS"), "{error}");

    // The agent lives on: the other one still sees it alive, and it answers.
    let mut agents = agents;
    assert!(
        agents.children[0].try_wait().unwrap().is_none(),
        "the agent is running"
    );
    let members = live_members(agents.addrs[1], None, Duration::from_secs(2)).expect("member list");
    assert!(members.contains(&agents.ids[0]), "{members:?}");
    std::fs::write(&big, "one truncate-me line\n").unwrap();
    let out = run_dgrep(agents.addrs[0], &["-c", "truncate-me"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("{} {}:1", agents.ids[0], big.display())),
        "{stdout}"
    );
}

/// A keyring file of one fresh key in `dir`, and the sealer dgrep makes of it.
fn keyring_in(dir: &Path) -> (PathBuf, Sealer) {
    let ring = dir.join("ring");
    let keyring = Keyring::from_keys([generate_key().unwrap()]).unwrap();
    keyring.save(&ring).unwrap();
    let sealer = Sealer::new(keyring, DEFAULT_LABEL, SealerConfig::default()).unwrap();
    (ring, sealer)
}

#[test]
fn a_keyed_cluster_answers_dgrep_given_its_keyring_only() {
    let Some(bin) = rumor_bin() else {
        eprintln!("SKIPPED: no rumor binary (see the first test)");
        return;
    };
    let keys = data_dir();
    let (ring, sealer) = keyring_in(keys.path());
    let agents = start_agents_with(&bin, 3, Some((&ring, &sealer)));
    let ring = ring.to_str().unwrap();
    check_same_as_grep_with(&agents, &["--keyring", ring], &["-c", "WARN"]);
    check_same_as_grep_with(&agents, &["--keyring", ring], &["-n", "needle-only-here"]);
    // Thousands of lines a member: many sealed chunks on each connection.
    check_same_as_grep_with(&agents, &["--keyring", ring], &["INFO"]);

    // Without the keyring: the agent drops the unsealed request; dgrep says
    // what is wrong in one line and exits 2.
    let out = run_dgrep(agents.addrs[0], &["--timeout", "5s", "WARN"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is the cluster keyed? give --keyring"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    // Unsealed dgrep requests sent straight to a member are dropped too.
    let request = DgrepRequest {
        query: 3,
        patterns: vec!["WARN".into()],
        flags: GrepFlags::default(),
    };
    let outcome = fan_out(
        &agents.ids[..1],
        &request,
        None,
        Duration::from_secs(5),
        &mut |_| panic!("a keyed agent answered an unsealed request"),
    )
    .unwrap();
    assert_eq!(outcome.broken.len(), 1, "{outcome:?}");
    assert!(
        outcome.broken[0].1.contains("give --keyring"),
        "{outcome:?}"
    );
}

#[test]
fn answers_go_back_on_the_connection_never_to_the_address_named() {
    let Some(bin) = rumor_bin() else {
        eprintln!("SKIPPED: no rumor binary (see the first test)");
        return;
    };
    let agents = start_agents(&bin, 1);
    // Third parties a request names as its `from`: one on another loopback
    // address, one on the requester's own address (another port).
    let third_parties: Vec<TcpListener> = ["127.0.0.77:0", "127.0.0.1:0"]
        .iter()
        .map(|a| TcpListener::bind(a).expect("bind a loopback port"))
        .collect();
    for third in &third_parties {
        third.set_nonblocking(true).unwrap();
        let request = DgrepRequest {
            query: 11,
            patterns: vec!["ERROR".into()],
            flags: GrepFlags::default(),
        };
        let named = third.local_addr().unwrap();
        let envelope = Envelope::new(named, Dgrep::Request(request));
        let mut exchange =
            Exchange::open(agents.addrs[0], &envelope, None, Duration::from_secs(5)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut lines = 0;
        let done = loop {
            let answer = exchange
                .next(deadline)
                .expect("a well-formed answer")
                .expect("the answer ends with a DgrepDone");
            match answer.body {
                Message::Dgrep(Dgrep::Chunk(chunk)) => lines += chunk.lines.len(),
                Message::Dgrep(Dgrep::Done(done)) => break done,
                other => panic!("unexpected {} frame", other.kind()),
            }
        };
        assert_eq!(done.node, agents.ids[0]);
        assert!(done.error.is_none(), "{done:?}");
        let selected: u64 = done.counts.iter().map(|c| c.count).sum();
        assert!(lines > 0 && lines as u64 == selected, "{lines} {done:?}");
    }
    // Nothing ever reached the third parties: not a connection, not a byte.
    std::thread::sleep(Duration::from_millis(500));
    for third in &third_parties {
        match third.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
            Ok((_, from)) => panic!(
                "{} got a connection from {from}",
                third.local_addr().unwrap()
            ),
        }
    }
}

#[test]
fn a_symbolic_link_out_of_the_served_directory_is_not_searched() {
    let Some(bin) = rumor_bin() else {
        eprintln!("SKIPPED: no rumor binary (see the first test)");
        return;
    };
    let agents = start_agents(&bin, 1);
    let logs = agents.dirs[0].1.path();
    let outside = data_dir();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "PANIC outside-the-served-directory\n").unwrap();
    std::os::unix::fs::symlink(&secret, logs.join("evil.log")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", logs.join("passwd.log")).unwrap();
    // A link inside the directory is served.
    std::fs::write(logs.join("inside.txt"), "PANIC inside\n").unwrap();
    std::os::unix::fs::symlink(logs.join("inside.txt"), logs.join("current.log")).unwrap();

    let out = run_dgrep(agents.addrs[0], &["-e", "PANIC", "-e", "root"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("outside-the-served"), "{stdout}");
    assert!(!stdout.contains("root:"), "{stdout}");
    assert!(!stdout.contains("evil.log") && !stdout.contains("passwd.log"));
    let (want, _) = gnu_grep(
        &agents.ids[0],
        logs,
        &[&app_log(&agents.dirs[0].1)],
        &["-e", "PANIC", "-e", "root"],
    );
    let current = format!(
        "{} {}: PANIC inside",
        agents.ids[0],
        logs.join("current.log").display()
    );
    let mut want = want;
    want.insert(0, current);
    let mut got: Vec<String> = stdout.lines().map(str::to_owned).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{stderr}");
    // Refused, said so, and where the links lead is not told.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for name in ["evil.log", "passwd.log"] {
        assert!(stderr.contains(&format!("{name}: not served")), "{stderr}");
    }
    assert!(
        !stderr.contains("secret") && !stderr.contains("/etc/passwd"),
        "{stderr}"
    );
}

#[test]
fn a_search_past_the_agents_limit_is_told_it_is_busy_on_its_connection() {
    let Some(bin) = rumor_bin() else {
        eprintln!("SKIPPED: no rumor binary (see the first test)");
        return;
    };
    let agents = start_agents(&bin, 1);
    // 40 MB of selected lines: far more than the connection and pipe buffers
    // hold, so a search whose asker does not read stays running.
    let big = agents.dirs[0].1.path().join("app.log");
    {
        use std::io::Write as _;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        for i in 0..400_000 {
            writeln!(
                file,
                "2026-11-24T02:00:00.000Z INFO busy-test line {i:09} padding padding padding pad"
            )
            .unwrap();
        }
        file.flush().unwrap();
    }
    let ask = |query: u64| {
        let request = DgrepRequest {
            query,
            patterns: vec!["busy-test".into()],
            flags: GrepFlags::default(),
        };
        let envelope = Envelope::new(agents.addrs[0], Dgrep::Request(request));
        Exchange::open(agents.addrs[0], &envelope, None, Duration::from_secs(5)).unwrap()
    };
    // The agent runs four searches at once (MAX_DGREP); these never read.
    let mut stalled: Vec<Exchange<'_>> = (1..=4).map(ask).collect();
    for exchange in &mut stalled {
        // Each one's search has started: its first chunk arrived.
        let first = exchange
            .next(Instant::now() + Duration::from_secs(10))
            .unwrap()
            .unwrap();
        assert!(matches!(first.body, Message::Dgrep(Dgrep::Chunk(_))));
    }
    let mut fifth = ask(5);
    let answer = fifth
        .next(Instant::now() + Duration::from_secs(10))
        .expect("the refusal comes on the fifth query's own connection")
        .expect("an answer, not a closed connection");
    let Message::Dgrep(Dgrep::Done(done)) = answer.body else {
        panic!("expected a DgrepDone, got {}", answer.body.kind());
    };
    assert_eq!(done.query, 5);
    let error = done.error.unwrap_or_default();
    assert!(error.contains("busy with 4 other searches"), "{error}");

    // The stalled askers go away; their searches end, and a new query is
    // served again.
    drop(stalled);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut flags = GrepFlags::default();
        flags.count = true;
        let request = DgrepRequest {
            query: 6,
            patterns: vec!["busy-test".into()],
            flags,
        };
        let outcome = fan_out(
            &agents.ids,
            &request,
            None,
            Duration::from_secs(10),
            &mut |_| Ok(()),
        )
        .unwrap();
        let error = outcome.answered.first().and_then(|d| d.error.clone());
        match error {
            None if outcome.complete() => {
                assert_eq!(outcome.answered[0].counts[0].count, 400_000);
                break;
            }
            _ => assert!(
                Instant::now() < deadline,
                "still refused 20 s after the askers left: {outcome:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
