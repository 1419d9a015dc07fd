//! What a round fixes before it scores a single row: the configuration, the
//! trusted label counts, the calibration and the pool prior.
//!
//! A round on one machine fits its plan from the pool itself
//! ([`RoundPlan::fit`]). A round whose pool is spread over many machines
//! fits (or is given) one plan on the driver and hands it to every shard's
//! [`crate::PartialRound`]: shards scored under the same plan merge into
//! exactly the selection one machine makes.

use coselect_core::{CoDecider, Config, Fusion};

use crate::calibration::{calibrate, Calibration};
use crate::error::{Error, Result};
use crate::heaps::MAX_CLASSES;
use crate::parallel::{Parallelism, Workers};
use crate::prior::{estimate_prior, PriorEstimate};
use crate::round::check_round;
use crate::{Matrix, Pool};

/// The fixed inputs of a round's scoring pass.
///
/// ```
/// use coselect_core::Config;
/// use coselect_cpu::{Calibration, RoundPlan};
/// // Round 0 of a 3-class pool whose prior the caller already knows.
/// let cal = Calibration { temperature: 1.0, fusion: None };
/// let log_prior = [0.7f32.ln(), 0.2f32.ln(), 0.1f32.ln()];
/// let plan = RoundPlan::new(&Config::new(3, 6)?, &[0, 0, 0], cal, Some(&log_prior))?;
/// assert_eq!(plan.log_prior(), Some(&log_prior[..]));
/// // Seed mode needs the prior: without it the plan is refused.
/// assert!(RoundPlan::new(&Config::new(3, 6)?, &[0, 0, 0], cal, None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RoundPlan {
    pub(crate) config: Config,
    pub(crate) counts: Vec<u32>,
    pub(crate) calibration: Calibration,
    /// The EM run that gave `log_prior`, when this plan was fitted here.
    pub(crate) prior: Option<PriorEstimate>,
    /// `log pi`; a uniform placeholder when no class is in seed mode (the
    /// boundary scores do not read it).
    pub(crate) log_prior: Vec<f32>,
    pub(crate) has_prior: bool,
}

impl RoundPlan {
    /// Fits the plan of `pool` as [`crate::run_round`] does: calibration on
    /// the labeled rows, then, when some class is in seed mode, EM over every
    /// row (which also validates every row).
    ///
    /// ```
    /// use coselect_core::Config;
    /// use coselect_cpu::{Matrix, Parallelism, Pool, RoundPlan};
    /// let fm = [3.0f32, 0.0, 2.5, 0.0, 0.0, 3.0];
    /// let pool = Pool::new(Matrix::f32("fm", &fm, 3, 2)?, None, None)?;
    /// let plan = RoundPlan::fit(&pool, &Config::new(2, 2)?, Parallelism::default())?;
    /// let pi: Vec<f32> = plan.log_prior().unwrap().iter().map(|l| l.exp()).collect();
    /// assert!(pi[0] > pi[1]); // two of three rows look like class 0
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fit(pool: &Pool<'_>, config: &Config, parallelism: Parallelism) -> Result<RoundPlan> {
        check_round(pool, config)?;
        let workers = Workers::new(parallelism)?;
        workers.install(|| RoundPlan::fit_on(pool, config, &workers, parallelism.em_cache_bytes))
    }

    /// [`RoundPlan::fit`] on running workers, after [`check_round`].
    pub(crate) fn fit_on(
        pool: &Pool<'_>,
        config: &Config,
        workers: &Workers,
        em_cache_bytes: usize,
    ) -> Result<RoundPlan> {
        let classes = pool.fm.cols();
        let counts = pool.labels.counts().to_vec();
        let calibration = calibrate(pool, config)?;
        let any_seed = counts.iter().any(|&n| n < config.seed_min);
        let prior = match any_seed {
            true => Some(estimate_prior(
                pool,
                config,
                calibration.posterior_weights(),
                workers,
                true,
                em_cache_bytes,
            )?),
            false => None,
        };
        let log_prior = match &prior {
            Some(p) => p.log_prior.clone(),
            None => uniform(classes),
        };
        Ok(RoundPlan {
            config: *config,
            counts,
            calibration,
            has_prior: prior.is_some(),
            prior,
            log_prior,
        })
    }

    /// A plan from values the caller fitted: trusted label counts per class,
    /// the calibration (`fusion` is `Some` exactly when the rows will carry
    /// small-model log-probabilities) and `log pi`, which is required when
    /// some class has fewer than `seed_min` labels.
    pub fn new(
        config: &Config,
        counts: &[u32],
        calibration: Calibration,
        log_prior: Option<&[f32]>,
    ) -> Result<RoundPlan> {
        check_settings(config, calibration)?;
        let classes = config.classes as usize;
        let mismatch = |found: usize| {
            Error::core("plan")(coselect_core::Error::ClassCountMismatch {
                expected: config.classes,
                found: found as u32,
            })
        };
        if counts.len() != classes {
            return Err(mismatch(counts.len()));
        }
        if calibration.fusion.is_none() {
            check_no_boundary_class(counts, config.seed_min)?;
        }
        let any_seed = counts.iter().any(|&n| n < config.seed_min);
        let has_prior = log_prior.is_some();
        let log_prior = match log_prior {
            Some(l) => {
                if l.len() != classes {
                    return Err(mismatch(l.len()));
                }
                coselect_core::math::check_finite(0, l, classes)
                    .map_err(Error::core("log prior"))?;
                l.to_vec()
            }
            None if any_seed => {
                return Err(Error::core("plan")(coselect_core::Error::InvalidConfig {
                    field: "log_prior (some class is in seed mode)",
                }))
            }
            None => uniform(classes),
        };
        Ok(RoundPlan {
            config: *config,
            counts: counts.to_vec(),
            calibration,
            prior: None,
            has_prior,
            log_prior,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Trusted human labels per class.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// The calibration the scores use.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// `log pi`, when the plan has one (always when a class is in seed mode).
    pub fn log_prior(&self) -> Option<&[f32]> {
        self.has_prior.then_some(&self.log_prior[..])
    }

    /// The EM run, when [`RoundPlan::fit`] estimated the prior.
    pub fn prior(&self) -> Option<&PriorEstimate> {
        self.prior.as_ref()
    }

    pub(crate) fn classes(&self) -> usize {
        self.counts.len()
    }

    pub(crate) fn any_seed(&self) -> bool {
        self.counts.iter().any(|&n| n < self.config.seed_min)
    }

    /// Co-decision needs the small model and at least one human label.
    pub(crate) fn codecides(&self) -> bool {
        self.calibration.fusion.is_some() && self.counts.iter().any(|&n| n > 0)
    }

    pub(crate) fn pseudo_cap(&self) -> usize {
        CoDecider::<MAX_CLASSES, 1>::cap(&self.config, &self.counts)
    }
}

/// The checks every state built from caller values makes: a valid config
/// within this host's class capacity, a positive finite temperature, and
/// finite non-negative fusion weights.
pub(crate) fn check_settings(config: &Config, calibration: Calibration) -> Result<()> {
    config.validate().map_err(Error::core("config"))?;
    let classes = config.classes as usize;
    if classes > MAX_CLASSES {
        return Err(Error::TooLarge {
            what: "the number of classes",
            value: classes,
            max: MAX_CLASSES,
        });
    }
    let t = calibration.temperature;
    if !(t.is_finite() && t > 0.0) {
        return Err(Error::core("calibration")(
            coselect_core::Error::InvalidConfig {
                field: "temperature",
            },
        ));
    }
    if let Some(Fusion { a, b }) = calibration.fusion {
        if !(a.is_finite() && b.is_finite() && a >= 0.0 && b >= 0.0) {
            return Err(Error::core("calibration")(
                coselect_core::Error::InvalidConfig { field: "fusion" },
            ));
        }
    }
    Ok(())
}

/// Without a small model no class may be in boundary mode (`seed_min` or
/// more labels): its scores come from the small model alone.
pub(crate) fn check_no_boundary_class(counts: &[u32], seed_min: u32) -> Result<()> {
    match counts.iter().position(|&n| n >= seed_min) {
        Some(c) => Err(Error::MissingSmallModel {
            class: c as u32,
            labels: counts[c],
            seed_min,
        }),
        None => Ok(()),
    }
}

/// The checks of a batch pushed into a shard's state, made before any of
/// its rows enters the state so that a refused batch changes nothing: the
/// classes; small-model rows given exactly when the calibration weighs a
/// small model, in the FM rows' shape; every value (finite FM scores,
/// normalised log-probabilities). `context` names the state in errors.
pub(crate) fn check_batch(
    context: &'static str,
    classes: usize,
    calibration: Calibration,
    fm: &Matrix<'_>,
    sm: Option<&Matrix<'_>>,
) -> Result<()> {
    if fm.cols() != classes {
        return Err(Error::core(context)(
            coselect_core::Error::ClassCountMismatch {
                expected: classes as u32,
                found: fm.cols() as u32,
            },
        ));
    }
    let shape_error = |input: &str, shape: String| Error::ShapeMismatch {
        input: input.to_string(),
        shape,
        other: fm.name().to_string(),
        other_shape: fm.shape_text(),
    };
    match (sm, calibration.fusion) {
        (Some(s), Some(_)) if (s.rows(), s.cols()) != (fm.rows(), fm.cols()) => {
            return Err(shape_error(s.name(), s.shape_text()));
        }
        (None, Some(_)) => {
            return Err(shape_error(
                "the small model's log-probabilities (the calibration has fusion weights)",
                "missing".into(),
            ));
        }
        (Some(s), None) => {
            return Err(shape_error(
                s.name(),
                format!("{} (the calibration has no small model)", s.shape_text()),
            ));
        }
        _ => {}
    }
    let mut bufs = vec![0.0f32; 2 * classes];
    let (fb, sb) = bufs.split_at_mut(classes);
    for i in 0..fm.rows() {
        fm.check_finite(i, fm.row(i, fb))?;
        if let Some(m) = sm {
            m.check_log_probabilities(i, m.row(i, sb))?;
        }
    }
    Ok(())
}

fn uniform(classes: usize) -> Vec<f32> {
    vec![-(classes as f32).ln(); classes]
}
