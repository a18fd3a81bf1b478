//! One invocation's working state — the app, the response being built, and its budget (deadline
//! and API-call count) — and the steps the incident path and the sweep share: listing what is in
//! scope and carrying out Terminate calls.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::StateStore;
use crate::domain::model::{Connection, Endpoint, ENDPOINT_NOT_FOUND};
use crate::domain::plan::Call;
use crate::shell::execute::{self, Budget, Outcome};
use crate::shell::handler::{App, HandlerError};
use crate::shell::listing;
use crate::shell::pace::Pace;
use crate::shell::report::{self, Response};
use futures::{future, Stream, StreamExt};

pub(crate) struct Invocation<'a, A, S> {
    pub app: &'a App<A, S>,
    pub response: Response,
    pub budget: Budget,
}

/// Whether the listing describes the endpoints too (`DescribeClientVpnEndpoints`, concurrently).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Describe {
    No,
    /// For their client CIDRs: without them the decision cannot be made.
    Needed,
    /// For their connect handlers, which only a warning needs: a failure is logged, not fatal.
    Wanted,
}

/// What the listing saw.
pub(crate) struct Picture {
    pub endpoints: Vec<Endpoint>,
    pub connections: Vec<Connection>,
    /// Endpoints in scope whose connections could not be listed: the picture is incomplete.
    pub unlisted: usize,
    /// Whether the endpoints' descriptions (CIDRs, connect handlers) were read.
    pub described: bool,
}

impl<A: ClientVpnApi, S: StateStore> Invocation<'_, A, S> {
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
        let mut response = std::mem::take(&mut self.response);
        response.api_calls = self.budget.calls();
        response
    }

    /// `endpoints`, or when `None` `CVPN_ENDPOINT_IDS`, or when that is empty `None`: every endpoint.
    fn named(&self, endpoints: Option<Vec<String>>) -> Option<Vec<String>> {
        let configured = &self.app.config.endpoint_ids;
        endpoints.or_else(|| (!configured.is_empty()).then(|| configured.clone()))
    }

    /// The IDs of the endpoints in scope (see [`Self::connections_of`]); `None` when they had to
    /// be listed and could not be (recorded in the response).
    pub async fn endpoint_ids(&mut self, endpoints: Option<Vec<String>>) -> Option<Vec<String>> {
        if let Some(named) = self.named(endpoints) {
            return Some(named);
        }
        match listing::list_endpoints(&self.app.api, &self.budget).await {
            Ok(all) => Some(all.into_iter().map(|e| e.id).collect()),
            Err(e) => {
                self.response.step_failed(e);
                None
            }
        }
    }

    /// The connections of `endpoints`, or when `None` of `CVPN_ENDPOINT_IDS`, or when that is empty
    /// of every endpoint in the Region; with the endpoints' client CIDRs and connect handlers when
    /// every endpoint is listed or `describe` asks for them. Listings that fail are recorded in the response; `None`
    /// when the endpoints themselves could not be listed, so there is nothing to match.
    pub async fn connections_of(
        &mut self,
        endpoints: Option<Vec<String>>,
        describe: Describe,
    ) -> Option<Picture> {
        let app = self.app;
        let named = self.named(endpoints);
        let config = &app.config;
        let mut described = true;
        let (endpoints, (connections, errors)) = match named {
            // Endpoints known: their connections, and (if asked) their descriptions at the same
            // time, so those cost no round trip of their own.
            Some(ids) => {
                let listing =
                    listing::list_connections(&app.api, &ids, config.concurrency, &self.budget);
                let describing = async {
                    if describe != Describe::No {
                        listing::list_endpoints(&app.api, &self.budget)
                            .await
                            .map(Some)
                    } else {
                        Ok(None)
                    }
                };
                let (all, listed) = futures::join!(describing, listing);
                let all = match all {
                    Ok(Some(all)) => all,
                    Ok(None) => {
                        described = false;
                        Vec::new()
                    }
                    Err(e) if describe == Describe::Wanted => {
                        report::log_call_error(&e);
                        described = false;
                        Vec::new()
                    }
                    Err(e) => {
                        self.response.step_failed(e);
                        return None;
                    }
                };
                // Named endpoints the Region does not have are listed anyway, so the answer says
                // so; without a CIDR, no client IP matches there.
                let endpoints = ids
                    .into_iter()
                    .map(|id| {
                        let found = all.iter().find(|e| e.id == id);
                        Endpoint {
                            client_cidr: found.and_then(|e| e.client_cidr),
                            connect_handler: found.and_then(|e| e.connect_handler.clone()),
                            id,
                        }
                    })
                    .collect();
                (endpoints, listed)
            }
            None => {
                let all = match listing::list_endpoints(&app.api, &self.budget).await {
                    Ok(all) => all,
                    Err(e) => {
                        self.response.step_failed(e);
                        return None;
                    }
                };
                let ids: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
                let listed =
                    listing::list_connections(&app.api, &ids, config.concurrency, &self.budget)
                        .await;
                (all, listed)
            }
        };
        // An endpoint that does not exist hides no connection; any other failure might.
        let unlisted = errors
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

    fn pace(&self) -> Pace {
        Pace::new(self.app.config.terminate_rate, self.app.config.max_attempts)
    }

    pub fn record_outcomes(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            self.response.record(o);
        }
    }
}

impl<A: ClientVpnApi, S> App<A, S> {
    /// The planned calls' outcomes as they come, `CVPN_CONCURRENCY` calls at a time.
    fn calls<'a>(
        &'a self,
        planned: impl IntoIterator<Item = Call, IntoIter: Send + 'a>,
        dry_run: bool,
        budget: &'a Budget,
        pace: &'a Pace,
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

/// The rate Terminate was paced to, when it was: for reading a slow run's log.
fn paced(pace: &Pace) {
    if let Some(rate) = pace.rate() {
        tracing::info!(
            event = "terminate_paced",
            calls_per_second = rate,
            "Terminate was paced to EC2's bucket (its refill learned from the first throttles, or CVPN_TERMINATE_RATE)"
        );
    }
}
