//! One `Sealer` shared by sending and receiving threads while the keyring
//! rotates under them: every packet sealed under an installed key opens,
//! under each cipher.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use rumor_seal::{Cipher, DEFAULT_LABEL, Keyring, OpenError, Sealer, SealerConfig, generate_key};

const SENDERS: usize = 4;
const RECEIVERS: usize = 2;
const PER_SENDER: usize = 1500;
const ROTATIONS: usize = 10;
const NOW: u64 = 1_763_900_000_000;

#[test]
fn seal_and_open_from_many_threads_while_keys_rotate_xchacha20poly1305() {
    seal_and_open_from_many_threads_while_keys_rotate(Cipher::XChaCha20Poly1305);
}

#[test]
fn seal_and_open_from_many_threads_while_keys_rotate_aes256gcm() {
    seal_and_open_from_many_threads_while_keys_rotate(Cipher::Aes256Gcm);
}

fn seal_and_open_from_many_threads_while_keys_rotate(cipher: Cipher) {
    let first = generate_key().unwrap();
    let sealer = Arc::new(
        Sealer::new(
            Keyring::new(first.clone()),
            DEFAULT_LABEL,
            SealerConfig::default(),
        )
        .unwrap()
        .sealing_with(cipher),
    );
    let total = SENDERS * PER_SENDER;

    let (to_receivers, received) = mpsc::sync_channel::<(usize, usize, Vec<u8>)>(256);
    let received = Arc::new(shared_receiver::Shared::new(received));

    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let sealer = Arc::clone(&sealer);
            let received = Arc::clone(&received);
            thread::spawn(move || {
                let mut opened = Vec::new();
                let mut key_ids = HashSet::new();
                let mut plaintext = Vec::with_capacity(64);
                while let Some((sender, n, packet)) = received.recv() {
                    plaintext.clear();
                    let at = NOW + (n as u64 % 1000);
                    match sealer.open_into(&packet, &mut plaintext, at) {
                        Ok(()) => {}
                        Err(cause) => panic!("packet {sender}/{n} refused: {}", cause.name()),
                    }
                    assert_eq!(plaintext, payload(sender, n));
                    key_ids.insert(<[u8; 4]>::try_from(&packet[1..5]).unwrap());
                    opened.push((sender, n));
                }
                (opened, key_ids)
            })
        })
        .collect();

    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let sealer = Arc::clone(&sealer);
            let to_receivers = to_receivers.clone();
            thread::spawn(move || {
                for n in 0..PER_SENDER {
                    let mut packet = Vec::with_capacity(128);
                    sealer
                        .seal_into(&payload(sender, n), &mut packet, NOW + (n as u64 % 1000))
                        .unwrap();
                    to_receivers.send((sender, n, packet)).unwrap();
                }
            })
        })
        .collect();
    drop(to_receivers);

    // Rotate as sealing progresses, so packets travel under many keys and
    // some are sealed just before a rotation and opened just after it.
    let mut installed = vec![first];
    for step in 1..=ROTATIONS {
        while (sealer.stats().sealed as usize) < step * total / (ROTATIONS + 1) {
            thread::yield_now();
        }
        let next = generate_key().unwrap();
        assert!(sealer.install(next.clone()).unwrap());
        assert!(sealer.use_key(&next).unwrap());
        installed.push(next);
    }

    for sender in senders {
        sender.join().unwrap();
    }
    let mut all = HashSet::new();
    let mut key_ids = HashSet::new();
    for receiver in receivers {
        let (opened, ids) = receiver.join().unwrap();
        all.extend(opened);
        key_ids.extend(ids);
    }
    assert_eq!(all.len(), total, "every packet opened exactly once");
    assert!(
        key_ids.len() >= ROTATIONS / 2,
        "packets carried only {} keys",
        key_ids.len()
    );
    let stats = sealer.stats();
    assert_eq!(stats.sealed as usize, total);
    assert_eq!(stats.opened as usize, total);
    assert_eq!(stats.refused_total(), 0);

    // Retiring every old key: what they sealed is refused from now on.
    let mut under_newest = Vec::new();
    sealer.seal_into(b"newest", &mut under_newest, NOW).unwrap();
    let newest = installed.pop().unwrap();
    let mut under_first = Vec::new();
    sealer.use_key(&installed[0]).unwrap();
    sealer.seal_into(b"first", &mut under_first, NOW).unwrap();
    sealer.use_key(&newest).unwrap();
    for key in &installed {
        sealer.remove(key).unwrap();
    }
    let mut out = Vec::new();
    assert_eq!(
        sealer.open_into(&under_first, &mut out, NOW),
        Err(OpenError::WrongKey)
    );
    assert_eq!(sealer.open_into(&under_newest, &mut out, NOW), Ok(()));
    assert_eq!(sealer.keyring().keys(), std::slice::from_ref(&newest));
}

fn payload(sender: usize, n: usize) -> Vec<u8> {
    format!("sender {sender} packet {n} {}", "x".repeat(n % 40)).into_bytes()
}

/// A receiver shared by several threads: std's `Receiver` is not `Sync`.
mod shared_receiver {
    use std::sync::Mutex;
    use std::sync::mpsc::Receiver;

    pub struct Shared<T>(Mutex<Receiver<T>>);

    impl<T> Shared<T> {
        pub fn new(receiver: Receiver<T>) -> Shared<T> {
            Shared(Mutex::new(receiver))
        }

        pub fn recv(&self) -> Option<T> {
            self.0.lock().unwrap().recv().ok()
        }
    }
}
