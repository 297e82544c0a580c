//! The driver's own counters.

/// Counters of the driver itself (the core, the queue, the TCP service and
/// the sealer keep their own).
#[derive(Debug, Default, Clone, Copy)]
pub struct DriverStats {
    /// Datagrams received (those dropped by `--drop-rate` not included).
    pub datagrams: u64,
    /// Datagrams dropped by `--drop-rate`.
    pub injected_drops: u64,
    /// Datagrams that did not decode (counted and dropped).
    pub malformed: u64,
    /// Datagrams of a kind not taken over UDP.
    pub wrong_kind: u64,
    /// Datagrams that did not open under the keyring (the sealer counts
    /// them per cause).
    pub unauthenticated: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Transmits that could not be encoded, sealed or sent.
    pub send_errors: u64,
    /// Bytes of datagrams received (as they arrived, sealed or not).
    pub bytes_in: u64,
    /// Bytes of datagrams sent.
    pub bytes_out: u64,
    /// Config files read again on SIGHUP and applied.
    pub reloads: u64,
    /// Config files read again on SIGHUP that did not check (not applied).
    pub reloads_failed: u64,
}
