//! The idle track of one connection across ticks. Pure: time is passed in, state comes and goes
//! as [`Track`] values.
//!
//! A connection is *seen active* at a tick when its ingress + egress bytes have grown by at least
//! `idle_bytes` since it was last seen active. An activity mark is never placed before the
//! connection existed nor moved backwards, so a late or replayed tick cannot make a new connection
//! look idle for longer than it has lived.

use chrono::{DateTime, Utc};

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
    // A tick from before the connection existed (late or replayed) marks it no earlier than that.
    let now_s = established.map_or(now.timestamp(), |e| now.timestamp().max(e.timestamp()));
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

#[cfg(test)]
mod tests {
    use super::super::{judge, Limits};
    use super::*;
    use chrono::TimeDelta;

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
    fn a_late_tick_never_marks_before_the_connection_existed() {
        // Established at 110; a tick delivered late claims 50 and sees it busy.
        let o = observe(None, 90_000, Some(t(110)), t(50), BYTES);
        assert_eq!(o.track.last_active_at, t(110).timestamp());
        // Judged at 120 with a 60-minute limit: connected 10 minutes ago, not idle.
        let limits = Limits {
            idle_minutes: Some(60),
            max_session_minutes: None,
        };
        assert!(!judge(&limits, Some(o.track), 90_000, Some(t(110)), t(120)).idle);
        // A mark stored by an older tick before it existed is not held against it either.
        let stale = Track {
            last_active_at: t(50).timestamp(),
            last_active_total: 90_000,
        };
        assert!(!judge(&limits, Some(stale), 90_000, Some(t(110)), t(120)).idle);
        // A replayed, older tick never moves a newer mark backwards.
        let newer = Track {
            last_active_at: t(115).timestamp(),
            last_active_total: 80_000,
        };
        assert_eq!(
            observe(Some(newer), 95_000, Some(t(110)), t(112), BYTES).track,
            newer
        );
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
        // No establishment time: nothing is known, so active now. One after the tick (a late
        // tick): active from when it was established, never before.
        assert!(observe(None, 0, None, t(90), BYTES).write);
        assert_eq!(
            observe(None, 0, Some(t(100)), t(90), BYTES)
                .track
                .last_active_at,
            t(100).timestamp()
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
}
