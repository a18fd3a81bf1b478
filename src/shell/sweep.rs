//! The scheduled cleanup: list the live connections, bring each one's idle track up to date in the
//! state table, judge them by the policy at the tick's time (`policy::sweep`), and end the most
//! idle first — by connection ID only, since a `Username` call would also end a user's busy
//! sessions.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::ticks::TickStore;
use crate::adapters::state::StateStore;
use crate::domain::model::{Connection, Endpoint, Reason};
use crate::domain::person::People;
use crate::domain::plan::{self, person_of, Origin, Planned};
use crate::domain::plan::{CallError, Outcome};
use crate::domain::policy::sweep::{
    judge_page, overrides_thresholds, with_overrides, Judged, Verdicts,
};
use crate::domain::policy::{Limits, SweepPolicy, Track};
use crate::domain::trigger::SweepRequest;
use crate::domain::trigger::TriggerSource;
use crate::shell::activity::Judge;
use crate::shell::app::HandlerError;
use crate::shell::budget::Budget;
use crate::shell::invocation::Invocation;
use crate::shell::listing;
use crate::shell::report::{self, Entry};
use chrono::{DateTime, Utc};
use futures::future;
use futures::stream::{self, StreamExt};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What a sweep's listing leaves for ending what it judged: a quarter of the time left, at most
/// 30 s (ending a ceiling's worth of sessions takes a few rounds of calls at `CVPN_CONCURRENCY`).
fn ending_reserve(left: Duration) -> Duration {
    (left / 4).min(Duration::from_secs(30))
}

impl<A: ClientVpnApi, S: StateStore + InventoryStore + TickStore> Invocation<'_, A, S> {
    /// The policy for this run: the configured one with the schedule's overrides.
    fn sweep_policy(&self, request: &SweepRequest) -> Result<SweepPolicy, HandlerError> {
        let config = &self.app.config;
        let policy = with_overrides(
            &config.sweep,
            &request.overrides,
            config.min_override_minutes,
        )
        .map_err(|r| HandlerError::bad_event(format!("{}.{}", request.path, r.field), r.message))?;
        if policy.limits == Limits::default() && policy.extended == Limits::default() {
            return Err(HandlerError::bad_event(
                "event",
                "a sweep needs a policy: set CVPN_IDLE_MINUTES or CVPN_MAX_SESSION_MINUTES, or IdleMinutes or \
                 MaxSessionMinutes in the schedule's input",
            ));
        }
        if policy.tracks_idle() && self.app.store.is_none() {
            return Err(HandlerError::bad_event(
                format!("{}.IdleMinutes", request.path),
                "the idle policy keeps counters between ticks and needs CVPN_STATE_TABLE, which is not set",
            ));
        }
        Ok(policy)
    }

    /// The tick's time, the sweep's "now" for connections whose counters carry no time of their
    /// own: refused when it is further ahead of this machine's clock than
    /// `CVPN_MAX_CLOCK_SKEW_SECONDS`, so a payload cannot write activity marks in the future.
    fn sweep_time(&self, request: &SweepRequest) -> Result<DateTime<Utc>, HandlerError> {
        let system = Utc::now();
        let Some(time) = request.time else {
            return Ok(system);
        };
        let skew = self.app.config.max_clock_skew;
        if time > system + skew {
            return Err(HandlerError::bad_event(
                request.time_path.clone(),
                format!(
                    "{time} is more than CVPN_MAX_CLOCK_SKEW_SECONDS ({}) ahead of this machine's clock ({system})",
                    skew.num_seconds()
                ),
            ));
        }
        Ok(time)
    }

    pub(crate) async fn sweep(&mut self, request: &SweepRequest) -> Result<(), HandlerError> {
        let config = &self.app.config;
        let policy = self.sweep_policy(request)?;
        let now = self.sweep_time(request)?;
        // A schedule may turn dry run on for its runs, never off against the deployment's setting.
        self.response.dry_run |= request.overrides.dry_run.unwrap_or(false);
        self.response.trigger.time = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        if let Some(ids) = &request.overrides.endpoint_ids {
            if let Some(outside) = ids.iter().find(|id| !config.scope.has_endpoint(id)) {
                return Err(HandlerError::bad_event(
                    format!("{}.ClientVpnEndpointIds", request.path),
                    format!("{outside} is not among CVPN_ENDPOINT_IDS"),
                ));
            }
        }
        if !self.sweep_places(request).await? {
            return Ok(());
        }
        let Some(endpoints) = self
            .endpoints_in_scope(request.overrides.endpoint_ids.clone())
            .await
        else {
            return Ok(());
        };
        // Listing a large fleet may take until the deadline: what it has judged by then is still
        // ended, in the time kept back for it, and what it could not list is recorded.
        let left = self.budget.stop_at().map_or(Duration::ZERO, |s| {
            s.saturating_duration_since(Instant::now())
        });
        let listing = self.budget.leaving(ending_reserve(left));
        let (verdicts, errors) = self.judge_pages(&endpoints, &policy, now, &listing).await;
        self.budget.absorb(&listing);
        errors
            .into_iter()
            .for_each(|e| self.response.step_failed(e));
        // A run whose thresholds the schedule changed is capped as an incident is.
        let ceiling = if overrides_thresholds(&request.overrides) {
            config.max_sweep_terminations.min(config.max_terminations)
        } else {
            config.max_sweep_terminations
        };
        let decision = verdicts.decide(ceiling);
        let decision = self.tick_share(request, decision, ceiling).await;
        let people = &config.people;
        for (judged, name) in decision.protected {
            let target = target(judged, people);
            let entry = Entry {
                reason: Some(Reason::Protected),
                detail: Some(format!("{name} is a protected user; {}", target.why[0])),
                ..Entry::planned(&target)
            };
            report::log_skipped(&entry, &target.origin);
            self.response.skipped.push(entry);
        }
        let deferred = decision
            .over_ceiling
            .into_iter()
            .map(|j| Outcome::Deferred {
                target: target(j, people),
                reason: Reason::Ceiling,
            });
        // Planned as they are carried out: a call's target is built when its turn comes.
        let planned = decision
            .end
            .into_iter()
            .map(|j| plan::single(target(j, people)));
        self.carry_out(planned, deferred).await;
        Ok(())
    }

    /// Lists the connections in scope and judges them page by page as the pages arrive, bringing
    /// idle tracks up to date first: what is kept is what a decision needs — the targets — and
    /// the steps that failed. Two pages are judged at a time (the listing goes on meanwhile, up
    /// to their slots); their state writes share `CVPN_CONCURRENCY`.
    async fn judge_pages(
        &self,
        endpoints: &[Endpoint],
        policy: &SweepPolicy,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> (Verdicts, Vec<CallError>) {
        let config = &self.app.config;
        let writes = &Semaphore::new(config.concurrency.max(1));
        let is_protected = |name: &str| config.is_protected(name);
        let is_protected = &is_protected;
        let store = self.app.store.as_ref().filter(|_| policy.tracks_idle());
        listing::connection_pages(&self.app.api, endpoints, config.concurrency, budget)
            .map(|page| async move {
                let mut page = match page {
                    Ok(page) => page,
                    Err(e) => return (Verdicts::default(), vec![e]),
                };
                // EC2's own time for the counters, unless it is further ahead of this machine's
                // clock than a tick may be; read as each page arrives, since listing a fleet
                // takes a while.
                let latest = Utc::now() + config.max_clock_skew;
                for c in &mut page {
                    c.observed = c.observed.filter(|o| *o <= latest);
                }
                let (tracks, errors) = match store {
                    Some(store) => {
                        self.observe_page(store, &page, policy, now, (writes, budget))
                            .await
                    }
                    None => (HashMap::new(), Vec::new()),
                };
                (judge_page(page, &tracks, policy, now, is_protected), errors)
            })
            .buffer_unordered(2)
            .fold(
                (Verdicts::default(), Vec::new()),
                |(mut all, mut failed), (verdicts, errors)| {
                    all.merge(verdicts);
                    failed.extend(errors);
                    future::ready((all, failed))
                },
            )
            .await
    }

    /// Brings the idle track of a page's active connections under an idle limit up to date,
    /// writing new activity marks conditionally, each connection's writes under a permit of
    /// `writes` and within the listing's `budget`. Without readable state, idle is not judged on this page this tick.
    async fn observe_page(
        &self,
        store: &S,
        page: &[Connection],
        policy: &SweepPolicy,
        now: DateTime<Utc>,
        (writes, budget): (&Semaphore, &Budget),
    ) -> (HashMap<String, Track>, Vec<CallError>) {
        // A dry run reads the state but writes none: it must not change what later runs decide.
        let write = !self.response.dry_run;
        let tracked: Vec<&Connection> = page
            .iter()
            .filter(|c| {
                c.is_active()
                    && policy
                        .limits_for(c.username.as_deref(), c.common_name.as_deref())
                        .0
                        .idle_minutes
                        .is_some()
            })
            .collect();
        if tracked.is_empty() {
            return (HashMap::new(), Vec::new());
        }
        let keys: Vec<String> = tracked.iter().map(|c| self.state_key(c)).collect();
        let stored = match budget.call(store.load(&keys)).await {
            Ok(stored) => stored,
            Err(e) => {
                return (
                    HashMap::new(),
                    vec![CallError::new(None, "BatchGetItem", e)],
                )
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
        let judge = Judge {
            store,
            policy,
            retention,
            write,
            writes,
            budget,
        };
        let results: Vec<(String, Track, Option<CallError>)> =
            stream::iter(tracked.into_iter().zip(keys.iter()))
                .map(|(c, key)| {
                    // The counters' own time: a late tick must not stamp them with its older one.
                    judge.track(c, key, stored.get(key).copied(), c.observed.unwrap_or(now))
                })
                .buffer_unordered(self.app.config.concurrency)
                .collect()
                .await;
        let mut tracks = HashMap::with_capacity(results.len());
        let mut errors = Vec::new();
        for (id, track, error) in results {
            errors.extend(error);
            tracks.insert(id, track);
        }
        (tracks, errors)
    }
}

impl<A, S> Invocation<'_, A, S> {
    /// A connection's key in the state table: its ID where the function runs (as before targets,
    /// so a table's tracks carry over), with its account and Region in another target.
    fn state_key(&self, c: &Connection) -> String {
        if c.place == *self.app.api.home_place() {
            return c.connection_id.clone();
        }
        format!(
            "{}/{}/{}",
            c.place.account.as_deref().unwrap_or("self"),
            c.place.region.as_deref().unwrap_or_default(),
            c.connection_id
        )
    }
}

/// The target a sweep hands to the shared steps, with why it was judged one.
fn target(j: Judged, people: &People) -> Planned {
    let mut why = j.verdict.describe(&j.limits);
    if j.extended {
        why.push_str(" (extended policy)");
    }
    Planned {
        person: person_of(&j.connection, people),
        connection: j.connection,
        why: vec![why],
        origin: Origin {
            reason: Some(
                if j.verdict.idle {
                    "idle"
                } else {
                    "max_session"
                }
                .into(),
            ),
            ..Origin::of(TriggerSource::Schedule)
        },
        findings: Vec::new(),
        verdict: Some(j.verdict),
        by_username: false,
    }
}
