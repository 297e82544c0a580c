//! The one error type of the membership crate.

/// What can go wrong setting up a membership core or decoding a detector's
/// message. Network input never panics: it is counted and dropped, and this
/// enum says why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MembershipError {
    /// No detector is registered under this name.
    #[error("unknown failure detector {name:?} (known: {known})")]
    UnknownDetector {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// A detector's own settings did not parse.
    #[error("bad settings for detector {detector}: {problem}")]
    DetectorSettings {
        /// The detector.
        detector: String,
        /// What is wrong.
        problem: String,
    },
    /// A configuration value outside its meaningful range.
    #[error("invalid configuration: {key} {problem}")]
    InvalidConfig {
        /// The TOML key.
        key: &'static str,
        /// What is wrong with its value.
        problem: &'static str,
    },
    /// A detector payload that does not decode.
    #[error("malformed {detector} payload: {reason}")]
    MalformedPayload {
        /// The detector whose payload it was.
        detector: String,
        /// What the decoder said.
        reason: String,
    },
    /// A detector payload that does not fit the datagram limit; not sent.
    #[error("{detector} payload of {size} bytes exceeds the {limit}-byte budget")]
    PayloadTooLarge {
        /// The detector that built it.
        detector: String,
        /// Its size.
        size: usize,
        /// The budget left by the datagram limit.
        limit: usize,
    },
}
