//! The embedding program's say on joins: a check this node runs, as an
//! introducer, on every join request, seeing the joiner's identity and
//! metadata. A refusal answers the joiner with `JoinRefused` and the
//! program's reason (the joiner then asks another introducer), and is
//! counted (`Stats::admission_refusals`).

use rumor_wire::{Metadata, NodeId};

/// Decides whether a joiner may join through this node.
///
/// Any `FnMut(&NodeId, &Metadata) -> Result<(), String> + Send` is one:
///
/// ```
/// use rumor_membership::{Admission, Metadata, NodeId};
///
/// let mut same_zone = |_: &NodeId, metadata: &Metadata| match metadata.get("zone") {
///     Some("eu-1") => Ok(()),
///     other => Err(format!("zone {other:?} is not eu-1")),
/// };
/// let joiner: NodeId = "10.0.0.7:7000#1".parse().unwrap();
/// let tags = Metadata::from_pairs([("zone", "us-2")]).unwrap();
/// assert!(same_zone.admit(&joiner, &tags).is_err());
/// ```
pub trait Admission: Send {
    /// `Ok` admits `joiner`, whose metadata is `metadata` (empty if it has
    /// none); `Err` refuses it, saying why in words.
    fn admit(&mut self, joiner: &NodeId, metadata: &Metadata) -> Result<(), String>;
}

impl<F> Admission for F
where
    F: FnMut(&NodeId, &Metadata) -> Result<(), String> + Send,
{
    fn admit(&mut self, joiner: &NodeId, metadata: &Metadata) -> Result<(), String> {
        self(joiner, metadata)
    }
}

/// The installed check, if any (none admits everyone).
#[derive(Default)]
pub(crate) struct Gate(Option<Box<dyn Admission>>);

impl Gate {
    /// A gate running `check`.
    pub(crate) fn new(check: Option<Box<dyn Admission>>) -> Gate {
        Gate(check)
    }

    /// What the check says of `joiner` with `metadata`.
    pub(crate) fn admit(&mut self, joiner: &NodeId, metadata: &Metadata) -> Result<(), String> {
        match &mut self.0 {
            Some(check) => check.admit(joiner, metadata),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.0.is_some() {
            "installed"
        } else {
            "none"
        };
        f.debug_tuple("Gate").field(&what).finish()
    }
}
