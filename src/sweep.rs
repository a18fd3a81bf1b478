//! The scheduled cleanup: list the live connections, bring each one's idle track up to date in the
//! state table, judge it by the policy at the tick's time, and end the most idle first — by
//! connection ID only, since a `Username` call would also end a user's busy sessions.

use crate::ec2::ClientVpnApi;
use crate::execute::{CallError, Calls, Outcome};
use crate::handler::{App, Refusal};
use crate::json::DecodeError;
use crate::model::Connection;
use crate::plan::{self, Origin, Target};
use crate::policy::{judge, observe, Limits, SweepPolicy, Track};
use crate::report::{self, Entry, Response, TriggerInfo};
use crate::state::{StateStore, Stored};
use crate::trigger::SweepRequest;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use std::cmp::Reverse;
use std::collections::HashMap;
use std::time::Instant;

/// Conditional writes lost to overlapping runs are retried after re-reading, this many times.
const SAVE_ATTEMPTS: usize = 3;

fn refuse(path: &str, message: impl Into<String>) -> Refusal {
    Refusal::BadEvent(DecodeError {
        path: path.into(),
        message: message.into(),
    })
}

impl<A: ClientVpnApi, S: StateStore> App<A, S> {
    /// The policy for this run: the configured one with the schedule's overrides.
    fn sweep_policy(&self, request: &SweepRequest) -> Result<SweepPolicy, Refusal> {
        let o = &request.overrides;
        let mut policy = self.config.sweep.clone();
        policy.limits.idle_minutes = o.idle_minutes.or(policy.limits.idle_minutes);
        policy.limits.max_session_minutes =
            o.max_session_minutes.or(policy.limits.max_session_minutes);
        policy.idle_bytes = o.idle_bytes.unwrap_or(policy.idle_bytes);
        if policy.limits == Limits::default() && policy.extended == Limits::default() {
            return Err(refuse(
                "event",
                "a sweep needs a policy: set CVPN_IDLE_MINUTES or CVPN_MAX_SESSION_MINUTES, or IdleMinutes or \
                 MaxSessionMinutes in the schedule's input",
            ));
        }
        if policy.tracks_idle() && self.store.is_none() {
            return Err(refuse(
                "event.Sweep.IdleMinutes",
                "the idle policy keeps counters between ticks and needs CVPN_STATE_TABLE, which is not set",
            ));
        }
        Ok(policy)
    }

    pub(crate) async fn sweep(
        &self,
        request: &SweepRequest,
        response: &mut Response,
        calls: &Calls,
        stop_at: Option<Instant>,
    ) -> Result<(), Refusal> {
        let config = &self.config;
        let policy = self.sweep_policy(request)?;
        // A schedule may turn dry run on for its runs, never off against the deployment's setting.
        response.dry_run |= request.overrides.dry_run.unwrap_or(false);
        let now = request.time.unwrap_or_else(Utc::now);
        response.trigger = TriggerInfo {
            source: "schedule".into(),
            time: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ..TriggerInfo::default()
        };
        if let Some(ids) = &request.overrides.endpoint_ids {
            if let Some(outside) = ids
                .iter()
                .find(|id| !config.endpoint_ids.is_empty() && !config.endpoint_ids.contains(id))
            {
                return Err(refuse(
                    "event.Sweep.ClientVpnEndpointIds",
                    format!("{outside} is not among CVPN_ENDPOINT_IDS"),
                ));
            }
        }
        let Some(picture) = self
            .connections_of(
                request.overrides.endpoint_ids.clone(),
                false,
                response,
                calls,
            )
            .await
        else {
            return Ok(());
        };
        let connections = picture.connections;
        let active: Vec<&Connection> = connections.iter().filter(|c| c.is_active()).collect();

        let tracks = match &self.store {
            Some(store) if policy.tracks_idle() => {
                self.observe_all(store, &active, &policy, now, response)
                    .await
            }
            _ => HashMap::new(),
        };
        let mut targets = Vec::new();
        for c in active {
            let (limits, extended) =
                policy.limits_for(c.username.as_deref(), c.common_name.as_deref());
            let total = c.ingress_bytes.saturating_add(c.egress_bytes);
            let verdict = judge(
                &limits,
                tracks.get(&c.connection_id).copied(),
                total,
                c.established,
                now,
            );
            if !verdict.is_target() {
                continue;
            }
            let mut why = verdict.describe(&limits);
            if extended {
                why.push_str(" (extended policy)");
            }
            let origin = Origin {
                source: "schedule".into(),
                reason: Some(if verdict.idle { "idle" } else { "max_session" }.into()),
                ..Origin::default()
            };
            if let Some(name) = [&c.username, &c.common_name]
                .into_iter()
                .flatten()
                .find(|n| config.is_protected(n))
            {
                let entry = Entry {
                    reason: Some("protected".into()),
                    detail: Some(format!("{name} is a protected user; {why}")),
                    ..Entry::planned(&Target {
                        connection: c.clone(),
                        why: vec![],
                        origin: origin.clone(),
                        verdict: Some(verdict),
                        by_username: false,
                    })
                };
                report::log_skipped(&entry, &origin);
                response.skipped.push(entry);
                continue;
            }
            targets.push(Target {
                connection: c.clone(),
                why: vec![why],
                origin,
                verdict: Some(verdict),
                by_username: false,
            });
        }
        // Most idle first, then oldest; connection ID breaks ties so a replay decides the same way.
        targets.sort_by(|a, b| {
            let rank = |t: &Target| Reverse(t.verdict.as_ref().map(|v| v.rank()));
            rank(a)
                .cmp(&rank(b))
                .then_with(|| a.connection.connection_id.cmp(&b.connection.connection_id))
        });
        let over_ceiling = targets.split_off(targets.len().min(config.max_sweep_terminations));
        let deferred: Vec<Outcome> = over_ceiling
            .into_iter()
            .map(|target| Outcome::Deferred {
                target,
                reason: "ceiling",
            })
            .collect();
        let planned = targets.into_iter().map(plan::single).collect();
        self.carry_out(planned, deferred, response, calls, stop_at)
            .await;
        Ok(())
    }

    /// Brings the idle track of every connection under an idle limit up to date, writing new
    /// activity marks conditionally. Without readable state, idle is not judged this tick.
    async fn observe_all(
        &self,
        store: &S,
        active: &[&Connection],
        policy: &SweepPolicy,
        now: DateTime<Utc>,
        response: &mut Response,
    ) -> HashMap<String, Track> {
        let tracked: Vec<&Connection> = active
            .iter()
            .copied()
            .filter(|c| {
                policy
                    .limits_for(c.username.as_deref(), c.common_name.as_deref())
                    .0
                    .idle_minutes
                    .is_some()
            })
            .collect();
        let ids: Vec<String> = tracked.iter().map(|c| c.connection_id.clone()).collect();
        let stored = match store.load(&ids).await {
            Ok(stored) => stored,
            Err(e) => {
                let e = CallError::new(None, "BatchGetItem", e);
                report::log_call_error(&e);
                response.errors.push(e);
                return HashMap::new();
            }
        };
        // Items outlive the longest idle window by a day, and are renewed at half that age, so a
        // connection's track never expires while it lives; once it is gone, the item expires.
        let longest = [policy.limits.idle_minutes, policy.extended.idle_minutes]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0);
        let retention = i64::from(longest) * 60 + 86_400;
        let now_s = now.timestamp();
        let results: Vec<(String, Track, Option<CallError>)> = stream::iter(tracked)
            .map(|c| {
                let mut current = stored.get(&c.connection_id).copied();
                async move {
                    let total = c.ingress_bytes.saturating_add(c.egress_bytes);
                    let mut observed = observe(
                        current.map(|s| s.track),
                        total,
                        c.established,
                        now,
                        policy.idle_bytes,
                    );
                    for _ in 0..SAVE_ATTEMPTS {
                        let renew = current.is_some_and(|s| s.expires_at - now_s < retention / 2);
                        if !observed.write && !renew {
                            break;
                        }
                        let expected = current.map(|s| s.track);
                        match store
                            .save(
                                &c.connection_id,
                                &c.endpoint_id,
                                observed.track,
                                expected,
                                now_s + retention,
                            )
                            .await
                        {
                            Ok(true) => break,
                            // Another run wrote first: judge from what it wrote.
                            Ok(false) => {
                                match store.load(std::slice::from_ref(&c.connection_id)).await {
                                    Ok(mut fresh) => {
                                        current = fresh.remove(&c.connection_id);
                                        observed = observe(
                                            current.map(|s: Stored| s.track),
                                            total,
                                            c.established,
                                            now,
                                            policy.idle_bytes,
                                        );
                                    }
                                    Err(e) => {
                                        let e = CallError::new(None, "BatchGetItem", e);
                                        return (c.connection_id.clone(), observed.track, Some(e));
                                    }
                                }
                            }
                            // An activity mark that is not saved is seen again next tick, since the
                            // counters keep the bytes: judging by it now is safe.
                            Err(e) => {
                                let e = CallError::new(None, "PutItem", e);
                                return (c.connection_id.clone(), observed.track, Some(e));
                            }
                        }
                    }
                    (c.connection_id.clone(), observed.track, None)
                }
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let mut tracks = HashMap::with_capacity(results.len());
        for (id, track, error) in results {
            if let Some(e) = error {
                report::log_call_error(&e);
                response.errors.push(e);
            }
            tracks.insert(id, track);
        }
        tracks
    }
}
