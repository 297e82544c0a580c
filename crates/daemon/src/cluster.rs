//! A cluster of `rumor agent` child processes on this machine, for the demo,
//! the benchmarks and the multi-process tests.
//!
//! Every agent gets its own data directory; what the agents saw is read back
//! from their `events.jsonl`. Dropping a [`LocalCluster`] SIGKILLs and reaps
//! every child still running, so a failing test or an interrupted demo leaves
//! no process behind.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rumor_wire::NodeId;

use crate::DaemonError;
use crate::agent::unix_ms;
use crate::event_log::{EventRecord, EventTail};

/// One agent of a [`LocalCluster`].
#[derive(Debug)]
pub struct LocalAgent {
    /// A short name (also its data directory's name).
    pub name: String,
    /// Its listening address.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The arguments after `--bind` and `--data-dir` it was last started with.
    pub args: Vec<String>,
    /// The command the executable is run through (e.g. `ip netns exec NS`),
    /// empty to run it directly.
    pub prefix: Vec<String>,
    child: Option<Child>,
}

impl LocalAgent {
    /// The running process's id, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Every record of its `events.jsonl` so far.
    pub fn events(&self) -> Vec<EventRecord> {
        EventTail::new(self.events_path()).poll()
    }

    /// Its event log.
    pub fn events_path(&self) -> PathBuf {
        self.data_dir.join("events.jsonl")
    }

    /// Its current identity: the newest version it recorded joining as itself.
    pub fn current_id(&self) -> Option<NodeId> {
        self.events()
            .into_iter()
            .filter(|r| r.event == "joined" && r.observer == r.member && r.member.addr == self.addr)
            .map(|r| r.member)
            .max_by_key(|id| id.version)
    }
}

/// Agents spawned from one `rumor` executable, each in a data directory under one root.
#[derive(Debug)]
pub struct LocalCluster {
    exe: PathBuf,
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
    running: Arc<Mutex<BTreeSet<u32>>>,
    /// The agents, in the order they were added.
    pub agents: Vec<LocalAgent>,
}

impl LocalCluster {
    /// A cluster of agents run from `exe`, with data directories under `root`
    /// (a temporary directory removed on drop when `None`).
    pub fn new(
        exe: impl Into<PathBuf>,
        root: Option<PathBuf>,
    ) -> Result<LocalCluster, DaemonError> {
        let (root, temp) = match root {
            Some(root) => {
                std::fs::create_dir_all(&root)
                    .map_err(|e| DaemonError::io(format!("cannot create {}", root.display()), e))?;
                (root, None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("rumor-cluster-")
                    .tempdir()
                    .map_err(|e| DaemonError::io("cannot create a temporary directory", e))?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        Ok(LocalCluster {
            exe: exe.into(),
            root,
            _temp: temp,
            running: Arc::default(),
            agents: Vec::new(),
        })
    }

    /// The directory holding the agents' data directories.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Keeps a temporary root after the cluster is dropped (to show an
    /// operator the logs of something that went wrong); returns it.
    pub fn keep_root(&mut self) -> &Path {
        if let Some(temp) = self._temp.take() {
            let _ = temp.keep();
        }
        &self.root
    }

    /// Starts a new agent `name` on `addr` joining through `join`, with `args`
    /// added to its command line; returns its index.
    pub fn add(
        &mut self,
        name: &str,
        addr: SocketAddr,
        join: &[SocketAddr],
        args: &[&str],
    ) -> Result<usize, DaemonError> {
        self.add_with_prefix(name, addr, &[], join, args)
    }

    /// As [`LocalCluster::add`], with the executable run through `prefix`
    /// (e.g. `["ip", "netns", "exec", "NS"]`), also on every restart. The
    /// prefix must exec the agent rather than fork it, so that the child's pid
    /// is the agent's and [`LocalCluster::kill`], [`LocalCluster::pause`] and
    /// the other signals reach the agent itself.
    pub fn add_with_prefix(
        &mut self,
        name: &str,
        addr: SocketAddr,
        prefix: &[&str],
        join: &[SocketAddr],
        args: &[&str],
    ) -> Result<usize, DaemonError> {
        let mut all: Vec<String> = join
            .iter()
            .flat_map(|a| ["--join".into(), a.to_string()])
            .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        self.agents.push(LocalAgent {
            name: name.to_string(),
            addr,
            data_dir: self.root.join(name),
            args: all,
            prefix: prefix.iter().map(|s| s.to_string()).collect(),
            child: None,
        });
        let index = self.agents.len() - 1;
        self.spawn(index)?;
        Ok(index)
    }

    /// Starts agent `index` again (after a kill or leave), on the same address
    /// and data directory; with `join` given, joining through those instead.
    pub fn restart(
        &mut self,
        index: usize,
        join: Option<&[SocketAddr]>,
    ) -> Result<(), DaemonError> {
        if let Some(join) = join {
            let agent = &mut self.agents[index];
            let mut args = Vec::new();
            let mut old = agent.args.iter();
            while let Some(arg) = old.next() {
                if arg == "--join" {
                    old.next();
                } else {
                    args.push(arg.clone());
                }
            }
            let mut all: Vec<String> = join
                .iter()
                .flat_map(|a| ["--join".into(), a.to_string()])
                .collect();
            all.extend(args);
            agent.args = all;
        }
        self.spawn(index)
    }

    fn spawn(&mut self, index: usize) -> Result<(), DaemonError> {
        let agent = &mut self.agents[index];
        if agent.child.is_some() {
            return Err(DaemonError::Cluster(format!(
                "{} is already running",
                agent.name
            )));
        }
        std::fs::create_dir_all(&agent.data_dir).map_err(|e| {
            DaemonError::io(format!("cannot create {}", agent.data_dir.display()), e)
        })?;
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(agent.data_dir.join("stderr.log"))
            .map_err(|e| DaemonError::io("cannot create stderr.log", e))?;
        let mut command = match agent.prefix.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(&self.exe);
                command
            }
            None => Command::new(&self.exe),
        };
        let child = command
            .arg("agent")
            .arg("--bind")
            .arg(agent.addr.to_string())
            .arg("--data-dir")
            .arg(&agent.data_dir)
            .arg("--quiet")
            .args(&agent.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                let program = command.get_program().to_string_lossy().into_owned();
                DaemonError::io(format!("cannot run {program}"), e)
            })?;
        lock(&self.running).insert(child.id());
        agent.child = Some(child);
        Ok(())
    }

    /// SIGKILLs agent `index` (a crash) and reaps it; returns the Unix time in
    /// milliseconds just before the signal.
    pub fn kill(&mut self, index: usize) -> u64 {
        let at = unix_ms();
        if let Some(mut child) = self.agents[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
            lock(&self.running).remove(&child.id());
        }
        at
    }

    /// Sends SIGTERM (a graceful leave) to agent `index` without waiting.
    pub fn signal_leave(&self, index: usize) {
        if let Some(pid) = self.agents[index].pid() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }

    /// Freezes agent `index` with SIGSTOP (a long pause: the process lives
    /// but says nothing); [`LocalCluster::resume`] thaws it.
    pub fn pause(&self, index: usize) {
        if let Some(pid) = self.agents[index].pid() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGSTOP);
        }
    }

    /// Thaws agent `index` with SIGCONT.
    pub fn resume(&self, index: usize) {
        if let Some(pid) = self.agents[index].pid() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
        }
    }

    /// Waits up to `timeout` for agent `index` to exit, then SIGKILLs it.
    /// Returns its exit status if it exited by itself.
    pub fn reap(&mut self, index: usize, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.agents[index].child.take()?;
        let _forget = Forget(&self.running, child.id());
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }

    /// On SIGINT or SIGTERM, asks every running agent to leave (SIGTERM) and
    /// ends this process with status 130: an interrupted demo or benchmark
    /// leaves no agent behind. Call before the process spawns any thread.
    pub fn leave_on_signal(&self) -> Result<(), DaemonError> {
        let running = Arc::clone(&self.running);
        crate::signals::watch(move |signal| {
            let pids: Vec<u32> = lock(&running).iter().copied().collect();
            eprintln!("rumor: {signal}: asking {} agents to leave", pids.len());
            for pid in pids {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
            std::process::exit(130);
        })
        .map_err(|e| DaemonError::io("cannot watch for signals", e))
    }

    /// Whether agent `index` is running (it may have exited by itself).
    pub fn is_running(&mut self, index: usize) -> bool {
        match self.agents[index].child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                if let Some(child) = self.agents[index].child.take() {
                    lock(&self.running).remove(&child.id());
                }
                false
            }
            None => false,
        }
    }

    /// The current identity of every agent in `indices` that has one yet.
    pub fn ids(&self, indices: &[usize]) -> BTreeMap<usize, NodeId> {
        indices
            .iter()
            .filter_map(|&i| self.agents[i].current_id().map(|id| (i, id)))
            .collect()
    }

    /// Checks that every agent in `indices` lists every other as a live
    /// member (joined, and not failed, left or removed since). Returns what
    /// is missing, per observer, if not.
    pub fn all_see_all(&self, indices: &[usize]) -> Result<BTreeMap<usize, NodeId>, String> {
        let ids = self.ids(indices);
        if ids.len() < indices.len() {
            let missing: Vec<&str> = indices
                .iter()
                .filter(|i| !ids.contains_key(i))
                .map(|&i| self.agents[i].name.as_str())
                .collect();
            return Err(format!("not started yet: {}", missing.join(", ")));
        }
        let mut problems = Vec::new();
        for (&i, &observer) in &ids {
            let live = live_members(&self.agents[i].events(), observer);
            let missing: Vec<String> = ids
                .values()
                .filter(|id| !live.contains(id))
                .map(|id| id.to_string())
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "{} does not list {}",
                    self.agents[i].name,
                    missing.join(", ")
                ));
            }
        }
        if problems.is_empty() {
            Ok(ids)
        } else {
            Err(problems.join("; "))
        }
    }

    /// Every record of every agent's log.
    pub fn all_events(&self) -> Vec<EventRecord> {
        let mut all: Vec<EventRecord> = self.agents.iter().flat_map(LocalAgent::events).collect();
        all.sort_by_key(|r| r.ts_ms);
        all
    }

    /// SIGTERMs every running agent, waits up to `timeout` for each, and
    /// SIGKILLs the stragglers. Returns how many exited cleanly by themselves.
    pub fn leave_all(&mut self, timeout: Duration) -> usize {
        for i in 0..self.agents.len() {
            self.signal_leave(i);
        }
        let deadline = Instant::now() + timeout;
        (0..self.agents.len())
            .filter(|&i| self.agents[i].child.is_some())
            .collect::<Vec<_>>()
            .into_iter()
            .filter(|&i| {
                let left = deadline.saturating_duration_since(Instant::now());
                self.reap(i, left).is_some_and(|s| s.success())
            })
            .count()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for agent in &mut self.agents {
            if let Some(mut child) = agent.child.take() {
                let _ = child.kill();
                let _ = child.wait();
                lock(&self.running).remove(&child.id());
            }
        }
    }
}

/// Locks the set of running child pids (a poisoned lock still holds a valid set).
fn lock(running: &Mutex<BTreeSet<u32>>) -> std::sync::MutexGuard<'_, BTreeSet<u32>> {
    running.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a pid from the running set when a reap ends, however it ends.
struct Forget<'a>(&'a Mutex<BTreeSet<u32>>, u32);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(self.0).remove(&self.1);
    }
}

/// The members `observer` currently lists as live, from its event records:
/// joined (or refuted), and not failed, left or removed since.
pub fn live_members(records: &[EventRecord], observer: NodeId) -> BTreeSet<NodeId> {
    let mut live = BTreeSet::new();
    for r in records.iter().filter(|r| r.observer == observer) {
        match r.event.as_str() {
            "joined" | "alive" => {
                live.insert(r.member);
            }
            "failed" | "left" | "removed" => {
                live.remove(&r.member);
            }
            _ => {}
        }
    }
    live
}

/// Polls `check` every `every` until it returns `Ok` or `timeout` passes;
/// returns the last result.
pub fn wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let result = check();
        if result.is_ok() || Instant::now() >= deadline {
            return result;
        }
        std::thread::sleep(every);
    }
}

/// The first record in `records` of `event` about `member`, per observer
/// (among `observers`).
pub fn first_per_observer(
    records: &[EventRecord],
    event: &str,
    member: NodeId,
    observers: &BTreeSet<NodeId>,
) -> BTreeMap<NodeId, u64> {
    let mut first = BTreeMap::new();
    for r in records {
        if r.event == event && r.member == member && observers.contains(&r.observer) {
            first.entry(r.observer).or_insert(r.ts_ms);
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::LocalCluster;

    #[test]
    fn a_kept_temporary_root_outlives_the_cluster() {
        let mut cluster = LocalCluster::new("/nonexistent/rumor", None).unwrap();
        let root = cluster.keep_root().to_owned();
        std::fs::write(root.join("node.log"), "why it failed").unwrap();
        drop(cluster);
        assert!(root.join("node.log").exists());
        std::fs::remove_dir_all(&root).unwrap();
        let gone = LocalCluster::new("/nonexistent/rumor", None).unwrap();
        let root = gone.root().to_owned();
        drop(gone);
        assert!(!root.exists());
    }
}
