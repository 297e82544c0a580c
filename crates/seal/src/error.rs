//! Errors of keys, keyrings, keyring files and sealing.

use std::io;
use std::path::PathBuf;

use crate::key::{KEY_LEN, KeyId};
use crate::keyring::MAX_KEYS;
use crate::keyring_file::MAX_FILE_LEN;
use crate::packet::MAX_LABEL_LEN;

/// What went wrong with a key, a keyring, a keyring file or sealing.
///
/// Every message is one line. File errors name the file; errors inside a
/// file name the line (`line 3: ...`). Failures to open a received packet
/// are not here: they are [`OpenError`](crate::OpenError), counted per
/// cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Key text that is not standard, padded base64.
    #[error("bad key: not base64 ({detail})")]
    BadBase64 {
        /// What the decoder objected to.
        detail: String,
    },
    /// Base64 that decodes to something other than 32 bytes.
    #[error("bad key: expected {KEY_LEN} bytes, got {got}")]
    WrongKeyLength {
        /// How many bytes the text decoded to.
        got: usize,
    },
    /// A keyring would hold more than [`MAX_KEYS`] keys.
    #[error("a keyring holds at most {MAX_KEYS} keys")]
    TooManyKeys,
    /// A keyring with no key at all.
    #[error("no keys: a keyring needs at least one")]
    EmptyKeyring,
    /// The same key listed twice where keys must be distinct.
    #[error("key {0} is listed twice")]
    DuplicateKey(KeyId),
    /// Two different keys whose ids coincide: packets could not say which
    /// one sealed them.
    #[error("key id {0} is already taken by another installed key; generate another key")]
    KeyIdCollision(KeyId),
    /// `use` or `remove` of a key that is not in the keyring.
    #[error("key {0} is not installed")]
    NotInstalled(KeyId),
    /// Removing the key every packet is sealed with.
    #[error("key {0} is the primary; make another key primary before removing it")]
    RemovePrimary(KeyId),
    /// A cluster label longer than [`MAX_LABEL_LEN`] bytes.
    #[error("cluster label is {len} bytes; at most {MAX_LABEL_LEN} are allowed")]
    LabelTooLong {
        /// The label's length in bytes.
        len: usize,
    },
    /// A problem on one line of keyring text (1-based line number).
    #[error("line {line}: {problem}")]
    Line {
        /// The line, counting from 1.
        line: usize,
        /// What is wrong with it.
        problem: Box<SealError>,
    },
    /// A problem with the contents of a keyring file.
    #[error("keyring {}: {problem}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        problem: Box<SealError>,
    },
    /// A keyring file that could not be opened or read.
    #[error("keyring {}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A keyring file that group or others may access.
    #[error(
        "keyring {}: mode {mode:04o} gives group or others access to the keys; run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecureMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A keyring file larger than [`MAX_FILE_LEN`] bytes.
    #[error("keyring {}: {len} bytes; a keyring file is at most {MAX_FILE_LEN} bytes", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        len: u64,
    },
    /// A keyring path that names a directory, a device or the like.
    #[error("keyring {}: not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Keyring text that is not UTF-8.
    #[error("not UTF-8 text")]
    NotText,
    /// A keyring file that could not be written.
    #[error("keyring {}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The operating system gave no random bytes for a key or for a
    /// sealer's nonces.
    #[error("no randomness from the operating system: {detail}")]
    Random {
        /// The operating system's error.
        detail: String,
    },
    /// A plaintext longer than the cipher can seal (AES-256-GCM: 64 GiB,
    /// XChaCha20-Poly1305: 256 GiB), or a recipient name longer than
    /// [`MAX_RECIPIENT_LEN`](crate::MAX_RECIPIENT_LEN).
    #[error("plaintext of {len} bytes is too long to seal")]
    TooLong {
        /// The plaintext's length in bytes.
        len: usize,
    },
    /// Sealing in place, a buffer with no room for the header before the
    /// plaintext.
    #[error("no room for the {need}-byte header: {len} bytes from the start")]
    NoHeaderRoom {
        /// Bytes from the packet's start to the end of the buffer.
        len: usize,
        /// The header's length.
        need: usize,
    },
}

impl SealError {
    pub(crate) fn at_line(self, line: usize) -> SealError {
        SealError::Line {
            line,
            problem: Box::new(self),
        }
    }

    pub(crate) fn random(error: getrandom::Error) -> SealError {
        SealError::Random {
            detail: error.to_string(),
        }
    }
}
