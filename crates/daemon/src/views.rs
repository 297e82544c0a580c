//! How the client commands print what an agent answered: tables and lines
//! for people, JSON for programs.

use std::time::{Duration, UNIX_EPOCH};

use rumor_membership::EventRecord;
use rumor_wire::{AgentInfo, MemberInfo, MemberState, Metadata, NodeId, WhyAnswer};
use serde::Serialize;

use crate::cli_client::Status;

/// The state's name as `rumor members` prints it.
pub fn state_name(state: MemberState) -> &'static str {
    match state {
        MemberState::Alive => "alive",
        MemberState::Suspect => "suspected",
        MemberState::Failed => "failed",
        MemberState::Left => "left",
    }
}

/// The members whose state is one of `status` (all when empty), whose id
/// matches `name` (all when none), and that have every one of `tags`.
pub fn filter_members(
    members: Vec<MemberInfo>,
    status: &[Status],
    name: Option<&regex::Regex>,
    tags: &[(String, String)],
) -> Vec<MemberInfo> {
    let wanted = |state: MemberState| {
        status.is_empty()
            || status.iter().any(|s| {
                matches!(
                    (s, state),
                    (Status::Alive, MemberState::Alive)
                        | (Status::Suspected, MemberState::Suspect)
                        | (Status::Failed, MemberState::Failed)
                        | (Status::Left, MemberState::Left)
                )
            })
    };
    let tagged = |m: &Metadata| tags.iter().all(|(k, v)| m.get(k) == Some(v.as_str()));
    members
        .into_iter()
        .filter(|m| wanted(m.state) && name.is_none_or(|re| re.is_match(&m.node.to_string())))
        .filter(|m| tagged(&m.metadata))
        .collect()
}

/// A member's tags as `rumor members` and `rumor info` print them:
/// `key=value` pairs separated by commas, `-` for none.
pub fn tags_text(metadata: &Metadata) -> String {
    if metadata.is_empty() {
        "-".to_string()
    } else {
        metadata.to_string()
    }
}

#[derive(Serialize)]
struct MemberJson<'a> {
    node: String,
    state: &'static str,
    incarnation: u64,
    tags: &'a Metadata,
}

/// The member list as `rumor members --format json` prints it: an array of
/// `{"node", "state", "incarnation", "tags"}` objects, `tags` an object of
/// strings.
pub fn members_json(members: &[MemberInfo]) -> String {
    let rows: Vec<MemberJson> = members
        .iter()
        .map(|m| MemberJson {
            node: m.node.to_string(),
            state: state_name(m.state),
            incarnation: m.incarnation.0,
            tags: &m.metadata,
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
    let mut out = format!(
        "{:<width$}  {:<9}  {:<11}  {}\n",
        "NODE", "STATE", "INCARNATION", "TAGS"
    );
    for m in &members {
        let mark = if m.node == me { "  (this agent)" } else { "" };
        out.push_str(&format!(
            "{:<width$}  {:<9}  {:<11}  {}{mark}\n",
            m.node.to_string(),
            state_name(m.state),
            m.incarnation,
            tags_text(&m.metadata)
        ));
    }
    let alive = members
        .iter()
        .filter(|m| m.state == MemberState::Alive)
        .count();
    out.push_str(&format!("{} members, {alive} alive\n", members.len()));
    out
}

/// A Unix time in ms as RFC 3339 UTC with milliseconds.
pub fn time(ts_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ts_ms)).to_string()
}

/// One event as `rumor monitor` prints it for people.
pub fn event_line(r: &EventRecord) -> String {
    format!(
        "{}  {:<9}  {}  (incarnation {}, seen by {})",
        time(r.ts_ms),
        r.event,
        r.member,
        r.incarnation,
        r.observer
    )
}

#[derive(Serialize)]
struct InfoJson<'a> {
    node: String,
    version: &'a str,
    detector: &'a str,
    joined: bool,
    tags: &'a Metadata,
    counters: serde_json::Map<String, serde_json::Value>,
    config: &'a str,
}

/// `rumor info --format json`: one object; `counters` by name, `config` the
/// TOML text in force.
pub fn info_json(info: &AgentInfo) -> String {
    let counters = info
        .counters
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
        .collect();
    serde_json::to_string_pretty(&InfoJson {
        node: info.node.to_string(),
        version: &info.version,
        detector: &info.detector,
        joined: info.joined,
        tags: &info.metadata,
        counters,
        config: &info.config,
    })
    .expect("plain values serialize")
}

/// `rumor info` for people.
pub fn info_text(info: &AgentInfo) -> String {
    let mut out = format!(
        "node      {}\nversion   {}\ndetector  {}\njoined    {}\ntags      {}\n\ncounters:\n",
        info.node,
        info.version,
        info.detector,
        if info.joined { "yes" } else { "no" },
        tags_text(&info.metadata)
    );
    let width = info
        .counters
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    for (name, value) in &info.counters {
        out.push_str(&format!("  {name:<width$}  {value}\n"));
    }
    out.push_str("\nconfiguration in force:\n");
    for line in info.config.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// The first accuser a history names, in words.
pub fn first_accuser(answer: &WhyAnswer) -> Option<String> {
    let first = answer.steps.iter().find(|s| s.what == "suspected")?;
    Some(match first.by.as_deref() {
        Some("self") => {
            let probes = answer
                .steps
                .iter()
                .take_while(|s| s.what != "suspected")
                .filter(|s| s.what == "probe-unanswered")
                .count();
            if probes > 0 {
                format!(
                    "this agent ({}), after {probes} unanswered probe(s)",
                    answer.node
                )
            } else {
                format!("this agent ({}), its own detector", answer.node)
            }
        }
        Some(other) => format!("hearsay from {other}"),
        None => "unknown".to_string(),
    })
}

/// `rumor why` for people.
pub fn why_text(member: &str, answer: &WhyAnswer) -> String {
    let now = match &answer.member {
        Some(m) => format!(
            "{} {} at incarnation {}",
            m.node,
            state_name(m.state),
            m.incarnation
        ),
        None => format!("{member} not listed"),
    };
    let mut out = format!("{member} as {} saw it (now: {now})\n", answer.node);
    if answer.steps.is_empty() {
        out.push_str("no suspicion of it on record here\n");
        return out;
    }
    if let Some(accuser) = first_accuser(answer) {
        out.push_str(&format!("first accuser: {accuser}\n"));
    }
    let unanswered = answer
        .steps
        .iter()
        .filter(|s| s.what == "probe-unanswered")
        .count();
    out.push_str(&format!("unanswered probes: {unanswered}\n"));
    for step in &answer.steps {
        out.push_str(&format!(
            "{}  {:<16}  by {:<21}  incarnation {}  health {}  {}\n",
            time(step.ts_ms),
            step.what,
            step.by.as_deref().unwrap_or("-"),
            step.incarnation,
            step.local_health,
            step.detail
        ));
    }
    out
}

#[derive(Serialize)]
struct WhyJson<'a> {
    agent: String,
    member: &'a str,
    state: Option<&'static str>,
    incarnation: Option<u64>,
    first_accuser: Option<String>,
    steps: &'a [rumor_wire::WhyStep],
}

/// `rumor why --format json`.
pub fn why_json(member: &str, answer: &WhyAnswer) -> String {
    serde_json::to_string_pretty(&WhyJson {
        agent: answer.node.to_string(),
        member,
        state: answer.member.as_ref().map(|m| state_name(m.state)),
        incarnation: answer.member.as_ref().map(|m| m.incarnation.0),
        first_accuser: first_accuser(answer),
        steps: &answer.steps,
    })
    .expect("plain values serialize")
}
