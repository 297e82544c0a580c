//! Whether datagrams pass between two hosts, independent of any agent.
//!
//! The test process lives outside the lab, so the probe's two ends are this
//! test binary run again inside the hosts' namespaces through `ip netns
//! exec`, running only [`helper`] with its job in an environment variable.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::NetLab;

/// Carries the helper's job; unset, [`helper`] does nothing.
const JOB: &str = "RUMOR_NETLAB_PROBE";

/// The helper's full test name, for `--exact`: the module is included as
/// `mod netlab;` at the top of every test file using it.
const HELPER: &str = "netlab::probe::helper";

const READY: &str = "netlab-probe-ready";
const TOKEN: &[u8] = b"netlab-probe";

/// How long the receiving end listens.
const LISTEN: Duration = Duration::from_millis(700);

/// Probe ports, distinct per probe so overlapping probes never share one.
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

impl NetLab {
    /// Whether a burst of datagrams from host `from` reaches host `to`
    /// (any one of ten sent over 200 ms arriving within 700 ms is enough).
    pub fn udp_reaches(&self, from: usize, to: usize) -> bool {
        let port = 20000 + NEXT_PORT.fetch_add(1, Ordering::Relaxed) % 20000;
        let target = SocketAddr::from((self.ip(to), port));
        let mut listener = self
            .helper(to, &format!("listen {target} {}", LISTEN.as_millis()))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the probe listener: {e}"));
        let stdout = listener.stdout.take().expect("stdout is piped");
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains(READY));
        if !ready {
            let status = listener.wait();
            panic!(
                "the probe listener in {} never got ready: {status:?}",
                self.ns(to)
            );
        }
        let sent = self
            .helper(from, &format!("send {target}"))
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot start the probe sender: {e}"));
        assert!(
            sent.success(),
            "the probe sender in {} failed: {sent}",
            self.ns(from)
        );
        let heard = listener
            .wait()
            .unwrap_or_else(|e| panic!("cannot wait for the probe listener: {e}"));
        match heard.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!("the probe listener in {} failed: {heard}", self.ns(to)),
        }
    }

    fn helper(&self, host: usize, job: &str) -> Command {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns(host)])
            .arg(exe)
            .args(["--exact", HELPER, "--nocapture", "--test-threads=1"])
            .env(JOB, job)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        command
    }
}

/// The probe's ends when run with a job (see the module documentation);
/// without one, an empty test. Exits the process with the verdict, so the
/// test harness reports nothing of its own.
#[test]
fn helper() {
    let Ok(job) = std::env::var(JOB) else {
        return;
    };
    let words: Vec<&str> = job.split_whitespace().collect();
    let code = match words.as_slice() {
        ["listen", addr, millis] => listen(
            addr.parse().expect("an address"),
            Duration::from_millis(millis.parse().expect("milliseconds")),
        ),
        ["send", addr] => send(addr.parse().expect("an address")),
        _ => panic!("unknown probe job {job:?}"),
    };
    std::process::exit(code);
}

/// 0 if a probe datagram arrives at `addr` within `wait`, else 1.
fn listen(addr: SocketAddr, wait: Duration) -> i32 {
    let socket = UdpSocket::bind(addr).unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"));
    println!("{READY}");
    std::io::stdout().flush().expect("stdout");
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 64];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return 1;
        }
        socket.set_read_timeout(Some(left)).expect("a timeout");
        if let Ok((n, _)) = socket.recv_from(&mut buf)
            && &buf[..n] == TOKEN
        {
            return 0;
        }
    }
}

/// Sends ten probe datagrams to `addr`, 20 ms apart, ignoring refusals: a
/// drop on output fails the send itself.
fn send(addr: SocketAddr) -> i32 {
    let socket = UdpSocket::bind("0.0.0.0:0").expect("an ephemeral port");
    for _ in 0..10 {
        let _ = socket.send_to(TOKEN, addr);
        std::thread::sleep(Duration::from_millis(20));
    }
    0
}
