//! A network lab for multi-process tests: hosts in network namespaces on
//! one bridge, each running one `rumor agent`, with faults injected by
//! nftables inside the hosts.
//!
//! Lab `rl<pid>n<k>` (the test process's id and a counter, so labs in
//! parallel test threads never collide) has a switch namespace
//! `rl<pid>n<k>sw` holding bridge `br0`, and host namespaces `rl<pid>n<k>h<i>`,
//! each with `lo` and an `eth0` on the bridge at `10.A.B.(i+1)/24`. Every
//! interface is created inside a lab namespace, so interface names never
//! meet the 15-character limit or another lab, and deleting the namespaces
//! removes everything. Dropping a lab (also while a test panics) kills its
//! agents and deletes its namespaces; a new lab first removes namespaces
//! whose owning process has died.
//!
//! ```ignore
//! let Some(mut lab) = NetLab::or_skip(4) else { return };
//! lab.start_all(&[]);
//! let ids = judge::await_one_full_membership(&mut lab.cluster, &[0, 1, 2, 3], Duration::from_secs(30));
//! lab.partition(&[0, 1], &[2, 3]);
//! ```

#![allow(dead_code)] // each test binary uses its own subset

mod cmd;
mod faults;
pub mod judge;
mod pause;
mod probe;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rumor_daemon::cluster::LocalCluster;

pub use cmd::{must, run};
pub use pause::PausePattern;

/// The `rumor` binary under test.
pub const RUMOR: &str = env!("CARGO_BIN_EXE_rumor");

/// The port every lab agent listens on (each host has its own address).
pub const AGENT_PORT: u16 = 7700;

/// The start of every namespace name a lab makes.
pub const PREFIX: &str = "rl";

/// Labs made by this process so far, for unique names.
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Counters of this process's labs whose namespaces may exist.
static LIVE_LABS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// `ip netns add` and `del` mount and unmount under /run/netns; done from
/// several threads at once they can race on its first shared mount.
static NETNS: Mutex<()> = Mutex::new(());

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hosts in network namespaces on one bridge; see the module documentation.
pub struct NetLab {
    id: String,
    lab: u32,
    net: [u8; 2],
    hosts: usize,
    made: Vec<String>,
    /// The lab's agents; [`NetLab::agent`] maps a host to its index here.
    pub cluster: LocalCluster,
    agents: BTreeMap<usize, usize>,
    pauses: Vec<PausePattern>,
    /// Drop rules expected per (host, chain), checked against `nft list`.
    rules: BTreeMap<(usize, &'static str), usize>,
}

impl NetLab {
    /// Creates a lab of `hosts` hosts (1 to 200), or says in one line why it
    /// cannot (not root, no `ip` or `nft`, namespaces refused, ...).
    pub fn new(hosts: usize) -> Result<NetLab, String> {
        assert!((1..=200).contains(&hosts), "a lab has 1 to 200 hosts");
        match effective_uid() {
            Some(0) => {}
            Some(euid) => return Err(format!("network namespaces need root (euid {euid})")),
            None => return Err("cannot read this process's uid from /proc".into()),
        }
        run(&["ip", "-V"], None).map_err(|e| format!("no usable ip: {e}"))?;
        run(&["nft", "--version"], None).map_err(|e| format!("no usable nft: {e}"))?;
        sweep_stale()?;
        let cluster = LocalCluster::new(RUMOR, None)
            .map_err(|e| format!("cannot make the agents' directory: {e}"))?;
        let pid = std::process::id();
        let lab = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        locked(&LIVE_LABS).insert(lab);
        // Labs never share a link, so equal subnets would not meet; distinct
        // ones only keep agent ids in logs telling labs apart.
        let net = [64 + (pid % 128) as u8, (lab % 256) as u8];
        let mut me = NetLab {
            id: format!("{PREFIX}{pid}n{lab}"),
            lab,
            net,
            hosts,
            made: Vec::new(),
            cluster,
            agents: BTreeMap::new(),
            pauses: Vec::new(),
            rules: BTreeMap::new(),
        };
        // On failure `me` drops here, deleting whatever was made.
        me.build()?;
        Ok(me)
    }

    /// [`NetLab::new`], or `None` after printing `skipping: <why>`: a test
    /// that cannot have a lab passes as skipped.
    pub fn or_skip(hosts: usize) -> Option<NetLab> {
        match NetLab::new(hosts) {
            Ok(lab) => Some(lab),
            Err(why) => {
                eprintln!("skipping: {why}");
                None
            }
        }
    }

    fn build(&mut self) -> Result<(), String> {
        let switch = self.switch();
        self.add_namespace(&switch)?;
        for host in 0..self.hosts {
            self.add_namespace(&self.ns(host))?;
        }
        let mut wiring =
            String::from("link set lo up\nlink add br0 type bridge\nlink set br0 up\n");
        for host in 0..self.hosts {
            let ns = self.ns(host);
            wiring += &format!(
                "link add p{host} type veth peer name eth0 netns {ns}\nlink set p{host} master br0\nlink set p{host} up\n"
            );
        }
        run(&["ip", "-n", &switch, "-batch", "-"], Some(&wiring))?;
        for host in 0..self.hosts {
            let ns = self.ns(host);
            let setup = format!(
                "link set lo up\naddr add {}/24 dev eth0\nlink set eth0 up\n",
                self.ip(host)
            );
            run(&["ip", "-n", &ns, "-batch", "-"], Some(&setup))?;
            run(
                &["ip", "netns", "exec", &ns, "nft", "-f", "-"],
                Some(faults::TABLE),
            )?;
            self.check_rules(host)?;
        }
        Ok(())
    }

    fn add_namespace(&mut self, ns: &str) -> Result<(), String> {
        let _one_at_a_time = locked(&NETNS);
        run(&["ip", "netns", "add", ns], None)?;
        self.made.push(ns.to_string());
        Ok(())
    }

    /// The lab's id, the start of all its namespace names.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many hosts the lab has.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// Host `host`'s namespace.
    pub fn ns(&self, host: usize) -> String {
        assert!(host < self.hosts, "host {host} of {}", self.hosts);
        format!("{}h{host}", self.id)
    }

    /// The switch namespace, holding the bridge.
    pub fn switch(&self) -> String {
        format!("{}sw", self.id)
    }

    /// Every namespace of this lab, switch first.
    pub fn namespaces(&self) -> Vec<String> {
        std::iter::once(self.switch())
            .chain((0..self.hosts).map(|h| self.ns(h)))
            .collect()
    }

    /// Host `host`'s address on the bridge.
    pub fn ip(&self, host: usize) -> Ipv4Addr {
        assert!(host < self.hosts, "host {host} of {}", self.hosts);
        Ipv4Addr::new(10, self.net[0], self.net[1], host as u8 + 1)
    }

    /// Host `host`'s agent address.
    pub fn addr(&self, host: usize) -> SocketAddr {
        SocketAddr::from((self.ip(host), AGENT_PORT))
    }

    /// Starts host `host`'s agent, joining through the agents of `join`
    /// (none: it starts a cluster), with `args` added; returns its index in
    /// [`NetLab::cluster`]. A host has one agent: start it again with
    /// `cluster.restart`.
    pub fn start_agent(&mut self, host: usize, join: &[usize], args: &[&str]) -> usize {
        assert!(
            !self.agents.contains_key(&host),
            "host {host} already has an agent; restart it through the cluster"
        );
        let ns = self.ns(host);
        let joins: Vec<SocketAddr> = join.iter().map(|&h| self.addr(h)).collect();
        let index = self
            .cluster
            .add_with_prefix(
                &format!("host{host}"),
                self.addr(host),
                &["ip", "netns", "exec", &ns],
                &joins,
                args,
            )
            .unwrap_or_else(|e| panic!("cannot start host {host}'s agent: {e}"));
        self.agents.insert(host, index);
        index
    }

    /// Starts an agent on every host: host 0 starts the cluster, the others
    /// join through it. Returns their indices, host order.
    pub fn start_all(&mut self, args: &[&str]) -> Vec<usize> {
        (0..self.hosts)
            .map(|h| {
                let join: &[usize] = if h == 0 { &[] } else { &[0] };
                self.start_agent(h, join, args)
            })
            .collect()
    }

    /// Host `host`'s agent's index in [`NetLab::cluster`].
    pub fn agent(&self, host: usize) -> usize {
        *self
            .agents
            .get(&host)
            .unwrap_or_else(|| panic!("host {host} has no agent"))
    }

    /// Freezes host `host`'s agent for `stop` at the start of every `every`,
    /// for `total`, from a background thread; the agent is always left
    /// running at the end, on [`NetLab::stop_pauses`] and on drop.
    pub fn pause_pattern(
        &mut self,
        host: usize,
        stop: std::time::Duration,
        every: std::time::Duration,
        total: std::time::Duration,
    ) {
        let index = self.agent(host);
        let pid = self.cluster.agents[index]
            .pid()
            .unwrap_or_else(|| panic!("host {host}'s agent is not running"));
        self.pauses
            .push(PausePattern::start(pid, stop, every, total));
    }

    /// Waits until every pause pattern has run its course.
    pub fn wait_pauses(&mut self) {
        for pattern in self.pauses.drain(..) {
            pattern.finish();
        }
    }

    /// Ends every pause pattern now, leaving the agents running.
    pub fn stop_pauses(&mut self) {
        self.pauses.clear();
    }

    /// Namespaces named like a lab's that no lab owns: this process's,
    /// once their lab is gone, and those of processes that have ended.
    /// Another running process's labs are not listed.
    pub fn leftovers() -> Vec<String> {
        let me = std::process::id();
        let names = list_namespaces().unwrap_or_else(|why| panic!("{why}"));
        let live = locked(&LIVE_LABS);
        names
            .into_iter()
            .filter(|name| match owner(name) {
                Some((pid, lab)) if pid == me => !live.contains(&lab),
                Some((pid, _)) => !alive(pid),
                None => false,
            })
            .collect()
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        self.stop_pauses();
        for index in 0..self.cluster.agents.len() {
            self.cluster.kill(index);
        }
        let _one_at_a_time = locked(&NETNS);
        for ns in self.made.drain(..).rev() {
            // A namespace outlives its name while a process is in it.
            kill_all_in(&ns);
            if let Err(why) = run(&["ip", "netns", "del", &ns], None) {
                eprintln!("netlab: {why}");
            }
        }
        locked(&LIVE_LABS).remove(&self.lab);
    }
}

/// Every namespace name `ip netns list` shows.
fn list_namespaces() -> Result<Vec<String>, String> {
    Ok(run(&["ip", "netns", "list"], None)?
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// Deletes the namespaces of labs whose process has ended (after killing
/// what still runs in them); names not made by a lab are never touched.
fn sweep_stale() -> Result<(), String> {
    let _one_at_a_time = locked(&NETNS);
    for name in list_namespaces()? {
        if let Some((pid, _)) = owner(&name)
            && !alive(pid)
        {
            kill_all_in(&name);
            // Another process sweeping at the same time may have won.
            let _ = run(&["ip", "netns", "del", &name], None);
        }
    }
    Ok(())
}

/// SIGKILLs every process in namespace `ns`.
fn kill_all_in(ns: &str) {
    let Ok(pids) = run(&["ip", "netns", "pids", ns], None) else {
        return;
    };
    for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// This process's effective uid, from `/proc` (`Uid:` lists real, effective, ...).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Whether process `pid` exists.
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The (process id, lab counter) of a name a lab makes:
/// `rl<pid>n<k>sw` or `rl<pid>n<k>h<i>`.
fn owner(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = leading_number(rest)?;
    let (lab, rest) = leading_number(rest.strip_prefix('n')?)?;
    let ours = rest == "sw"
        || rest
            .strip_prefix('h')
            .and_then(leading_number)
            .is_some_and(|(_, tail)| tail.is_empty());
    ours.then_some((pid, lab))
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

#[test]
fn lab_names_parse_back_to_their_owner() {
    assert_eq!(owner("rl1234n0sw"), Some((1234, 0)));
    assert_eq!(owner("rl1234n17h3"), Some((1234, 17)));
    for foreign in [
        "rl1234n0",
        "rl1234n0h",
        "rl1234n0h3x",
        "rlxn0sw",
        "r1234n0sw",
        "blue",
    ] {
        assert_eq!(owner(foreign), None, "{foreign}");
    }
}
