//! What the agent writes to agent.log about its own work: a line of
//! counters every minute, and the final counts when it stops.

use rumor_wire::MemberState;

use super::Driver;

impl Driver {
    /// One line of counters, every [`STATS_EVERY`], for operators.
    pub(super) fn report(&self) {
        let members = self.membership.members();
        let alive = members
            .iter()
            .filter(|m| m.state == MemberState::Alive)
            .count();
        let core = self.membership.stats();
        let queue = crate::sockets::receive_queue(&self.udp).unwrap_or_default();
        let d = &self.stats;
        if let Some(sealer) = &self.settings.sealer {
            let refused: Vec<String> = sealer
                .stats()
                .named()
                .into_iter()
                .filter(|(name, n)| *n > 0 && !matches!(*name, "sealed" | "opened"))
                .map(|(name, n)| format!("{n} {name}"))
                .collect();
            if !refused.is_empty() {
                tracing::info!("sealed traffic refused so far: {}", refused.join(", "));
            }
        }
        tracing::info!(
            "stats: {} members ({alive} alive); datagrams in {} (dropped: {} by --drop-rate, {} unauthenticated, {} malformed, {} wrong kind, {} queue full), out {} ({} failed); suspicions raised {}, refuted {}; rejoins {}, reconnect attempts {}",
            members.len(),
            d.datagrams,
            d.injected_drops,
            d.unauthenticated,
            d.malformed,
            d.wrong_kind,
            queue.drops,
            d.sent,
            d.send_errors,
            core.suspicions,
            core.refutations,
            core.rejoins,
            core.reconnect_attempts,
        );
    }

    pub(crate) fn log_final_counts(&self) {
        let service = self.service.as_ref().map(|s| s.stats()).unwrap_or_default();
        let counts = self.stats;
        let sealing = match &self.settings.sealer {
            Some(sealer) => format!("; sealer {:?}", sealer.stats()),
            None => String::new(),
        };
        tracing::info!(
            "agent {} stopped: {} datagrams in ({} dropped by --drop-rate, {} unauthenticated, {} malformed, {} of a wrong kind), {} out ({} failed); tcp service {service:?}{sealing}",
            self.me,
            counts.datagrams,
            counts.injected_drops,
            counts.unauthenticated,
            counts.malformed,
            counts.wrong_kind,
            counts.sent,
            counts.send_errors,
        );
    }
}
