//! The keyring file: one base64 key per line, primary first, readable by
//! its owner alone, rewritten atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::SealError;
use crate::key::Key;
use crate::keyring::Keyring;

/// Largest keyring file [`Keyring::load`] reads. Sixteen keys with
/// comments fit many times over; anything bigger is the wrong file.
pub const MAX_FILE_LEN: u64 = 64 * 1024;

/// Distinguishes the temporary files of concurrent saves in one process.
static SAVE_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Keyring {
    /// Parses keyring text: one base64 key per line, the first being the
    /// primary; blank lines and lines starting with `#` are ignored.
    ///
    /// # Errors
    ///
    /// A [`SealError::Line`] naming the first bad line (not base64, wrong
    /// length, a duplicate, a 17th key), or [`SealError::EmptyKeyring`].
    pub fn parse(text: &str) -> Result<Keyring, SealError> {
        let mut ring: Option<Keyring> = None;
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = Key::from_base64(line).map_err(|e| e.at_line(line_no))?;
            match &mut ring {
                None => ring = Some(Keyring::new(key)),
                Some(ring) => ring.push_distinct(key).map_err(|e| e.at_line(line_no))?,
            }
        }
        ring.ok_or(SealError::EmptyKeyring)
    }

    /// The keyring as file text, which [`Keyring::parse`] reads back.
    pub fn to_text(&self) -> String {
        let mut text =
            String::from("# rumor keyring: one base64 key per line; the first is the primary.\n");
        for key in self.keys() {
            text.push_str(&key.to_base64());
            text.push('\n');
        }
        text
    }

    /// Reads a keyring file.
    ///
    /// The file must be a regular file of at most [`MAX_FILE_LEN`] bytes
    /// whose permissions give nothing to group or others: a key anyone on
    /// the host can read protects nothing.
    ///
    /// # Errors
    ///
    /// One-line errors naming the path: [`SealError::Read`] (missing,
    /// unreadable), [`SealError::NotAFile`], [`SealError::InsecureMode`]
    /// (with the `chmod 600` fix), [`SealError::FileTooLarge`], or
    /// [`SealError::InFile`] around a parse error.
    pub fn load(path: impl AsRef<Path>) -> Result<Keyring, SealError> {
        let path = path.as_ref();
        let read_error = |source: io::Error| SealError::Read {
            path: path.to_owned(),
            source,
        };
        // Checked before opening so a FIFO or device is never opened, and
        // again on the open handle so the checks apply to what is read.
        let before = fs::metadata(path).map_err(read_error)?;
        check_metadata(path, &before)?;
        let file = File::open(path).map_err(read_error)?;
        let metadata = file.metadata().map_err(read_error)?;
        check_metadata(path, &metadata)?;

        let mut bytes = Vec::new();
        file.take(MAX_FILE_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_FILE_LEN {
            return Err(SealError::FileTooLarge {
                path: path.to_owned(),
                len: bytes.len() as u64,
            });
        }
        let in_file = |problem: SealError| SealError::InFile {
            path: path.to_owned(),
            problem: Box::new(problem),
        };
        let text = String::from_utf8(bytes).map_err(|_| in_file(SealError::NotText))?;
        Keyring::parse(&text).map_err(in_file)
    }

    /// Writes the keyring to `path` atomically: a temporary file in the
    /// same directory, created with mode 0600, is written, synced and
    /// renamed over `path`, and the directory is synced. A crash leaves
    /// either the old file or the new one, never a torn one, so an agent
    /// can rewrite its keyring on every change and restart with the
    /// current ring.
    ///
    /// # Errors
    ///
    /// [`SealError::Write`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), SealError> {
        let path = path.as_ref();
        let write_error = |source: io::Error| SealError::Write {
            path: path.to_owned(),
            source,
        };
        let name = path.file_name().ok_or_else(|| {
            write_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names no file",
            ))
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temporary = dir.join(format!(
            ".{}.tmp-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            SAVE_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(self.to_text().as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, path)
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(write_error(error));
        }
        // The rename is durable only once the directory entry is.
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(write_error)
    }
}

fn check_metadata(path: &Path, metadata: &fs::Metadata) -> Result<(), SealError> {
    if !metadata.is_file() {
        return Err(SealError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SealError::InsecureMode {
            path: path.to_owned(),
            mode,
        });
    }
    if metadata.len() > MAX_FILE_LEN {
        return Err(SealError::FileTooLarge {
            path: path.to_owned(),
            len: metadata.len(),
        });
    }
    Ok(())
}
