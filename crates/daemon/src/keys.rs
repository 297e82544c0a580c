//! Live key rotation: `rumor keys list|install|use|remove` through one
//! agent, applied by every live member.
//!
//! The agent asked applies the change to its own keyring, rewrites its
//! keyring file (so a restart keeps the current ring), then asks every
//! live member to do the same over sealed requests and reports how many
//! acknowledged, as serf's `keys` does. A rotation is three steps, each
//! safe on its own: `install` the new key everywhere (every member can
//! then open it), `use` it (each member seals with it; those not yet
//! switched still seal with a key everyone opens), `remove` the old one
//! (refused while it is any member's primary). No step makes a member
//! unreadable to another, so rotation causes no false positive.
//!
//! All of it runs on a thread of its own: the main thread only hands over
//! the member list and the connection to answer on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumor_seal::{Key, Sealer};
use rumor_transport::Reply;
use rumor_wire::{Control, Envelope, KeyOp, KeysAnswer, Message, NodeId};

/// Members asked at once during a fan-out.
const PARALLEL: usize = 16;
/// Time each member has to answer.
const MEMBER_TIMEOUT: Duration = Duration::from_secs(3);

/// Applies keyring changes; one fan-out at a time.
#[derive(Debug, Clone)]
pub struct KeyService {
    sealer: Option<Arc<Sealer>>,
    keyring_path: Option<PathBuf>,
    bind: SocketAddr,
    busy: Arc<AtomicBool>,
}

impl KeyService {
    /// Key operations on `sealer` (none: the cluster runs in the clear and
    /// every operation is refused), saving to `keyring_path`.
    pub fn new(
        sealer: Option<Arc<Sealer>>,
        keyring_path: Option<PathBuf>,
        bind: SocketAddr,
    ) -> KeyService {
        KeyService {
            sealer,
            keyring_path,
            bind,
            busy: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Serves one request: applies `op` here and, with `fan_out`, at every
    /// member of `members` (this node excluded), then answers on `reply`.
    /// Returns at once; the work runs on a thread of its own.
    pub fn serve(
        &self,
        me: NodeId,
        op: KeyOp,
        fan_out: bool,
        members: Vec<NodeId>,
        reply: Reply,
        outbox: &crate::outbox::Outbox,
    ) {
        let refuse = |why: String| Control::Error { reason: why };
        let Some(sealer) = self.sealer.clone() else {
            outbox.reply(
                reply,
                Message::Control(refuse(
                    "this cluster has no keyring: start the agents with --keyring".into(),
                )),
            );
            return;
        };
        if fan_out && self.busy.swap(true, Ordering::SeqCst) {
            outbox.reply(
                reply,
                Message::Control(refuse(
                    "another keys operation is under way on this agent".into(),
                )),
            );
            return;
        }
        let service = self.clone();
        let outbox = outbox.clone();
        let spawned = std::thread::Builder::new()
            .name("keys".into())
            .spawn(move || {
                if let (true, KeyOp::Remove(key)) = (fan_out, &op) {
                    // Refused for the whole cluster while any member still
                    // seals with the key: it would go unheard.
                    let listed = service.fan_out(&sealer, me, &KeyOp::List, &members, Ok(()));
                    let users = listed
                        .keys
                        .iter()
                        .find(|(k, _, _)| k == key)
                        .map_or(0, |(_, _, primaries)| *primaries);
                    if users > 0 || listed.acked < listed.asked {
                        service.busy.store(false, Ordering::SeqCst);
                        let why = if users > 0 {
                            format!("{users} member(s) still seal with that key: `rumor keys use` another key first")
                        } else {
                            format!(
                                "only {} of {} members answered the check that nobody seals with that key: not removed",
                                listed.acked, listed.asked
                            )
                        };
                        outbox.reply(reply, Message::Control(Control::Error { reason: why }));
                        return;
                    }
                }
                let local = service.apply(&sealer, &op);
                let answer = if fan_out {
                    let answer = service.fan_out(&sealer, me, &op, &members, local);
                    service.busy.store(false, Ordering::SeqCst);
                    answer
                } else {
                    own_answer(me, &sealer, local)
                };
                outbox.reply(reply, Message::Control(Control::KeysAnswer(answer)));
            });
        if let Err(e) = spawned {
            self.busy.store(false, Ordering::SeqCst);
            tracing::warn!("cannot start a keys operation: {e}");
        }
    }

    /// Applies `op` to this agent's ring and saves the file when it changed.
    fn apply(&self, sealer: &Sealer, op: &KeyOp) -> Result<(), String> {
        let parse = |text: &str| Key::from_base64(text).map_err(|e| e.to_string());
        let changed = match op {
            KeyOp::List => false,
            KeyOp::Install(key) => sealer.install(parse(key)?).map_err(|e| e.to_string())?,
            KeyOp::Use(key) => sealer.use_key(&parse(key)?).map_err(|e| e.to_string())?,
            KeyOp::Remove(key) => {
                sealer.remove(&parse(key)?).map_err(|e| e.to_string())?;
                true
            }
            other => return Err(format!("this agent cannot apply {other:?}")),
        };
        if changed {
            tracing::info!("keyring changed: {}", describe(op));
            if let Some(path) = &self.keyring_path {
                sealer
                    .keyring()
                    .save(path)
                    .map_err(|e| format!("applied, but {e}"))?;
            }
        }
        Ok(())
    }

    /// Asks every member to apply `op` and sums up their answers with this
    /// agent's own.
    fn fan_out(
        &self,
        sealer: &Arc<Sealer>,
        me: NodeId,
        op: &KeyOp,
        members: &[NodeId],
        local: Result<(), String>,
    ) -> KeysAnswer {
        let mut answers: Vec<Result<KeysAnswer, String>> = vec![Ok(own_answer(me, sealer, local))];
        let others: Vec<NodeId> = members.iter().copied().filter(|m| *m != me).collect();
        for chunk in others.chunks(PARALLEL) {
            let results: Vec<Result<KeysAnswer, String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|member| {
                        let sealer = Arc::clone(sealer);
                        let from = self.bind;
                        let request = Control::KeysRequest {
                            op: op.clone(),
                            fan_out: false,
                        };
                        scope.spawn(move || ask(*member, from, Message::Control(request), &sealer))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err("asking thread panicked".into()))
                    })
                    .collect()
            });
            answers.extend(results);
        }
        summarize(me, answers)
    }
}

/// This node's own answer: its keys, or why `op` failed here.
fn own_answer(me: NodeId, sealer: &Sealer, local: Result<(), String>) -> KeysAnswer {
    let ring = sealer.keyring();
    let primary = ring.primary().to_base64();
    let keys = ring
        .keys()
        .iter()
        .map(|k| {
            let text = k.to_base64();
            let is_primary = u32::from(text == primary);
            (text, 1, is_primary)
        })
        .collect();
    let (acked, errors) = match local {
        Ok(()) => (1, Vec::new()),
        Err(why) => (0, vec![format!("{me}: {why}")]),
    };
    KeysAnswer {
        node: me,
        asked: 1,
        acked,
        keys,
        errors,
    }
}

fn ask(
    member: NodeId,
    from: SocketAddr,
    request: Message,
    sealer: &Sealer,
) -> Result<KeysAnswer, String> {
    let envelope = Envelope::new(from, request);
    match rumor_transport::request(member.addr, &envelope, Some(sealer), MEMBER_TIMEOUT) {
        Ok(answer) => match answer.body {
            Message::Control(Control::KeysAnswer(a)) => Ok(a),
            Message::Control(Control::Error { reason }) => Err(format!("{member}: {reason}")),
            other => Err(format!("{member}: answered {}", other.kind())),
        },
        Err(e) => Err(format!("{member}: no answer ({e})")),
    }
}

/// Sums per-member answers: members asked and acknowledged, and per key
/// how many hold it and how many use it as primary.
fn summarize(me: NodeId, answers: Vec<Result<KeysAnswer, String>>) -> KeysAnswer {
    let mut keys: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut acked = 0;
    let asked = answers.len() as u32;
    for answer in answers {
        match answer {
            Ok(a) => {
                acked += a.acked;
                errors.extend(a.errors);
                for (key, holders, primaries) in a.keys {
                    let entry = keys.entry(key).or_default();
                    entry.0 += holders;
                    entry.1 += primaries;
                }
            }
            Err(why) => errors.push(why),
        }
    }
    KeysAnswer {
        node: me,
        asked,
        acked,
        keys: keys.into_iter().map(|(k, (h, p))| (k, h, p)).collect(),
        errors,
    }
}

/// The operation in words, without the key itself.
fn describe(op: &KeyOp) -> String {
    let id = |text: &str| {
        Key::from_base64(text)
            .map(|k| format!("key {}", k.id()))
            .unwrap_or_else(|_| "an unreadable key".into())
    };
    match op {
        KeyOp::List => "list".into(),
        KeyOp::Install(k) => format!("installed {}", id(k)),
        KeyOp::Use(k) => format!("now sealing with {}", id(k)),
        KeyOp::Remove(k) => format!("removed {}", id(k)),
        _ => "an operation this agent does not know".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(port: u16) -> NodeId {
        NodeId::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            rumor_wire::Version(1),
        )
    }

    #[test]
    fn summaries_count_acknowledgements_and_key_holders() {
        let a = KeysAnswer {
            node: node(1),
            asked: 1,
            acked: 1,
            keys: vec![("k1".into(), 1, 1), ("k2".into(), 1, 0)],
            errors: vec![],
        };
        let b = KeysAnswer {
            node: node(2),
            asked: 1,
            acked: 0,
            keys: vec![("k1".into(), 1, 1)],
            errors: vec!["node 2: key not installed".into()],
        };
        let sum = summarize(node(1), vec![Ok(a), Ok(b), Err("node 3: no answer".into())]);
        assert_eq!((sum.asked, sum.acked), (3, 1));
        assert_eq!(sum.keys, vec![("k1".into(), 2, 2), ("k2".into(), 1, 0)]);
        assert_eq!(sum.errors.len(), 2);
    }
}
