//! A sweep's decisions, pure: which policy a schedule's overrides give, and which connections end
//! now, which wait for the next tick (over the ceiling) and which are protected.

use super::{judge, Limits, SweepPolicy, Track, Verdict};
use crate::domain::model::Connection;
use crate::domain::trigger::SweepOverrides;
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::HashMap;

/// Why a schedule's overrides were refused: the field and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

/// The deployment's policy with a schedule's overrides. Overrides may narrow a sweep but not widen
/// it past what a person configured: thresholds under `min_minutes` are refused, and `IdleBytes`
/// may only be lowered (fewer bytes count as activity, so fewer connections are idle).
pub fn with_overrides(
    base: &SweepPolicy,
    o: &SweepOverrides,
    min_minutes: u32,
) -> Result<SweepPolicy, Refused> {
    for (field, minutes) in [
        ("IdleMinutes", o.idle_minutes),
        ("MaxSessionMinutes", o.max_session_minutes),
    ] {
        if let Some(m) = minutes.filter(|m| *m < min_minutes) {
            return Err(Refused {
                field,
                message: format!(
                    "{m} minutes is under CVPN_MIN_OVERRIDE_MINUTES ({min_minutes}); a schedule may not end sessions that young"
                ),
            });
        }
    }
    if let Some(bytes) = o.idle_bytes.filter(|b| *b > base.idle_bytes) {
        return Err(Refused {
            field: "IdleBytes",
            message: format!(
                "{bytes} is above CVPN_IDLE_BYTES ({}): it would judge busier connections idle",
                base.idle_bytes
            ),
        });
    }
    let mut policy = base.clone();
    policy.limits.idle_minutes = o.idle_minutes.or(policy.limits.idle_minutes);
    policy.limits.max_session_minutes = o.max_session_minutes.or(policy.limits.max_session_minutes);
    policy.idle_bytes = o.idle_bytes.unwrap_or(policy.idle_bytes);
    Ok(policy)
}

/// Whether the overrides change a threshold: such a run is capped as an incident is.
pub fn overrides_thresholds(o: &SweepOverrides) -> bool {
    o.idle_minutes.is_some() || o.max_session_minutes.is_some() || o.idle_bytes.is_some()
}

/// A connection the policy would end, with why.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub connection: Connection,
    pub verdict: Verdict,
    pub limits: Limits,
    pub extended: bool,
}

/// What the policy says of the connections judged so far: only those it would end are kept, so a
/// sweep holds one page and its targets, never the whole fleet.
#[derive(Debug, Default, PartialEq)]
pub struct Verdicts {
    pub end: Vec<Judged>,
    /// Would be ended, but a protected name is on the connection.
    pub protected: Vec<(Judged, String)>,
}

impl Verdicts {
    pub fn merge(&mut self, other: Verdicts) {
        self.end.extend(other.end);
        self.protected.extend(other.protected);
    }
}

/// Judges a page's active connections when their counters were read (else at `now`); the others
/// are dropped with the page.
pub fn judge_page(
    page: Vec<Connection>,
    tracks: &HashMap<String, Track>,
    policy: &SweepPolicy,
    now: DateTime<Utc>,
    is_protected: &dyn Fn(&str) -> bool,
) -> Verdicts {
    let mut verdicts = Verdicts::default();
    for c in page.into_iter().filter(Connection::is_active) {
        let (limits, extended) = policy.limits_for(c.username.as_deref(), c.common_name.as_deref());
        let total = c.ingress_bytes.saturating_add(c.egress_bytes);
        let verdict = judge(
            &limits,
            tracks.get(&c.connection_id).copied(),
            total,
            c.established,
            c.observed.unwrap_or(now),
        );
        if !verdict.is_target() {
            continue;
        }
        let protected = [&c.username, &c.common_name]
            .into_iter()
            .flatten()
            .find(|n| is_protected(n))
            .cloned();
        let judged = Judged {
            connection: c,
            verdict,
            limits,
            extended,
        };
        match protected {
            Some(name) => verdicts.protected.push((judged, name)),
            None => verdicts.end.push(judged),
        }
    }
    verdicts
}

/// A sweep's decision.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    /// To end now, the most idle first, then the oldest.
    pub end: Vec<Judged>,
    /// Beyond the ceiling: left for the next tick.
    pub over_ceiling: Vec<Judged>,
    /// Would be ended, but a protected name is on the connection; in connection ID order.
    pub protected: Vec<(Judged, String)>,
}

impl Decision {
    /// Ends only the first `n` (the most idle first); the rest wait for the next tick, before
    /// those already beyond the ceiling.
    pub fn keep(mut self, n: usize) -> Self {
        let mut rest = self.end.split_off(self.end.len().min(n));
        rest.append(&mut self.over_ceiling);
        self.over_ceiling = rest;
        self
    }
}

impl Verdicts {
    /// Each connection once — pages shift while new connections arrive, so a listing may show
    /// one twice; its most idle sighting counts — the targets ordered and split at `ceiling`.
    /// Connection ID breaks ties, so the order pages arrived in (endpoints are listed
    /// concurrently) and a replayed tick decide the same way.
    pub fn decide(self, ceiling: usize) -> Decision {
        let mut end = once(self.end, |j| j);
        end.sort_by(|a, b| {
            Reverse(a.verdict.rank())
                .cmp(&Reverse(b.verdict.rank()))
                .then_with(|| a.connection.connection_id.cmp(&b.connection.connection_id))
        });
        let over_ceiling = end.split_off(end.len().min(ceiling));
        Decision {
            end,
            over_ceiling,
            protected: once(self.protected, |(j, _)| j),
        }
    }
}

/// `items` in connection ID order, one per connection: of several sightings, the most idle, then
/// the latest (counters only grow).
fn once<T>(mut items: Vec<T>, judged: impl Fn(&T) -> &Judged) -> Vec<T> {
    let total = |j: &Judged| {
        j.connection
            .ingress_bytes
            .saturating_add(j.connection.egress_bytes)
    };
    items.sort_by(|a, b| {
        let (a, b) = (judged(a), judged(b));
        a.connection
            .connection_id
            .cmp(&b.connection.connection_id)
            .then_with(|| b.verdict.rank().cmp(&a.verdict.rank()))
            .then_with(|| total(b).cmp(&total(a)))
            .then_with(|| b.connection.observed.cmp(&a.connection.observed))
    });
    items.dedup_by(|later, kept| {
        judged(later).connection.connection_id == judged(kept).connection.connection_id
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(idle: Option<u32>, max: Option<u32>, bytes: Option<u64>) -> SweepOverrides {
        SweepOverrides {
            idle_minutes: idle,
            max_session_minutes: max,
            idle_bytes: bytes,
            ..SweepOverrides::default()
        }
    }

    #[test]
    fn overrides_narrow_but_never_below_the_floor() {
        let base = SweepPolicy::default();
        let p = with_overrides(&base, &overrides(Some(45), Some(600), Some(1000)), 15).unwrap();
        assert_eq!(
            (
                p.limits.idle_minutes,
                p.limits.max_session_minutes,
                p.idle_bytes
            ),
            (Some(45), Some(600), 1000)
        );
        assert_eq!(
            with_overrides(&base, &overrides(None, Some(1), None), 15)
                .unwrap_err()
                .field,
            "MaxSessionMinutes"
        );
        assert_eq!(
            with_overrides(&base, &overrides(Some(14), None, None), 15)
                .unwrap_err()
                .field,
            "IdleMinutes"
        );
        assert_eq!(
            with_overrides(&base, &overrides(None, None, Some(base.idle_bytes + 1)), 15)
                .unwrap_err()
                .field,
            "IdleBytes"
        );
        assert!(overrides_thresholds(&overrides(None, None, Some(5))));
        assert!(!overrides_thresholds(&SweepOverrides {
            dry_run: Some(true),
            ..SweepOverrides::default()
        }));
    }

    #[test]
    fn keeping_fewer_leaves_the_rest_first_in_line_for_the_next_tick() {
        let judged = |id: u32| Judged {
            connection: crate::domain::plan::tests::conn("e", id, Some("u"), None, "", "active"),
            verdict: Verdict {
                idle_minutes: None,
                bytes_since_active: None,
                age_minutes: Some(600),
                idle: false,
                over_age: true,
            },
            limits: Limits::default(),
            extended: false,
        };
        let decision = Decision {
            end: vec![judged(1), judged(2), judged(3)],
            over_ceiling: vec![judged(4)],
            protected: Vec::new(),
        };
        let ids = |list: &[Judged]| -> Vec<String> {
            list.iter()
                .map(|j| j.connection.connection_id.clone())
                .collect()
        };
        let kept = decision.keep(1);
        assert_eq!(ids(&kept.end), ids(&[judged(1)]));
        assert_eq!(
            ids(&kept.over_ceiling),
            ids(&[judged(2), judged(3), judged(4)])
        );
        let all = kept.keep(5);
        assert_eq!(all.end.len(), 1);
    }
}
