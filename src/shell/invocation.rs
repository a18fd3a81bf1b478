//! One invocation's working state — the app, the response being built, and its budget (deadline
//! and API-call count) — and the steps the incident path and the sweep share: listing what is in
//! scope and carrying out Terminate calls.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::inventory::InventoryStore;
use crate::adapters::state::StateStore;
use crate::adapters::targets::Target;
use crate::domain::approval::ChosenBy;
use crate::domain::model::{Connection, Endpoint, ENDPOINT_NOT_FOUND};
use crate::domain::plan::incident::Describe;
use crate::domain::plan::Call;
use crate::domain::plan::{CallError, Outcome};
use crate::domain::scope::Scope;
use crate::shell::app::{App, HandlerError};
use crate::shell::budget::Budget;
use crate::shell::execute;
use crate::shell::listing::{self, Located, Spread};
use crate::shell::pace::Paces;
use crate::shell::report::{self, Response};
use futures::{future, Stream, StreamExt};

pub(crate) struct Invocation<'a, A, S> {
    pub app: &'a App<A, S>,
    pub response: Response,
    pub budget: Budget,
    /// The targets this invocation may look at (a direct request may name an account and a
    /// Region); all of them by default.
    pub scope: Scope,
    /// The account the function runs in, when known: its principals may name people by default.
    pub own_account: Option<String>,
    /// Who chose what the incident acts on: what a person chose is never asked about again.
    pub chosen: ChosenBy,
    /// Carrying out an approval: the count of sessions its request showed, which the cap allows.
    pub approved: Option<usize>,
    /// What a request for approval's ID is derived from: the EventBridge event's `id`, so that a
    /// retry of the event finds the same request.
    pub seed: Option<String>,
}

/// What listing the endpoints saw.
pub(crate) struct Seen {
    pub endpoints: Vec<Endpoint>,
    /// What hides connections: the targets that could not be listed and the endpoints whose
    /// target is not known.
    pub unknown: usize,
    /// The places listed in full.
    pub listed: Vec<crate::domain::model::Place>,
}

pub(crate) struct Picture {
    pub endpoints: Vec<Endpoint>,
    pub connections: Vec<Connection>,
    /// Endpoints in scope whose connections could not be listed: the picture is incomplete.
    pub unlisted: usize,
    /// Whether the endpoints' descriptions (CIDRs, connect handlers) were read.
    pub described: bool,
}

impl<'a, A: ClientVpnApi, S: StateStore> Invocation<'a, A, S> {
    /// Ends the invocation with `CapExceeded`, handing over the response built so far.
    pub fn cap_exceeded(&mut self, planned: usize, cap: usize) -> HandlerError {
        HandlerError::CapExceeded {
            planned,
            cap,
            response: Box::new(self.take_response()),
        }
    }

    /// The response as built, with the count of API calls made.
    pub fn take_response(&mut self) -> Response {
        let fresh = Response::of(self.response.trigger.source);
        let mut response = std::mem::replace(&mut self.response, fresh);
        response.api_calls = self.budget.calls();
        response
    }

    /// `endpoints`, or when `None` `CVPN_ENDPOINT_IDS`, or when that is empty `None`: every endpoint.
    fn named(&self, endpoints: Option<Vec<String>>) -> Option<Vec<String>> {
        endpoints.or_else(|| self.scope.named_endpoints())
    }

    /// The targets within this invocation's reach.
    pub fn scope(&self) -> Vec<&'a Target<A>> {
        let app = self.app;
        app.api
            .iter()
            .filter(|t| self.scope.holds(&t.place))
            .collect()
    }

    /// Carries out the planned calls, recording each outcome (logged first) as its call returns,
    /// after those decided already (`decided`, e.g. deferred beyond a ceiling). Only the response
    /// keeps them, so a sweep of thousands holds no list of outcomes beside its answer.
    pub async fn carry_out(
        &mut self,
        planned: impl IntoIterator<Item = Call, IntoIter: Send>,
        decided: impl IntoIterator<Item = Outcome>,
    ) {
        let dry_run = self.response.dry_run;
        for o in decided {
            report::log_outcome(&o, dry_run);
            self.response.record(&o);
        }
        let log = |o: &Outcome| report::log_outcome(o, dry_run);
        let pace = self.pace();
        let response = &mut self.response;
        self.app
            .calls(planned, dry_run, &self.budget, &pace, &log)
            .for_each(|o| {
                response.record(&o);
                future::ready(())
            })
            .await;
        paced(&pace);
    }

    /// Runs the planned calls within the budget, each outcome logged as its call returns; only
    /// reads the invocation, so other work (the incident's holds) can run beside it.
    pub async fn run_planned(&self, planned: Vec<Call>) -> Vec<Outcome> {
        let dry_run = self.response.dry_run;
        let log = |o: &Outcome| report::log_outcome(o, dry_run);
        let pace = self.pace();
        let done = self
            .app
            .calls(planned, dry_run, &self.budget, &pace, &log)
            .collect()
            .await;
        paced(&pace);
        done
    }

    /// A pace per target, each learning its own bucket.
    fn pace(&self) -> Paces {
        let config = &self.app.config;
        Paces::new(
            self.app.api.places(),
            config.terminate_rate,
            config.max_attempts,
        )
    }

    pub fn record_outcomes(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            self.response.record(o);
        }
    }
}

/// Listing what is in scope: its endpoints (with where each is) and their connections. An
/// incident lists only the places the sweeps' inventory says may have endpoints (`inventory.rs`);
/// a sweep lists them all and records the inventory.
impl<'a, A: ClientVpnApi, S: StateStore + InventoryStore> Invocation<'a, A, S> {
    /// The endpoints in scope (see [`Self::connections_of`]), each with the target it is in:
    /// with one target, those named are there; otherwise every target's endpoints are listed,
    /// which says where each is. A target that could not be listed is recorded and left out;
    /// `None` when none could be, so there is nothing to look at.
    pub async fn endpoints_in_scope(
        &mut self,
        endpoints: Option<Vec<String>>,
    ) -> Option<Vec<Endpoint>> {
        let targets = self.scope();
        let named = self.named(endpoints);
        if let Some(ids) = named.as_ref().filter(|_| targets.len() == 1) {
            return Some(listing::at(&targets[0].place, ids));
        }
        // Every place listed, none named: what the inventory is made of. A sweep of some places
        // (a split sweep's child) adds what it saw of them.
        // A dry run writes nothing to the state table.
        let records = named.is_none() && !self.response.dry_run;
        let whole = records && targets.len() == self.app.api.len();
        let some = records && !self.scope.places.is_empty();
        let started = chrono::Utc::now().timestamp();
        let seen = self.locate(&targets, named).await?;
        if whole {
            Box::pin(self.record_inventory(&seen, started)).await;
        } else if some {
            let done = chrono::Utc::now().timestamp();
            Box::pin(self.record_places(&seen, started, done)).await;
        }
        Some(seen.endpoints)
    }

    /// Every target's endpoints, or those `named`, with what went wrong recorded; `None` when no
    /// target could be listed.
    async fn locate(&mut self, targets: &[&Target<A>], named: Option<Vec<String>>) -> Option<Seen> {
        let located = listing::locate(
            targets,
            named,
            self.app.config.place_concurrency,
            &self.budget,
        )
        .await;
        self.seen_of(targets, located)
    }

    /// What locating `targets` saw, with what went wrong recorded; `None` when no target could
    /// be listed.
    pub(crate) fn seen_of(&mut self, targets: &[&Target<A>], located: Located) -> Option<Seen> {
        let listed_none = located.failed.len() == targets.len();
        let unknown = located.failed.len() + located.ambiguous.len();
        // An endpoint two targets list is in neither's listing: neither place is known in full.
        let listed = if located.ambiguous.is_empty() {
            targets
                .iter()
                .map(|t| &t.place)
                .filter(|p| located.failed.iter().all(|e| &e.place != *p))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let errors = located.failed.into_iter().chain(located.absent);
        for e in errors.chain(located.ambiguous) {
            self.response.step_failed(e);
        }
        (!listed_none).then_some(Seen {
            endpoints: located.endpoints,
            unknown,
            listed,
        })
    }

    /// The connections of `endpoints`, or when `None` of `CVPN_ENDPOINT_IDS`, or when that is
    /// empty of every endpoint of every target; with the endpoints' client CIDRs and connect
    /// handlers when every endpoint is listed or `describe` asks for them. Listings that fail are
    /// recorded in the response and counted in `unlisted` (a target that could not be listed
    /// hides any of its connections); `None` when the endpoints themselves could not be listed,
    /// so there is nothing to match.
    pub async fn connections_of(
        &mut self,
        endpoints: Option<Vec<String>>,
        describe: Describe,
    ) -> Option<Picture> {
        let app = self.app;
        let config = &app.config;
        let named = self.named(endpoints);
        let inventoried = self.app.inventoried(
            self.scope(),
            named.as_deref(),
            self.own_account.as_deref(),
            &self.budget,
        );
        let targets = Box::pin(inventoried).await;
        let mut described = true;
        let mut unlisted = 0;
        let known = match named {
            None => app.known_endpoints(&targets),
            Some(_) => Vec::new(),
        };
        let (endpoints, (connections, errors)) = match named {
            // One target, endpoints known: their connections, and (if asked) their descriptions
            // at the same time, so those cost no round trip of their own.
            Some(ids) if targets.len() == 1 => {
                let (endpoints, listed, all_described) =
                    self.at_one_place(&targets, &ids, describe).await?;
                described = all_described;
                (endpoints, listed)
            }
            // The endpoints the inventory lately saw: their connections while the places are
            // described (`inventory.rs`).
            None if !known.is_empty() => {
                let (seen, listed, all_described) =
                    Box::pin(self.known_first(&targets, known)).await?;
                unlisted += seen.unknown;
                described = all_described;
                (seen.endpoints, listed)
            }
            // Otherwise every target's endpoints first: they say where each endpoint is.
            named => {
                let seen = self.locate(&targets, named).await?;
                unlisted += seen.unknown;
                let endpoints = seen.endpoints;
                let listed = listing::list_connections(
                    &app.api,
                    &endpoints,
                    Spread::of(config),
                    &self.budget,
                )
                .await;
                (endpoints, listed)
            }
        };
        // An endpoint that does not exist hides no connection; any other failure might.
        unlisted += errors
            .iter()
            .filter(|e| e.code != ENDPOINT_NOT_FOUND)
            .count();
        errors
            .into_iter()
            .for_each(|e| self.response.step_failed(e));
        Some(Picture {
            endpoints,
            connections,
            unlisted,
            described,
        })
    }

    /// `ids` at the one place there is: their connections, and (if `describe` asks) their
    /// descriptions at the same time, so those cost no round trip of their own. Whether every
    /// endpoint was described comes third; `None` when descriptions were needed and failed.
    async fn at_one_place(
        &mut self,
        targets: &[&Target<A>],
        ids: &[String],
        describe: Describe,
    ) -> Option<(Vec<Endpoint>, (Vec<Connection>, Vec<CallError>), bool)> {
        let app = self.app;
        let config = &app.config;
        let mut described = true;
        let named = listing::at(&targets[0].place, ids);
        let listing = listing::list_connections(&app.api, &named, Spread::of(config), &self.budget);
        let describing = async {
            if describe != Describe::No {
                Some(listing::list_endpoints(targets, config.place_concurrency, &self.budget).await)
            } else {
                None
            }
        };
        let (all, listed) = futures::join!(describing, listing);
        let all = match all {
            Some((all, failed)) if failed.is_empty() => all,
            None => {
                described = false;
                Vec::new()
            }
            Some((_, failed)) if describe == Describe::Wanted => {
                failed.iter().for_each(report::log_call_error);
                described = false;
                Vec::new()
            }
            Some((_, failed)) => {
                failed
                    .into_iter()
                    .for_each(|e| self.response.step_failed(e));
                return None;
            }
        };
        // Named endpoints the Region does not have are listed anyway, so the answer says
        // so; without a CIDR, no client IP matches there.
        let endpoints = named
            .into_iter()
            .map(|e| match all.iter().find(|d| d.id == e.id) {
                Some(d) => d.clone(),
                None => e,
            })
            .collect();
        Some((endpoints, listed, described))
    }
}

impl<A: ClientVpnApi, S> App<A, S> {
    /// The planned calls' outcomes as they come, `CVPN_CONCURRENCY` calls at a time.
    fn calls<'a>(
        &'a self,
        planned: impl IntoIterator<Item = Call, IntoIter: Send + 'a>,
        dry_run: bool,
        budget: &'a Budget,
        pace: &'a Paces,
        log: &'a (dyn Fn(&Outcome) + Sync),
    ) -> impl Stream<Item = Outcome> + 'a {
        execute::run_calls(
            &self.api,
            planned,
            dry_run,
            self.config.concurrency,
            budget,
            pace,
            log,
        )
    }
}

/// The rate Terminate was paced to in each target where it was: for reading a slow run's log.
fn paced(paces: &Paces) {
    for (place, rate) in paces.rates() {
        tracing::info!(
            event = "terminate_paced",
            account = place.account.as_deref(),
            region = place.region.as_deref(),
            calls_per_second = rate,
            "Terminate was paced to EC2's bucket (its refill learned from the first throttles, or CVPN_TERMINATE_RATE)"
        );
    }
}
