//! `rumor keys`: the operator's side of live key rotation.

use rumor_seal::{Key, Keyring};
use rumor_wire::{Control, KeyOp, KeysAnswer, Message};

use crate::DaemonError;
use crate::cli::{KeysAction, KeysArgs};
use crate::control::{ask, client_sealer};

/// Runs `rumor keys`: asks the agent, prints the outcome, and (for a
/// change every member acknowledged) applies it to the operator's own
/// keyring file too, so the next command still seals with a key the
/// cluster opens. Fails unless every member acknowledged.
pub fn run(args: &KeysArgs) -> Result<(), DaemonError> {
    let Some(path) = args.keys.keyring.clone() else {
        return Err(DaemonError::Usage(
            "rumor keys needs the cluster's keyring: --keyring FILE (or RUMOR_KEYRING)".into(),
        ));
    };
    let op = match &args.action {
        KeysAction::List => KeyOp::List,
        KeysAction::Install { key } => KeyOp::Install(checked(key)?),
        KeysAction::Use { key } => KeyOp::Use(checked(key)?),
        KeysAction::Remove { key } => KeyOp::Remove(checked(key)?),
    };
    let sealer = client_sealer(&args.keys)?;
    let request = Control::KeysRequest {
        op: op.clone(),
        fan_out: true,
    };
    let answer = match ask(
        args.agent,
        Message::Control(request),
        sealer.as_deref(),
        args.timeout,
    )? {
        Message::Control(Control::KeysAnswer(answer)) => answer,
        Message::Control(Control::Error { reason }) => {
            return Err(DaemonError::Agent {
                agent: args.agent,
                why: format!("refused: {reason}"),
            });
        }
        other => {
            return Err(DaemonError::Agent {
                agent: args.agent,
                why: format!("unexpected {} answer", other.kind()),
            });
        }
    };
    print!("{}", report(&op, &answer));
    if answer.acked < answer.asked {
        return Err(DaemonError::Agent {
            agent: args.agent,
            why: format!(
                "only {} of {} members acknowledged",
                answer.acked, answer.asked
            ),
        });
    }
    if op != KeyOp::List {
        update_own_keyring(&path, &op)?;
    }
    Ok(())
}

fn checked(text: &str) -> Result<String, DaemonError> {
    Key::from_base64(text.trim())
        .map(|k| k.to_base64())
        .map_err(|e| DaemonError::Usage(format!("bad key {text:?}: {e}")))
}

/// What `rumor keys` prints.
pub fn report(op: &KeyOp, answer: &KeysAnswer) -> String {
    let what = match op {
        KeyOp::List => "list",
        KeyOp::Install(_) => "install",
        KeyOp::Use(_) => "use",
        KeyOp::Remove(_) => "remove",
        _ => "keys",
    };
    let mut out = format!(
        "{what}: {} of {} members acknowledged (through {})\n",
        answer.acked, answer.asked, answer.node
    );
    for (key, holders, primaries) in &answer.keys {
        out.push_str(&format!(
            "  {key}  held by {holders}/{asked}, primary at {primaries}/{asked}\n",
            asked = answer.asked
        ));
    }
    for error in &answer.errors {
        out.push_str(&format!("  error: {error}\n"));
    }
    out
}

/// Applies `op` to the operator's own keyring file.
fn update_own_keyring(path: &std::path::Path, op: &KeyOp) -> Result<(), DaemonError> {
    let usage = |e: rumor_seal::SealError| DaemonError::Usage(e.to_string());
    let mut ring = Keyring::load(path).map_err(usage)?;
    let key = |text: &String| Key::from_base64(text).map_err(usage);
    match op {
        KeyOp::List => return Ok(()),
        KeyOp::Install(k) => {
            ring.install(key(k)?).map_err(usage)?;
        }
        KeyOp::Use(k) => {
            let k = key(k)?;
            ring.install(k.clone()).map_err(usage)?;
            ring.use_key(&k).map_err(usage)?;
        }
        KeyOp::Remove(k) => {
            let k = key(k)?;
            if ring.contains(&k) {
                ring.remove(&k).map_err(usage)?;
            }
        }
        other => {
            return Err(DaemonError::Usage(format!(
                "this build cannot apply {other:?} to a keyring file"
            )));
        }
    }
    ring.save(path).map_err(usage)?;
    println!("{} updated to match", path.display());
    Ok(())
}
