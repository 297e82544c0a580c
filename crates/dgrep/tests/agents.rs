//! dgrep against real `rumor agent` processes: grep-identical results per
//! node, a stopped or killed agent named as missing, and (when
//! `dgrep-worker` is built beside `rumor`) searches in the agents' workers,
//! one of which dies of SIGBUS without taking its agent along.
//!
//! The agents are the `rumor` binary of rumor-daemon, which depends on this
//! crate and so cannot be a dependency of its tests. Build it first into the
//! same target directory (`cargo build -p rumor-daemon --bin rumor`), or
//! name it with `RUMOR_BIN`; without it these tests say so and pass.

mod support;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rumor_dgrep::client::{Reply, fan_out, live_members};
use rumor_wire::{DgrepRequest, GrepFlags, NodeId};
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
        if let Ok(members) = live_members(agents.addrs[0], Duration::from_secs(1)) {
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
    let out = run_dgrep(agents.addrs[0], args);
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
    let members = live_members(agents.addrs[1], Duration::from_secs(2)).expect("member list");
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
