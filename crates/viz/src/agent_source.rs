//! Fetching every member's event log from a running cluster, through dgrep.
//!
//! Asks one agent for its member list (`MemberQuery`), then asks every live
//! member, each on a connection of its own, for the fixed string `event`
//! with line numbers ([`rumor_dgrep::client::fan_out`]), and keeps the lines
//! that come from files named `events.jsonl`. Each member answers on the
//! connection it was asked on (`DgrepChunk` frames, then one `DgrepDone`),
//! sealed under the cluster's keyring when it has one.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumor_dgrep::DgrepError;
use rumor_dgrep::client::{Reply, fan_out, live_members};
use rumor_seal::Sealer;
use rumor_wire::{DgrepRequest, GrepFlags, NodeId};

use crate::input::EVENTS_FILE;
use crate::{LoadedEvents, VizError};

/// What a fetch brought back.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The events, merged by time, with malformed lines noted per member and file.
    pub loaded: LoadedEvents,
    /// Members that answered completely.
    pub answered: Vec<NodeId>,
    /// Members that could not be asked, or did not finish before the timeout, and why.
    pub missing: Vec<(NodeId, String)>,
}

/// The fixed string asked for: every line of an event log contains it.
pub const EVENT_PATTERN: &str = "event";

type LinesByFile = BTreeMap<(NodeId, String), Vec<(u64, Vec<u8>)>>;

/// Fetches the event logs of every live member known to `agent`, waiting at
/// most `timeout` in all, from a cluster in the clear.
pub fn fetch_events(agent: SocketAddr, timeout: Duration) -> Result<Fetched, VizError> {
    fetch_events_sealed(agent, None, timeout)
}

/// As [`fetch_events`], every request sealed and every answer opened under
/// `sealer` when the cluster is keyed.
pub fn fetch_events_sealed(
    agent: SocketAddr,
    sealer: Option<&Sealer>,
    timeout: Duration,
) -> Result<Fetched, VizError> {
    let deadline = Instant::now() + timeout;
    let agent_error = |e: DgrepError| VizError::Agent {
        agent,
        why: match e {
            DgrepError::MemberList { why, .. } => why,
            other => other.to_string(),
        },
    };
    let members = live_members(agent, sealer, timeout).map_err(agent_error)?;
    // One question per address, whatever the list says.
    let mut addresses = HashSet::new();
    let targets: Vec<NodeId> = members
        .into_iter()
        .filter(|node| addresses.insert(node.addr))
        .collect();

    let query = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut flags = GrepFlags::default();
    flags.fixed_strings = true;
    flags.line_number = true;
    let request = DgrepRequest {
        query,
        patterns: vec![EVENT_PATTERN.to_string()],
        flags,
    };
    let mut lines = LinesByFile::new();
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let outcome = fan_out(&targets, &request, sealer, left, &mut |reply| {
        if let Reply::Lines(chunk) = reply {
            for line in chunk.lines() {
                if Path::new(line.file)
                    .file_name()
                    .is_some_and(|f| f == EVENTS_FILE)
                {
                    let number = line.line_number.unwrap_or(0);
                    lines
                        .entry((chunk.node(), line.file.to_owned()))
                        .or_default()
                        .push((number, line.text.to_vec()));
                }
            }
        }
        Ok(())
    })
    .map_err(agent_error)?;

    let mut fetched = Fetched::default();
    for done in outcome.answered {
        match done.error {
            Some(why) => fetched
                .missing
                .push((done.node, format!("search failed: {why}"))),
            None => fetched.answered.push(done.node),
        }
    }
    for (node, why) in outcome.unreachable {
        fetched.missing.push((node, format!("not asked: {why}")));
    }
    for (node, why) in outcome.broken {
        fetched
            .missing
            .push((node, format!("answer cut short: {why}")));
    }
    for node in outcome.missing {
        fetched
            .missing
            .push((node, "no complete answer before the timeout".into()));
    }
    for ((node, file), numbered) in &lines {
        let source = format!("{node}:{file}");
        fetched.loaded.add_log(
            &source,
            numbered.iter().map(|(n, text)| (*n, text.as_slice())),
        );
    }
    fetched.loaded.merge_by_time();
    fetched.answered.sort();
    fetched.missing.sort_by_key(|(node, _)| *node);
    Ok(fetched)
}
