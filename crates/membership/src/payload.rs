//! Encoding and decoding of detector payloads (MessagePack via rmp-serde),
//! shared by the built-in detectors and available to plugins.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MembershipError;

/// Encodes a detector message.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail; an empty payload would
    // simply be refused by the receiver's decoder.
    rmp_serde::to_vec(message).unwrap_or_default()
}

/// Decodes a detector message from untrusted bytes, never panicking.
pub fn decode<T: DeserializeOwned>(detector: &str, bytes: &[u8]) -> Result<T, MembershipError> {
    rmp_serde::from_slice(bytes).map_err(|e| MembershipError::MalformedPayload {
        detector: detector.to_string(),
        reason: e.to_string(),
    })
}
