//! Faults as nftables rules inside the host namespaces.
//!
//! Every host has one `table inet rumorlab` whose input and output hooks
//! jump to four chains of drop rules keyed by address: `partition_in` and
//! `partition_out` for partitions, `loss_in` and `loss_out` for random loss
//! on the host's `eth0`. Healing or clearing loss flushes chains, so no rule
//! handle has to be remembered. Rules match every packet (there is no
//! connection tracking in the table), so established TCP connections are cut
//! as surely as datagrams.

use std::collections::BTreeMap;

use super::{NetLab, must, run};

/// The table every host namespace starts with: hooks and empty fault chains.
pub const TABLE: &str = "table inet rumorlab {
    chain partition_in {
    }
    chain partition_out {
    }
    chain loss_in {
    }
    chain loss_out {
    }
    chain input {
        type filter hook input priority filter; policy accept;
        jump partition_in
        jump loss_in
    }
    chain output {
        type filter hook output priority filter; policy accept;
        jump partition_out
        jump loss_out
    }
}
";

/// The chains holding fault rules (the hook chains only jump).
const FAULT_CHAINS: [&str; 4] = ["partition_in", "partition_out", "loss_in", "loss_out"];

impl NetLab {
    /// Drops every packet between hosts `a` and hosts `b`, both ways.
    pub fn partition(&mut self, a: &[usize], b: &[usize]) {
        self.partition_one_way(a, b);
        self.partition_one_way(b, a);
    }

    /// Drops every packet from hosts `from` to hosts `to`; the other way
    /// passes. The senders drop them on output and the receivers on input,
    /// so the cut holds even if one side's rules were flushed by hand.
    pub fn partition_one_way(&mut self, from: &[usize], to: &[usize]) {
        assert!(
            from.iter().all(|h| !to.contains(h)),
            "a host on both sides of a partition: {from:?} / {to:?}"
        );
        if from.is_empty() || to.is_empty() {
            return;
        }
        let to_set = self.address_set(to);
        let from_set = self.address_set(from);
        for &host in from {
            self.add_rules(
                host,
                &[("partition_out", format!("ip daddr {to_set} drop"))],
            );
        }
        for &host in to {
            self.add_rules(
                host,
                &[("partition_in", format!("ip saddr {from_set} drop"))],
            );
        }
    }

    /// Cuts host `host` from every other host, both ways.
    pub fn isolate(&mut self, host: usize) {
        let others: Vec<usize> = (0..self.hosts).filter(|&h| h != host).collect();
        self.partition(&[host], &others);
    }

    /// Removes every partition (loss stays).
    pub fn heal(&mut self) {
        for host in 0..self.hosts {
            self.flush(host, &["partition_in", "partition_out"]);
        }
    }

    /// Drops `percent` % of the packets to and from host `host` on its
    /// `eth0` (its own loopback traffic passes), replacing any loss set
    /// before; 0 clears it.
    pub fn loss(&mut self, host: usize, percent: u8) {
        assert!(percent <= 100, "loss of {percent} %");
        self.flush(host, &["loss_in", "loss_out"]);
        if percent == 0 {
            return;
        }
        let chance = if percent == 100 {
            String::new()
        } else {
            format!("numgen random mod 100 < {percent} ")
        };
        self.add_rules(
            host,
            &[
                ("loss_in", format!("iifname \"eth0\" {chance}drop")),
                ("loss_out", format!("oifname \"eth0\" {chance}drop")),
            ],
        );
    }

    /// Removes host `host`'s loss.
    pub fn clear_loss(&mut self, host: usize) {
        self.flush(host, &["loss_in", "loss_out"]);
    }

    /// Host `host`'s rule table as `nft list` shows it.
    pub fn rules_listing(&self, host: usize) -> String {
        self.nft(host, &["list", "table", "inet", "rumorlab"], None)
    }

    /// `{ ip, ip, ... }` of `hosts`.
    fn address_set(&self, hosts: &[usize]) -> String {
        let ips: Vec<String> = hosts.iter().map(|&h| self.ip(h).to_string()).collect();
        format!("{{ {} }}", ips.join(", "))
    }

    fn add_rules(&mut self, host: usize, rules: &[(&'static str, String)]) {
        let script: String = rules
            .iter()
            .map(|(chain, rule)| format!("add rule inet rumorlab {chain} {rule}\n"))
            .collect();
        self.nft(host, &["-f", "-"], Some(&script));
        for (chain, _) in rules {
            *self.rules.entry((host, *chain)).or_default() += 1;
        }
        self.check_rules(host)
            .unwrap_or_else(|why| panic!("after adding\n{script}{why}"));
    }

    fn flush(&mut self, host: usize, chains: &[&'static str]) {
        let script: String = chains
            .iter()
            .map(|chain| format!("flush chain inet rumorlab {chain}\n"))
            .collect();
        self.nft(host, &["-f", "-"], Some(&script));
        for chain in chains {
            self.rules.remove(&(host, *chain));
        }
        self.check_rules(host)
            .unwrap_or_else(|why| panic!("after\n{script}{why}"));
    }

    /// Checks that host `host`'s table holds exactly the drop rules this lab
    /// put there, chain by chain.
    pub(super) fn check_rules(&self, host: usize) -> Result<(), String> {
        let listing = run(
            &[
                "ip",
                "netns",
                "exec",
                &self.ns(host),
                "nft",
                "list",
                "table",
                "inet",
                "rumorlab",
            ],
            None,
        )?;
        let mut found: BTreeMap<&str, usize> = BTreeMap::new();
        let mut chain = "";
        for line in listing.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("chain ") {
                chain = rest.split_whitespace().next().unwrap_or("");
                found.entry(chain).or_default();
            } else if line.ends_with(" drop") || line == "drop" {
                *found.entry(chain).or_default() += 1;
            }
        }
        for chain in FAULT_CHAINS {
            let want = self.rules.get(&(host, chain)).copied().unwrap_or(0);
            match found.get(chain) {
                Some(&have) if have == want => {}
                Some(&have) => {
                    return Err(format!(
                        "{} chain {chain} has {have} drop rules, not {want}:\n{listing}",
                        self.ns(host)
                    ));
                }
                None => {
                    return Err(format!(
                        "{} has no chain {chain}:\n{listing}",
                        self.ns(host)
                    ));
                }
            }
        }
        Ok(())
    }

    fn nft(&self, host: usize, args: &[&str], input: Option<&str>) -> String {
        let ns = self.ns(host);
        let mut argv = vec!["ip", "netns", "exec", &ns, "nft"];
        argv.extend_from_slice(args);
        must(&argv, input)
    }
}
