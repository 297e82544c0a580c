//! The client commands that ask a running agent: `members`, `monitor`,
//! `info`, `join`, `force-leave`, `why` and `broadcast`. Each request goes
//! on a connection of its own and is answered on it; every failure is one
//! line.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumor_wire::{Control, Envelope, MemberState, Message, MonitorRequest};

use crate::DaemonError;
use crate::cli_client::{
    AgentTarget, BroadcastArgs, ForceLeaveArgs, Format, InfoArgs, JoinArgs, MembersArgs,
    MonitorArgs, WhyArgs,
};
use crate::control::{self, client_sealer};
use crate::views;

/// Event kinds `--kind` takes.
const KINDS: [&str; 6] = ["joined", "suspected", "alive", "failed", "left", "removed"];

fn say(text: String) -> Result<(), DaemonError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| DaemonError::io("cannot write to standard output", e))
}

/// `rumor members`.
pub fn members(args: &MembersArgs) -> Result<(), DaemonError> {
    let name =
        match &args.name {
            Some(text) => Some(regex::Regex::new(text).map_err(|e| {
                DaemonError::Usage(format!("bad --name {text:?}: {}", one_line(&e)))
            })?),
            None => None,
        };
    let t = &args.target;
    let sealer = client_sealer(&t.keys)?;
    let (me, members) = control::query_members(t.agent, sealer.as_deref(), t.timeout)?;
    let members = views::filter_members(members, &args.status, name.as_ref(), &args.tag);
    if args.json || args.format == Format::Json {
        say(format!("{}\n", views::members_json(&members)))
    } else {
        say(views::members_table(me, &members))
    }
}

/// `rumor info`.
pub fn info(args: &InfoArgs) -> Result<(), DaemonError> {
    let t = &args.target;
    let sealer = client_sealer(&t.keys)?;
    let info = control::query_info(t.agent, sealer.as_deref(), t.timeout)?;
    match args.format {
        Format::Json => say(format!("{}\n", views::info_json(&info))),
        Format::Table => say(views::info_text(&info)),
    }
}

/// `rumor why`.
pub fn why(args: &WhyArgs) -> Result<(), DaemonError> {
    let t = &args.target;
    let sealer = client_sealer(&t.keys)?;
    let answer = control::query_why(t.agent, &args.member, sealer.as_deref(), t.timeout)?;
    match args.format {
        Format::Json => say(format!("{}\n", views::why_json(&args.member, &answer))),
        Format::Table => say(views::why_text(&args.member, &answer)),
    }
}

/// `rumor force-leave`.
pub fn force_leave(args: &ForceLeaveArgs) -> Result<(), DaemonError> {
    let t = &args.target;
    let sealer = client_sealer(&t.keys)?;
    let request = Control::ForceLeave {
        member: args.node.clone(),
    };
    let message = control::command(t.agent, request, sealer.as_deref(), t.timeout)?;
    done(args.format, t, &message, None)
}

/// `rumor broadcast`: asks the agent to send TEXT to every member.
pub fn broadcast(args: &BroadcastArgs) -> Result<(), DaemonError> {
    let payload = args.text.as_bytes().to_vec();
    let limit = rumor_wire::BROADCAST_LIMIT;
    if payload.len() > limit {
        return Err(DaemonError::Usage(format!(
            "the broadcast is {} bytes, over the {limit}-byte limit",
            payload.len()
        )));
    }
    let t = &args.target;
    let sealer = client_sealer(&t.keys)?;
    let request = Control::Broadcast { payload };
    let message = control::command(t.agent, request, sealer.as_deref(), t.timeout)?;
    done(args.format, t, &message, None)
}

/// `rumor join`: asks the agent to merge with the cluster at the
/// addresses, then waits until one of them is listed alive there.
pub fn join(args: &JoinArgs) -> Result<(), DaemonError> {
    let t = &args.target;
    let mut addrs = Vec::new();
    for name in &args.addrs {
        let found = crate::resolve::resolve(name)
            .map_err(|why| DaemonError::Usage(format!("bad address {name:?}: {why}")))?;
        addrs.extend(found);
    }
    let sealer = client_sealer(&t.keys)?;
    let request = Control::JoinCommand {
        addrs: addrs.clone(),
    };
    let message = control::command(t.agent, request, sealer.as_deref(), t.timeout)?;
    let deadline = Instant::now() + args.wait;
    loop {
        let (_, members) = control::query_members(t.agent, sealer.as_deref(), t.timeout)?;
        let merged = members
            .iter()
            .any(|m| addrs.contains(&m.node.addr) && m.state == MemberState::Alive);
        if merged {
            let alive = members
                .iter()
                .filter(|m| m.state == MemberState::Alive)
                .count();
            let summary = format!("merged: {alive} members alive");
            return done(args.format, t, &message, Some(summary));
        }
        if Instant::now() >= deadline {
            return Err(DaemonError::Agent {
                agent: t.agent,
                why: format!(
                    "{message}, but none of them is listed alive after {:?}",
                    args.wait
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn done(
    format: Format,
    t: &AgentTarget,
    message: &str,
    summary: Option<String>,
) -> Result<(), DaemonError> {
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "agent": t.agent.to_string(),
                "done": message,
                "summary": summary,
            });
            say(format!("{value}\n"))
        }
        Format::Table => match summary {
            Some(summary) => say(format!("{message}; {summary}\n")),
            None => say(format!("{message}\n")),
        },
    }
}

/// `--since`: a duration back from now, or a time; Unix ms.
fn since_ms(text: &str) -> Result<u64, DaemonError> {
    let now = SystemTime::now();
    let at = match humantime::parse_duration(text) {
        Ok(back) => now.checked_sub(back).unwrap_or(UNIX_EPOCH),
        Err(_) => humantime::parse_rfc3339_weak(text).map_err(|_| {
            DaemonError::Usage(format!(
                "bad --since {text:?}: expected a duration (10m) or a time (2026-11-26T02:00:00Z)"
            ))
        })?,
    };
    Ok(at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64))
}

/// `rumor monitor`: prints events as the agent streams them, until
/// `--count` events or the agent closes the stream.
pub fn monitor(args: &MonitorArgs) -> Result<(), DaemonError> {
    for kind in &args.kind {
        if !KINDS.contains(&kind.as_str()) {
            return Err(DaemonError::Usage(format!(
                "bad --kind {kind:?}: expected one of {}",
                KINDS.join(", ")
            )));
        }
    }
    let since_ms = args.since.as_deref().map(since_ms).transpose()?;
    let t = &args.target;
    let sealer = client_sealer(&t.keys)?;
    let mut monitor = MonitorRequest::default();
    monitor.kinds = args.kind.clone();
    monitor.members = args.member.clone();
    monitor.since_ms = since_ms;
    let request = Control::Monitor(monitor);
    let no_answer = |e: rumor_transport::TransportError| DaemonError::Agent {
        agent: t.agent,
        why: format!(
            "no answer ({e}); is an agent running there, and is the cluster keyed (--keyring)?"
        ),
    };
    let envelope = Envelope::new(t.agent, request);
    let mut exchange =
        rumor_transport::Exchange::open(t.agent, &envelope, sealer.as_deref(), t.timeout)
            .map_err(no_answer)?;
    // The agent sends an empty frame every few seconds: silence for much
    // longer means it is gone.
    let silence = crate::monitor::KEEPALIVE * 3 + t.timeout;
    let mut printed = 0u64;
    loop {
        if args.count.is_some_and(|n| printed >= n) {
            return Ok(());
        }
        let frame = exchange.next(Instant::now() + silence).map_err(no_answer)?;
        let Some(frame) = frame else {
            return Err(DaemonError::Agent {
                agent: t.agent,
                why: "the agent closed the stream".into(),
            });
        };
        let records = match frame.body {
            Message::Control(Control::Events(records)) => records,
            other => return Err(control::unexpected(t.agent, &other)),
        };
        let mut text = String::new();
        for record in records {
            if args.count.is_some_and(|n| printed >= n) {
                break;
            }
            printed += 1;
            match args.format {
                Format::Json => text.push_str(&record.to_json_line()),
                Format::Table => text.push_str(&views::event_line(&record)),
            }
            text.push('\n');
        }
        say(text)?;
    }
}

fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
