//! `--members`: which of the live members to ask.
//!
//! A value names members by address, at one of three precisions:
//! `IP:PORT#VERSION` (one member, as dgrep prints it), `IP:PORT` (whatever
//! version lives at that address), or `IP` (every member on that host; IPv6
//! with or without brackets). Several values, or one value with commas,
//! select every member any of them names. `TAG=VALUE` is the syntax for
//! selecting by member metadata, which members do not carry yet: it is
//! refused with one line rather than matching nothing.

use std::net::{IpAddr, SocketAddr};

use rumor_wire::NodeId;

use crate::DgrepError;

/// What one `--members` name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selector {
    /// `IP:PORT#VERSION`: that member.
    Id(NodeId),
    /// `IP:PORT`: the member at that address.
    Addr(SocketAddr),
    /// `IP`: every member on that host.
    Host(IpAddr),
}

impl Selector {
    fn selects(self, member: &NodeId) -> bool {
        match self {
            Selector::Id(id) => *member == id,
            Selector::Addr(addr) => member.addr == addr,
            Selector::Host(ip) => member.addr.ip() == ip,
        }
    }
}

/// The members `--members` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFilter {
    /// Each name as given, with what it selects.
    names: Vec<(String, Selector)>,
}

impl MemberFilter {
    /// Reads `--members` values; `None` if there are none (ask every live
    /// member). A name that is neither an address nor a tag, or a tag, is an
    /// error naming it.
    pub fn parse(values: &[String]) -> Result<Option<MemberFilter>, DgrepError> {
        let mut names = Vec::new();
        for name in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            names.push((name.to_owned(), selector(name)?));
        }
        Ok((!names.is_empty()).then_some(MemberFilter { names }))
    }

    /// The members of `live` some name selects, in `live`'s order, and the
    /// names that select none of them.
    pub fn select(&self, live: &[NodeId]) -> (Vec<NodeId>, Vec<String>) {
        let chosen = live
            .iter()
            .filter(|m| self.names.iter().any(|(_, s)| s.selects(m)))
            .copied()
            .collect();
        let unmatched = self
            .names
            .iter()
            .filter(|(_, s)| !live.iter().any(|m| s.selects(m)))
            .map(|(name, _)| name.clone())
            .collect();
        (chosen, unmatched)
    }
}

fn selector(name: &str) -> Result<Selector, DgrepError> {
    if let Some((tag, _)) = name.split_once('=') {
        return Err(DgrepError::Usage(format!(
            "--members {name}: member tags are not available yet (members carry no {tag:?} \
             metadata); name members by IP:PORT#VERSION, IP:PORT or IP"
        )));
    }
    if let Ok(id) = name.parse::<NodeId>() {
        return Ok(Selector::Id(id));
    }
    if let Ok(addr) = name.parse::<SocketAddr>() {
        return Ok(Selector::Addr(addr));
    }
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(Selector::Host(ip));
    }
    Err(DgrepError::Usage(format!(
        "--members {name:?}: not a member name (IP:PORT#VERSION, IP:PORT or IP) nor TAG=VALUE"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<NodeId> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn pick(values: &[&str], live: &[NodeId]) -> (Vec<NodeId>, Vec<String>) {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        MemberFilter::parse(&values).unwrap().unwrap().select(live)
    }

    #[test]
    fn selects_by_id_address_and_host() {
        let live = ids(&[
            "10.0.0.1:3000#5",
            "10.0.0.1:3001#6",
            "10.0.0.2:3000#7",
            "[::1]:3000#8",
        ]);
        assert_eq!(pick(&["10.0.0.1:3001#6"], &live).0, [live[1]]);
        assert_eq!(pick(&["10.0.0.2:3000"], &live).0, [live[2]]);
        assert_eq!(pick(&["10.0.0.1"], &live).0, [live[0], live[1]]);
        assert_eq!(pick(&["::1"], &live).0, [live[3]]);
        assert_eq!(pick(&["[::1]"], &live).0, [live[3]]);
        assert_eq!(pick(&["[::1]:3000#8"], &live).0, [live[3]]);
        // Several names, in several values or one with commas; order kept.
        assert_eq!(
            pick(&["10.0.0.2", "10.0.0.1:3000"], &live).0,
            [live[0], live[2]]
        );
        assert_eq!(
            pick(&["10.0.0.2,10.0.0.1:3000"], &live).0,
            [live[0], live[2]]
        );
    }

    #[test]
    fn reports_names_that_select_nobody() {
        let live = ids(&["10.0.0.1:3000#5"]);
        let (chosen, unmatched) = pick(&["10.0.0.1:3000#4", "10.0.0.9", "10.0.0.1"], &live);
        assert_eq!(chosen, live);
        assert_eq!(unmatched, ["10.0.0.1:3000#4", "10.0.0.9"]);
    }

    #[test]
    fn tags_and_nonsense_are_refused_in_one_line() {
        assert_eq!(MemberFilter::parse(&[]).unwrap(), None);
        let tag = MemberFilter::parse(&["role=db".into()])
            .unwrap_err()
            .to_string();
        assert!(tag.contains("member tags are not available yet"), "{tag}");
        assert_eq!(tag.lines().count(), 1);
        let bad = MemberFilter::parse(&["db-1".into()])
            .unwrap_err()
            .to_string();
        assert!(bad.contains("not a member name"), "{bad}");
    }
}
