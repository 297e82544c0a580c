//! Partitions: both ways, one way, one host cut off, a flapping link; each
//! must heal into one full membership.

use std::time::Duration;

use rumor_daemon::cluster::wait_for;

use crate::fault_kit::*;
use crate::netlab::judge::{dump, one_full_membership};

#[test]
fn a_five_five_partition_heals_into_one_membership() {
    five_five_partition_heals("gossip");
}

#[test]
fn a_five_five_partition_heals_into_one_membership_under_swim() {
    five_five_partition_heals("swim");
}

/// Hosts 0-4 and 5-9 cut from each other both ways for [`CUT`]: each side
/// declares the other failed, nobody its own side; after the heal one full
/// membership forms within [`HEAL`], one side under new versions.
fn five_five_partition_heals(detector: &str) {
    let label = format!("5/5 partition ({detector})");
    let Some((mut lab, before)) = form(&label, 10, &["--detector", detector]) else {
        return;
    };
    let all: Vec<usize> = (0..10).collect();
    let (a, b) = (&all[..5], &all[5..]);
    let (side_a, side_b) = (addrs(&lab, a), addrs(&lab, b));

    let cut = Mark::now();
    lab.partition(a, b);
    let (noticed_ab, noticed_ba) = await_noticed(&lab, cut, &label, |events| {
        let ab = failures(events, &side_a, &side_b, cut.ms, u64::MAX);
        let ba = failures(events, &side_b, &side_a, cut.ms, u64::MAX);
        match (ab.first(), ba.first()) {
            (Some(x), Some(y)) => Ok((cut.to(x.ts_ms), cut.to(y.ts_ms))),
            _ => Err(format!(
                "{} failures of 5-9 declared by 0-4, {} of 0-4 by 5-9",
                ab.len(),
                ba.len()
            )),
        }
    });
    let heal = hold_then_heal(&mut lab, cut);

    let events = lab.cluster.all_events();
    let ab = failures(&events, &side_a, &side_b, cut.ms, heal.ms);
    let ba = failures(&events, &side_b, &side_a, cut.ms, heal.ms);
    let mut own_side = failures(&events, &side_a, &side_a, cut.ms, heal.ms);
    own_side.extend(failures(&events, &side_b, &side_b, cut.ms, heal.ms));
    assert!(
        own_side.is_empty(),
        "{label}: members declared failed by their own side during the cut:\n{}\n{}",
        dump(&own_side),
        diagnosis(&lab.cluster, cut)
    );
    let suspected = count(&events, "suspected", None, cut.ms);

    let (after, took) = await_heal(&mut lab, &all, cut, heal, &label);
    assert_dead_stay_dead(&lab.cluster, cut, &label);
    let renewed = renewed(&before, &after);
    assert!(
        !renewed.is_empty(),
        "{label}: both sides declared the other failed, yet every agent kept its version\n{}",
        diagnosis(&lab.cluster, cut)
    );
    let joined = new_versions_joined(&lab.cluster, &after, &renewed, heal)
        .unwrap_or_else(|why| panic!("{label}: {why}\n{}", diagnosis(&lab.cluster, cut)));
    eprintln!(
        "{label}: cut noticed 0-4 -> 5-9 after {noticed_ab} ms, 5-9 -> 0-4 after {noticed_ba} ms; \
         failed pairs during the cut 0-4 -> 5-9 {}/25, 5-9 -> 0-4 {}/25, {suspected} suspicions; \
         one full membership {} ms after the heal (held {} s); new versions on hosts {renewed:?}, \
         the last recorded joined by all {} ms after the heal; rejoins by host and cause {:?}",
        pairs(&ab),
        pairs(&ba),
        took.as_millis(),
        HOLD.as_secs(),
        joined.values().max().copied().unwrap_or(0),
        rejoin_causes(&lab.cluster)
    );
    finish(lab, &label);
}

/// Packets from hosts 0-4 to 5-9 dropped for [`CUT`], the reverse passing:
/// 5-9 hear nothing from 0-4 and declare them failed while 0-4 still hear
/// 5-9; after the heal one full membership within [`HEAL`].
#[test]
fn a_one_way_partition_heals() {
    let label = "one-way partition";
    let Some((mut lab, before)) = form(label, 10, &[]) else {
        return;
    };
    let all: Vec<usize> = (0..10).collect();
    let (a, b) = (&all[..5], &all[5..]);
    let (side_a, side_b) = (addrs(&lab, a), addrs(&lab, b));

    let cut = Mark::now();
    lab.partition_one_way(a, b);
    let noticed = await_noticed(&lab, cut, label, |events| {
        match failures(events, &side_b, &side_a, cut.ms, u64::MAX).first() {
            Some(r) => Ok(cut.to(r.ts_ms)),
            None => Err("5-9 declared none of 0-4 failed".to_string()),
        }
    });
    let heal = hold_then_heal(&mut lab, cut);
    let events = lab.cluster.all_events();
    let ba = failures(&events, &side_b, &side_a, cut.ms, heal.ms);
    let ab = failures(&events, &side_a, &side_b, cut.ms, heal.ms);
    let rejoins_in_cut = rejoins(&lab.cluster);

    let (after, took) = await_heal(&mut lab, &all, cut, heal, label);
    assert_dead_stay_dead(&lab.cluster, cut, label);
    eprintln!(
        "{label}: 5-9 declared 0-4 failed after {noticed} ms; failed pairs during the cut \
         5-9 -> 0-4 {}/25, 0-4 -> 5-9 {}/25; rejoins per host during the cut {rejoins_in_cut:?}; \
         one full membership {} ms after the heal (held {} s); new versions on hosts {:?}; \
         rejoins by host and cause {:?}",
        pairs(&ba),
        pairs(&ab),
        took.as_millis(),
        HOLD.as_secs(),
        renewed(&before, &after),
        rejoin_causes(&lab.cluster)
    );
    finish(lab, label);
}

/// One host cut off from the rest for [`CUT`]: after the heal one full
/// membership within [`HEAL`], in which only the lone host took a new
/// version (the smaller view yields). Then a 2 s cut of another host: once
/// enough to split a cluster for good; it must heal just the same.
#[test]
fn one_host_cut_off_rejoins() {
    let label = "one host cut off";
    let Some((mut lab, before)) = form(label, 6, &[]) else {
        return;
    };
    let all: Vec<usize> = (0..6).collect();
    let lone = 5;
    let (its, rest) = (addrs(&lab, &[lone]), addrs(&lab, &all[..lone]));

    let cut = Mark::now();
    lab.isolate(lone);
    let (noticed_by_rest, noticed_by_lone) = await_noticed(&lab, cut, label, |events| {
        let of_it = failures(events, &rest, &its, cut.ms, u64::MAX);
        let by_it = failures(events, &its, &rest, cut.ms, u64::MAX);
        match (of_it.first(), by_it.first()) {
            (Some(x), Some(y)) => Ok((cut.to(x.ts_ms), cut.to(y.ts_ms))),
            _ => Err(format!(
                "{} failures of host {lone} declared by the rest, {} by host {lone}",
                of_it.len(),
                by_it.len()
            )),
        }
    });
    let heal = hold_then_heal(&mut lab, cut);
    let (after, took) = await_heal(&mut lab, &all, cut, heal, label);
    assert_dead_stay_dead(&lab.cluster, cut, label);
    let took_new = renewed(&before, &after);
    assert_eq!(
        took_new,
        [lone],
        "{label}: hosts with a new version after a {} s cut of host {lone}\nbefore {before:?}\nafter {after:?}\n{}",
        CUT.as_secs(),
        diagnosis(&lab.cluster, cut)
    );
    eprintln!(
        "{label} for {} s: host {lone} declared failed after {noticed_by_rest} ms, it declared \
         the others failed after {noticed_by_lone} ms; one full membership {} ms after the heal \
         (held {} s); new versions on hosts {took_new:?}",
        CUT.as_secs(),
        took.as_millis(),
        HOLD.as_secs()
    );

    let short = Duration::from_secs(2);
    let brief = 0;
    let cut = Mark::now();
    lab.isolate(brief);
    cut.sleep_until(short);
    let heal = Mark::now();
    lab.heal();
    let (again, took) = await_heal(&mut lab, &all, cut, heal, label);
    assert_dead_stay_dead(&lab.cluster, cut, label);
    let events = lab.cluster.all_events();
    eprintln!(
        "{label} for {} s (host {brief}): {} suspicions, {} failed records from the cut on; \
         one full membership {} ms after the heal (held {} s); new versions on hosts {:?}",
        short.as_secs(),
        count(&events, "suspected", None, cut.ms),
        count(&events, "failed", None, cut.ms),
        took.as_millis(),
        HOLD.as_secs(),
        renewed(&after, &again)
    );
    finish(lab, label);
}

/// One host's link cut for 10 s and restored for 5 s, three times: after
/// the last heal one full membership within [`HEAL`], every agent running.
#[test]
fn a_flapping_link_ends_in_one_membership() {
    let label = "flapping link";
    let Some((mut lab, _)) = form(label, 6, &[]) else {
        return;
    };
    let all: Vec<usize> = (0..6).collect();
    let flapper = 3;
    let others: Vec<usize> = all.iter().copied().filter(|&h| h != flapper).collect();
    let (its, rest) = (addrs(&lab, &[flapper]), addrs(&lab, &others));
    let (down, up) = (Duration::from_secs(10), Duration::from_secs(5));
    let first = Mark::now();
    for round in 1..=3 {
        let cut = Mark::now();
        lab.isolate(flapper);
        cut.sleep_until(down);
        let heal = Mark::now();
        lab.heal();
        let events = lab.cluster.all_events();
        let of_it = failures(&events, &rest, &its, cut.ms, heal.ms);
        let by_it = failures(&events, &its, &rest, cut.ms, heal.ms);
        if round < 3 {
            // Five seconds up may be too short to heal, by design; what the
            // cluster reaches in them is shown, not judged.
            let whole = wait_for(up, Duration::from_millis(100), || {
                one_full_membership(&mut lab.cluster, &all)
            });
            let state = match whole {
                Ok(_) => format!("whole again after {} ms", heal.at.elapsed().as_millis()),
                Err(why) => format!("not whole within {} s ({why})", up.as_secs()),
            };
            eprintln!(
                "{label}, cut {round}: host {flapper} declared failed by {} others, it declared {}; {state}",
                pairs(&of_it),
                pairs(&by_it)
            );
            heal.sleep_until(up);
        } else {
            let (_, took) = await_heal(&mut lab, &all, cut, heal, label);
            eprintln!(
                "{label}, cut {round}: host {flapper} declared failed by {} others, it declared {}; \
                 one full membership {} ms after the last heal (held {} s); rejoins by host and cause {:?}",
                pairs(&of_it),
                pairs(&by_it),
                took.as_millis(),
                HOLD.as_secs(),
                rejoin_causes(&lab.cluster)
            );
        }
    }
    if let Err(why) = check_running(&mut lab.cluster, &all) {
        panic!("{label}: {why}\n{}", diagnosis(&lab.cluster, first));
    }
    assert_dead_stay_dead(&lab.cluster, first, label);
    finish(lab, label);
}
