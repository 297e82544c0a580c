use std::net::SocketAddr;

use rumor_wire::{Gossip, Version};

use super::*;
use crate::{Accuser, Clue, Membership, Outbound, Verdict};

fn id(port: u16) -> NodeId {
    NodeId::new(SocketAddr::from(([127, 0, 0, 1], port)), Version(1))
}

fn swim_core() -> Membership {
    let config = Config::default();
    Membership::new(id(1), config.clone(), Swim::boxed(&config), 3, Time::ZERO)
        .expect("a valid configuration")
}

fn send(core: &mut Membership, now: Time, from: NodeId, message: &SwimMessage) {
    core.handle(
        now,
        from.addr,
        Gossip::Detector {
            detector: NAME.to_string(),
            sender: from,
            payload: payload::encode(message),
            updates: Vec::new(),
            extras: Default::default(),
        },
    );
}

/// The member on `port`, alive at its first incarnation.
fn member(port: u16) -> rumor_wire::MemberUpdate {
    rumor_wire::MemberUpdate {
        node: id(port),
        state: rumor_wire::MemberState::Alive,
        incarnation: rumor_wire::Incarnation(0),
    }
}

/// Hands `core` a join answer from `id(2)` listing the members on
/// `ports`, all alive.
fn join(core: &mut Membership, ports: std::ops::Range<u16>) {
    let members = ports.map(member).collect();
    crate::membership::admit(core, Time::ZERO, id(2), members);
}

fn swim_transmits(core: &mut Membership) -> Vec<(SocketAddr, SwimMessage)> {
    std::iter::from_fn(|| core.poll_message())
        .filter_map(|Outbound { to, message, .. }| match message {
            Gossip::Detector { payload, .. } => {
                Some((to, payload::decode::<SwimMessage>(NAME, &payload).unwrap()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_ping_is_acked_with_its_sequence_number() {
    let mut core = swim_core();
    let ping = SwimMessage::Ping { seq: 41 };
    send(&mut core, Time::ZERO, id(2), &ping);
    let sent = swim_transmits(&mut core);
    assert!(
        matches!(sent.as_slice(), [(to, SwimMessage::Ack { seq: 41, .. })] if *to == id(2).addr)
    );
}

#[test]
fn a_ping_req_is_relayed_and_answered_with_ack_or_nack() {
    let mut core = swim_core();
    let request = SwimMessage::PingReq {
        seq: 7,
        target: id(3),
    };
    send(&mut core, Time::ZERO, id(2), &request);
    let sent = swim_transmits(&mut core);
    let [(to, SwimMessage::Ping { seq: relay_seq, .. })] = sent.as_slice() else {
        panic!("expected one relayed ping, got {sent:?}");
    };
    assert_eq!(*to, id(3).addr);
    // The target answers: the ack goes back to the origin with its seq.
    let ack = SwimMessage::Ack { seq: *relay_seq };
    send(&mut core, Time::from_millis(2), id(3), &ack);
    let sent = swim_transmits(&mut core);
    assert!(
        matches!(sent.as_slice(), [(to, SwimMessage::Ack { seq: 7, .. })] if *to == id(2).addr)
    );

    // A second request whose target never answers gets a nack.
    let request = SwimMessage::PingReq {
        seq: 8,
        target: id(4),
    };
    send(&mut core, Time::from_millis(10), id(2), &request);
    swim_transmits(&mut core);
    core.tick(Time::from_millis(10) + Config::default().probe_timeout);
    let nacks: Vec<_> = swim_transmits(&mut core)
        .into_iter()
        .filter(|(_, m)| matches!(m, SwimMessage::Nack { seq: 8, .. }))
        .collect();
    assert_eq!(nacks.len(), 1);
    assert_eq!(nacks[0].0, id(2).addr);
}

#[test]
fn an_unanswered_probe_goes_indirect_then_suspects() {
    let mut core = swim_core();
    let config = Config::default();
    join(&mut core, 2..7);
    // Run periods, answering nothing, until some member is suspected.
    let mut now = Time::ZERO;
    let mut saw_ping_req = false;
    let mut suspected = None;
    while now < Duration::from_secs(2) && suspected.is_none() {
        now += Duration::from_millis(5);
        core.tick(now);
        saw_ping_req |= swim_transmits(&mut core)
            .iter()
            .any(|(_, m)| matches!(m, SwimMessage::PingReq { .. }));
        suspected = std::iter::from_fn(|| core.poll_event())
            .find(|e| e.kind == crate::EventKind::Suspected)
            .map(|e| e.at);
    }
    assert!(saw_ping_req, "no indirect probe before suspecting");
    let at = suspected.expect("an unanswered probe leads to a suspicion");
    assert!(
        at <= config.probe_interval * 2 + Duration::from_millis(5),
        "{at:?}"
    );
}

#[test]
fn a_member_learned_mid_round_is_probed_within_the_round() {
    let mut core = swim_core();
    join(&mut core, 2..42);
    let newcomer = id(100);
    let mut now = Time::ZERO;
    let mut probes = 0;
    let mut newcomer_probe = None;
    while now < Duration::from_secs(10) && newcomer_probe.is_none() {
        now += Duration::from_millis(5);
        core.tick(now);
        for (to, message) in swim_transmits(&mut core) {
            if let SwimMessage::Ping { seq, .. } = message {
                probes += 1;
                if to == newcomer.addr {
                    newcomer_probe = Some(probes);
                }
                // Every member answers at once.
                let ack = SwimMessage::Ack { seq };
                send(&mut core, now, NodeId::new(to, Version(1)), &ack);
            }
        }
        if probes == 3 && !core.members().iter().any(|m| m.node == newcomer) {
            // Three probes into the first round of 40: one more member.
            tell(&mut core, now, member(100));
        }
    }
    let at = newcomer_probe.expect("the newcomer is probed");
    // The first round is probes 1..=40; the newcomer is due at a step of
    // its rest, so by probe 41 at the latest.
    assert!(at <= 41, "first probed as probe {at}, in the next round");
}

fn tell(core: &mut Membership, now: Time, update: rumor_wire::MemberUpdate) {
    core.handle(
        now,
        id(2).addr,
        Gossip::Updates {
            sender: id(2),
            updates: vec![update],
            extras: Default::default(),
        },
    );
}

#[test]
fn an_unanswered_probe_is_counted_and_explains_the_suspicion_and_the_verdict() {
    let mut core = swim_core();
    join(&mut core, 2..7);
    // Answer nothing until a member is declared failed.
    let mut now = Time::ZERO;
    let mut failed = None;
    while now < Duration::from_secs(5) && failed.is_none() {
        now += Duration::from_millis(5);
        core.tick(now);
        swim_transmits(&mut core);
        failed = std::iter::from_fn(|| core.poll_event())
            .find(|e| e.kind == crate::EventKind::Failed)
            .map(|e| e.member);
    }
    let member = failed.expect("an unanswered member is declared failed");
    let stats = core.stats();
    assert!(stats.probes >= 2, "{stats:?}");
    assert!(stats.indirect_probes >= 3, "every probe asked helpers");
    assert!(stats.suspicions >= 1);
    // Helpers that never nack count against this node's own health.
    assert!(core.local_health() > 0);

    let history = core.history(&member);
    let clues: Vec<Clue> = history.iter().map(|t| t.clue).collect();
    let accused = clues
        .iter()
        .position(|c| {
            *c == Clue::Suspected {
                accuser: Accuser::OwnDetector,
            }
        })
        .expect("accused by this node's own detector");
    assert!(
        matches!(
            clues[accused - 1],
            Clue::ProbeUnanswered { direct, indirect, nacks: 0 } if direct >= 2 && indirect >= 1
        ),
        "the unanswered probe comes first: {clues:?}"
    );
    let timeout = Config::default().t_suspect;
    let verdict = Clue::Failed {
        verdict: Verdict::SuspicionTimer { timeout },
    };
    assert_eq!(clues.last(), Some(&verdict), "{clues:?}");
    // The verdict is stamped when it fell, a suspicion timeout after the
    // accusation.
    let (at_accused, at_failed) = (history[accused].at, history.last().unwrap().at);
    assert!(at_failed - at_accused >= timeout, "{history:?}");
    // A member declared failed is probed no more: nothing after the verdict.
    for _ in 0..200 {
        now += Duration::from_millis(5);
        core.tick(now);
        swim_transmits(&mut core);
    }
    assert_eq!(core.history(&member).last().map(|t| t.clue), Some(verdict));
}

#[test]
fn a_lost_ping_is_retried_directly_before_any_helper_is_asked() {
    let mut core = swim_core();
    let config = Config::default();
    join(&mut core, 2..7);
    // Tick in small steps, answering nothing, through the first probe.
    let mut now = Time::ZERO;
    let mut first = None;
    let mut log = Vec::new();
    while now < Duration::from_secs(1) {
        now += Duration::from_millis(1);
        core.tick(now);
        for (to, m) in swim_transmits(&mut core) {
            if let SwimMessage::Ping { seq } = m {
                first.get_or_insert((now, seq, to));
            }
            if let Some((start, seq0, target)) = first {
                if now < start + config.probe_interval {
                    log.push((now - start, to == target, m, seq0));
                }
            }
        }
        if first.is_some_and(|(start, ..)| now >= start + config.probe_interval) {
            break;
        }
    }
    let pings: Vec<Duration> = log
        .iter()
        .filter(|(_, to_target, m, _)| *to_target && matches!(m, SwimMessage::Ping { .. }))
        .map(|(at, ..)| *at)
        .collect();
    let first_req = log
        .iter()
        .find(|(_, _, m, _)| matches!(m, SwimMessage::PingReq { .. }))
        .map(|(at, ..)| *at)
        .expect("helpers are asked in the end");
    let timeout = config.probe_timeout;
    // The ping, a retry one timeout later, helpers one more timeout later,
    // and a last direct ping halfway through what is left of the period.
    assert_eq!(pings.len(), 3, "{log:?}");
    assert!(pings[1] >= timeout && pings[1] < timeout + Duration::from_millis(2));
    assert!(
        first_req >= timeout * 2,
        "helpers only after the retry: {log:?}"
    );
    assert!(pings[2] > first_req, "{log:?}");
    assert_eq!(
        log.iter()
            .filter(|(_, _, m, _)| matches!(m, SwimMessage::PingReq { .. }))
            .count(),
        config.indirect_probes
    );
}

#[test]
fn the_retry_does_not_depend_on_the_timer_firing_on_time() {
    // A driver whose timers fire 3 ms late still retries directly first.
    let mut core = swim_core();
    join(&mut core, 2..7);
    let mut now = Time::ZERO;
    let mut pinged_at = None;
    let mut first_req = None;
    let mut pings = 0;
    while now < Duration::from_secs(1) && first_req.is_none() {
        now = core.poll_timeout().map_or(now, |t| t.max(now)) + Duration::from_millis(3);
        core.tick(now);
        for (_, m) in swim_transmits(&mut core) {
            match m {
                SwimMessage::Ping { .. } => {
                    pings += 1;
                    pinged_at.get_or_insert(now);
                }
                SwimMessage::PingReq { .. } => {
                    first_req.get_or_insert(now);
                }
                _ => {}
            }
        }
    }
    let (start, req) = (pinged_at.unwrap(), first_req.expect("helpers in the end"));
    assert_eq!(pings, 2, "the ping and its retry before any helper");
    assert!(
        req - start >= Config::default().probe_timeout * 2,
        "{start:?} {req:?}"
    );
}

/// Runs `core`'s timers from `now` on, deadline by deadline, until it sends
/// a ping of its own; returns its target and sequence number (`now` is then
/// the time it was sent).
fn next_own_ping(core: &mut Membership, now: &mut Time) -> (SocketAddr, u32) {
    let limit = *now + Duration::from_secs(5);
    loop {
        core.tick(*now);
        for (to, m) in swim_transmits(core) {
            if let SwimMessage::Ping { seq } = m {
                return (to, seq);
            }
        }
        *now = core.poll_timeout().map_or(*now, |t| t.max(*now));
        assert!(*now < limit, "no ping within 5 s");
    }
}

fn node_at(addr: SocketAddr) -> NodeId {
    NodeId::new(addr, Version(1))
}

#[test]
fn a_node_awake_for_a_ping_starts_its_next_period_early_and_keeps_the_grid() {
    let mut core = swim_core();
    let period = Config::default().probe_interval;
    join(&mut core, 2..7);
    let mut now = Time::ZERO;
    let (target, seq) = next_own_ping(&mut core, &mut now);
    let first = now;
    send(
        &mut core,
        first + Duration::from_millis(1),
        node_at(target),
        &SwimMessage::Ack { seq },
    );
    assert!(swim_transmits(&mut core).is_empty());

    // A ping from a member 40 ms into the period: the probe was answered,
    // the period ends within the early window, so the next probe goes out
    // with the ack instead of on a timer of its own.
    let awake = first + Duration::from_millis(40);
    send(&mut core, awake, id(3), &SwimMessage::Ping { seq: 99 });
    let sent = swim_transmits(&mut core);
    assert!(
        sent.contains(&(id(3).addr, SwimMessage::Ack { seq: 99 })),
        "{sent:?}"
    );
    let early: Vec<_> = sent
        .iter()
        .filter_map(|(to, m)| matches!(m, SwimMessage::Ping { .. }).then_some(*to))
        .collect();
    assert_eq!(early.len(), 1, "the next probe starts early: {sent:?}");
    let Some((_, SwimMessage::Ping { seq })) = sent
        .iter()
        .find(|(_, m)| matches!(m, SwimMessage::Ping { .. }))
    else {
        unreachable!()
    };
    send(
        &mut core,
        awake + Duration::from_millis(1),
        node_at(early[0]),
        &SwimMessage::Ack { seq: *seq },
    );

    // The period after it still ends on the grid: two periods after the
    // first probe, not a period after the early one.
    now = awake + Duration::from_millis(1);
    let (target, seq) = next_own_ping(&mut core, &mut now);
    assert_eq!(now, first + period * 2);

    // A probe still unanswered is never cut short: a ping near the end of
    // its period is only acked.
    let late = now + period - Duration::from_millis(5);
    send(&mut core, late, id(4), &SwimMessage::Ping { seq: 7 });
    assert_eq!(
        swim_transmits(&mut core),
        vec![(id(4).addr, SwimMessage::Ack { seq: 7 })]
    );
    let _ = (target, seq);
}

/// A core with 1 s periods and a 400 ms ceiling on its probe timeout,
/// learning timeouts down to `floor`; members on ports 2 to 6.
fn slow_period_core(floor: Duration) -> Membership {
    let config = Config {
        probe_interval: Duration::from_secs(1),
        probe_timeout: Duration::from_millis(400),
        probe_timeout_min: floor,
        ..Config::default()
    };
    let mut core = Membership::new(id(1), config.clone(), Swim::boxed(&config), 3, Time::ZERO)
        .expect("a valid configuration");
    join(&mut core, 2..7);
    core
}

/// Runs `core` for `run`, every member answering each ping 2 ms later,
/// except the member on `silent` from `silent_from` on. Returns when
/// `silent`'s last unanswered probe began and when it was suspected.
fn run_answering(
    core: &mut Membership,
    run: Duration,
    silent: u16,
    silent_from: Time,
) -> (Option<Time>, Option<Time>) {
    let rtt = Duration::from_millis(2);
    let mut now = Time::ZERO;
    let mut acks: Vec<(Time, NodeId, u32)> = Vec::new();
    let mut probed = None;
    while now < run {
        core.tick(now);
        for (to, m) in swim_transmits(core) {
            if let SwimMessage::Ping { seq } = m {
                let target = node_at(to);
                if to == id(silent).addr && now >= silent_from {
                    probed = probed.or(Some(now));
                } else {
                    acks.push((now + rtt, target, seq));
                }
            }
        }
        if let Some(at) = std::iter::from_fn(|| core.poll_event())
            .find(|e| e.kind == crate::EventKind::Suspected && e.member == id(silent))
            .map(|e| e.at)
        {
            return (probed, Some(at));
        }
        acks.sort_by_key(|(at, ..)| *at);
        let next_ack = acks.first().map(|(at, ..)| *at);
        let next = [core.poll_timeout(), next_ack]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(run);
        now = next.max(now);
        while acks.first().is_some_and(|(at, ..)| *at <= now) {
            let (at, from, seq) = acks.remove(0);
            send(core, at, from, &SwimMessage::Ack { seq });
        }
    }
    (probed, None)
}

#[test]
fn a_peer_measured_fast_is_suspected_a_few_round_trips_after_its_probe() {
    // Learned timeouts: after ten seconds of 2 ms round trips, a member
    // that stops answering is suspected within 100 ms of its probe, long
    // before the 1 s period ends.
    let silent_from = Time::ZERO + Duration::from_secs(10);
    let mut core = slow_period_core(Duration::from_millis(5));
    let (probed, suspected) = run_answering(&mut core, Duration::from_secs(30), 3, silent_from);
    let (probed, suspected) = (probed.unwrap(), suspected.expect("suspected in the end"));
    assert!(
        suspected - probed < Duration::from_millis(100),
        "probed at {probed:?}, suspected at {suspected:?}"
    );

    // One fixed timeout (floor = ceiling): the same silence is judged only
    // when the period ends.
    let mut fixed = slow_period_core(Duration::from_millis(400));
    let (probed, suspected) = run_answering(&mut fixed, Duration::from_secs(30), 3, silent_from);
    let (probed, suspected) = (probed.unwrap(), suspected.expect("suspected in the end"));
    assert!(
        suspected - probed >= Duration::from_millis(999),
        "probed at {probed:?}, suspected at {suspected:?}"
    );
}

#[test]
fn nacks_from_every_helper_bring_the_last_ping_forward() {
    let mut core = slow_period_core(Duration::from_millis(5));
    let mut now = Time::ZERO;
    let (target, seq) = next_own_ping(&mut core, &mut now);
    // Nothing answers: the retry, then the helpers.
    let mut helpers = Vec::new();
    while helpers.is_empty() {
        now = core.poll_timeout().unwrap().max(now);
        core.tick(now);
        for (to, m) in swim_transmits(&mut core) {
            if matches!(m, SwimMessage::PingReq { .. }) {
                helpers.push(to);
            }
        }
    }
    assert_eq!(helpers.len(), 3);
    // Nothing was measured, so the helpers' answers are due a 400 ms
    // ceiling away; their nacks, 1 ms later, end the wait at once.
    let at = now + Duration::from_millis(1);
    for (i, helper) in helpers.iter().enumerate() {
        send(&mut core, at, node_at(*helper), &SwimMessage::Nack { seq });
        let pings: Vec<_> = swim_transmits(&mut core)
            .into_iter()
            .filter(|(to, m)| *to == target && matches!(m, SwimMessage::Ping { .. }))
            .collect();
        let last = i + 1 == helpers.len();
        assert_eq!(pings.len(), usize::from(last), "after nack {}", i + 1);
    }
}

#[test]
fn a_period_with_room_retries_twice_before_asking_helpers() {
    // 20 ms timeouts in a 100 ms period: pings at 0, 20 and 40 ms, helpers
    // at 60 ms (with half a timeout to spare before the period ends).
    let config = Config {
        probe_timeout: Duration::from_millis(20),
        ..Config::default()
    };
    let mut core = Membership::new(id(1), config.clone(), Swim::boxed(&config), 3, Time::ZERO)
        .expect("a valid configuration");
    join(&mut core, 2..7);
    let mut now = Time::ZERO;
    let (target, _) = next_own_ping(&mut core, &mut now);
    let start = now;
    let mut pings = vec![Duration::ZERO];
    let mut first_req = None;
    while first_req.is_none() {
        now = core.poll_timeout().unwrap().max(now);
        core.tick(now);
        for (to, m) in swim_transmits(&mut core) {
            match m {
                SwimMessage::Ping { .. } if to == target => pings.push(now - start),
                SwimMessage::PingReq { .. } => first_req = first_req.or(Some(now - start)),
                _ => {}
            }
        }
    }
    let ms = Duration::from_millis;
    assert_eq!(pings, [ms(0), ms(20), ms(40)]);
    assert_eq!(first_req, Some(ms(60)));
}
