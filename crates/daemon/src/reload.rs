//! SIGHUP with `--config`: the file read again, and what can change on a
//! running agent applied at once.
//!
//! An agent started with `--config FILE` reads the file again on SIGHUP
//! (the flags still override it, as at start) and compares the result with
//! the settings in force. What can change safely is applied: the tags
//! (a new incarnation of this member carries them to every peer), the
//! `--join` list (the introducers healing goes back to, looked up again),
//! the receiver-side drop rate and the dgrep paths. Whatever else changed
//! (the address, the detector, the timing, the keyring path...) is named
//! in one log line and takes effect at the next start. A file that no
//! longer parses or checks is not applied at all: the agent logs why and
//! runs on with the settings it had.

use rumor_membership::Metadata;

use crate::settings::AgentSettings;

/// What a reloaded configuration changes.
#[derive(Debug, Default, PartialEq)]
pub struct Reload {
    /// New tags, applied as this member's metadata.
    pub tags: Option<Metadata>,
    /// A new `--join` list.
    pub join: Option<Vec<String>>,
    /// A new receiver-side drop rate.
    pub drop_rate: Option<f64>,
    /// New dgrep paths.
    pub grep_paths: Option<Vec<String>>,
    /// The keys that changed but only take effect at the next start, in
    /// the config file's names.
    pub at_restart: Vec<&'static str>,
}

impl Reload {
    /// What going from `old` (in force) to `new` (just read) changes.
    pub fn between(old: &AgentSettings, new: &AgentSettings) -> Reload {
        fn changed<T: PartialEq + Clone>(old: &T, new: &T) -> Option<T> {
            (old != new).then(|| new.clone())
        }
        let mut at_restart = Vec::new();
        let mut restart = |key: &'static str, differs: bool| {
            if differs {
                at_restart.push(key);
            }
        };
        restart(
            "bind",
            old.bind_name != new.bind_name || old.bind != new.bind,
        );
        restart("advertise", old.advertise != new.advertise);
        restart("data_dir", old.data_dir != new.data_dir);
        restart("detector", old.detector != new.detector);
        restart("detectors", old.detector_section != new.detector_section);
        restart("timing", old.membership != new.membership);
        restart("metrics_addr", old.metrics_addr != new.metrics_addr);
        restart("log_max_size", old.log_max_size != new.log_max_size);
        restart("join_timeout", old.join_timeout != new.join_timeout);
        restart(
            "udp_recv_buffer",
            old.udp_recv_buffer != new.udp_recv_buffer,
        );
        restart("quiet", old.quiet != new.quiet);
        restart("cluster_label", old.cluster_label != new.cluster_label);
        restart("keyring", old.keyring_path != new.keyring_path);
        Reload {
            tags: changed(&old.metadata, &new.metadata),
            join: changed(&old.join, &new.join),
            drop_rate: changed(&old.drop_rate, &new.drop_rate),
            grep_paths: changed(&old.grep_paths, &new.grep_paths),
            at_restart,
        }
    }

    /// Whether nothing at all changed.
    pub fn is_empty(&self) -> bool {
        *self == Reload::default()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn settings(file: &str, flags: &[&str]) -> AgentSettings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, file).unwrap();
        let mut argv = vec!["rumor", "agent", "--config", path.to_str().unwrap()];
        argv.extend_from_slice(flags);
        let Command::Agent(args) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        AgentSettings::from_args(&args).unwrap()
    }

    const BASE: &str =
        "bind = \"127.0.0.1:4100\"\njoin = [\"127.0.0.2:4100\"]\n[tags]\nrole = \"a\"\n";

    #[test]
    fn the_same_file_changes_nothing() {
        let old = settings(BASE, &[]);
        assert!(Reload::between(&old, &settings(BASE, &[])).is_empty());
    }

    #[test]
    fn tags_join_drop_rate_and_grep_paths_apply_the_rest_waits_for_a_restart() {
        let old = settings(BASE, &[]);
        let file = "bind = \"127.0.0.1:4101\"\njoin = [\"127.0.0.3:4100\", \"127.0.0.2:4100\"]\n\
                    drop_rate = 0.5\ngrep_path = [\"/var/log/*.log\"]\ndetector = \"swim\"\n\
                    [timing]\nprobe_interval = \"200ms\"\n[tags]\nrole = \"b\"\nzone = \"z1\"\n";
        let reload = Reload::between(&old, &settings(file, &[]));
        assert_eq!(
            reload.tags,
            Some(Metadata::from_pairs([("role", "b"), ("zone", "z1")]).unwrap())
        );
        assert_eq!(
            reload.join,
            Some(vec![
                "127.0.0.3:4100".to_string(),
                "127.0.0.2:4100".to_string()
            ])
        );
        assert_eq!(reload.drop_rate, Some(0.5));
        assert_eq!(reload.grep_paths, Some(vec!["/var/log/*.log".to_string()]));
        assert_eq!(
            reload.at_restart,
            vec!["bind", "advertise", "data_dir", "detector", "timing"]
        );
    }

    #[test]
    fn flags_still_override_the_file() {
        // The tag given as a flag wins over the file's, before and after.
        let old = settings(BASE, &["--tag", "role=pinned"]);
        let new = settings(
            "bind = \"127.0.0.1:4100\"\njoin = [\"127.0.0.2:4100\"]\n[tags]\nrole = \"b\"\n",
            &["--tag", "role=pinned"],
        );
        assert!(Reload::between(&old, &new).is_empty());
    }
}
