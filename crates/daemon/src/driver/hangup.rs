//! SIGHUP and the introducers: the log files reopened, the config file read
//! again and what can change on a running agent applied (see
//! [`crate::reload`]), and the `--join` list looked up and followed.

use std::net::SocketAddr;

use rumor_dgrep::ServeConfig;
use rumor_membership::{ReceiverDrop, Time};

use super::Driver;
use crate::reload::Reload;
use crate::settings::AgentSettings;

impl Driver {
    /// SIGHUP: the logs reopened, then the config file, if the agent runs
    /// with one, read again.
    pub(super) fn on_hangup(&mut self, now: Time) {
        self.reopen_logs();
        if self.settings.reload_args.is_some() {
            self.reload_config(now);
        }
    }

    /// agent.log and events.jsonl opened again at their paths (logrotate
    /// moved them).
    fn reopen_logs(&mut self) {
        if let Some(log) = &self.log {
            if let Err(e) = log.reopen() {
                tracing::error!("cannot reopen agent.log: {e}");
            }
        }
        if let Err(e) = self.events.reopen() {
            tracing::error!("cannot reopen {}: {e}", self.events.path().display());
        }
        tracing::info!("log files reopened");
    }

    /// The config file read again with the start's flags over it: what can
    /// change on a running agent is applied, the rest named for the next
    /// start; a file that does not check is not applied at all.
    fn reload_config(&mut self, now: Time) {
        let Some(args) = self.settings.reload_args.clone() else {
            return;
        };
        let file = args.config.as_deref().map(|p| p.display().to_string());
        let file = file.unwrap_or_default();
        let new = match AgentSettings::from_args(&args) {
            Ok(new) => new,
            Err(e) => {
                self.stats.reloads_failed += 1;
                tracing::error!("{file} not reloaded, the settings in force stay: {e}");
                return;
            }
        };
        let reload = Reload::between(&self.settings, &new);
        self.stats.reloads += 1;
        if reload.is_empty() {
            tracing::info!("{file} reloaded: nothing changed");
            return;
        }
        if let Some(tags) = reload.tags {
            match self.membership.set_metadata(now, tags.clone()) {
                Ok(()) => {
                    let shown: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    tracing::info!("{file} reloaded: tags now {}", shown.join(" "));
                    self.settings.metadata = tags;
                }
                Err(e) => tracing::error!("{file}: tags not applied: {e}"),
            }
        }
        if let Some(rate) = reload.drop_rate {
            tracing::info!("{file} reloaded: drop rate now {rate}");
            self.drop = ReceiverDrop::new(rate, self.me.version.0 ^ now.as_nanos() as u64);
            self.settings.drop_rate = rate;
        }
        if let Some(paths) = reload.grep_paths {
            tracing::info!("{file} reloaded: dgrep paths now {paths:?}");
            let config = ServeConfig::new(paths.clone(), self.settings.data_dir.clone());
            self.dgrep.set_config(config);
            self.settings.grep_paths = paths;
        }
        if let Some(join) = reload.join {
            tracing::info!("{file} reloaded: introducers now {}", join.join(", "));
            self.settings.join = join.clone();
            self.follow_join_list(now, join);
        }
        if !reload.at_restart.is_empty() {
            tracing::warn!(
                "{file}: {} changed; that takes effect at the next start",
                reload.at_restart.join(", ")
            );
        }
    }

    /// A new `--join` list: literal addresses are followed at once; host
    /// names go to the resolver thread (started now if there was none),
    /// which looks them up at once and hands the addresses back.
    fn follow_join_list(&mut self, now: Time, names: Vec<String>) {
        if crate::resolve::all_literal(&names) {
            self.resolver = None;
            let addrs = crate::resolve::resolve_all(&names);
            self.on_introducers(now, addrs);
            return;
        }
        match &self.resolver {
            Some(resolver) => resolver.set_names(names),
            None => {
                let inbound = self.inbound_tx.clone();
                match crate::resolve::spawn(names, inbound, self.waker.clone()) {
                    Ok(resolver) => self.resolver = Some(resolver),
                    Err(e) => tracing::error!("cannot start the resolver: {e}"),
                }
            }
        }
    }

    /// The introducers' addresses, looked up again: the seeds follow them,
    /// and a first join not admitted yet, or an agent left alone, asks the
    /// new addresses.
    pub(super) fn on_introducers(&mut self, now: Time, addrs: Vec<SocketAddr>) {
        if addrs == self.introducers {
            return;
        }
        tracing::info!(
            "introducers resolve to {}",
            addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.introducers = addrs.clone();
        self.awaiting_introducers = false;
        self.membership.set_seeds(addrs.clone());
        let alone = self.first_join_until.is_some() || self.membership.live_count() <= 1;
        if alone && !addrs.is_empty() {
            self.membership.join(now, addrs);
        }
    }
}
