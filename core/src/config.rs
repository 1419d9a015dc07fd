//! The validated, versioned configuration of a selection round.
//!
//! Serialized with postcard behind a version number, and validated on every
//! way in (constructor, decoding), so a `Config` value in hand is always
//! usable.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Version written in front of every serialized [`Config`].
pub const CONFIG_VERSION: u16 = 1;

/// Upper bound on classes any structure of the core accepts; also bounded by
/// the const capacity of each structure.
pub const MAX_CLASSES: u32 = 65_535;

/// All knobs of the method, with DESIGN.md's defaults.
///
/// Fields are public so a host can change one default at a time, but every
/// core entry point validates the whole struct again, so an invalid edit is
/// reported, never acted on.
///
/// ```
/// use coselect_core::Config;
/// let mut cfg = Config::new(25, 30)?;
/// cfg.seed_min = 5;
/// cfg.validate()?;
/// let mut buf = [0u8; 128];
/// let bytes = cfg.to_bytes(&mut buf)?;
/// assert_eq!(Config::from_bytes(bytes)?, cfg);
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
#[non_exhaustive]
pub struct Config {
    /// Number of classes C (at least 2).
    pub classes: u32,
    /// Human labeling budget k of one round (at least 1).
    pub k: u32,
    /// A class with fewer trusted labels than this is queried in seed mode
    /// (by the balanced FM-informed posterior) instead of boundary mode.
    pub seed_min: u32,
    /// Confidence at which a co-decision candidate counts toward its class's
    /// learning status (FlexMatch's tau), 0.8.
    pub co_confidence: f32,
    /// Floor of the per-class acceptance threshold, 0.5. With many classes every class's
    /// FlexMatch threshold sits at the floor, so the floor alone decides which agreeing rows
    /// become pseudo-labels (0.3 measured better on long-tail pools with a good FM prior and
    /// worse with a weak one: docs/method.md, session 8).
    pub co_floor: f32,
    /// Pseudo-labels per class are capped at this factor times the smallest
    /// trusted human count among labeled classes, 20.
    pub cap_factor: u32,
    /// Training weight of a co-decided pseudo-label (humans weigh 1), 0.5.
    pub pseudo_weight: f32,
    /// A human label is suspect when the fused probability of its class is
    /// below this and FM and small model agree on another class, 0.05.
    pub trust_threshold: f32,
    /// Ridge pulling the FM temperature toward 1.
    pub temperature_ridge: f32,
    /// Smallest FM temperature multiplier the fit may return.
    pub temperature_min: f32,
    /// Ridge pulling the fusion weights (a, b) toward (1, 1).
    pub fusion_ridge: f32,
    /// EM stops when the L1 change of the prior is below this.
    pub em_tolerance: f32,
    /// EM stops after this many passes.
    pub em_max_iterations: u32,
    /// No class prior falls below this.
    pub em_floor: f32,
    /// Newton fits stop after this many steps.
    pub newton_max_steps: u32,
    /// Newton fits stop when a step is shorter than this.
    pub newton_tolerance: f32,
}

impl Config {
    /// The defaults of DESIGN.md for `classes` classes and budget `k`.
    ///
    /// ```
    /// let cfg = coselect_core::Config::new(10, 64)?;
    /// assert_eq!(cfg.seed_min, 3);
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    pub fn new(classes: u32, k: u32) -> Result<Self> {
        let cfg = Config {
            classes,
            k,
            seed_min: 3,
            co_confidence: 0.8,
            co_floor: 0.5,
            cap_factor: 20,
            pseudo_weight: 0.5,
            trust_threshold: 0.05,
            temperature_ridge: 1.0,
            temperature_min: 0.05,
            fusion_ridge: 1.0,
            em_tolerance: 1e-6,
            em_max_iterations: 100,
            em_floor: 1e-6,
            newton_max_steps: 30,
            newton_tolerance: 1e-7,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field; the error names the first invalid one.
    ///
    /// ```
    /// let mut cfg = coselect_core::Config::new(10, 64)?;
    /// cfg.co_floor = 0.9; // above co_confidence
    /// assert!(cfg.validate().is_err());
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.classes < 2 || self.classes > MAX_CLASSES {
            return Err(Error::InvalidClassCount {
                classes: self.classes,
            });
        }
        if self.k == 0 {
            return Err(Error::ZeroBudget);
        }
        let unit = |x: f32| x.is_finite() && x > 0.0 && x <= 1.0;
        let positive = |x: f32| x.is_finite() && x > 0.0;
        let nonnegative = |x: f32| x.is_finite() && x >= 0.0;
        let checks: [(bool, &'static str); 13] = [
            (unit(self.co_confidence), "co_confidence"),
            (
                unit(self.co_floor) && self.co_floor <= self.co_confidence,
                "co_floor",
            ),
            (self.cap_factor >= 1, "cap_factor"),
            (unit(self.pseudo_weight), "pseudo_weight"),
            (
                nonnegative(self.trust_threshold) && self.trust_threshold < 1.0,
                "trust_threshold",
            ),
            (nonnegative(self.temperature_ridge), "temperature_ridge"),
            (positive(self.temperature_min), "temperature_min"),
            (nonnegative(self.fusion_ridge), "fusion_ridge"),
            (positive(self.em_tolerance), "em_tolerance"),
            (self.em_max_iterations >= 1, "em_max_iterations"),
            (
                positive(self.em_floor) && self.em_floor * (self.classes as f32) < 1.0,
                "em_floor",
            ),
            (self.newton_max_steps >= 1, "newton_max_steps"),
            (positive(self.newton_tolerance), "newton_tolerance"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some(&(_, field)) => Err(Error::InvalidConfig { field }),
            None => Ok(()),
        }
    }

    /// Validates the config and checks that its classes fit a structure of
    /// capacity `capacity`; returns the class count.
    pub(crate) fn classes_within(&self, capacity: usize) -> Result<usize> {
        self.validate()?;
        let classes = self.classes as usize;
        if classes > capacity {
            return Err(Error::CapacityExceeded {
                needed: classes,
                capacity,
            });
        }
        Ok(classes)
    }

    /// Checks that a per-class input has one entry per class.
    pub(crate) fn check_classes(&self, found: usize) -> Result<()> {
        if found != self.classes as usize {
            return Err(Error::ClassCountMismatch {
                expected: self.classes,
                found: found as u32,
            });
        }
        Ok(())
    }

    /// Writes the config as postcard bytes (version first) into `buf` and
    /// returns the used part. 96 bytes always suffice.
    pub fn to_bytes<'a>(&self, buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
        postcard::to_slice(self, buf).map_err(|_| Error::BufferTooSmall)
    }

    /// Reads a config written by [`Config::to_bytes`]; validates it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::codec::decode::<RawConfig, Config>(bytes, CONFIG_VERSION)
    }
}

/// The wire form: same fields, version in front, no validation. Kept private
/// so the only way from bytes to a `Config` goes through `validate`.
#[derive(Serialize, Deserialize)]
struct RawConfig {
    version: u16,
    classes: u32,
    k: u32,
    seed_min: u32,
    co_confidence: f32,
    co_floor: f32,
    cap_factor: u32,
    pseudo_weight: f32,
    trust_threshold: f32,
    temperature_ridge: f32,
    temperature_min: f32,
    fusion_ridge: f32,
    em_tolerance: f32,
    em_max_iterations: u32,
    em_floor: f32,
    newton_max_steps: u32,
    newton_tolerance: f32,
}

impl From<Config> for RawConfig {
    fn from(c: Config) -> Self {
        RawConfig {
            version: CONFIG_VERSION,
            classes: c.classes,
            k: c.k,
            seed_min: c.seed_min,
            co_confidence: c.co_confidence,
            co_floor: c.co_floor,
            cap_factor: c.cap_factor,
            pseudo_weight: c.pseudo_weight,
            trust_threshold: c.trust_threshold,
            temperature_ridge: c.temperature_ridge,
            temperature_min: c.temperature_min,
            fusion_ridge: c.fusion_ridge,
            em_tolerance: c.em_tolerance,
            em_max_iterations: c.em_max_iterations,
            em_floor: c.em_floor,
            newton_max_steps: c.newton_max_steps,
            newton_tolerance: c.newton_tolerance,
        }
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = Error;
    fn try_from(r: RawConfig) -> Result<Self> {
        if r.version != CONFIG_VERSION {
            return Err(Error::UnsupportedVersion {
                found: r.version,
                supported: CONFIG_VERSION,
            });
        }
        let c = Config {
            classes: r.classes,
            k: r.k,
            seed_min: r.seed_min,
            co_confidence: r.co_confidence,
            co_floor: r.co_floor,
            cap_factor: r.cap_factor,
            pseudo_weight: r.pseudo_weight,
            trust_threshold: r.trust_threshold,
            temperature_ridge: r.temperature_ridge,
            temperature_min: r.temperature_min,
            fusion_ridge: r.fusion_ridge,
            em_tolerance: r.em_tolerance,
            em_max_iterations: r.em_max_iterations,
            em_floor: r.em_floor,
            newton_max_steps: r.newton_max_steps,
            newton_tolerance: r.newton_tolerance,
        };
        c.validate()?;
        Ok(c)
    }
}
