//! Why a received packet did not open.

/// Why a received packet did not open, in the order the checks run.
///
/// Each cause has a stable snake_case [`name`](OpenError::name) for stats
/// output, and a counter in [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Shorter than its cipher's [overhead](crate::Cipher::overhead) (45
    /// bytes at the least): not a sealed packet.
    #[error("truncated: shorter than the sealing overhead")]
    Truncated,
    /// The format byte names no [`Cipher`](crate::Cipher) this build
    /// knows.
    #[error("unknown sealing format version")]
    UnknownVersion,
    /// Sealed for another cluster label.
    #[error("sealed for another cluster label")]
    OtherCluster,
    /// Sealed with a key whose id matches no key in the keyring.
    #[error("sealed with a key that is not in the keyring")]
    WrongKey,
    /// The sender's timestamp is further from our clock than the window.
    #[error("timestamp outside the replay window")]
    Stale,
    /// The authentication tag does not verify: forged, corrupted, or
    /// sealed under a different label or key with a colliding id.
    #[error("authentication tag does not verify")]
    BadTag,
    /// A nonce already accepted within the window: a replayed packet.
    #[error("replayed: nonce already accepted within the window")]
    Replayed,
    /// The replay cache's current generation is full; refused until it
    /// rotates, since accepting without remembering would allow replays.
    #[error("replay cache full: refused until the cache rotates")]
    ReplayCacheFull,
}

impl OpenError {
    /// Every cause, in the order the checks run.
    pub const ALL: [OpenError; 8] = [
        OpenError::Truncated,
        OpenError::UnknownVersion,
        OpenError::OtherCluster,
        OpenError::WrongKey,
        OpenError::Stale,
        OpenError::BadTag,
        OpenError::Replayed,
        OpenError::ReplayCacheFull,
    ];

    /// The cause's stable snake_case name, e.g. `bad_tag`.
    pub fn name(self) -> &'static str {
        match self {
            OpenError::Truncated => "truncated",
            OpenError::UnknownVersion => "unknown_version",
            OpenError::OtherCluster => "other_cluster",
            OpenError::WrongKey => "wrong_key",
            OpenError::Stale => "stale",
            OpenError::BadTag => "bad_tag",
            OpenError::Replayed => "replayed",
            OpenError::ReplayCacheFull => "replay_cache_full",
        }
    }

    /// Position in [`OpenError::ALL`], used to index counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
