//! `rumor members` and `rumor leave`: one request to a running agent, whose
//! answer comes back on the same connection (so it works through a tunnel
//! or NAT), sealed under the cluster's keyring when it has one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rumor_seal::{Keyring, Sealer, SealerConfig};
use rumor_wire::{Control, Envelope, MemberInfo, MemberState, Message, NodeId};
use serde::Serialize;

use crate::DaemonError;
use crate::cli::ClientKeys;

/// The sealer of a client command: from `--keyring` (or `RUMOR_KEYRING`),
/// none for a cluster in the clear.
pub fn client_sealer(keys: &ClientKeys) -> Result<Option<Arc<Sealer>>, DaemonError> {
    let Some(path) = &keys.keyring else {
        return Ok(None);
    };
    let keyring = Keyring::load(path).map_err(|e| DaemonError::Usage(e.to_string()))?;
    let sealer = Sealer::new(keyring, &keys.cluster_label, SealerConfig::default())
        .map_err(|e| DaemonError::Usage(format!("bad --cluster-label: {e}")))?;
    Ok(Some(Arc::new(sealer)))
}

/// Asks `agent` for its member list: who answered, and every member it knows.
pub fn query_members(
    agent: SocketAddr,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<(NodeId, Vec<MemberInfo>), DaemonError> {
    match ask(
        agent,
        Message::Control(Control::MemberQuery),
        sealer,
        timeout,
    )? {
        Message::Control(Control::MemberList { node, members }) => Ok((node, members)),
        other => Err(unexpected(agent, &other)),
    }
}

/// Asks `agent` to leave the cluster gracefully; returns the agent's id.
pub fn request_leave(
    agent: SocketAddr,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<NodeId, DaemonError> {
    match ask(
        agent,
        Message::Control(Control::LeaveCommand),
        sealer,
        timeout,
    )? {
        Message::Control(Control::MemberList { node, .. }) => Ok(node),
        other => Err(unexpected(agent, &other)),
    }
}

/// One request, one answer on the same connection.
pub fn ask(
    agent: SocketAddr,
    message: Message,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<Message, DaemonError> {
    // A client has no listening address; the envelope names the agent's
    // own, which answers go nowhere near (they use the connection).
    let envelope = Envelope::new(agent, message);
    rumor_transport::request(agent, &envelope, sealer, timeout)
        .map(|envelope| envelope.body)
        .map_err(|e| DaemonError::Agent {
            agent,
            why: match sealer {
                None => format!("no answer ({e}); is an agent running there, and is the cluster keyed (--keyring)?"),
                Some(_) => format!("no answer ({e}); is an agent running there, with this keyring and cluster label?"),
            },
        })
}

fn unexpected(agent: SocketAddr, answer: &Message) -> DaemonError {
    DaemonError::Agent {
        agent,
        why: match answer {
            Message::Control(Control::Error { reason }) => format!("refused: {reason}"),
            other => format!("unexpected {} answer", other.kind()),
        },
    }
}

/// The state's name as `rumor members` prints it.
pub fn state_name(state: MemberState) -> &'static str {
    match state {
        MemberState::Alive => "alive",
        MemberState::Suspect => "suspected",
        MemberState::Failed => "failed",
        MemberState::Left => "left",
    }
}

#[derive(Serialize)]
struct MemberJson {
    node: String,
    state: &'static str,
    incarnation: u64,
}

/// The member list as `rumor members --json` prints it: an array of
/// `{"node", "state", "incarnation"}` objects.
pub fn members_json(members: &[MemberInfo]) -> String {
    let rows: Vec<MemberJson> = members
        .iter()
        .map(|m| MemberJson {
            node: m.node.to_string(),
            state: state_name(m.state),
            incarnation: m.incarnation.0,
        })
        .collect();
    serde_json::to_string_pretty(&rows).expect("a Vec of plain structs always serializes")
}

/// The member list as `rumor members` prints it: a table, the answering agent marked.
pub fn members_table(me: NodeId, members: &[MemberInfo]) -> String {
    let mut members = members.to_vec();
    members.sort_by_key(|m| m.node);
    let width = members
        .iter()
        .map(|m| m.node.to_string().len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!("{:<width$}  {:<9}  {}\n", "NODE", "STATE", "INCARNATION");
    for m in &members {
        let mark = if m.node == me { "  (this agent)" } else { "" };
        out.push_str(&format!(
            "{:<width$}  {:<9}  {}{mark}\n",
            m.node.to_string(),
            state_name(m.state),
            m.incarnation
        ));
    }
    let alive = members
        .iter()
        .filter(|m| m.state == MemberState::Alive)
        .count();
    out.push_str(&format!("{} members, {alive} alive\n", members.len()));
    out
}
