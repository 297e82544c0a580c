//! The requests of `rumor members`, `leave`, `info`, `join`,
//! `force-leave`, `why`, `broadcast` and `monitor` to a running agent: each on a
//! connection of its own, whose answers come back on that same connection
//! (so they work through a tunnel, a forwarder or NAT), sealed under the
//! cluster's keyring when it has one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rumor_seal::{Keyring, Sealer, SealerConfig};
use rumor_wire::{AgentInfo, Control, Envelope, MemberInfo, Message, NodeId, WhyAnswer};

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

/// Asks `agent` for its version, configuration and counters.
pub fn query_info(
    agent: SocketAddr,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<AgentInfo, DaemonError> {
    match ask(agent, Control::InfoQuery.into(), sealer, timeout)? {
        Message::Control(Control::Info(info)) => Ok(info),
        other => Err(unexpected(agent, &other)),
    }
}

/// Sends a command that is answered with [`Control::Done`]; returns what
/// the agent says it did.
pub fn command(
    agent: SocketAddr,
    command: Control,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<String, DaemonError> {
    match ask(agent, command.into(), sealer, timeout)? {
        Message::Control(Control::Done { message, .. }) => Ok(message),
        other => Err(unexpected(agent, &other)),
    }
}

/// Asks `agent` for the history of `member`.
pub fn query_why(
    agent: SocketAddr,
    member: &str,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<WhyAnswer, DaemonError> {
    let query = Control::WhyQuery {
        member: member.to_string(),
    };
    match ask(agent, query.into(), sealer, timeout)? {
        Message::Control(Control::Why(answer)) => Ok(answer),
        other => Err(unexpected(agent, &other)),
    }
}

/// The refusal or surprise an answer stands for, in one line.
pub fn unexpected(agent: SocketAddr, answer: &Message) -> DaemonError {
    DaemonError::Agent {
        agent,
        why: match answer {
            Message::Control(Control::Error { reason }) => format!("refused: {reason}"),
            other => format!("unexpected {} answer", other.kind()),
        },
    }
}
