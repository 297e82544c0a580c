//! Pauses as a fault: nodes that stop running for a while (a garbage
//! collection, a stopped process, a starved CPU) and then go on with the
//! backlog their socket buffer kept. `--pause K:DUR:EVERY` (and `pause =
//! "K:DUR:EVERY"` in a scenario file) pauses K nodes — a count, or a
//! percentage of the cluster such as `1%` — for DUR every EVERY, from the
//! end of warm-up to the end of the run, each node at its own phase.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How many nodes pause: a count, or a percentage of the cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PauseCount {
    /// This many nodes.
    Nodes(usize),
    /// This percentage of the cluster, rounded to the nearest node, at
    /// least one when positive.
    Percent(f64),
}

impl PauseCount {
    /// How many of `n` nodes this is.
    pub fn of(&self, n: usize) -> usize {
        match *self {
            PauseCount::Nodes(k) => k,
            PauseCount::Percent(p) if p > 0.0 => ((p / 100.0 * n as f64).round() as usize).max(1),
            PauseCount::Percent(_) => 0,
        }
    }
}

/// A recurring pause pattern: `count` nodes each stop for `lasting` once
/// every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub struct PauseSpec {
    /// Which nodes, by number.
    pub count: PauseCount,
    /// How long each pause lasts.
    pub lasting: Duration,
    /// How often each node pauses.
    pub every: Duration,
}

impl FromStr for PauseSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<PauseSpec, String> {
        let bad =
            |why: &str| format!("pause {text:?}: {why} (expected K:DUR:EVERY, e.g. 1%:1s:5s)");
        let parts: Vec<&str> = text.split(':').collect();
        let [k, lasting, every] = parts[..] else {
            return Err(bad("three fields needed"));
        };
        let count = match k.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.parse().map_err(|_| bad("K is not a number"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad("K% must be within 0..100"));
                }
                PauseCount::Percent(p)
            }
            None => PauseCount::Nodes(k.parse().map_err(|_| bad("K is not a count"))?),
        };
        let lasting =
            humantime::parse_duration(lasting).map_err(|_| bad("DUR is not a duration"))?;
        let every = humantime::parse_duration(every).map_err(|_| bad("EVERY is not a duration"))?;
        if lasting.is_zero() {
            return Err(bad("DUR must be positive"));
        }
        if every <= lasting {
            return Err(bad("EVERY must be longer than DUR"));
        }
        Ok(PauseSpec {
            count,
            lasting,
            every,
        })
    }
}

impl fmt::Display for PauseSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            PauseCount::Nodes(k) => write!(f, "{k}")?,
            PauseCount::Percent(p) => write!(f, "{p}%")?,
        }
        write!(f, ":{}:{}", compact(self.lasting), compact(self.every))
    }
}

/// `5s`, `1500ms`, `250us`: one unit, no spaces (humantime would write
/// `1s 500ms`), so a pattern stays one word in CSV keys and file names.
fn compact(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_nanos() % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else if d.as_nanos() % 1_000 == 0 {
        format!("{}us", d.as_micros())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

impl TryFrom<String> for PauseSpec {
    type Error = String;

    fn try_from(text: String) -> Result<PauseSpec, String> {
        text.parse()
    }
}

impl From<PauseSpec> for String {
    fn from(spec: PauseSpec) -> String {
        spec.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_percentages() {
        let p: PauseSpec = "1%:1s:5s".parse().unwrap();
        assert_eq!(p.count, PauseCount::Percent(1.0));
        assert_eq!(
            (p.lasting, p.every),
            (Duration::from_secs(1), Duration::from_secs(5))
        );
        assert_eq!(p.count.of(1000), 10);
        assert_eq!(p.count.of(10), 1, "a positive share is at least one node");
        assert_eq!(p.to_string().parse::<PauseSpec>().unwrap(), p);
        let q: PauseSpec = "3:400ms:1500ms".parse().unwrap();
        assert_eq!(q.count.of(1000), 3);
        assert_eq!(q.lasting, Duration::from_millis(400));
        assert_eq!(q.to_string(), "3:400ms:1500ms");
        assert_eq!(
            "1%:1s 500ms:5s".parse::<PauseSpec>().unwrap().to_string(),
            "1%:1500ms:5s"
        );
    }

    #[test]
    fn refuses_nonsense_with_the_reason() {
        for (text, why) in [
            ("1%:1s", "three fields"),
            ("x:1s:5s", "K is not a count"),
            ("150%:1s:5s", "within 0..100"),
            ("1:soon:5s", "DUR is not"),
            ("1:0s:5s", "positive"),
            ("1:5s:5s", "longer than DUR"),
        ] {
            let e = text.parse::<PauseSpec>().unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
