//! The scheduled-cleanup policy over counters seen at each tick: idle and over-age connections.
//! Pure: time is passed in, state comes and goes as [`Track`] values.
//!
//! Idle: a connection is *seen active* at a tick when its ingress + egress bytes have grown by at
//! least `idle_bytes` since it was last seen active; it is idle once it has not been seen active for
//! `idle_minutes`. Activity is checked first, then idleness, so the verdict does not depend on how
//! often the schedule fires, and a keepalive trickle counts only once it adds up to `idle_bytes`.

use crate::domain::person::{People, UserPattern};
use chrono::{DateTime, TimeDelta, Utc};

mod idle;
pub mod sweep;
pub use idle::{observe, Observation, Track};

/// The limits that apply to a group of connections; `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub idle_minutes: Option<u32>,
    pub max_session_minutes: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SweepPolicy {
    pub limits: Limits,
    /// Bytes that make a connection seen active.
    pub idle_bytes: u64,
    /// Users or common names (patterns) under `extended` instead of `limits`.
    pub extended_users: Vec<UserPattern>,
    /// Who a name is, so that every form of an extended user's name is extended.
    pub people: People,
    pub extended: Limits,
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            idle_bytes: 1 << 20,
            extended_users: Vec::new(),
            people: People::default(),
            extended: Limits::default(),
        }
    }
}

impl SweepPolicy {
    pub fn tracks_idle(&self) -> bool {
        self.limits.idle_minutes.is_some() || self.extended.idle_minutes.is_some()
    }

    pub fn limits_for(&self, username: Option<&str>, common_name: Option<&str>) -> (Limits, bool) {
        let extended = [username, common_name]
            .into_iter()
            .flatten()
            .any(|name| self.people.listed(&self.extended_users, name));
        if extended {
            (self.extended, true)
        } else {
            (self.limits, false)
        }
    }
}

/// Why a connection is a sweep target, with the figures that made it one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// Minutes since it was last seen active, when it is idle.
    pub idle_minutes: Option<i64>,
    /// Bytes moved since it was last seen active, when it is idle.
    pub bytes_since_active: Option<u64>,
    pub age_minutes: Option<i64>,
    pub idle: bool,
    pub over_age: bool,
}

impl Verdict {
    pub fn is_target(&self) -> bool {
        self.idle || self.over_age
    }

    /// Sort key: the longest idle first, then the oldest.
    pub fn rank(&self) -> (i64, i64) {
        (
            self.idle_minutes.filter(|_| self.idle).unwrap_or(0),
            self.age_minutes.unwrap_or(0),
        )
    }

    pub fn describe(&self, limits: &Limits) -> String {
        let mut parts = Vec::new();
        if self.idle {
            parts.push(format!(
                "idle {} min (limit {}), {} bytes moved since last active",
                self.idle_minutes.unwrap_or(0),
                limits.idle_minutes.unwrap_or(0),
                self.bytes_since_active.unwrap_or(0)
            ));
        }
        if self.over_age {
            parts.push(format!(
                "connected {} min (limit {})",
                self.age_minutes.unwrap_or(0),
                limits.max_session_minutes.unwrap_or(0)
            ));
        }
        parts.join("; ")
    }
}

/// Decides one connection at `now` under `limits`. `track` is its observation when idle is tracked.
pub fn judge(
    limits: &Limits,
    track: Option<Track>,
    total: u64,
    established: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Verdict {
    let age = established.map(|e| (now - e).num_minutes());
    let over_age = match (limits.max_session_minutes, established) {
        // "More than" the limit: at exactly the limit it stays.
        (Some(max), Some(e)) => now - e > TimeDelta::minutes(max.into()),
        _ => false,
    };
    let (idle, idle_minutes, bytes) = match (limits.idle_minutes, track) {
        (Some(limit), Some(t)) => {
            // Never idle from before it existed: a mark older than the connection is its start.
            let from =
                established.map_or(t.last_active_at, |e| t.last_active_at.max(e.timestamp()));
            let since = now.timestamp().saturating_sub(from);
            (
                since >= i64::from(limit) * 60,
                Some(since / 60),
                Some(total.saturating_sub(t.last_active_total)),
            )
        }
        _ => (false, None, None),
    };
    Verdict {
        idle_minutes,
        bytes_since_active: bytes,
        age_minutes: age,
        idle,
        over_age,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        "2026-11-22T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
    }

    #[test]
    fn age_boundaries() {
        let limits = Limits {
            idle_minutes: None,
            max_session_minutes: Some(480),
        };
        let at = |now: DateTime<Utc>| judge(&limits, None, 0, Some(t(0)), now);
        assert!(!at(t(480)).over_age, "exactly the limit stays");
        assert!(at(t(480) + TimeDelta::seconds(1)).over_age);
        assert_eq!(at(t(481)).age_minutes, Some(481));
        assert!(
            !judge(&limits, None, 0, None, t(10_000)).over_age,
            "no establishment time, no age"
        );
        assert!(!judge(&Limits::default(), None, 0, Some(t(0)), t(10_000)).is_target());
    }

    #[test]
    fn idle_boundary_is_inclusive() {
        let limits = Limits {
            idle_minutes: Some(30),
            max_session_minutes: None,
        };
        let track = Some(Track {
            last_active_at: t(0).timestamp(),
            last_active_total: 100,
        });
        assert!(!judge(&limits, track, 150, None, t(30) - TimeDelta::seconds(1)).idle);
        let v = judge(&limits, track, 150, None, t(30));
        assert!(v.idle);
        assert_eq!((v.idle_minutes, v.bytes_since_active), (Some(30), Some(50)));
    }

    #[test]
    fn extended_users_get_their_own_limits() {
        let policy = SweepPolicy {
            limits: Limits {
                idle_minutes: Some(30),
                max_session_minutes: Some(480),
            },
            extended_users: vec![People::default().pattern("svc-*").unwrap()],
            extended: Limits {
                idle_minutes: None,
                max_session_minutes: Some(1440),
            },
            ..SweepPolicy::default()
        };
        assert_eq!(
            policy.limits_for(Some("alice"), None),
            (policy.limits, false)
        );
        assert_eq!(
            policy.limits_for(None, Some("svc-backup")),
            (policy.extended, true)
        );
    }

    #[test]
    fn ranks_most_idle_first() {
        let mut verdicts = [
            Verdict {
                idle_minutes: Some(40),
                bytes_since_active: Some(0),
                age_minutes: Some(100),
                idle: true,
                over_age: false,
            },
            Verdict {
                idle_minutes: Some(5),
                bytes_since_active: Some(0),
                age_minutes: Some(900),
                idle: false,
                over_age: true,
            },
            Verdict {
                idle_minutes: Some(90),
                bytes_since_active: Some(0),
                age_minutes: Some(95),
                idle: true,
                over_age: false,
            },
        ];
        verdicts.sort_by_key(|v| std::cmp::Reverse(v.rank()));
        assert_eq!(
            verdicts
                .iter()
                .map(|v| v.idle_minutes.unwrap())
                .collect::<Vec<_>>(),
            [90, 40, 5]
        );
    }
}
