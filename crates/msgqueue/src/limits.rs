//! How much one queue may hold before it drops datagrams.

/// The bounds of one queue, applied to the back buffer (what producers have
/// queued since the consumer's last swap).
///
/// A datagram that would take the queue past either bound is dropped and
/// counted; the datagrams already queued are kept (the newest one loses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most payload bytes queued at once (source addresses not counted).
    pub max_bytes: usize,
    /// The most datagrams queued at once.
    pub max_messages: usize,
}

impl Limits {
    /// At most `max_bytes` payload bytes and `max_messages` datagrams.
    pub const fn new(max_bytes: usize, max_messages: usize) -> Limits {
        Limits {
            max_bytes,
            max_messages,
        }
    }

    /// The default byte bound: 4 MiB, about 3,000 full-size datagrams.
    pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
    /// The default message bound.
    pub const DEFAULT_MAX_MESSAGES: usize = 16_384;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: Limits::DEFAULT_MAX_BYTES,
            max_messages: Limits::DEFAULT_MAX_MESSAGES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_four_mebibytes_and_16384_messages() {
        let limits = Limits::default();
        assert_eq!(limits.max_bytes, 4 * 1024 * 1024);
        assert_eq!(limits.max_messages, 16_384);
    }
}
