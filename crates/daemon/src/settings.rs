//! An agent's settings: the config file, then the flags over it, checked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rumor_membership::{Config, Metadata, MetadataError};
use rumor_seal::{Keyring, Sealer, SealerConfig};
use serde::{Deserialize, Serialize};

use crate::DaemonError;
use crate::cli::AgentArgs;

/// Everything an agent needs to start, resolved and checked.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// The listening address (UDP and TCP), resolved.
    pub bind: SocketAddr,
    /// The listening address as given (an IP or a host name, and a port).
    pub bind_name: String,
    /// The address other members reach this agent at, which its node id
    /// names: `--advertise`, else the listening address.
    pub advertise: SocketAddr,
    /// Introducers to join through, in order, as given (`IP:PORT` or
    /// `HOST:PORT`, looked up again at each join attempt).
    pub join: Vec<String>,
    /// Where the Prometheus endpoint listens, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// Size at which agent.log is rotated (agent.log.1 ... .3 kept).
    pub log_max_size: Option<u64>,
    /// Where events.jsonl and agent.log go.
    pub data_dir: PathBuf,
    /// The membership core's configuration.
    pub membership: Config,
    /// The failure detector's registered name.
    pub detector: String,
    /// The detector's own settings (`[detectors.NAME]` of the config file).
    pub detector_section: Option<toml::Table>,
    /// Receiver-side drop probability of incoming datagrams (fault
    /// injection).
    pub drop_rate: f64,
    /// Files dgrep may search (empty: the agent's own logs).
    pub grep_paths: Vec<String>,
    /// How long to keep trying the introducers.
    pub join_timeout: Duration,
    /// UDP receive buffer to ask for.
    pub udp_recv_buffer: usize,
    /// Whether log lines stay out of standard error.
    pub quiet: bool,
    /// The cluster's name, bound into sealed packets.
    pub cluster_label: String,
    /// The cluster's sealer (from `--keyring`), if it has one.
    pub sealer: Option<Arc<Sealer>>,
    /// The keyring file, rewritten when the ring changes.
    pub keyring_path: Option<PathBuf>,
    /// Bytes the sealer adds to every datagram (0 in the clear): declared
    /// to the core, which keeps every datagram within the limit with them.
    pub packet_overhead: usize,
    /// This member's tags (`--tag`, `[tags]`): its metadata.
    pub metadata: Metadata,
    /// The command line, kept when it names a config file: SIGHUP reads
    /// the file again with the same flags over it (see `reload`).
    pub reload_args: Option<Box<AgentArgs>>,
}

impl AgentSettings {
    /// Resolves the command line: reads `--config` if given, applies the
    /// flags over it, and checks the whole in one place. Any mistake is one
    /// line naming the key or flag and what is wrong.
    pub fn from_args(args: &AgentArgs) -> Result<AgentSettings, DaemonError> {
        let file = match &args.config {
            Some(path) => load_config(path)?,
            None => AgentFile::default(),
        };
        let bind_name = args.bind.clone().or(file.bind).ok_or_else(|| {
            DaemonError::Usage(
                "no address to listen on: give --bind IP:PORT (or bind in the config file)".into(),
            )
        })?;
        let bind = crate::resolve::resolve_one(&bind_name)
            .map_err(|why| DaemonError::Usage(format!("bad --bind {bind_name:?}: {why}")))?;
        let advertise = args.advertise.or(file.advertise);
        check_bind(bind, advertise)?;
        let advertise = advertise.unwrap_or(bind);
        let join = if args.join.is_empty() {
            file.join
        } else {
            args.join.clone()
        };
        for name in &join {
            crate::resolve::check_host_port(name)
                .map_err(|why| DaemonError::Usage(format!("bad --join {name:?}: {why}")))?;
        }
        let own = [bind.to_string(), advertise.to_string(), bind_name.clone()];
        let join: Vec<String> = join.into_iter().filter(|j| !own.contains(j)).collect();
        let mut membership = file.timing;
        if let Some(d) = args.heartbeat {
            membership.heartbeat = d;
        }
        if let Some(d) = args.t_fail {
            membership.t_fail = d;
        }
        if let Some(d) = args.t_suspect {
            membership.t_suspect = d;
        }
        if let Some(d) = args.t_delete {
            membership.t_delete = d;
        }
        membership
            .validate()
            .map_err(|e| DaemonError::Usage(e.to_string()))?;
        let detector = args
            .detector
            .clone()
            .or(file.detector)
            .unwrap_or_else(|| rumor_membership::detector::gossip::NAME.to_string());
        let drop_rate = args.drop_rate.or(file.drop_rate).unwrap_or(0.0);
        if !(0.0..=1.0).contains(&drop_rate) {
            return Err(DaemonError::Usage(format!(
                "bad drop rate {drop_rate}: expected a probability from 0 to 1"
            )));
        }
        let keyring_path = args.keyring.clone().or(file.keyring);
        let cluster_label = args
            .cluster_label
            .clone()
            .or(file.cluster_label)
            .unwrap_or_else(|| rumor_seal::DEFAULT_LABEL.to_string());
        let sealer = match &keyring_path {
            Some(path) => {
                let keyring = Keyring::load(path).map_err(|e| DaemonError::Usage(e.to_string()))?;
                let sealer = Sealer::new(keyring, &cluster_label, SealerConfig::default())
                    .map_err(|e| DaemonError::Usage(format!("bad cluster label: {e}")))?;
                Some(Arc::new(sealer))
            }
            None => None,
        };
        let packet_overhead = sealer.as_ref().map_or(0, |s| s.overhead());
        if membership.datagram_limit < packet_overhead + 512 {
            return Err(DaemonError::Usage(format!(
                "datagram_limit {} leaves no room for the {packet_overhead}-byte seal of --keyring",
                membership.datagram_limit
            )));
        }
        let detector_section = file
            .detectors
            .get(&detector)
            .and_then(|v| v.as_table())
            .cloned();
        let mut grep_paths = file.grep_path;
        grep_paths.extend(args.grep_path.iter().cloned());
        let metadata = tags(file.tags, &args.tag)?;
        Ok(AgentSettings {
            bind,
            bind_name,
            advertise,
            join,
            metrics_addr: args.metrics_addr.or(file.metrics_addr),
            log_max_size: args.log_max_size.or(file.log_max_size),
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| default_data_dir(advertise)),
            membership,
            detector,
            detector_section,
            drop_rate,
            grep_paths,
            join_timeout: args
                .join_timeout
                .or(file.join_timeout)
                .unwrap_or(Duration::from_secs(30)),
            udp_recv_buffer: args
                .udp_recv_buffer
                .or(file.udp_recv_buffer)
                .unwrap_or(4 << 20),
            quiet: args.quiet || file.quiet.unwrap_or(false),
            cluster_label,
            sealer,
            keyring_path,
            packet_overhead,
            metadata,
            reload_args: args.config.is_some().then(|| Box::new(args.clone())),
        })
    }

    /// The settings as a config file that would give them, for
    /// `rumor agent --check-config`.
    pub fn to_toml(&self) -> String {
        let file = AgentFile {
            bind: Some(self.bind_name.clone()),
            advertise: (self.advertise != self.bind).then_some(self.advertise),
            join: self.join.clone(),
            metrics_addr: self.metrics_addr,
            log_max_size: self.log_max_size,
            data_dir: Some(self.data_dir.clone()),
            detector: Some(self.detector.clone()),
            drop_rate: Some(self.drop_rate),
            grep_path: self.grep_paths.clone(),
            keyring: self.keyring_path.clone(),
            cluster_label: Some(self.cluster_label.clone()),
            join_timeout: Some(self.join_timeout),
            udp_recv_buffer: Some(self.udp_recv_buffer),
            quiet: Some(self.quiet),
            tags: self
                .metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            timing: self.membership.clone(),
            detectors: match &self.detector_section {
                Some(section) => {
                    let mut t = toml::Table::new();
                    t.insert(self.detector.clone(), toml::Value::Table(section.clone()));
                    t
                }
                None => toml::Table::new(),
            },
        };
        toml::to_string(&file).unwrap_or_else(|e| format!("# cannot show the settings: {e}\n"))
    }
}

/// The agent's config file: every `rumor agent` flag as a key, the core's
/// knobs in `[timing]`, and detectors' own settings in `[detectors.NAME]`.
/// Flags override it; an unknown key or a bad value is one line naming the
/// file, the line and the key (and, for an unknown key, the valid ones).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentFile {
    /// `--bind`: `IP:PORT` or `HOST:PORT`.
    pub bind: Option<String>,
    /// `--advertise`.
    pub advertise: Option<SocketAddr>,
    /// `--join`, in order: `IP:PORT` or `HOST:PORT`.
    pub join: Vec<String>,
    /// `--metrics-addr`.
    pub metrics_addr: Option<SocketAddr>,
    /// `--log-max-size`, in bytes.
    pub log_max_size: Option<u64>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--detector`.
    pub detector: Option<String>,
    /// `--drop-rate`.
    pub drop_rate: Option<f64>,
    /// `--grep-path`, every one.
    pub grep_path: Vec<String>,
    /// `--keyring`.
    pub keyring: Option<PathBuf>,
    /// `--cluster-label`.
    pub cluster_label: Option<String>,
    /// `--join-timeout`.
    #[serde(with = "humantime_serde")]
    pub join_timeout: Option<Duration>,
    /// `--udp-recv-buffer`.
    pub udp_recv_buffer: Option<usize>,
    /// `--quiet`.
    pub quiet: Option<bool>,
    /// `--tag`, every one: `KEY = "VALUE"`.
    pub tags: BTreeMap<String, String>,
    /// The membership core's knobs (`rumor_membership::Config`).
    pub timing: Config,
    /// `[detectors.NAME]`: a detector's own settings.
    pub detectors: toml::Table,
}

/// The tags of the file with those of `--tag` over them, as the member's
/// metadata: one line naming what is wrong (a tag's key, or the total
/// over 512 bytes).
fn tags(
    file: BTreeMap<String, String>,
    flags: &[(String, String)],
) -> Result<Metadata, DaemonError> {
    let mut all = file;
    all.extend(flags.iter().cloned());
    for (key, value) in &all {
        crate::cli::parse_tag(&format!("{key}={value}")).map_err(DaemonError::Usage)?;
    }
    Metadata::from_pairs(all).map_err(|e| {
        DaemonError::Usage(match e {
            MetadataError::TooLarge { size, limit } => format!(
                "bad tags: they take {size} bytes, over the {limit}-byte limit (a tag counts its key, its value and 3 bytes)"
            ),
            other => format!("bad tags: {other}"),
        })
    })
}

/// Reads the agent's TOML config file, with a one-line error naming the
/// file and the line.
pub fn load_config(path: &Path) -> Result<AgentFile, DaemonError> {
    let text = std::fs::read_to_string(path).map_err(|e| DaemonError::Config {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let message = e.message().replace('\n', " ");
        DaemonError::Config {
            path: path.to_owned(),
            why: match line {
                Some(line) => format!("line {line}: {}", message.trim()),
                None => message.trim().to_string(),
            },
        }
    })
}

fn check_bind(bind: SocketAddr, advertise: Option<SocketAddr>) -> Result<(), DaemonError> {
    if let Some(adv) = advertise {
        if adv.ip().is_unspecified() || adv.port() == 0 {
            return Err(DaemonError::Usage(format!(
                "bad --advertise {adv}: name the IP and port other members reach this agent at"
            )));
        }
    } else if bind.ip().is_unspecified() {
        return Err(DaemonError::Usage(format!(
            "bad --bind {bind}: name the IP other members reach this agent at, not a wildcard (or give --advertise IP:PORT)"
        )));
    }
    if bind.port() == 0 {
        return Err(DaemonError::Usage(format!(
            "bad --bind {bind}: name a port; it is part of the agent's identity"
        )));
    }
    Ok(())
}

/// `$XDG_STATE_HOME/rumor/IP-PORT`, else `~/.local/state/rumor/IP-PORT`, else
/// under the temporary directory.
pub fn default_data_dir(bind: SocketAddr) -> PathBuf {
    let leaf = format!("{}-{}", bind.ip(), bind.port()).replace(':', "_");
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local/state"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("rumor").join(leaf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<AgentSettings, DaemonError> {
        let mut argv = vec!["rumor", "agent"];
        argv.extend_from_slice(args);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Agent(a) => AgentSettings::from_args(&a),
            _ => unreachable!("parsed an agent command line"),
        }
    }

    #[test]
    fn flags_override_the_file_and_the_own_address_is_not_an_introducer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rumor.toml");
        std::fs::write(
            &file,
            "detector = \"swim\"\njoin = [\"127.0.0.9:3000\"]\n[timing]\nheartbeat = \"250ms\"\nt_fail = \"2s\"\nfanout = 4\n",
        )
        .unwrap();
        let s = parse(&[
            "--bind",
            "127.0.0.1:3000",
            "--join",
            "127.0.0.1:3000",
            "--join",
            "127.0.0.2:3000",
            "--config",
            file.to_str().unwrap(),
            "--t-fail",
            "700ms",
        ])
        .unwrap();
        assert_eq!(s.membership.heartbeat, Duration::from_millis(250));
        assert_eq!(s.membership.t_fail, Duration::from_millis(700));
        assert_eq!(s.membership.fanout.get(), 4);
        assert_eq!(s.join, vec!["127.0.0.2:3000".to_string()]);
        assert_eq!(s.detector, "swim");
        assert!(s.data_dir.ends_with("rumor/127.0.0.1-3000"));
        // What --check-config prints reads back as the same settings.
        let again = dir.path().join("again.toml");
        std::fs::write(&again, s.to_toml()).unwrap();
        let t = parse(&["--config", again.to_str().unwrap()]).unwrap();
        assert_eq!(t.to_toml(), s.to_toml());
    }

    #[test]
    fn tags_come_from_the_file_with_the_flags_over_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tags.toml");
        std::fs::write(&file, "[tags]\nrole = \"web\"\nzone = \"a\"\n").unwrap();
        let s = parse(&[
            "--bind",
            "127.0.0.1:3000",
            "--config",
            file.to_str().unwrap(),
            "--tag",
            "zone=b",
            "--tag",
            "rack=7=x",
        ])
        .unwrap();
        let tags: Vec<(&str, &str)> = s.metadata.iter().collect();
        assert_eq!(tags, [("rack", "7=x"), ("role", "web"), ("zone", "b")]);
        let again = dir.path().join("again.toml");
        std::fs::write(&again, s.to_toml()).unwrap();
        let t = parse(&["--config", again.to_str().unwrap()]).unwrap();
        assert_eq!(t.metadata, s.metadata);
        std::fs::write(&file, "[tags]\n\"\" = \"web\"\n").unwrap();
        let err = parse(&[
            "--bind",
            "127.0.0.1:3000",
            "--config",
            file.to_str().unwrap(),
        ]);
        let err = err.unwrap_err().to_string();
        assert!(err.contains("empty key") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn an_unknown_key_names_the_valid_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:3000\"\nbnid = 1\n").unwrap();
        let err = parse(&["--config", file.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("bnid"), "{err}");
        assert!(err.contains("`bind`") && err.contains("`timing`"), "{err}");
        std::fs::write(&file, "[timing]\nfanout = 0\n").unwrap();
        let err = parse(&[
            "--bind",
            "127.0.0.1:3000",
            "--config",
            file.to_str().unwrap(),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 2"), "{err}");
        let none = parse(&[]).unwrap_err().to_string();
        assert!(none.contains("--bind"), "{none}");
    }

    #[test]
    fn config_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[timing]\nfanout = 3\nhartbeat = \"1s\"\n").unwrap();
        let err = parse(&[
            "--bind",
            "127.0.0.1:3000",
            "--config",
            file.to_str().unwrap(),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("bad.toml") && err.contains("line 3"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let missing = parse(&["--bind", "127.0.0.1:3000", "--config", "/nonexistent.toml"])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent.toml"), "{missing}");
    }

    #[test]
    fn wildcard_zero_port_and_bad_rates_are_refused() {
        assert!(parse(&["--bind", "0.0.0.0:3000"]).is_err());
        let s = parse(&["--bind", "0.0.0.0:3000", "--advertise", "127.0.0.5:3000"]).unwrap();
        assert_eq!(s.advertise, "127.0.0.5:3000".parse().unwrap());
        let s = parse(&["--bind", "localhost:3000", "--join", "localhost:3001"]).unwrap();
        assert!(s.bind.ip().is_loopback(), "{}", s.bind);
        assert_eq!(s.join, vec!["localhost:3001".to_string()]);
        let bad = [
            "rumor",
            "agent",
            "--bind",
            "127.0.0.1:3000",
            "--join",
            "nohost",
        ];
        assert!(crate::cli::Cli::try_parse_from(bad).is_err());
        assert!(parse(&["--bind", "127.0.0.1:0"]).is_err());
        assert!(parse(&["--bind", "127.0.0.1:3000", "--drop-rate", "1.5"]).is_err());
        assert!(parse(&["--bind", "127.0.0.1:3000", "--heartbeat", "0s"]).is_err());
    }
}
