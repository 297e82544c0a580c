//! What an agent lets dgrep search, and how much a request may ask.
//!
//! Every matched path is resolved (symbolic links, `..`) and served only if
//! it still lies where its glob points: a link planted in a served directory
//! (`evil.log -> /etc/passwd`) would otherwise hand any file the agent can
//! read to whoever may query it. A glob with wildcards allows what resolves
//! inside its leading directory (the components before the first wildcard,
//! itself resolved); a glob without any allows the one file it names,
//! wherever that resolves (the operator named it); the default, the agent's
//! own logs, allows what resolves inside the data directory. What cannot be
//! resolved or lies outside is not served, and the answer says so.
//!
//! The check is made when the query starts; the resolved path is what is
//! then opened, so a link changed afterwards is not followed, but a
//! directory on the resolved path replaced by a link in between would be.

use std::path::{Component, Path, PathBuf};

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

/// The files one query searches, and the matched paths refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// Regular files to search, sorted by the path the glob matched: each
    /// resolved path (what is opened) with the name reported for it.
    pub files: Vec<(PathBuf, String)>,
    /// Each matched path not served, and why (the answer's error says so).
    pub refused: Vec<String>,
}

/// Where the resolved paths a glob matches may lie.
#[derive(Debug, Clone)]
enum Allowed {
    /// Inside this resolved directory.
    Under(PathBuf),
    /// This resolved file only.
    Exactly(PathBuf),
    /// Nowhere: the glob's directory (or file) cannot be resolved.
    Nothing,
}

impl Allowed {
    fn permits(&self, resolved: &Path) -> bool {
        match self {
            Allowed::Under(dir) => resolved.starts_with(dir),
            Allowed::Exactly(file) => resolved == file,
            Allowed::Nothing => false,
        }
    }

    /// What a glob allows: see the module documentation.
    fn by_glob(glob: &str) -> Allowed {
        let path = Path::new(glob);
        let mut prefix = PathBuf::new();
        for component in path.components() {
            if is_wild(component) {
                let dir = if prefix.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    &prefix
                };
                return std::fs::canonicalize(dir).map_or(Allowed::Nothing, Allowed::Under);
            }
            prefix.push(component);
        }
        std::fs::canonicalize(path).map_or(Allowed::Nothing, Allowed::Exactly)
    }
}

/// True if a path component holds a glob wildcard.
fn is_wild(component: Component<'_>) -> bool {
    component
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'['))
}

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

    /// The regular files to search now, each with the name reported for it
    /// (relative to the data dir when inside it), and the matched paths
    /// refused because they resolve outside what their glob allows (or do
    /// not resolve at all). Expanded afresh for every query, so rotated and
    /// new logs are found.
    pub fn files(&self) -> Result<Served, DgrepError> {
        let mut matched: Vec<(PathBuf, Allowed)> = Vec::new();
        if self.globs.is_empty() {
            let allowed =
                std::fs::canonicalize(&self.data_dir).map_or(Allowed::Nothing, Allowed::Under);
            for name in OWN_LOGS {
                let path = self.data_dir.join(name);
                // A log not written yet is no refusal.
                if path.symlink_metadata().is_ok() {
                    matched.push((path, allowed.clone()));
                }
            }
        } else {
            for glob in &self.globs {
                let found = glob::glob(glob).map_err(|e| DgrepError::BadGlob {
                    glob: glob.clone(),
                    why: e.to_string(),
                })?;
                let allowed = Allowed::by_glob(glob);
                // Entries that cannot be read are skipped, as a shell glob would.
                matched.extend(found.flatten().map(|path| (path, allowed.clone())));
            }
        }
        matched.sort_by(|a, b| a.0.cmp(&b.0));
        matched.dedup_by(|a, b| a.0 == b.0);
        let mut served = Served::default();
        for (path, allowed) in matched {
            let name = display_name(&path, &self.data_dir);
            let resolved = match std::fs::canonicalize(&path) {
                Ok(resolved) => resolved,
                Err(e) => {
                    served
                        .refused
                        .push(format!("{name}: not served: cannot be resolved ({e})"));
                    continue;
                }
            };
            if !resolved.is_file() {
                continue;
            }
            if !allowed.permits(&resolved) {
                // Where it leads is not said: that would tell the asker
                // about a file it may not read.
                served.refused.push(format!(
                    "{name}: not served: it resolves outside what --grep-path allows (a symbolic link?)"
                ));
                continue;
            }
            served.files.push((resolved, name));
        }
        Ok(served)
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
    use std::os::unix::fs::symlink;

    fn names(served: &Served) -> Vec<&str> {
        served.files.iter().map(|f| f.1.as_str()).collect()
    }

    #[test]
    fn default_is_own_logs_and_globs_expand() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("agent.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("other.log"), "y\n").unwrap();
        std::fs::create_dir(dir.path().join("sub.log")).unwrap();
        let own = ServeConfig::new(vec![], dir.path().to_path_buf());
        let served = own.files().unwrap();
        assert_eq!(names(&served), ["agent.log"]);
        assert!(served.refused.is_empty(), "{served:?}");
        let glob = format!("{}/*.log", dir.path().display());
        let cfg = ServeConfig::new(vec![glob.clone(), glob], dir.path().to_path_buf());
        cfg.validate().unwrap();
        assert_eq!(names(&cfg.files().unwrap()), ["agent.log", "other.log"]);
        let bad = ServeConfig::new(vec!["[".into()], dir.path().to_path_buf());
        assert!(matches!(bad.validate(), Err(DgrepError::BadGlob { .. })));
    }

    #[test]
    fn links_out_of_the_globbed_directory_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.txt");
        std::fs::write(&secret, "root:x:0:0\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("old")).unwrap();
        std::fs::write(logs.join("app.log"), "a\n").unwrap();
        std::fs::write(logs.join("old/app.1"), "b\n").unwrap();
        symlink(&secret, logs.join("evil.log")).unwrap();
        symlink("/etc/passwd", logs.join("passwd.log")).unwrap();
        symlink(logs.join("nowhere"), logs.join("dangling.log")).unwrap();
        // A link that stays inside the directory is fine.
        symlink(logs.join("old/app.1"), logs.join("current.log")).unwrap();
        let glob = format!("{}/*.log", logs.display());
        let cfg = ServeConfig::new(vec![glob], dir.path().to_path_buf());
        let served = cfg.files().unwrap();
        assert_eq!(names(&served), ["logs/app.log", "logs/current.log"]);
        let resolved = std::fs::canonicalize(logs.join("old/app.1")).unwrap();
        assert_eq!(served.files[1].0, resolved, "the resolved path is opened");
        assert_eq!(served.refused.len(), 3, "{:?}", served.refused);
        let refused = served.refused.join("\n");
        for name in ["evil.log", "passwd.log", "dangling.log"] {
            assert!(
                refused.contains(&format!("logs/{name}: not served")),
                "{refused}"
            );
        }
        assert!(
            !refused.contains("secret") && !refused.contains("/etc"),
            "{refused}"
        );

        // Through a linked directory: the prefix is resolved too.
        let via = dir.path().join("via");
        symlink(&logs, &via).unwrap();
        let cfg = ServeConfig::new(
            vec![format!("{}/*.log", via.display())],
            dir.path().to_path_buf(),
        );
        assert_eq!(
            names(&cfg.files().unwrap()),
            ["via/app.log", "via/current.log"]
        );

        // A glob naming one file allows that file, wherever it resolves.
        let named = ServeConfig::new(
            vec![logs.join("evil.log").display().to_string()],
            dir.path().to_path_buf(),
        );
        let served = named.files().unwrap();
        assert_eq!(names(&served), ["logs/evil.log"]);
        assert_eq!(served.files[0].0, std::fs::canonicalize(&secret).unwrap());
    }

    #[test]
    fn own_logs_linked_out_of_the_data_dir_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x"), "x\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("agent.log"), "a\n").unwrap();
        symlink(outside.path().join("x"), dir.path().join("events.jsonl")).unwrap();
        let served = ServeConfig::new(vec![], dir.path().to_path_buf())
            .files()
            .unwrap();
        assert_eq!(names(&served), ["agent.log"]);
        assert_eq!(served.refused.len(), 1, "{:?}", served.refused);
    }
}
