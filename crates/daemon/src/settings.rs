//! An agent's settings: the config file, then the flags over it, checked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rumor_membership::Config;
use rumor_seal::{Keyring, Sealer, SealerConfig};

use crate::DaemonError;
use crate::cli::AgentArgs;

/// Everything an agent needs to start, resolved and checked.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// The listening address (UDP and TCP).
    pub bind: SocketAddr,
    /// Introducers to join through, in order (the agent's own address removed).
    pub join: Vec<SocketAddr>,
    /// Where events.jsonl and agent.log go.
    pub data_dir: PathBuf,
    /// The membership core's configuration.
    pub membership: Config,
    /// Files dgrep may search (empty: the agent's own logs).
    pub grep_paths: Vec<String>,
    /// How long to keep trying the introducers.
    pub join_timeout: Duration,
    /// UDP receive buffer to ask for.
    pub udp_recv_buffer: usize,
    /// Whether log lines stay out of standard error.
    pub quiet: bool,
    /// The cluster's sealer (from `--keyring`), if it has one.
    pub sealer: Option<Arc<Sealer>>,
    /// The keyring file, rewritten when the ring changes.
    pub keyring_path: Option<PathBuf>,
    /// The largest datagram on the wire. With a keyring, the core's own
    /// limit (`membership.datagram_limit`) is this less the seal's overhead.
    pub wire_datagram_limit: usize,
}

impl AgentSettings {
    /// Resolves the command line: reads `--config` if given, applies the
    /// flags over it, and checks the result.
    pub fn from_args(args: &AgentArgs) -> Result<AgentSettings, DaemonError> {
        let mut membership = match &args.config {
            Some(path) => load_config(path)?,
            None => Config::default(),
        };
        if let Some(detector) = &args.detector {
            membership.detector = detector.clone();
        }
        if let Some(rate) = args.drop_rate {
            membership.drop_rate = rate;
        }
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
        check_bind(args.bind)?;
        if !(0.0..=1.0).contains(&membership.drop_rate) {
            return Err(DaemonError::Usage(format!(
                "bad drop rate {}: expected a probability from 0 to 1",
                membership.drop_rate
            )));
        }
        for (name, d) in [
            ("heartbeat", membership.heartbeat),
            ("t_fail", membership.t_fail),
            ("t_suspect", membership.t_suspect),
        ] {
            if d.is_zero() {
                return Err(DaemonError::Usage(format!(
                    "bad {name}: it must be longer than zero"
                )));
            }
        }
        let wire_datagram_limit = membership.datagram_limit;
        let sealer = match &args.keyring {
            Some(path) => {
                let keyring = Keyring::load(path).map_err(|e| DaemonError::Usage(e.to_string()))?;
                membership.datagram_limit = wire_datagram_limit
                    .checked_sub(rumor_seal::OVERHEAD)
                    .filter(|limit| *limit >= 512)
                    .ok_or_else(|| {
                        DaemonError::Usage(format!(
                            "datagram_limit {wire_datagram_limit} leaves no room for the {}-byte seal of --keyring",
                            rumor_seal::OVERHEAD
                        ))
                    })?;
                let sealer = Sealer::new(keyring, &args.cluster_label, SealerConfig::default())
                    .map_err(|e| DaemonError::Usage(format!("bad --cluster-label: {e}")))?;
                Some(Arc::new(sealer))
            }
            None => None,
        };
        let join = args
            .join
            .iter()
            .copied()
            .filter(|addr| *addr != args.bind)
            .collect();
        Ok(AgentSettings {
            bind: args.bind,
            join,
            data_dir: args
                .data_dir
                .clone()
                .unwrap_or_else(|| default_data_dir(args.bind)),
            membership,
            grep_paths: args.grep_path.clone(),
            join_timeout: args.join_timeout,
            udp_recv_buffer: args.udp_recv_buffer,
            quiet: args.quiet,
            sealer,
            keyring_path: args.keyring.clone(),
            wire_datagram_limit,
        })
    }
}

/// Reads a TOML membership config, with a one-line error naming the file and
/// the line.
pub fn load_config(path: &Path) -> Result<Config, DaemonError> {
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

fn check_bind(bind: SocketAddr) -> Result<(), DaemonError> {
    if bind.ip().is_unspecified() {
        return Err(DaemonError::Usage(format!(
            "bad --bind {bind}: name the IP other members reach this agent at, not a wildcard"
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
            "heartbeat = \"250ms\"\nt_fail = \"2s\"\nfanout = 4\n",
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
        assert_eq!(s.membership.fanout, 4);
        assert_eq!(s.join, vec!["127.0.0.2:3000".parse().unwrap()]);
        assert!(s.data_dir.ends_with("rumor/127.0.0.1-3000"));
    }

    #[test]
    fn config_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "fanout = 3\nhartbeat = \"1s\"\n").unwrap();
        let err = parse(&[
            "--bind",
            "127.0.0.1:3000",
            "--config",
            file.to_str().unwrap(),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let missing = parse(&["--bind", "127.0.0.1:3000", "--config", "/nonexistent.toml"])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent.toml"), "{missing}");
    }

    #[test]
    fn wildcard_zero_port_and_bad_rates_are_refused() {
        assert!(parse(&["--bind", "0.0.0.0:3000"]).is_err());
        assert!(parse(&["--bind", "127.0.0.1:0"]).is_err());
        assert!(parse(&["--bind", "127.0.0.1:3000", "--drop-rate", "1.5"]).is_err());
        assert!(parse(&["--bind", "127.0.0.1:3000", "--heartbeat", "0s"]).is_err());
    }
}
