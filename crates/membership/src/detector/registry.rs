//! The registry of detectors by name, from which the configuration picks one.

use std::collections::BTreeMap;

use super::FailureDetector;
use crate::{Config, MembershipError};

/// Builds a detector from the configuration.
pub type DetectorConstructor = fn(&Config) -> Box<dyn FailureDetector>;

/// Detector constructors by name.
///
/// ```
/// use rumor_membership::{Config, DetectorRegistry};
/// let registry = DetectorRegistry::with_builtins();
/// let detector = registry.create("gossip", &Config::default()).unwrap();
/// assert_eq!(detector.name(), "gossip");
/// assert!(registry.create("nope", &Config::default()).is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct DetectorRegistry {
    constructors: BTreeMap<String, DetectorConstructor>,
}

impl DetectorRegistry {
    /// An empty registry.
    pub fn new() -> DetectorRegistry {
        DetectorRegistry::default()
    }

    /// A registry holding the built-in detectors: `gossip` (the default),
    /// `swim` and `phi`.
    pub fn with_builtins() -> DetectorRegistry {
        let mut registry = DetectorRegistry::new();
        registry.register(super::gossip::NAME, super::gossip::Gossip::boxed);
        registry.register(super::swim::NAME, super::swim::Swim::boxed);
        registry.register(super::phi::NAME, super::phi::Phi::boxed);
        registry
    }

    /// Registers `ctor` under `name`, replacing any earlier one.
    pub fn register(&mut self, name: &str, ctor: DetectorConstructor) {
        self.constructors.insert(name.to_string(), ctor);
    }

    /// Builds the detector registered as `name`.
    pub fn create(
        &self,
        name: &str,
        config: &Config,
    ) -> Result<Box<dyn FailureDetector>, MembershipError> {
        match self.constructors.get(name) {
            Some(ctor) => Ok(ctor(config)),
            None => Err(MembershipError::UnknownDetector {
                name: name.to_string(),
                known: self.names().join(", "),
            }),
        }
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.constructors.keys().cloned().collect()
    }
}
