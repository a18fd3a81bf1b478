//! Fault injection per action (token-bucket throttling, injected 5xx, denial, added latency) and the
//! per-action call counters. Injected errors are drawn from a seeded generator so that a run can be
//! repeated; the token bucket refills with real time, since it stands for EC2's real rate limit.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The actions the emulator serves: EC2's, and STS's `AssumeRole` and `GetCallerIdentity`.
pub const ACTIONS: [&str; 6] = [
    "DescribeClientVpnEndpoints",
    "DescribeClientVpnConnections",
    "TerminateClientVpnConnections",
    "ModifyClientVpnEndpoint",
    ASSUME_ROLE,
    GET_CALLER_IDENTITY,
];
pub const ASSUME_ROLE: &str = "AssumeRole";
pub const GET_CALLER_IDENTITY: &str = "GetCallerIdentity";

/// The longest `latencyMs` accepted: an hour. Longer would only hang the caller (and `u64::MAX`
/// milliseconds does not fit after an `Instant`).
pub const MAX_LATENCY_MS: u64 = 60 * 60 * 1000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Seeds the generator that decides which calls get an injected error.
    #[serde(default)]
    pub seed: u64,
    /// Keyed by action name.
    #[serde(default)]
    pub actions: BTreeMap<String, ActionFaults>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionFaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    /// Share of calls, 0 to 1, answered with `InternalError` (HTTP 500).
    #[serde(default)]
    pub error_rate: f64,
    /// Added to every call before it is answered; at most [`MAX_LATENCY_MS`].
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer every call with `UnauthorizedOperation`, as EC2 does without the IAM permission.
    #[serde(default)]
    pub deny: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Throttle {
    pub bucket: f64,
    pub refill_per_second: f64,
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        for (action, f) in &self.actions {
            if !ACTIONS.contains(&action.as_str()) {
                return Err(format!(
                    "faults.actions: unknown action {action}; expected one of {ACTIONS:?}"
                ));
            }
            if !(0.0..=1.0).contains(&f.error_rate) {
                return Err(format!(
                    "faults.actions.{action}.errorRate must be between 0 and 1"
                ));
            }
            if f.latency_ms > MAX_LATENCY_MS {
                return Err(format!(
                    "faults.actions.{action}.latencyMs must be at most {MAX_LATENCY_MS} (an hour)"
                ));
            }
            if let Some(t) = f.throttle {
                if !(t.bucket >= 1.0
                    && t.refill_per_second >= 0.0
                    && t.refill_per_second.is_finite())
                {
                    return Err(format!(
                        "faults.actions.{action}.throttle needs bucket >= 1 and refillPerSecond >= 0"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionStats {
    pub calls: u64,
    pub throttled: u64,
    /// Calls answered with an injected server error.
    pub failed: u64,
    /// Calls answered with a client error by the action itself (including `DryRunOperation`).
    pub client_errors: u64,
}

/// What the fault layer decided for one call.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    Throttled,
    ServerError,
    Denied,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct FaultState {
    config: Faults,
    rng: fastrand::Rng,
    buckets: BTreeMap<String, Bucket>,
    pub stats: BTreeMap<String, ActionStats>,
}

impl Default for FaultState {
    fn default() -> Self {
        Self::new(Faults::default())
    }
}

impl FaultState {
    pub fn new(config: Faults) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(config.seed),
            config,
            buckets: BTreeMap::new(),
            stats: ACTIONS
                .iter()
                .map(|a| (a.to_string(), ActionStats::default()))
                .collect(),
        }
    }

    pub fn config(&self) -> &Faults {
        &self.config
    }

    /// Replaces the faults, reseeding the generator and refilling every bucket; counters are kept.
    pub fn replace(&mut self, config: Faults) {
        let stats = std::mem::take(&mut self.stats);
        *self = Self::new(config);
        self.stats = stats;
    }

    /// Counts the call and decides its fate; returns the latency to add before answering. Each
    /// place (`at`: account and Region) has its own throttle buckets, as in AWS.
    pub fn admit(&mut self, action: &str, at: &str) -> (Verdict, Duration) {
        let stats = self.stats.entry(action.to_owned()).or_default();
        stats.calls += 1;
        let Some(f) = self.config.actions.get(action) else {
            return (Verdict::Proceed, Duration::ZERO);
        };
        let latency = Duration::from_millis(f.latency_ms);
        if f.deny {
            stats.client_errors += 1;
            return (Verdict::Denied, latency);
        }
        if let Some(t) = f.throttle {
            let now = Instant::now();
            let bucket = self
                .buckets
                .entry(format!("{at}|{action}"))
                .or_insert(Bucket {
                    tokens: t.bucket,
                    at: now,
                });
            let refill = now.duration_since(bucket.at).as_secs_f64() * t.refill_per_second;
            bucket.tokens = (bucket.tokens + refill).min(t.bucket);
            bucket.at = now;
            if bucket.tokens < 1.0 {
                stats.throttled += 1;
                return (Verdict::Throttled, latency);
            }
            bucket.tokens -= 1.0;
        }
        if f.error_rate > 0.0 && self.rng.f64() < f.error_rate {
            stats.failed += 1;
            return (Verdict::ServerError, latency);
        }
        (Verdict::Proceed, latency)
    }

    pub fn count_client_error(&mut self, action: &str) {
        self.stats
            .entry(action.to_owned())
            .or_default()
            .client_errors += 1;
    }

    pub fn reset_stats(&mut self) {
        self.stats
            .values_mut()
            .for_each(|s| *s = ActionStats::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(action: ActionFaults) -> Faults {
        Faults {
            seed: 7,
            actions: [("TerminateClientVpnConnections".to_owned(), action)].into(),
        }
    }

    #[test]
    fn bucket_throttles_once_empty() {
        let mut state = FaultState::new(faults(ActionFaults {
            throttle: Some(Throttle {
                bucket: 3.0,
                refill_per_second: 0.0,
            }),
            ..Default::default()
        }));
        let verdicts: Vec<_> = (0..5)
            .map(|_| state.admit("TerminateClientVpnConnections", "a/r").0)
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Proceed,
                Verdict::Proceed,
                Verdict::Proceed,
                Verdict::Throttled,
                Verdict::Throttled
            ]
        );
        // Another account or Region has a bucket of its own.
        assert_eq!(
            state.admit("TerminateClientVpnConnections", "b/r").0,
            Verdict::Proceed
        );
        let stats = state.stats["TerminateClientVpnConnections"];
        assert_eq!((stats.calls, stats.throttled), (6, 2));
        assert_eq!(
            state.admit("DescribeClientVpnConnections", "a/r").0,
            Verdict::Proceed
        );
    }

    #[test]
    fn injected_errors_repeat_under_the_same_seed() {
        let run = || {
            let mut state = FaultState::new(faults(ActionFaults {
                error_rate: 0.3,
                ..Default::default()
            }));
            (0..200)
                .map(|_| {
                    state.admit("TerminateClientVpnConnections", "a/r").0 == Verdict::ServerError
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let errors = first.iter().filter(|e| **e).count();
        assert!(
            (30..90).contains(&errors),
            "{errors} errors of 200 at rate 0.3"
        );
    }

    #[test]
    fn validation_names_the_field() {
        let bad = faults(ActionFaults {
            error_rate: 1.5,
            ..Default::default()
        });
        assert!(bad.validate().unwrap_err().contains("errorRate"));
        let slow = |latency_ms| {
            faults(ActionFaults {
                latency_ms,
                ..Default::default()
            })
        };
        assert!(slow(MAX_LATENCY_MS).validate().is_ok());
        for too_slow in [MAX_LATENCY_MS + 1, u64::MAX] {
            assert!(slow(too_slow).validate().unwrap_err().contains("latencyMs"));
        }
        let mut unknown = Faults::default();
        unknown
            .actions
            .insert("RunInstances".into(), ActionFaults::default());
        assert!(unknown.validate().unwrap_err().contains("RunInstances"));
    }
}
