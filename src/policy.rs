//! The scheduled-cleanup policy over counters seen at each tick: idle and over-age connections.
//! Pure: time is passed in, state comes and goes as [`Track`] values.
//!
//! Idle: a connection is *seen active* at a tick when its ingress + egress bytes have grown by at
//! least `idle_bytes` since it was last seen active; it is idle once it has not been seen active for
//! `idle_minutes`. Activity is checked first, then idleness, so the verdict does not depend on how
//! often the schedule fires, and a keepalive trickle counts only once it adds up to `idle_bytes`.

use crate::mapping::NamePattern;
use chrono::{DateTime, TimeDelta, Utc};

/// What is remembered of a connection between ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Track {
    /// When it was last seen active (seconds since the epoch).
    pub last_active_at: i64,
    /// Its ingress + egress bytes at that moment.
    pub last_active_total: u64,
}

/// The result of looking at a connection at one tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    pub track: Track,
    /// The track differs from what is stored and must be written: only a new activity mark. The
    /// state of a connection idle since it was established is derived, never stored.
    pub write: bool,
}

/// Looks at a connection whose counters total `total` bytes at `now`.
pub fn observe(
    stored: Option<Track>,
    total: u64,
    established: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    idle_bytes: u64,
) -> Observation {
    let now_s = now.timestamp();
    match stored {
        // A later tick has already been recorded (an overlapping, slower run): it knows better.
        Some(t) if t.last_active_at > now_s => Observation {
            track: t,
            write: false,
        },
        // Counters below the last mark mean a new connection behind the same ID: start afresh.
        Some(t) if total >= t.last_active_total => {
            if total - t.last_active_total >= idle_bytes {
                Observation {
                    track: Track {
                        last_active_at: now_s,
                        last_active_total: total,
                    },
                    write: true,
                }
            } else {
                Observation {
                    track: t,
                    write: false,
                }
            }
        }
        _ => first_sighting(total, established, now_s, idle_bytes),
    }
}

/// Nothing is known of its past: below `idle_bytes` in its whole life, it has been idle since it was
/// established; otherwise it counts as active now.
fn first_sighting(
    total: u64,
    established: Option<DateTime<Utc>>,
    now_s: i64,
    idle_bytes: u64,
) -> Observation {
    match established.map(|e| e.timestamp().min(now_s)) {
        Some(since) if total < idle_bytes => Observation {
            track: Track {
                last_active_at: since,
                last_active_total: 0,
            },
            write: false,
        },
        _ => Observation {
            track: Track {
                last_active_at: now_s,
                last_active_total: total,
            },
            write: true,
        },
    }
}

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
    pub extended_users: Vec<NamePattern>,
    pub extended: Limits,
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            idle_bytes: 1 << 20,
            extended_users: Vec::new(),
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
            .any(|name| self.extended_users.iter().any(|p| p.matches(name)));
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
            let since = now.timestamp() - t.last_active_at;
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

    const BYTES: u64 = 10_000;

    fn t(minutes: i64) -> DateTime<Utc> {
        "2026-11-22T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
    }

    /// Runs ticks `(minute, total bytes)` and returns the minute of the first idle verdict.
    fn first_idle(ticks: &[(i64, u64)], established: i64, idle_minutes: u32) -> Option<i64> {
        let limits = Limits {
            idle_minutes: Some(idle_minutes),
            max_session_minutes: None,
        };
        let mut stored = None;
        for &(minute, total) in ticks {
            let o = observe(stored, total, Some(t(established)), t(minute), BYTES);
            if o.write {
                stored = Some(o.track);
            }
            if judge(
                &limits,
                Some(o.track),
                total,
                Some(t(established)),
                t(minute),
            )
            .idle
            {
                return Some(minute);
            }
        }
        None
    }

    /// A connection established at minute 0 with 50 KB, then `per_tick` more bytes each `every` minutes.
    fn steady(every: i64, per_tick: u64, until: i64) -> Vec<(i64, u64)> {
        (1..=until / every)
            .map(|i| (i * every, 50_000 + per_tick * i as u64))
            .collect()
    }

    #[test]
    fn keepalive_only_traffic_counts_as_idle() {
        // 200 bytes a minute of keepalives: 10 KB takes 50 minutes to add up, so within a 30-minute
        // window it never counts as activity.
        let ticks = steady(5, 1000, 120);
        assert_eq!(
            first_idle(&ticks, 0, 30),
            Some(35),
            "first sighting at 5 counts as active; idle 30 min later"
        );
    }

    #[test]
    fn a_keepalive_trickle_counts_once_it_adds_up() {
        // 400 bytes a minute: 10 KB after 25 minutes, so it is seen active every 25 minutes and never
        // idle for 30.
        assert_eq!(first_idle(&steady(5, 2000, 300), 0, 30), None);
    }

    #[test]
    fn the_verdict_does_not_depend_on_tick_frequency() {
        for every in [1, 5, 10, 15] {
            let idle_at = first_idle(&steady(every, 100 * every as u64, 240), 0, 60).unwrap();
            // Seen active at the first tick, idle 60 minutes later, to within one tick.
            assert!(
                (60 + every..=60 + 2 * every).contains(&idle_at),
                "every {every}: idle at {idle_at}"
            );
        }
    }

    #[test]
    fn a_burst_resets_the_idle_clock() {
        // Seen active at 5; quiet until a 20 KB burst at 30, just before the window closes.
        let mut ticks = steady(5, 100, 25);
        ticks.push((30, 50_500 + 20_000));
        ticks.extend((7..30).map(|i| (i * 5, 70_500 + 100 * i as u64)));
        assert_eq!(
            first_idle(&ticks, 0, 30),
            Some(60),
            "idle 30 min after the burst, not after 5"
        );
    }

    #[test]
    fn counters_going_backwards_start_a_new_track() {
        let stored = Track {
            last_active_at: t(10).timestamp(),
            last_active_total: 90_000,
        };
        let o = observe(Some(stored), 500, Some(t(50)), t(60), BYTES);
        assert_eq!(
            o.track,
            Track {
                last_active_at: t(50).timestamp(),
                last_active_total: 0
            }
        );
        assert!(!o.write, "idle since its start: derivable, not stored");
        let o = observe(Some(stored), 20_000, Some(t(50)), t(60), BYTES);
        assert_eq!(
            o.track,
            Track {
                last_active_at: t(60).timestamp(),
                last_active_total: 20_000
            }
        );
        assert!(o.write);
    }

    #[test]
    fn first_sighting() {
        let quiet = observe(None, BYTES - 1, Some(t(0)), t(90), BYTES);
        assert_eq!(
            quiet,
            Observation {
                track: Track {
                    last_active_at: t(0).timestamp(),
                    last_active_total: 0
                },
                write: false
            }
        );
        let busy = observe(None, BYTES, Some(t(0)), t(90), BYTES);
        assert_eq!(
            busy,
            Observation {
                track: Track {
                    last_active_at: t(90).timestamp(),
                    last_active_total: BYTES
                },
                write: true
            }
        );
        // No establishment time, or one in the future: nothing is known, so active now.
        assert!(observe(None, 0, None, t(90), BYTES).write);
        assert_eq!(
            observe(None, 0, Some(t(100)), t(90), BYTES)
                .track
                .last_active_at,
            t(90).timestamp()
        );
    }

    #[test]
    fn a_later_tick_already_stored_wins() {
        let stored = Track {
            last_active_at: t(60).timestamp(),
            last_active_total: 90_000,
        };
        let o = observe(Some(stored), 10, Some(t(0)), t(55), BYTES);
        assert_eq!(
            o,
            Observation {
                track: stored,
                write: false
            }
        );
    }

    #[test]
    fn same_tick_twice_changes_nothing_the_second_time() {
        let first = observe(None, 50_000, Some(t(0)), t(30), BYTES);
        let again = observe(Some(first.track), 50_000, Some(t(0)), t(30), BYTES);
        assert_eq!(
            again,
            Observation {
                track: first.track,
                write: false
            }
        );
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
            extended_users: vec![
                NamePattern::new("svc-*", crate::mapping::CaseRule::Insensitive).unwrap(),
            ],
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
