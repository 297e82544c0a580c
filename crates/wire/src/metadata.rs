//! A member's metadata: a small map of text keys to text values that the
//! member sets and every other member learns (roles, zones, versions; what
//! memberlist calls node meta and serf calls tags).
//!
//! Bounded: the encoded map takes at most [`METADATA_LIMIT`] bytes, checked
//! on every insertion and, when decoding, before anything is allocated. The
//! encoding (all integers big-endian), keys in ascending byte order, each
//! key once:
//!
//! ```text
//! metadata : entry*
//! entry    : key length (1) · key (1..=255 bytes of UTF-8) · value length (2) · value (UTF-8)
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// The most bytes a member's metadata encodes to.
pub const METADATA_LIMIT: usize = 512;

/// The longest key, in bytes.
pub const METADATA_KEY_LIMIT: usize = 255;

/// Bytes one entry adds besides its key and value.
const ENTRY_OVERHEAD: usize = 1 + 2;

/// What is wrong with a metadata map, or with its encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The map would encode to more than [`METADATA_LIMIT`] bytes.
    #[error("metadata of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Its encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A key with no characters.
    #[error("a metadata key must not be empty")]
    EmptyKey,
    /// A key longer than [`METADATA_KEY_LIMIT`] bytes.
    #[error("metadata key of {len} bytes exceeds the {limit}-byte limit")]
    KeyTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes that are not an encoded map.
    #[error("malformed metadata: {0}")]
    Malformed(&'static str),
}

/// A member's metadata: text keys to text values, at most
/// [`METADATA_LIMIT`] bytes encoded. Cheap to clone (shared).
///
/// ```
/// use rumor_wire::Metadata;
///
/// let mut tags = Metadata::new();
/// tags.insert("role", "web").unwrap();
/// tags.insert("zone", "eu-1").unwrap();
/// assert_eq!(tags.get("role"), Some("web"));
/// assert_eq!(tags.encoded_len(), (3 + 4 + 3) + (3 + 4 + 4));
/// assert!(tags.insert("blob", "x".repeat(600)).is_err());
/// assert_eq!(tags.len(), 2, "a refused insertion changes nothing");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata {
    entries: Arc<BTreeMap<String, String>>,
}

impl Metadata {
    /// An empty map.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// A map of `pairs`, checked (a later pair replaces an earlier one with
    /// the same key).
    pub fn from_pairs<K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Metadata, MetadataError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut metadata = Metadata::new();
        for (key, value) in pairs {
            metadata.insert(key, value)?;
        }
        Ok(metadata)
    }

    /// Sets `key` to `value`, returning the value it replaces; refused,
    /// changing nothing, when the key is empty or too long, or when the map
    /// would exceed [`METADATA_LIMIT`] bytes.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Option<String>, MetadataError> {
        let (key, value) = (key.into(), value.into());
        check_key(&key)?;
        let replaced = self.entries.get(&key).map_or(0, |v| entry_len(&key, v));
        let size = self.encoded_len() - replaced + entry_len(&key, &value);
        if size > METADATA_LIMIT {
            return Err(MetadataError::TooLarge {
                size,
                limit: METADATA_LIMIT,
            });
        }
        Ok(Arc::make_mut(&mut self.entries).insert(key, value))
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        if !self.entries.contains_key(key) {
            return None;
        }
        Arc::make_mut(&mut self.entries).remove(key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Every entry, keys in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes the map encodes to (at most [`METADATA_LIMIT`]).
    pub fn encoded_len(&self) -> usize {
        self.entries.iter().map(|(k, v)| entry_len(k, v)).sum()
    }

    /// Appends the encoding to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        for (key, value) in self.entries.iter() {
            // Both lengths were checked on insertion.
            out.push(key.len() as u8);
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
    }

    /// Decodes a map from exactly `bytes`, refusing more than
    /// [`METADATA_LIMIT`] bytes before reading any.
    pub fn decode(mut bytes: &[u8]) -> Result<Metadata, MetadataError> {
        if bytes.len() > METADATA_LIMIT {
            return Err(MetadataError::TooLarge {
                size: bytes.len(),
                limit: METADATA_LIMIT,
            });
        }
        let mut entries = BTreeMap::new();
        let mut last: Option<&str> = None;
        while let Some((&key_len, rest)) = bytes.split_first() {
            let key_len = usize::from(key_len);
            let (key, rest) = rest
                .split_at_checked(key_len)
                .ok_or(MetadataError::Malformed("truncated key"))?;
            let (value_len, rest) = rest
                .split_first_chunk::<2>()
                .ok_or(MetadataError::Malformed("truncated value length"))?;
            let (value, rest) = rest
                .split_at_checked(usize::from(u16::from_be_bytes(*value_len)))
                .ok_or(MetadataError::Malformed("truncated value"))?;
            let key =
                std::str::from_utf8(key).map_err(|_| MetadataError::Malformed("key not UTF-8"))?;
            let value = std::str::from_utf8(value)
                .map_err(|_| MetadataError::Malformed("value not UTF-8"))?;
            check_key(key)?;
            if last.is_some_and(|last| last >= key) {
                return Err(MetadataError::Malformed("keys out of order or repeated"));
            }
            last = Some(key);
            entries.insert(key.to_string(), value.to_string());
            bytes = rest;
        }
        Ok(Metadata {
            entries: Arc::new(entries),
        })
    }
}

fn entry_len(key: &str, value: &str) -> usize {
    ENTRY_OVERHEAD + key.len() + value.len()
}

fn check_key(key: &str) -> Result<(), MetadataError> {
    if key.is_empty() {
        return Err(MetadataError::EmptyKey);
    }
    if key.len() > METADATA_KEY_LIMIT {
        return Err(MetadataError::KeyTooLong {
            len: key.len(),
            limit: METADATA_KEY_LIMIT,
        });
    }
    Ok(())
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

/// `key=value` pairs separated by commas, keys in ascending order (empty
/// for no metadata).
impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }
}

/// A map of strings in human-readable formats (JSON), the compact encoding
/// as one `bin` in binary ones (MessagePack).
impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        if ser.is_human_readable() {
            let mut map = ser.serialize_map(Some(self.len()))?;
            for (key, value) in self.iter() {
                map.serialize_entry(key, value)?;
            }
            return map.end();
        }
        let mut bytes = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut bytes);
        ser.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Metadata, D::Error> {
        struct MetadataVisitor;
        impl<'de> Visitor<'de> for MetadataVisitor {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("member metadata")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Metadata, E> {
                Metadata::decode(bytes).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
                let mut metadata = Metadata::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    metadata.insert(key, value).map_err(de::Error::custom)?;
                }
                Ok(metadata)
            }
        }
        if de.is_human_readable() {
            de.deserialize_map(MetadataVisitor)
        } else {
            de.deserialize_bytes(MetadataVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(metadata: &Metadata) -> Vec<u8> {
        let mut out = Vec::new();
        metadata.encode_into(&mut out);
        out
    }

    #[test]
    fn round_trips_and_keeps_keys_in_order() {
        let tags = Metadata::from_pairs([("zone", "eu-1"), ("role", "web"), ("é", "")]).unwrap();
        let bytes = encode(&tags);
        assert_eq!(bytes.len(), tags.encoded_len());
        assert_eq!(&bytes[..5], &[4, b'r', b'o', b'l', b'e']);
        assert_eq!(Metadata::decode(&bytes).unwrap(), tags);
        assert_eq!(tags.to_string(), "role=web,zone=eu-1,é=");
        let json = serde_json::to_string(&tags).unwrap();
        assert_eq!(json, r#"{"role":"web","zone":"eu-1","é":""}"#);
        assert_eq!(serde_json::from_str::<Metadata>(&json).unwrap(), tags);
        let packed = rmp_serde::to_vec(&tags).unwrap();
        assert_eq!(rmp_serde::from_slice::<Metadata>(&packed).unwrap(), tags);
    }

    #[test]
    fn the_limit_holds_on_insertion_and_on_decoding() {
        let mut tags = Metadata::new();
        tags.insert("k", "v".repeat(METADATA_LIMIT - 4)).unwrap();
        assert_eq!(tags.encoded_len(), METADATA_LIMIT);
        let err = tags.insert("x", "").unwrap_err();
        assert_eq!(
            err,
            MetadataError::TooLarge {
                size: METADATA_LIMIT + 4,
                limit: METADATA_LIMIT
            }
        );
        // Replacing a value counts the new one only.
        tags.insert("k", "w".repeat(METADATA_LIMIT - 4)).unwrap();
        assert_eq!(tags.insert("", "v"), Err(MetadataError::EmptyKey));
        assert!(matches!(
            tags.insert("k".repeat(256), ""),
            Err(MetadataError::KeyTooLong { len: 256, .. })
        ));
        let over = vec![0u8; METADATA_LIMIT + 1];
        assert!(matches!(
            Metadata::decode(&over),
            Err(MetadataError::TooLarge { size: 513, .. })
        ));
    }

    #[test]
    fn malformed_encodings_are_refused() {
        let cases: [&[u8]; 6] = [
            &[3, b'a', b'b'],                // truncated key
            &[1, b'a', 0],                   // truncated value length
            &[1, b'a', 0, 5, b'x'],          // truncated value
            &[0, 0, 0],                      // empty key
            &[1, 0xff, 0, 0],                // key not UTF-8
            &[1, b'b', 0, 0, 1, b'a', 0, 0], // out of order
        ];
        for bytes in cases {
            assert!(Metadata::decode(bytes).is_err(), "{bytes:?}");
        }
        assert!(
            Metadata::decode(&[1, b'a', 0, 0, 1, b'a', 0, 0]).is_err(),
            "repeated"
        );
        assert_eq!(Metadata::decode(&[]).unwrap(), Metadata::new());
    }
}
