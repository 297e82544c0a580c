//! Operators' requests, answered on the request's own connection: the
//! member list, a graceful leave, keyring changes, a live event stream,
//! the agent's information, a merge with another cluster, forcing a failed
//! member out, a member's history, and a user broadcast. Commands that
//! change the agent or the cluster are taken from the agent's own host
//! only.

use std::net::SocketAddr;

use rumor_membership::Time;
use rumor_transport::Reply;
use rumor_wire::{AgentInfo, Control, MemberState, NodeId};

use super::Driver;
use crate::agent::accepts_commands_from;

impl Driver {
    pub(super) fn on_control(
        &mut self,
        now: Time,
        peer: SocketAddr,
        control: Control,
        reply: Reply,
    ) {
        let me = self.membership.id();
        let local = accepts_commands_from(peer.ip(), self.settings.advertise.ip())
            || accepts_commands_from(peer.ip(), self.settings.bind.ip());
        let refuse = |what: &str| {
            tracing::warn!("refused {what} from {peer}: only accepted from this host");
            Control::Error {
                reason: format!("{what} is only accepted from the agent's own host"),
            }
        };
        match control {
            Control::MemberQuery => {
                let list = Control::MemberList {
                    node: me,
                    members: self.membership.members(),
                };
                self.outbox.reply(reply, list);
            }
            Control::LeaveCommand if !local => self.outbox.reply(reply, refuse("leave")),
            Control::LeaveCommand => {
                tracing::info!("leave requested from {peer}");
                let ack = Control::MemberList {
                    node: me,
                    members: self.membership.members(),
                };
                self.outbox.reply(reply, ack);
                self.leave(now);
            }
            Control::KeysRequest { op, fan_out } => {
                let members = self
                    .membership
                    .members()
                    .into_iter()
                    .filter(|m| matches!(m.state, MemberState::Alive | MemberState::Suspect))
                    .map(|m| m.node)
                    .collect();
                self.keys
                    .serve(me, op, fan_out, members, reply, &self.outbox);
            }
            Control::Monitor(filter) => {
                let log = self.events.path().to_owned();
                let len = self.events.len();
                let from = self.settings.advertise;
                if let Err((reply, reason)) = self.monitors.open(filter, reply, from, log, len) {
                    tracing::warn!("refused a monitor stream for {peer}: {reason}");
                    self.outbox.reply(reply, Control::Error { reason });
                }
            }
            Control::InfoQuery => {
                let mut info = AgentInfo::new(
                    me,
                    env!("CARGO_PKG_VERSION").to_string(),
                    self.settings.detector.clone(),
                    !self.membership.is_joining() && self.leave_by.is_none(),
                );
                info.config = self.settings.to_toml();
                info.counters = self.snapshot().counters();
                info.metadata = self.membership.metadata();
                self.outbox.reply(reply, Control::Info(info));
            }
            Control::JoinCommand { .. } if !local => self.outbox.reply(reply, refuse("join")),
            Control::JoinCommand { addrs } => {
                let answer = if self.leave_by.is_some() || self.membership.has_left() {
                    Control::Error {
                        reason: format!("{me} is leaving the cluster"),
                    }
                } else if addrs.is_empty() {
                    Control::Error {
                        reason: "no address to join".into(),
                    }
                } else {
                    let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                    tracing::info!("asked by {peer} to merge with {}", list.join(", "));
                    self.membership.join(now, addrs.clone());
                    for addr in addrs {
                        self.membership.contact(now, addr);
                    }
                    Control::Done {
                        node: me,
                        message: format!("asked {} to merge with this cluster", list.join(", ")),
                    }
                };
                self.outbox.reply(reply, answer);
            }
            Control::ForceLeave { .. } if !local => self.outbox.reply(reply, refuse("force-leave")),
            Control::ForceLeave { member } => {
                let answer = match self.find_member(&member) {
                    Err(reason) => Control::Error { reason },
                    Ok(id) => match self.membership.force_leave(now, id) {
                        Ok(()) => {
                            tracing::warn!("{id} forced out by {peer}: recorded left");
                            Control::Done {
                                node: me,
                                message: format!("{id} is recorded left; the news spreads"),
                            }
                        }
                        Err(e) => Control::Error {
                            reason: format!("cannot force {id} out: {e}"),
                        },
                    },
                };
                self.outbox.reply(reply, answer);
            }
            Control::Broadcast { .. } if !local => self.outbox.reply(reply, refuse("broadcast")),
            Control::Broadcast { payload } => {
                let size = payload.len();
                let answer = match self.membership.broadcast(now, payload) {
                    Ok(seq) => {
                        tracing::info!("broadcast #{seq} ({size} bytes) sent, asked by {peer}");
                        Control::Done {
                            node: me,
                            message: format!("broadcast #{seq} of {me} sent ({size} bytes)"),
                        }
                    }
                    Err(e) => Control::Error {
                        reason: format!("cannot broadcast: {e}"),
                    },
                };
                self.outbox.reply(reply, answer);
            }
            Control::WhyQuery { member } => {
                let answer = match self.find_member(&member) {
                    Err(reason) => Control::Error { reason },
                    Ok(id) => Control::Why(self.why(id)),
                };
                self.outbox.reply(reply, answer);
            }
            other => {
                tracing::warn!("ignored {} message from {peer} over TCP", other.kind());
            }
        }
    }

    /// The member `text` names: `IP:PORT#VERSION`, or `IP:PORT` for the
    /// newest version listed at that address.
    fn find_member(&self, text: &str) -> Result<NodeId, String> {
        if let Ok(id) = text.parse::<NodeId>() {
            return Ok(id);
        }
        let addr: SocketAddr = text
            .parse()
            .map_err(|_| format!("bad member {text:?}: expected IP:PORT#VERSION or IP:PORT"))?;
        self.membership
            .members()
            .into_iter()
            .filter(|m| m.node.addr == addr)
            .map(|m| m.node)
            .max()
            .ok_or_else(|| {
                format!("no member listed at {addr} (give IP:PORT#VERSION for one removed already)")
            })
    }
}
