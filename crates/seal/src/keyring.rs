//! The ordered set of keys a node accepts, the first of which it seals with.

use crate::error::SealError;
use crate::key::{Key, KeyId};

/// Most keys a keyring holds: enough for any rotation in progress, few
/// enough that a wrong-key packet costs a short scan.
pub const MAX_KEYS: usize = 16;

/// An ordered set of distinct keys; the first, the *primary*, seals every
/// outgoing packet, and any of them opens incoming ones.
///
/// Rotation across a cluster: `install` the new key on every node, then
/// `use_key` it on every node, then `remove` the old one once no node seals
/// with it. Between the steps every node still opens what every other
/// node sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyring {
    // Never empty, at most MAX_KEYS, distinct keys with distinct ids.
    keys: Vec<Key>,
}

impl Keyring {
    /// A keyring holding one key, its primary.
    pub fn new(primary: Key) -> Keyring {
        Keyring {
            keys: vec![primary],
        }
    }

    /// A keyring of the given keys, the first being the primary.
    ///
    /// # Errors
    ///
    /// [`SealError::EmptyKeyring`], [`SealError::TooManyKeys`],
    /// [`SealError::DuplicateKey`] or [`SealError::KeyIdCollision`].
    pub fn from_keys(keys: impl IntoIterator<Item = Key>) -> Result<Keyring, SealError> {
        let mut keys = keys.into_iter();
        let mut ring = Keyring::new(keys.next().ok_or(SealError::EmptyKeyring)?);
        for key in keys {
            ring.push_distinct(key)?;
        }
        Ok(ring)
    }

    /// Adds `key` after the others, refusing a key already present.
    pub(crate) fn push_distinct(&mut self, key: Key) -> Result<(), SealError> {
        if self.contains(&key) {
            return Err(SealError::DuplicateKey(key.id()));
        }
        self.install(key).map(|_| ())
    }

    /// The key outgoing packets are sealed with.
    pub fn primary(&self) -> &Key {
        &self.keys[0]
    }

    /// Every key, primary first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Whether `key` is in the ring.
    pub fn contains(&self, key: &Key) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// The key with this id, if installed.
    pub fn get(&self, id: KeyId) -> Option<&Key> {
        self.keys.iter().find(|k| k.id() == id)
    }

    /// Adds `key` at the end of the ring, so it opens packets but does not
    /// yet seal them. Returns `false`, changing nothing, if it is already
    /// installed.
    ///
    /// # Errors
    ///
    /// [`SealError::TooManyKeys`] when the ring is full;
    /// [`SealError::KeyIdCollision`] when a different installed key has the
    /// same id (one chance in four billion per pair: generate another).
    pub fn install(&mut self, key: Key) -> Result<bool, SealError> {
        if self.contains(&key) {
            return Ok(false);
        }
        if self.get(key.id()).is_some() {
            return Err(SealError::KeyIdCollision(key.id()));
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(SealError::TooManyKeys);
        }
        self.keys.push(key);
        Ok(true)
    }

    /// Makes an installed key the primary; the former primary stays
    /// installed, second. Returns `false` if `key` already was the primary.
    ///
    /// # Errors
    ///
    /// [`SealError::NotInstalled`].
    pub fn use_key(&mut self, key: &Key) -> Result<bool, SealError> {
        let at = self.position(key)?;
        if at == 0 {
            return Ok(false);
        }
        let key = self.keys.remove(at);
        self.keys.insert(0, key);
        Ok(true)
    }

    /// Removes an installed key other than the primary.
    ///
    /// # Errors
    ///
    /// [`SealError::RemovePrimary`] or [`SealError::NotInstalled`].
    pub fn remove(&mut self, key: &Key) -> Result<(), SealError> {
        match self.position(key)? {
            0 => Err(SealError::RemovePrimary(key.id())),
            at => {
                self.keys.remove(at);
                Ok(())
            }
        }
    }

    /// Every key as base64, primary first.
    pub fn list(&self) -> Vec<String> {
        self.keys.iter().map(Key::to_base64).collect()
    }

    fn position(&self, key: &Key) -> Result<usize, SealError> {
        self.keys
            .iter()
            .position(|k| k == key)
            .ok_or(SealError::NotInstalled(key.id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KEY_LEN;

    fn key(n: u8) -> Key {
        Key::from_bytes([n; KEY_LEN])
    }

    #[test]
    fn install_use_remove() {
        let mut ring = Keyring::new(key(1));
        assert!(ring.install(key(2)).unwrap());
        assert!(!ring.install(key(2)).unwrap(), "second install is a no-op");
        assert_eq!(ring.keys(), &[key(1), key(2)]);

        assert!(ring.use_key(&key(2)).unwrap());
        assert!(!ring.use_key(&key(2)).unwrap());
        assert_eq!(ring.primary(), &key(2));
        assert_eq!(ring.list(), vec![key(2).to_base64(), key(1).to_base64()]);

        assert!(matches!(
            ring.remove(&key(2)),
            Err(SealError::RemovePrimary(_))
        ));
        ring.remove(&key(1)).unwrap();
        assert_eq!(ring.keys(), &[key(2)]);
        assert!(matches!(
            ring.remove(&key(1)),
            Err(SealError::NotInstalled(_))
        ));
        assert!(matches!(
            ring.use_key(&key(9)),
            Err(SealError::NotInstalled(_))
        ));
    }

    #[test]
    fn at_most_sixteen_keys() {
        let mut ring = Keyring::from_keys((0..16).map(key)).unwrap();
        assert!(matches!(ring.install(key(16)), Err(SealError::TooManyKeys)));
        assert!(
            !ring.install(key(3)).unwrap(),
            "a present key is still a no-op"
        );
        assert!(matches!(
            Keyring::from_keys((0..17).map(key)),
            Err(SealError::TooManyKeys)
        ));
    }

    #[test]
    fn from_keys_refuses_empty_and_duplicates() {
        assert!(matches!(
            Keyring::from_keys([]),
            Err(SealError::EmptyKeyring)
        ));
        assert!(matches!(
            Keyring::from_keys([key(1), key(2), key(1)]),
            Err(SealError::DuplicateKey(_))
        ));
    }

    #[test]
    fn lookup_by_id() {
        let ring = Keyring::from_keys([key(1), key(2)]).unwrap();
        assert_eq!(ring.get(key(2).id()), Some(&key(2)));
        assert_eq!(ring.get(key(3).id()), None);
    }
}
