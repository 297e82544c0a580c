//! The client's keys. A keyed cluster (agents started with `--keyring`)
//! seals every request and every answer under its keyring and drops
//! whatever is not sealed, so dgrep must hold the same keyring to ask it
//! anything; a cluster in the clear is asked in the clear.

use std::io;
use std::path::Path;

use rumor_seal::{Keyring, Sealer, SealerConfig};
use rumor_transport::TransportError;

use crate::DgrepError;

/// The sealer for `keyring` (a file of base64 keys, as `rumor keygen` makes,
/// readable by its owner only) and the cluster's `label`; `None` without a
/// keyring, for a cluster in the clear.
pub fn client_sealer(keyring: Option<&Path>, label: &str) -> Result<Option<Sealer>, DgrepError> {
    let Some(path) = keyring else {
        return Ok(None);
    };
    let keyring = Keyring::load(path).map_err(|e| DgrepError::Keyring(e.to_string()))?;
    let sealer = Sealer::new(keyring, label, SealerConfig::default())
        .map_err(|e| DgrepError::Keyring(format!("bad --cluster-label: {e}")))?;
    Ok(Some(sealer))
}

/// `e`, with what most likely caused it when an agent closed the connection
/// without a word: a keyed agent drops unsealed requests (and an agent in the
/// clear, or of another keyring or label, drops sealed ones it cannot open).
pub(crate) fn explain(e: &TransportError, sealed: bool) -> String {
    let silent = match e {
        TransportError::NoAnswer { .. } => true,
        TransportError::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
        ),
        TransportError::Unsealed { .. } => sealed,
        _ => false,
    };
    match (silent, sealed) {
        (false, _) => e.to_string(),
        (true, false) => format!("{e}; is the cluster keyed? give --keyring"),
        (true, true) => {
            format!("{e}; is the cluster keyed with this --keyring and --cluster-label?")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_close_suggests_the_keyring() {
        let peer = "127.0.0.1:3000".parse().unwrap();
        let closed = TransportError::NoAnswer { peer };
        assert!(explain(&closed, false).ends_with("is the cluster keyed? give --keyring"));
        assert!(explain(&closed, true).contains("this --keyring and --cluster-label"));
        let refused = TransportError::Io(io::ErrorKind::ConnectionRefused.into());
        assert!(!explain(&refused, false).contains("keyring"));
    }

    #[test]
    fn a_keyring_file_gives_a_sealer_and_a_bad_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring");
        assert!(client_sealer(None, "x").unwrap().is_none());
        Keyring::new(rumor_seal::generate_key().unwrap())
            .save(&path)
            .unwrap();
        let sealer = client_sealer(Some(&path), "prod").unwrap().unwrap();
        assert_eq!(sealer.label(), "prod");
        assert!(matches!(
            client_sealer(Some(&dir.path().join("none")), "x"),
            Err(DgrepError::Keyring(_))
        ));
        assert!(matches!(
            client_sealer(Some(&path), &"l".repeat(200)),
            Err(DgrepError::Keyring(_))
        ));
    }
}
