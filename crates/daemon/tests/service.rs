//! The agent as a service, on real processes: SIGHUP reopens and
//! rotation renames the log without stopping the agent, stderr has no
//! colour when it is not a terminal, host names and --advertise work, and
//! completions, man pages, the config keys and `rumor demo` check what
//! they are given. Loopback net 127.0.54.x, ports 7054 to 7056.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{RUMOR, form, rumor};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rumor_daemon::cluster::wait_for;

fn one_line_error(args: &[&str], expect: &str) {
    let out = rumor(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    // The notice of an agent running without a keyring is not the mistake.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("rumor: no --keyring"))
        .collect();
    assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
    assert!(lines[0].contains(expect), "{args:?}: {stderr}");
}

fn count(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

#[test]
fn sighup_reopens_and_rotates_the_log_and_never_stops_the_agent() {
    let (mut cluster, ids) = form(54, 7054, 2, &["--log-max-size", "1k"]);
    let dir = cluster.agents[0].data_dir.clone();
    let log = dir.join("agent.log");
    let pid = Pid::from_raw(cluster.agents[0].pid().expect("running") as i32);
    // logrotate moves the file away, then signals.
    std::fs::rename(&log, dir.join("agent.log.moved")).unwrap();
    // Reopens in all the files (about 2 KiB: no rotated file is dropped yet).
    let reopens = || -> usize {
        ["agent.log", "agent.log.1", "agent.log.2", "agent.log.3"]
            .iter()
            .map(|f| count(&dir.join(f), "log files reopened"))
            .sum()
    };
    for n in 1..=12 {
        kill(pid, Signal::SIGHUP).unwrap();
        wait_for(Duration::from_secs(5), Duration::from_millis(10), || {
            if reopens() >= n {
                Ok(())
            } else {
                Err("not yet".to_string())
            }
        })
        .expect("each SIGHUP reopens the log");
        assert!(cluster.is_running(0), "SIGHUP stopped the agent");
    }
    assert!(dir.join("agent.log.1").exists(), "no rotation at 1 KiB");
    for file in ["agent.log", "agent.log.1"] {
        let len = std::fs::metadata(dir.join(file)).unwrap().len();
        assert!(len <= 1024, "{file} is {len} bytes");
    }
    // The peer never saw it go.
    let about_it: Vec<String> = cluster.agents[1]
        .events()
        .into_iter()
        .filter(|r| r.member == ids[&0] && r.event != "joined")
        .map(|r| r.event)
        .collect();
    assert!(about_it.is_empty(), "{about_it:?}");
}

/// Agents started by hand, SIGKILLed when dropped.
struct Agents(Vec<Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn agent(dir: &Path, name: &str, args: &[&str]) -> Child {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let stderr = std::fs::File::create(data.join("stderr.log")).unwrap();
    Command::new(RUMOR)
        .arg("agent")
        .args(args)
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("rumor agent spawns")
}

#[test]
fn host_names_and_advertise() {
    let dir = tempfile::tempdir().unwrap();
    let mut agents = Agents(Vec::new());
    agents
        .0
        .push(agent(dir.path(), "a", &["--bind", "localhost:7055"]));
    agents.0.push(agent(
        dir.path(),
        "b",
        &["--bind", "127.0.54.2:7055", "--join", "localhost:7055"],
    ));
    // Listening on every address, known to the others by the one it advertises.
    agents.0.push(agent(
        dir.path(),
        "c",
        &[
            "--bind",
            "0.0.0.0:7056",
            "--advertise",
            "127.0.54.3:7056",
            "--join",
            "127.0.54.2:7055",
        ],
    ));
    let members = wait_for(Duration::from_secs(20), Duration::from_millis(50), || {
        let out = rumor(&["members", "--agent", "127.0.0.1:7055", "--format", "json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let alive = text.matches("\"alive\"").count();
        if out.status.success() && alive == 3 {
            Ok(text)
        } else {
            Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
        }
    })
    .expect("three agents, one named by host, one advertised");
    for node in [
        "\"127.0.0.1:7055#",
        "\"127.0.54.2:7055#",
        "\"127.0.54.3:7056#",
    ] {
        assert!(members.contains(node), "{node} in {members}");
    }
    let seen_by_c = rumor(&["members", "--agent", "127.0.54.3:7056"]);
    assert!(seen_by_c.status.success());
    assert!(String::from_utf8_lossy(&seen_by_c.stdout).contains("3 members, 3 alive"));
    // stderr is a file here: log lines, and no colour codes in them.
    let stderr = std::fs::read_to_string(dir.path().join("a/stderr.log")).unwrap();
    assert!(
        stderr.contains("INFO") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
}

#[test]
fn completions_man_pages_config_keys_and_demo_checks() {
    let bash = rumor(&["completions", "bash"]);
    assert!(bash.status.success());
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(
        bash.contains("_rumor()") && bash.contains("force-leave"),
        "{bash}"
    );
    let zsh = String::from_utf8(rumor(&["completions", "zsh"]).stdout).unwrap();
    assert!(zsh.starts_with("#compdef rumor"), "{zsh}");
    one_line_error(&["completions", "nosh"], "nosh");

    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man1");
    let out = rumor(&["man", "--dir", man.to_str().unwrap()]);
    assert!(out.status.success());
    for page in ["rumor.1", "rumor-agent.1", "rumor-why.1", "rumor-monitor.1"] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}: {text}");
    }

    // Every new key is a config-file key, and reads back as itself.
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        "bind = \"localhost:7054\"\nadvertise = \"127.0.54.9:7054\"\njoin = [\"localhost:7053\"]\nmetrics_addr = \"127.0.54.1:9054\"\nlog_max_size = 1048576\n",
    )
    .unwrap();
    let checked = rumor(&[
        "agent",
        "--config",
        config.to_str().unwrap(),
        "--check-config",
    ]);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let text = String::from_utf8(checked.stdout).unwrap();
    for key in [
        "bind = \"localhost:7054\"",
        "advertise = \"127.0.54.9:7054\"",
        "join = [\"localhost:7053\"]",
        "metrics_addr = \"127.0.54.1:9054\"",
        "log_max_size = 1048576",
    ] {
        assert!(text.contains(key), "{key} in\n{text}");
    }
    one_line_error(
        &[
            "agent",
            "--bind",
            "127.0.54.1:7054",
            "--log-max-size",
            "lots",
        ],
        "bad size",
    );
    one_line_error(
        &["agent", "--bind", "127.0.54.1:7054", "--join", "host:0"],
        "bad port",
    );
    let data = dir.path().join("unresolved");
    one_line_error(
        &[
            "agent",
            "--bind",
            "127.0.54.5:7054",
            "--join",
            "no-such-host.invalid:7054",
            "--join-timeout",
            "1s",
            "--quiet",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "no introducer's name resolved",
    );

    // rumor demo checks its arguments before starting anything.
    let started = Instant::now();
    one_line_error(&["demo", "--detector", "bogus"], "bogus");
    one_line_error(&["demo", "--nodes", "1"], "--nodes");
    one_line_error(&["demo", "--drop-rate", "3"], "--drop-rate");
    std::fs::write(dir.path().join("earlier.txt"), "an earlier run").unwrap();
    one_line_error(
        &["demo", "--dir", dir.path().to_str().unwrap()],
        "not empty",
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Runs `rumor agent` on a terminal (util-linux `script` gives it one)
/// until its join gives up; returns what the terminal showed.
fn on_a_terminal(no_color: bool, data: &Path) -> Option<String> {
    let env = if no_color { "NO_COLOR=1 " } else { "" };
    let command = format!(
        "{env}{RUMOR} agent --bind 127.0.54.6:7054 --join 127.0.54.7:7054 --join-timeout 500ms --data-dir {}",
        data.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let Some(coloured) = on_a_terminal(false, &dir.path().join("a")) else {
        eprintln!("no `script` on this machine: the terminal case is not checked");
        return;
    };
    assert!(coloured.contains("no introducer admitted"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colour on a terminal: {coloured}"
    );
    let plain = on_a_terminal(true, &dir.path().join("b")).unwrap();
    assert!(plain.contains("no introducer admitted"), "{plain}");
    assert!(
        !plain.contains("\u{1b}["),
        "colour despite NO_COLOR: {plain}"
    );
}
