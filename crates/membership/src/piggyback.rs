//! What a detector message carries after its payload: membership changes
//! from the dissemination queue, the metadata of the live members they are
//! about, and user broadcasts, within the bytes of news the datagram
//! leaves ([`crate::room`]). Changes and their metadata go first, each
//! record beside its change or not at all; broadcasts fill what is left.
//! Without metadata or broadcasts a message carries exactly the changes it
//! carried before either existed.

use rumor_wire::{Extras, MemberUpdate};

use crate::broadcasts::Broadcasts;
use crate::dissemination::retransmit_limit;
use crate::room::split;
use crate::view::View;
use crate::{Config, metadata};

/// The dissemination knobs: retransmit multiplier and most changes per
/// message.
pub(crate) fn knobs(config: &Config) -> (u32, usize) {
    (config.retransmit_mult.get(), config.max_piggyback.get())
}

/// The news for a message with `news` bytes of room.
pub(crate) fn fill(
    view: &mut View,
    broadcasts: &mut Broadcasts,
    (mult, most): (u32, usize),
    news: usize,
) -> (Vec<MemberUpdate>, Extras) {
    let live = view.list().live_count();
    let with_metadata = view.list().has_metadata();
    if !with_metadata && broadcasts.is_idle() {
        let (queue, _) = view.dissemination();
        let updates = queue.piggyback(split(news, false), None, mult, most, live);
        return (updates, Extras::new());
    }
    let budget = split(news, true);
    let (queue, list) = view.dissemination();
    let (updates, used, records) = if with_metadata {
        let size = |u: &MemberUpdate| metadata::record_for(list, u).map_or(0, |r| r.record_len());
        let (updates, used) = queue.piggyback_sized(budget, None, mult, most, live, size);
        let records = updates
            .iter()
            .filter_map(|u| metadata::record_for(list, u))
            .collect();
        (updates, used, records)
    } else {
        let (updates, used) = queue.piggyback_sized(budget, None, mult, most, live, |_| 0);
        (updates, used, Vec::new())
    };
    let mut picked = Vec::new();
    let limit = retransmit_limit(mult, live);
    broadcasts.pick(budget - used, limit, &mut picked);
    (updates, Extras::from_parts(records, picked))
}
