//! What an agent lets dgrep search, and how much a request may ask.

use std::path::{Path, PathBuf};

use crate::DgrepError;

/// The files an agent serves to dgrep and the limits it enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// `--grep-path` globs; empty means the agent's own logs in `data_dir`.
    pub globs: Vec<String>,
    /// The agent's data directory; file names are reported relative to it.
    pub data_dir: PathBuf,
    /// Largest total size of a request's patterns, in bytes.
    pub max_pattern_bytes: usize,
    /// Most patterns in one request.
    pub max_patterns: usize,
    /// Target size of one result chunk (text of its lines), in bytes.
    pub chunk_bytes: usize,
}

/// The agent's own logs, searched when no glob is configured.
pub const OWN_LOGS: [&str; 2] = ["agent.log", "events.jsonl"];

impl ServeConfig {
    /// Serves the files `globs` name (relative globs are relative to the
    /// working directory), or the agent's own logs in `data_dir` if `globs`
    /// is empty; default limits: 64 KiB of patterns, 1,024 patterns, 64 KiB
    /// chunks.
    pub fn new(globs: Vec<String>, data_dir: PathBuf) -> ServeConfig {
        ServeConfig {
            globs,
            data_dir,
            max_pattern_bytes: 64 << 10,
            max_patterns: 1024,
            chunk_bytes: 64 << 10,
        }
    }

    /// Checks that every glob parses, so an agent can refuse a bad
    /// `--grep-path` at start rather than at the first query.
    pub fn validate(&self) -> Result<(), DgrepError> {
        for glob in &self.globs {
            glob::Pattern::new(glob).map_err(|e| DgrepError::BadGlob {
                glob: glob.clone(),
                why: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The regular files to search now, sorted, each with the name reported
    /// for it (relative to the data dir when inside it). Expanded afresh for
    /// every query, so rotated and new logs are found.
    pub fn files(&self) -> Result<Vec<(PathBuf, String)>, DgrepError> {
        let mut paths: Vec<PathBuf> = Vec::new();
        if self.globs.is_empty() {
            paths.extend(OWN_LOGS.iter().map(|name| self.data_dir.join(name)));
        } else {
            for glob in &self.globs {
                let found = glob::glob(glob).map_err(|e| DgrepError::BadGlob {
                    glob: glob.clone(),
                    why: e.to_string(),
                })?;
                // Entries that cannot be read are skipped, as a shell glob would.
                paths.extend(found.flatten());
            }
        }
        paths.retain(|p| p.is_file());
        paths.sort();
        paths.dedup();
        Ok(paths
            .into_iter()
            .map(|p| {
                let name = display_name(&p, &self.data_dir);
                (p, name)
            })
            .collect())
    }
}

fn display_name(path: &Path, data_dir: &Path) -> String {
    path.strip_prefix(data_dir)
        .ok()
        .filter(|rel| !rel.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_own_logs_and_globs_expand() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("agent.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("other.log"), "y\n").unwrap();
        std::fs::create_dir(dir.path().join("sub.log")).unwrap();
        let own = ServeConfig::new(vec![], dir.path().to_path_buf());
        let names: Vec<String> = own.files().unwrap().into_iter().map(|f| f.1).collect();
        assert_eq!(names, ["agent.log"]);
        let glob = format!("{}/*.log", dir.path().display());
        let cfg = ServeConfig::new(vec![glob.clone(), glob], dir.path().to_path_buf());
        cfg.validate().unwrap();
        let names: Vec<String> = cfg.files().unwrap().into_iter().map(|f| f.1).collect();
        assert_eq!(names, ["agent.log", "other.log"]);
        let bad = ServeConfig::new(vec!["[".into()], dir.path().to_path_buf());
        assert!(matches!(bad.validate(), Err(DgrepError::BadGlob { .. })));
    }
}
