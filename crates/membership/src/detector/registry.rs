//! The registry of detectors by name, from which the driver's
//! configuration picks one.
//!
//! Each entry is a factory: given the core's [`Config`] and the detector's
//! own section of the configuration file (`[detector.NAME]` in the agent's
//! TOML, say), it builds the detector or says what is wrong with its
//! settings. A detector written outside this crate registers the same way
//! and reads whatever settings it defines from its section.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::FailureDetector;
use crate::{Config, MembershipError};

/// What a factory is given: the core's configuration and the detector's
/// own settings, if the configuration has a section for it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct DetectorSettings<'a> {
    /// The core's configuration (its timing knobs serve detectors too).
    pub config: &'a Config,
    /// The detector's own section, as parsed TOML; `None` without one.
    pub section: Option<&'a toml::Table>,
}

impl<'a> DetectorSettings<'a> {
    /// Settings with the core's configuration and no section of its own.
    pub fn new(config: &'a Config) -> DetectorSettings<'a> {
        DetectorSettings {
            config,
            section: None,
        }
    }

    /// Settings with the detector's own `section`.
    pub fn with_section(config: &'a Config, section: &'a toml::Table) -> DetectorSettings<'a> {
        DetectorSettings {
            config,
            section: Some(section),
        }
    }

    /// The section deserialized into `T` (with `T::default()` for a missing
    /// section), or an error naming the detector and the problem in one
    /// line.
    pub fn parse<T>(&self, detector: &str) -> Result<T, MembershipError>
    where
        T: serde::de::DeserializeOwned + Default,
    {
        match self.section {
            None => Ok(T::default()),
            Some(section) => T::deserialize(toml::Value::Table(section.clone())).map_err(|e| {
                MembershipError::DetectorSettings {
                    detector: detector.to_string(),
                    problem: e.to_string().replace('\n', " ").trim().to_string(),
                }
            }),
        }
    }
}

/// Builds a detector from its settings.
pub type DetectorFactory = dyn Fn(&DetectorSettings<'_>) -> Result<Box<dyn FailureDetector>, MembershipError>
    + Send
    + Sync;

/// Detector factories by name.
///
/// ```
/// use rumor_membership::{Config, DetectorRegistry, DetectorSettings};
/// let registry = DetectorRegistry::with_builtins();
/// let config = Config::default();
/// let detector = registry.create("gossip", &DetectorSettings::new(&config)).unwrap();
/// assert_eq!(detector.name(), "gossip");
/// assert!(registry.create("nope", &DetectorSettings::new(&config)).is_err());
/// ```
#[derive(Clone, Default)]
pub struct DetectorRegistry {
    factories: BTreeMap<String, Arc<DetectorFactory>>,
}

impl std::fmt::Debug for DetectorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectorRegistry")
            .field("names", &self.names())
            .finish()
    }
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
        registry.register(super::gossip::NAME, |_| Ok(super::gossip::detector()));
        registry.register(super::swim::NAME, |s| {
            Ok(super::swim::Swim::boxed(s.config))
        });
        registry.register(super::phi::NAME, |_| Ok(super::phi::detector()));
        registry
    }

    /// Registers `factory` under `name`, replacing any earlier one.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&DetectorSettings<'_>) -> Result<Box<dyn FailureDetector>, MembershipError>
        + Send
        + Sync
        + 'static,
    ) {
        self.factories.insert(name.to_string(), Arc::new(factory));
    }

    /// Builds the detector registered as `name` from `settings`.
    pub fn create(
        &self,
        name: &str,
        settings: &DetectorSettings<'_>,
    ) -> Result<Box<dyn FailureDetector>, MembershipError> {
        match self.factories.get(name) {
            Some(factory) => factory(settings),
            None => Err(MembershipError::UnknownDetector {
                name: name.to_string(),
                known: self.names().join(", "),
            }),
        }
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.factories.keys().cloned().collect()
    }
}
