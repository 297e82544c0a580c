//! `dgrep`: grep the logs of every live member of a rumor cluster.

mod args;

use std::io::{self, BufWriter};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use args::{Args, Plan};
use clap::Parser;
use rumor_dgrep::client::{Flow, fan_out_with, live_members_tagged};
use rumor_dgrep::output::{Mode, Output};
use rumor_dgrep::report::{Printer, Status};
use rumor_dgrep::time_order::TimeOrder;
use rumor_dgrep::{DgrepError, client_sealer};
use rumor_wire::DgrepRequest;

fn main() -> ExitCode {
    let args = Args::parse();
    match args.plan().and_then(run) {
        Ok(status) => ExitCode::from(status.code()),
        Err(message) => {
            eprintln!("dgrep: {message}");
            ExitCode::from(Status::Error.code())
        }
    }
}

/// Asks the members and prints their answers; the patterns were checked
/// already, so nothing invalid is ever sent.
fn run(plan: Plan) -> Result<Status, String> {
    let sealer =
        client_sealer(plan.keyring.as_deref(), &plan.cluster_label).map_err(|e| e.to_string())?;
    let live = live_members_tagged(plan.agent, sealer.as_ref(), plan.timeout)
        .map_err(|e| e.to_string())?;
    let (members, unmatched) = match &plan.members {
        Some(filter) => filter.select(&live),
        None => (live.into_iter().map(|(m, _)| m).collect(), Vec::new()),
    };
    if plan.messages.problems {
        for name in &unmatched {
            eprintln!("dgrep: --members {name}: no live member matches");
        }
    }
    let request = DgrepRequest {
        query: query_id(),
        patterns: plan.patterns,
        flags: plan.flags,
    };
    let quiet = plan.output.mode == Mode::Quiet;
    let output = Output::new(
        BufWriter::with_capacity(64 << 10, io::stdout().lock()),
        plan.output,
        plan.matcher,
    );
    // Buffered: the summary is many small writes; progress draws flush.
    let stderr = BufWriter::new(io::stderr().lock());
    let mut printer = Printer::new(output, stderr, plan.messages, members.len());
    if plan.by_time {
        printer.sort_by_time(TimeOrder::new(&members));
    }
    let outcome = fan_out_with(
        &members,
        &request,
        sealer.as_ref(),
        plan.timeout,
        &mut |reply| {
            printer.reply(reply)?;
            // grep -q stops at the first selected line.
            Ok(if quiet && printer.selected() > 0 {
                Flow::Stop
            } else {
                Flow::Continue
            })
        },
    );
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // stdout closed early (dgrep ... | head): stop quietly, as grep does.
        Err(DgrepError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(Status::Selected);
        }
        Err(e) => return Err(e.to_string()),
    };
    if quiet && printer.selected() > 0 {
        return Ok(Status::Selected);
    }
    let status = match printer.finish(&outcome) {
        Ok(status) => status,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Status::Selected),
        Err(e) => return Err(e.to_string()),
    };
    // A --members name that selects no live member: that part is missing.
    Ok(match status {
        Status::Selected | Status::NoneSelected if !unmatched.is_empty() => Status::Partial,
        other => other,
    })
}

/// A query id unlikely to collide with another client's: time and process.
fn query_id() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 40)
}
