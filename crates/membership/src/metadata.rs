//! Members' metadata: this node's own, set under a new incarnation so the
//! change travels as an `alive` update carrying it, and other members',
//! learnt from the records that ride beside updates (piggybacked news,
//! anti-entropy answers, join responses and join requests).
//!
//! A member's metadata is stamped with the incarnation at which the member
//! set it, so one (member, stamp) names one content; a record replaces
//! what this node holds when its stamp is newer. While a member is live
//! its stamp is part of its digest fingerprint, so a member that missed
//! the news (or joined later) finds the difference at the next
//! anti-entropy exchange, and the answer carries the records. Functions
//! over the node and its view, called by the core.

use std::net::SocketAddr;

use rumor_wire::{
    Incarnation, MemberMetadata, MemberState, MemberUpdate, Metadata, NodeId, update_len,
};

use crate::member_list::MemberList;
use crate::node::Node;
use crate::plausibility::Plausibility;
use crate::room::{Room, split};
use crate::view::View;
use crate::{MemberInfo, Notice};

/// Why this node's metadata could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetMetadataError {
    /// The metadata and its record do not fit this node's datagrams (only
    /// with a `datagram_limit` near its 512-byte minimum).
    #[error("metadata of {size} bytes does not fit this node's datagrams ({limit} bytes at most)")]
    TooLarge {
        /// Its encoded size.
        size: usize,
        /// The most this node's datagrams carry.
        limit: usize,
    },
    /// This node left the cluster.
    #[error("this node has left the cluster")]
    Left,
}

/// The record of `update`'s member's metadata to send beside it, if the
/// member has any and the news is of it live.
pub(crate) fn record_for(list: &MemberList, update: &MemberUpdate) -> Option<MemberMetadata> {
    if !matches!(update.state, MemberState::Alive | MemberState::Suspect) {
        return None;
    }
    let (at, metadata) = list.metadata(&update.node)?;
    Some(MemberMetadata::new(update.node, at, metadata.clone()))
}

/// Every member of `list` as the driver sees it, with its metadata, sorted
/// by id.
pub(crate) fn members(list: &MemberList) -> Vec<MemberInfo> {
    let all = list.iter_sorted().into_iter();
    all.map(|m| info(list, m.id, m.state, m.incarnation))
        .collect()
}

/// Member `id` as the driver sees it, with its metadata.
pub(crate) fn member(list: &MemberList, id: &NodeId) -> Option<MemberInfo> {
    let m = list.get(id)?;
    Some(info(list, m.id, m.state, m.incarnation))
}

fn info(list: &MemberList, node: NodeId, state: MemberState, at: Incarnation) -> MemberInfo {
    let info = MemberInfo::new(node, state, at);
    match list.metadata(&node) {
        Some((_, metadata)) => info.with_metadata(metadata.clone()),
        None => info,
    }
}

/// Which of `records` are about members listed now: read before a message
/// is applied (its sender check included), so that a member the message
/// makes known takes its metadata along silently.
pub(crate) fn listed(view: &View, records: &[MemberMetadata]) -> Vec<bool> {
    records
        .iter()
        .map(|r| view.list().get(&r.node).is_some())
        .collect()
}

/// Applies `updates` from `from` (`None`: a join response) and the
/// metadata `records` beside them. A record about a member `known` before
/// the message that changes what the program saw is a notice; one about a
/// member this message made known is taken silently (its `joined` event
/// tells of it), as is every record of a join response.
pub(crate) fn apply_news(
    view: &mut View,
    node: &mut Node,
    updates: Vec<MemberUpdate>,
    (records, known): (Vec<MemberMetadata>, Vec<bool>),
    from: Option<SocketAddr>,
) {
    for update in updates {
        view.apply(node, update, from);
    }
    for (i, record) in records.into_iter().enumerate() {
        let notify = from.is_some() && known.get(i).copied().unwrap_or(false);
        accept(view, node, record, notify);
    }
}

/// Takes `record` if it is newer than what this node holds of a listed
/// member other than itself; with `notify`, a change of content is a
/// notice. Returns whether it was taken.
pub(crate) fn accept(
    view: &mut View,
    node: &mut Node,
    record: MemberMetadata,
    notify: bool,
) -> bool {
    let id = record.node;
    if id == node.me() {
        return false;
    }
    let Some(member) = view.list().get(&id) else {
        return false;
    };
    if !Plausibility::incarnation(Some(member.incarnation), record.incarnation) {
        node.stats_mut().absurd_updates += 1;
        return false;
    }
    let held = view.list().metadata(&id);
    if held.is_some_and(|(at, _)| at >= record.incarnation) {
        return false;
    }
    let changed = held.map_or(!record.metadata.is_empty(), |(_, m)| *m != record.metadata);
    view.set_metadata(&id, record.incarnation, record.metadata.clone());
    node.stats_mut().metadata_updates += 1;
    if changed && notify {
        let notice = Notice::MetadataChanged {
            member: id,
            metadata: record.metadata,
        };
        node.notice(notice);
    }
    true
}

/// The most bytes of metadata node `me` may set: its record must fit an
/// `Updates` datagram of `room` beside the update it rides with.
pub(crate) fn own_limit(me: NodeId, room: &Room) -> usize {
    let alive = MemberUpdate {
        node: me,
        state: MemberState::Alive,
        incarnation: Incarnation(0),
    };
    let overhead = MemberMetadata::new(me, Incarnation(0), Metadata::new()).record_len();
    let records = split(room.news(), true).saturating_sub(update_len(&alive));
    records.saturating_sub(overhead)
}

/// Sets this node's own metadata (see `Membership::set_metadata`): under
/// a new incarnation, queued as news of itself alive (see [`own_limit`]).
pub(crate) fn set_own(
    view: &mut View,
    node: &mut Node,
    metadata: Metadata,
    room: &Room,
) -> Result<(), SetMetadataError> {
    if node.lifecycle().has_left() {
        return Err(SetMetadataError::Left);
    }
    let me = node.me();
    let limit = own_limit(me, room);
    if metadata.encoded_len() > limit {
        let size = metadata.encoded_len();
        return Err(SetMetadataError::TooLarge { size, limit });
    }
    let held = view.list().metadata(&me).map(|(_, m)| m);
    if held.unwrap_or(&Metadata::new()) == &metadata {
        return Ok(());
    }
    let at = view.my_incarnation(&me).next();
    view.set_own_state(node, MemberState::Alive, at);
    view.set_metadata(&me, at, metadata.clone());
    node.set_own_metadata(Some((at, metadata)));
    view.disseminate(MemberUpdate {
        node: me,
        state: MemberState::Alive,
        incarnation: at,
    });
    Ok(())
}
