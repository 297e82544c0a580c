//! `--members`: which of the live members to ask.
//!
//! A value names members by address, at one of three precisions:
//! `IP:PORT#VERSION` (one member, as dgrep prints it), `IP:PORT` (whatever
//! version lives at that address), or `IP` (every member on that host; IPv6
//! with or without brackets). Several values, or one value with commas,
//! select every member any of them names. `TAG=VALUE` selects by member
//! metadata (an agent's `--tag`): every member whose tag `TAG` is `VALUE`.

use std::net::{IpAddr, SocketAddr};

use rumor_wire::{Metadata, NodeId};

use crate::DgrepError;

/// What one `--members` name selects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    /// `TAG=VALUE`: every member whose metadata has that tag and value.
    Tag(String, String),
    /// `IP:PORT#VERSION`: that member.
    Id(NodeId),
    /// `IP:PORT`: the member at that address.
    Addr(SocketAddr),
    /// `IP`: every member on that host.
    Host(IpAddr),
}

impl Selector {
    fn selects(&self, member: &NodeId, tags: &Metadata) -> bool {
        match self {
            Selector::Tag(key, value) => tags.get(key) == Some(value.as_str()),
            Selector::Id(id) => member == id,
            Selector::Addr(addr) => member.addr == *addr,
            Selector::Host(ip) => member.addr.ip() == *ip,
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
    /// member). A name that is neither an address nor `TAG=VALUE` is an
    /// error naming it.
    pub fn parse(values: &[String]) -> Result<Option<MemberFilter>, DgrepError> {
        let mut names = Vec::new();
        for name in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            names.push((name.to_owned(), selector(name)?));
        }
        Ok((!names.is_empty()).then_some(MemberFilter { names }))
    }

    /// The members of `live` (each with its tags) some name selects, in
    /// `live`'s order, and the names that select none of them.
    pub fn select(&self, live: &[(NodeId, Metadata)]) -> (Vec<NodeId>, Vec<String>) {
        let chosen = live
            .iter()
            .filter(|(m, tags)| self.names.iter().any(|(_, s)| s.selects(m, tags)))
            .map(|(m, _)| *m)
            .collect();
        let unmatched = self
            .names
            .iter()
            .filter(|(_, s)| !live.iter().any(|(m, tags)| s.selects(m, tags)))
            .map(|(name, _)| name.clone())
            .collect();
        (chosen, unmatched)
    }
}

fn selector(name: &str) -> Result<Selector, DgrepError> {
    if let Some((tag, value)) = name.split_once('=') {
        if tag.is_empty() {
            return Err(DgrepError::Usage(format!(
                "--members {name:?}: a tag needs a name before '=' (TAG=VALUE)"
            )));
        }
        return Ok(Selector::Tag(tag.to_owned(), value.to_owned()));
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
        let tagged: Vec<(NodeId, Metadata)> = live.iter().map(|m| (*m, Metadata::new())).collect();
        pick_tagged(values, &tagged)
    }

    fn pick_tagged(values: &[&str], live: &[(NodeId, Metadata)]) -> (Vec<NodeId>, Vec<String>) {
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
    fn selects_by_tag_beside_addresses() {
        let ids = ids(&["10.0.0.1:3000#5", "10.0.0.2:3000#6", "10.0.0.3:3000#7"]);
        let tags = |role: &str| Metadata::from_pairs([("role", role.to_string())]).unwrap();
        let live = vec![
            (ids[0], tags("db")),
            (ids[1], tags("web")),
            (ids[2], Metadata::new()),
        ];
        assert_eq!(pick_tagged(&["role=db"], &live).0, [ids[0]]);
        assert_eq!(
            pick_tagged(&["role=web", "10.0.0.3"], &live).0,
            [ids[1], ids[2]]
        );
        let (chosen, unmatched) = pick_tagged(&["role=cache", "zone=a"], &live);
        assert!(chosen.is_empty());
        assert_eq!(unmatched, ["role=cache", "zone=a"]);
        // An empty value selects members whose tag is set and empty.
        assert!(pick_tagged(&["role="], &live).0.is_empty());
    }

    #[test]
    fn nonsense_is_refused_in_one_line() {
        assert_eq!(MemberFilter::parse(&[]).unwrap(), None);
        let tag = MemberFilter::parse(&["=db".into()])
            .unwrap_err()
            .to_string();
        assert!(tag.contains("a tag needs a name"), "{tag}");
        assert_eq!(tag.lines().count(), 1);
        let bad = MemberFilter::parse(&["db-1".into()])
            .unwrap_err()
            .to_string();
        assert!(bad.contains("not a member name"), "{bad}");
    }
}
