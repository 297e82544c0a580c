//! agent.log as a file that can be reopened and rotated.
//!
//! `SIGHUP` reopens it at its path (after logrotate moved it away: the
//! agent never keeps writing to a renamed file). With `--log-max-size`,
//! a write that would take it past the size first renames `agent.log` to
//! `agent.log.1` (shifting `.1` to `.2`, `.2` to `.3`, and dropping the
//! oldest) and starts a fresh file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Rotated files kept beside the live one.
pub const KEEP: usize = 3;

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    file: File,
    written: u64,
    max_size: Option<u64>,
}

/// A shared handle on the log file; every clone writes to the same file.
#[derive(Debug, Clone)]
pub struct LogFile(Arc<Mutex<Inner>>);

fn open(path: &Path) -> std::io::Result<(File, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    Ok((file, len))
}

impl LogFile {
    /// Opens (creating if needed) `path` for appending, rotated at
    /// `max_size` bytes when given.
    pub fn open(path: &Path, max_size: Option<u64>) -> std::io::Result<LogFile> {
        let (file, written) = open(path)?;
        Ok(LogFile(Arc::new(Mutex::new(Inner {
            path: path.to_owned(),
            file,
            written,
            max_size,
        }))))
    }

    /// Opens the path again; on failure the old file stays in use.
    pub fn reopen(&self) -> std::io::Result<()> {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, written) = open(&inner.path)?;
        inner.file = file;
        inner.written = written;
        Ok(())
    }
}

/// `agent.log.N`.
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl Inner {
    fn rotate(&mut self) -> std::io::Result<()> {
        for n in (1..KEEP).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))?;
        let (file, written) = open(&self.path)?;
        self.file = file;
        self.written = written;
        Ok(())
    }
}

impl Write for &LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(max) = inner.max_size {
            if inner.written > 0 && inner.written + buf.len() as u64 > max {
                // A failed rotation keeps writing to the current file.
                let _ = inner.rotate();
            }
        }
        inner.file.write_all(buf)?;
        inner.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFile {
    type Writer = &'a LogFile;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_the_size_keeping_three_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.log");
        let log = LogFile::open(&path, Some(100)).unwrap();
        for i in 0..20 {
            (&log)
                .write_all(format!("line {i:02} of forty bytes, more or less\n").as_bytes())
                .unwrap();
        }
        for n in 1..=KEEP {
            let len = std::fs::metadata(rotated(&path, n)).unwrap().len();
            assert!(len <= 100, "{n}: {len}");
        }
        assert!(!rotated(&path, KEEP + 1).exists());
        let live = std::fs::read_to_string(&path).unwrap();
        assert!(live.contains("line 19"), "{live}");
        // logrotate moves the file away; SIGHUP reopens at the path.
        std::fs::rename(&path, dir.path().join("moved")).unwrap();
        log.reopen().unwrap();
        (&log).write_all(b"after\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
    }
}
