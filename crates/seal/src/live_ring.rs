//! The keyring a sealer uses, with each key's ciphers ready.

use crate::key::KeyId;
use crate::key_ciphers::KeyCiphers;
use crate::keyring::Keyring;

/// A [`Keyring`] and, in the same order, each key's [`KeyCiphers`]:
/// rebuilt when the ring changes, so packets find their cipher ready.
#[derive(Debug)]
pub(crate) struct LiveRing {
    keyring: Keyring,
    // ciphers[i] belongs to keyring.keys()[i].
    ciphers: Vec<KeyCiphers>,
}

impl LiveRing {
    /// Builds every key's ciphers.
    pub fn new(keyring: Keyring) -> LiveRing {
        let ciphers = keyring.keys().iter().map(KeyCiphers::new).collect();
        LiveRing { keyring, ciphers }
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The primary key's ciphers: what sealing uses.
    pub fn primary(&self) -> &KeyCiphers {
        &self.ciphers[0]
    }

    /// The ciphers of the key with this id, if installed.
    pub fn get(&self, id: KeyId) -> Option<&KeyCiphers> {
        self.ciphers.iter().find(|c| c.id() == id)
    }

    /// Applies `change` to the keyring, then brings the ciphers in line:
    /// a key that stayed keeps its ciphers, a new one gets its own.
    pub fn change<R>(&mut self, change: impl FnOnce(&mut Keyring) -> R) -> R {
        let before = self.keyring.clone();
        let result = change(&mut self.keyring);
        if self.keyring != before {
            let mut old: Vec<Option<KeyCiphers>> = std::mem::take(&mut self.ciphers)
                .into_iter()
                .map(Some)
                .collect();
            self.ciphers = self
                .keyring
                .keys()
                .iter()
                .map(|key| {
                    before
                        .keys()
                        .iter()
                        .position(|k| k == key)
                        .and_then(|at| old[at].take())
                        .unwrap_or_else(|| KeyCiphers::new(key))
                })
                .collect();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KEY_LEN, Key};

    fn key(n: u8) -> Key {
        Key::from_bytes([n; KEY_LEN])
    }

    fn ids(ring: &LiveRing) -> Vec<KeyId> {
        ring.ciphers.iter().map(KeyCiphers::id).collect()
    }

    #[test]
    fn ciphers_follow_the_keyring() {
        let mut ring = LiveRing::new(Keyring::new(key(1)));
        assert_eq!(ring.primary().id(), key(1).id());
        assert!(ring.change(|k| k.install(key(2))).unwrap());
        assert!(ring.change(|k| k.use_key(&key(2))).unwrap());
        assert_eq!(ids(&ring), [key(2).id(), key(1).id()]);
        assert_eq!(ring.primary().id(), key(2).id());
        assert!(ring.get(key(1).id()).is_some());
        ring.change(|k| k.remove(&key(1))).unwrap();
        assert!(ring.get(key(1).id()).is_none());
        ring.change(|k| *k = Keyring::from_keys([key(3), key(2)]).unwrap());
        assert_eq!(ids(&ring), [key(3).id(), key(2).id()]);
        assert_eq!(ring.keyring().keys(), [key(3), key(2)]);
        // A refused change leaves both as they were.
        assert!(ring.change(|k| k.remove(&key(3))).is_err());
        assert_eq!(ids(&ring), [key(3).id(), key(2).id()]);
    }
}
