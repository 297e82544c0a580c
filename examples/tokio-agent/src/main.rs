//! A complete rumor member in one async program: the sans-I/O core of
//! `rumor-membership` driven by tokio's UDP socket, TCP streams and timers.
//! It joins a cluster of `rumor agent`s with its tags (metadata), sends one
//! broadcast to every member once admitted, prints every membership event,
//! notice and broadcast, and leaves gracefully on Ctrl-C or SIGTERM.
//!
//! ```text
//! tokio-agent --bind 127.0.0.1:7100 --join 127.0.0.1:7000 [--tag role=web]… [--broadcast TEXT] [--detector gossip]
//! ```
//!
//! The whole contract with the core is five calls: `handle` what arrives,
//! `tick` at `poll_timeout`, send what `poll_transmit` hands out the way its
//! channel says (a datagram, or a request on a new TCP stream whose answer
//! goes back to `handle`), and print what `poll_event`, `poll_notice` and
//! `poll_broadcast` report. The cluster must speak in the clear (no
//! `--keyring`) and run the same detector.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rumor_membership::{
    Channel, Config, DetectorRegistry, DetectorSettings, Gossip, Membership, Metadata, NodeId,
    Version,
};
use rumor_wire::{DEFAULT_MAX_FRAME, Envelope, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};

/// How long a join request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a leaving member keeps sending its goodbyes.
const LINGER: Duration = Duration::from_millis(500);

struct Args {
    bind: SocketAddr,
    join: Vec<SocketAddr>,
    tags: Metadata,
    broadcast: Option<String>,
    detector: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bind: "127.0.0.1:7100".parse().expect("literal address"),
        join: Vec::new(),
        tags: Metadata::new(),
        broadcast: None,
        detector: "gossip".into(),
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or(format!("{flag} needs a value"));
        let addr = |v: String| v.parse().map_err(|_| format!("{flag}: not IP:PORT: {v}"));
        match flag.as_str() {
            "--bind" => args.bind = addr(value()?)?,
            "--join" => args.join.push(addr(value()?)?),
            "--tag" => {
                let tag = value()?;
                let pair = tag.split_once('=').ok_or("--tag takes KEY=VALUE")?;
                args.tags
                    .insert(pair.0, pair.1)
                    .map_err(|e| format!("--tag {tag}: {e}"))?;
            }
            "--broadcast" => args.broadcast = Some(value()?),
            "--detector" => args.detector = value()?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = async { run(parse_args()?).await }.await {
        eprintln!("tokio-agent: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let socket = UdpSocket::bind(args.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", args.bind))?;
    let config = Config::default();
    let limit = config.datagram_limit;
    let detector = DetectorRegistry::with_builtins()
        .create(&args.detector, &DetectorSettings::new(&config))
        .map_err(|e| e.to_string())?;
    let since_1970 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let unix_ms = since_1970.map_err(|e| e.to_string())?.as_millis() as u64;
    let me = NodeId::new(args.bind, Version(unix_ms));
    let epoch = Instant::now();
    let now = || epoch.elapsed();
    let mut core = Membership::builder(me, detector)
        .config(config)
        .seed(unix_ms)
        .metadata(args.tags)
        .start(now())
        .map_err(|e| e.to_string())?;
    let mut broadcast = args.broadcast;
    println!("started {me}");
    if !args.join.is_empty() {
        core.join(now(), args.join.clone());
    }

    // Request tasks bring back an answer, or who did not answer.
    let (answers_tx, mut answers) = mpsc::channel::<Result<(SocketAddr, Gossip), SocketAddr>>(16);
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let far = epoch + Duration::from_secs(100 * 365 * 24 * 3600);
    let mut leave_by: Option<Instant> = None;
    // Ctrl-C or SIGTERM: a graceful leave, then LINGER of goodbyes.
    let stop = async {
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = terminate.recv() => {} }
    };
    tokio::pin!(stop);
    let (mut inbound, mut outbound) = (vec![0u8; 65_536], Vec::new());
    loop {
        // Carry out what the core said, then wait for its next deadline.
        while let Some(t) = core.poll_transmit(&mut outbound) {
            match t.channel {
                Channel::Datagram => {
                    let _ = socket.send_to(&outbound[..t.len], t.to).await;
                }
                _ => {
                    let (frame, tx) = (outbound[..t.len].to_vec(), answers_tx.clone());
                    tokio::spawn(async move {
                        let answer = timeout(REQUEST_TIMEOUT, request(t.to, &frame)).await;
                        let answer = answer.ok().and_then(Result::ok).map(|m| (t.to, m));
                        let _ = tx.send(answer.ok_or(t.to)).await;
                    });
                }
            }
        }
        while let Some(event) = core.poll_event() {
            println!("{} {}", event.kind, event.member);
        }
        while let Some(notice) = core.poll_notice() {
            println!("notice: {notice}");
        }
        while let Some(b) = core.poll_broadcast() {
            let text = String::from_utf8_lossy(&b.payload);
            println!("broadcast from {}: {text}", b.origin);
        }
        // Once admitted, the broadcast goes out piggybacked on the gossip.
        if !core.is_joining()
            && let Some(text) = broadcast.take()
        {
            core.broadcast(now(), text).map_err(|e| e.to_string())?;
            continue;
        }
        if leave_by.is_some_and(|at| Instant::now() >= at) {
            println!("left");
            return Ok(());
        }
        let deadline = core.poll_timeout().map_or(far, |t| epoch + t);
        let deadline = leave_by.map_or(deadline, |at| deadline.min(at));
        tokio::select! {
            received = socket.recv_from(&mut inbound) => {
                let (len, _) = received.map_err(|e| e.to_string())?;
                // Anything but a well-formed gossip datagram is dropped.
                if let Ok(Envelope { from, body: Message::Gossip(message), .. }) =
                    rumor_wire::decode_datagram(&inbound[..len], limit)
                {
                    core.handle(now(), from, message);
                }
            }
            Some(answer) = answers.recv() => match answer {
                Ok((from, message)) => core.handle(now(), from, message),
                Err(to) => core.handle_unreachable(now(), to),
            },
            _ = sleep_until(deadline) => core.tick(now()),
            _ = &mut stop, if leave_by.is_none() => {
                println!("leaving");
                core.leave(now());
                leave_by = Some(Instant::now() + LINGER);
            }
        }
    }
}

/// One request on a new TCP stream: a 4-byte big-endian length and the
/// encoded envelope out, one frame back, checked against the frame limit
/// before anything is allocated for it.
async fn request(to: SocketAddr, envelope: &[u8]) -> io::Result<Gossip> {
    let mut stream = TcpStream::connect(to).await?;
    // The core encodes every request within the frame limit (32 bits).
    let len = (envelope.len() as u32).to_be_bytes();
    stream.write_all(&len).await?;
    stream.write_all(envelope).await?;
    let len = stream.read_u32().await? as usize;
    if len > DEFAULT_MAX_FRAME {
        let why = format!("a {len}-byte answer is over the frame limit");
        return Err(io::Error::other(why));
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    match rumor_wire::decode(&body).map_err(io::Error::other)?.body {
        Message::Gossip(message) => Ok(message),
        other => Err(io::Error::other(format!("a {} answer", other.kind()))),
    }
}
