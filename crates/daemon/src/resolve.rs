//! Host names in `--bind` and `--join`: `HOST:PORT` as well as `IP:PORT`.
//!
//! The listening address is resolved once, at start. Introducers are
//! resolved again and again: a resolver thread looks them up at each join
//! attempt (the agent asks it), every [`EVERY`] besides, and on SIGHUP,
//! and hands the main thread the addresses whenever they change
//! (a host name that does not resolve yet, at boot, is looked up again
//! until it does), so an introducer that moves to another address is
//! still found. The main thread never waits on a lookup.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;

use crate::inbox::{Inbound, Waker};

/// How often the resolver looks the introducers up again.
pub const EVERY: Duration = Duration::from_secs(5);

/// Checks the form `HOST:PORT` or `IP:PORT` (`[IPv6]:PORT`) without a
/// lookup: one line saying what is wrong.
pub fn check_host_port(text: &str) -> Result<(), String> {
    if text.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("expected IP:PORT or HOST:PORT, e.g. 127.0.0.1:3000".into());
    };
    if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
        return Err("expected IP:PORT or HOST:PORT, e.g. 127.0.0.1:3000".into());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("bad port {port:?}: expected 1 to 65535")),
    }
}

/// Every address `text` (`IP:PORT` or `HOST:PORT`) stands for now, IPv4
/// first; the error says why in one line.
pub fn resolve(text: &str) -> Result<Vec<SocketAddr>, String> {
    check_host_port(text)?;
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let mut addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve the host name: {e}"))?
        .collect();
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs.dedup();
    if addrs.is_empty() {
        return Err("the host name resolves to no address".into());
    }
    Ok(addrs)
}

/// The first address `text` stands for (IPv4 preferred).
pub fn resolve_one(text: &str) -> Result<SocketAddr, String> {
    resolve(text).map(|addrs| addrs[0])
}

/// Every address of every name, in order, without repeats; names that do
/// not resolve are left out (and logged).
pub fn resolve_all(names: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for name in names {
        match resolve(name) {
            Ok(addrs) => {
                for addr in addrs {
                    if !out.contains(&addr) {
                        out.push(addr);
                    }
                }
            }
            Err(why) => tracing::warn!("introducer {name}: {why}"),
        }
    }
    out
}

/// Whether every name is a literal address (nothing to look up).
pub fn all_literal(names: &[String]) -> bool {
    names.iter().all(|n| n.parse::<SocketAddr>().is_ok())
}

/// What the resolver thread is asked.
#[derive(Debug)]
enum Ask {
    /// Look these names up from now on (a config reload).
    Names(Vec<String>),
    /// Look up again now (a join attempt is under way).
    Now,
}

/// The resolver thread's handle: asks it to look up again now, or to look
/// up a new list of names. Dropping it ends the thread at its next look.
#[derive(Debug)]
pub struct Resolver {
    asks: Sender<Ask>,
    lookups: Arc<AtomicU64>,
}

impl Resolver {
    /// Looks `names` up from now on instead of the list before, at once.
    pub fn set_names(&self, names: Vec<String>) {
        let _ = self.asks.send(Ask::Names(names));
    }

    /// Looks the names up again at once (the agent calls it at each join
    /// attempt, so a name that moved is followed by the next one).
    pub fn look_up_now(&self) {
        let _ = self.asks.send(Ask::Now);
    }

    /// Lookups of the whole list made so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}

/// Starts the resolver thread: it sends [`Inbound::Introducers`] with the
/// first lookup that finds something and whenever the addresses change,
/// looks up every [`EVERY`], and at once when asked.
pub fn spawn(
    names: Vec<String>,
    inbound: Sender<Inbound>,
    waker: Waker,
) -> std::io::Result<Resolver> {
    let (tx, rx) = crossbeam_channel::unbounded::<Ask>();
    let lookups = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&lookups);
    std::thread::Builder::new()
        .name("resolver".into())
        .spawn(move || {
            let mut names = names;
            let mut last: Vec<SocketAddr> = Vec::new();
            loop {
                let addrs = resolve_all(&names);
                counted.fetch_add(1, Ordering::Relaxed);
                if !addrs.is_empty() && addrs != last {
                    if inbound.send(Inbound::Introducers(addrs.clone())).is_err() {
                        return;
                    }
                    waker.wake();
                    last = addrs;
                }
                match rx.recv_timeout(EVERY) {
                    Ok(Ask::Names(new)) => names = new,
                    Ok(Ask::Now) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                }
                // Asks that came meanwhile are answered by the next lookup.
                while let Ok(ask) = rx.try_recv() {
                    if let Ask::Names(new) = ask {
                        names = new;
                    }
                }
            }
        })?;
    Ok(Resolver { asks: tx, lookups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_named_addresses() {
        assert_eq!(
            resolve("127.0.0.9:3000").unwrap(),
            vec!["127.0.0.9:3000".parse().unwrap()]
        );
        let local = resolve("localhost:3000").unwrap();
        assert!(
            local
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 3000)
        );
        assert!(local[0].is_ipv4() || local.iter().all(|a| a.is_ipv6()));
        for bad in ["nohost", "host:", "host:0", "host:99999", ":3000", "a b:1"] {
            assert!(check_host_port(bad).is_err(), "{bad}");
        }
        assert!(check_host_port("[::1]:3000").is_ok());
        assert!(resolve("no-such-host.invalid:3000").is_err());
    }

    #[test]
    fn a_lookup_is_made_at_once_when_asked() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let waker = Waker::new().unwrap();
        let resolver = spawn(vec!["localhost:4999".into()], tx, waker).unwrap();
        // The first lookup finds localhost and hands it over.
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(matches!(first, Inbound::Introducers(a) if !a.is_empty()));
        let before = resolver.lookups();
        // Asked, it looks up again well before its periodic EVERY.
        resolver.look_up_now();
        let asked = std::time::Instant::now();
        while resolver.lookups() == before {
            assert!(asked.elapsed() < EVERY / 2, "no lookup when asked");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Nothing changed, so nothing more is handed over.
        assert!(rx.try_recv().is_err());
    }
}
