//! The application and one invocation of it: decode the event, hand it with a fresh
//! [`Invocation`] to the incident path (`incident.rs`) or the scheduled cleanup (`sweep.rs`), and
//! turn the outcome into a response or an error. The same handler serves the Lambda runtime loop
//! and `cvpn-terminator invoke`.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::Stores;
use crate::domain::approval::ChosenBy;
use crate::domain::json::parse::Parsed;
use crate::domain::json::DecodeError;
use crate::domain::trigger::delivery::{delivery, Delivery};
use crate::domain::trigger::{self, FindingSource, Trigger};
pub use crate::shell::app::{App, HandlerError};
use crate::shell::budget::Budget;
use crate::shell::invocation::Invocation;
use crate::shell::report::{self, Response};
use serde_json::Value;
use std::time::Instant;

/// Entries a list in a child sweep's answer (`App::answer`).
const CHILD_ITEMS: usize = 10;

fn log_bad_event(e: &DecodeError) {
    tracing::error!(
        event = "bad_event",
        path = e.path.as_str(),
        error = e.message.as_str(),
        "bad event"
    );
}

/// One Lambda invocation: its deadline, and its request ID, which Lambda keeps when it retries an
/// asynchronous event. Without either (the command line), an event is not recorded as handled.
#[derive(Clone, Copy, Debug, Default)]
pub struct Invoked<'a> {
    pub deadline: Option<Instant>,
    pub request_id: Option<&'a str>,
    /// The account the function runs in (from its ARN), for what people are told.
    pub account: Option<&'a str>,
}

impl<A, S> App<A, S>
where
    A: ClientVpnApi,
    S: Stores,
{
    pub async fn handle(&self, event: &Value) -> Result<Response, HandlerError> {
        self.handle_until(event, None).await
    }

    /// As [`App::handle`], for a trigger the caller made: the command line's answers carry the
    /// caller's verified identity, which no event can.
    pub async fn handle_trigger(&self, trigger: Trigger) -> Result<Response, HandlerError> {
        self.report(Ok(trigger), None, Invoked::default()).await
    }

    /// What the Lambda handler and `invoke` answer: a client connect handler request gets the
    /// answer Client VPN expects, a Function URL request an HTTP response, any other event the
    /// response of [`App::handle_until`].
    pub async fn answer(&self, event: &Value, invoked: Invoked<'_>) -> Result<Value, HandlerError> {
        match self.taken(trigger::decode(event)) {
            Ok(Trigger::Connect(request)) => {
                let answer = self.connect(&request).await;
                Ok(serde_json::to_value(answer).expect("answers serialize"))
            }
            Ok(Trigger::Signal(request)) => Ok(self.signal(&request, invoked).await.to_value()),
            decoded => {
                let mut max = self.config.notify.response_max_items;
                // A child sweep answers Step Functions, which refuses a result over 256 KiB as a
                // failure no retry mends: a few entries a list, the counts, the rest in the log.
                if matches!(&decoded, Ok(Trigger::Sweep(r)) if r.is_child()) {
                    max = max.min(CHILD_ITEMS);
                }
                self.report(decoded, delivery(event), invoked)
                    .await
                    .map(|r| serde_json::to_value(r.bounded(max)).expect("responses serialize"))
            }
        }
    }

    /// As [`App::answer`], for an event read from its text (the Lambda runtime's, `invoke`'s): one
    /// that names a key twice is a bad event, acted on in no reading of it.
    pub async fn answer_parsed(
        &self,
        event: &Parsed,
        invoked: Invoked<'_>,
    ) -> Result<Value, HandlerError> {
        match event.checked() {
            Ok(value) => self.answer(value, invoked).await,
            Err(e) => {
                log_bad_event(&e);
                Err(HandlerError::BadEvent(e))
            }
        }
    }

    /// As [`App::handle_until`], as Lambda invokes: an EventBridge event is acted on once
    /// (`delivery.rs`).
    pub async fn handle_invoked(
        &self,
        event: &Value,
        invoked: Invoked<'_>,
    ) -> Result<Response, HandlerError> {
        self.report(trigger::decode(event), delivery(event), invoked)
            .await
    }

    /// As [`App::handle`], for an invocation that must return by `deadline`: no call starts, and
    /// none runs, past `CVPN_DEADLINE_MARGIN_SECONDS` before it; what is left is deferred.
    pub async fn handle_until(
        &self,
        event: &Value,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let invoked = Invoked {
            deadline,
            ..Invoked::default()
        };
        // The event's ID is kept (a retry's partial picture and its approval requests are keyed
        // by it); without Lambda's request ID, nothing is claimed once.
        self.report(trigger::decode(event), delivery(event), invoked)
            .await
    }

    pub(crate) async fn report(
        &self,
        decoded: Result<Trigger, DecodeError>,
        delivery: Option<Delivery>,
        invoked: Invoked<'_>,
    ) -> Result<Response, HandlerError> {
        let started = std::time::Instant::now();
        let result = match self.taken(decoded) {
            Ok(trigger) => self.once(delivery.as_ref(), &trigger, invoked).await,
            Err(e) => Err(HandlerError::BadEvent(e)),
        };
        match &result {
            Err(HandlerError::BadEvent(e)) => log_bad_event(e),
            Err(HandlerError::CapExceeded { response, .. }) => {
                report::log_summary(response, false, started)
            }
            Err(HandlerError::Incomplete(response)) => {
                report::log_summary(response, false, started)
            }
            Err(HandlerError::InProgress { .. }) => {}
            Ok(response) => report::log_summary(response, response.complete(), started),
        }
        result
    }

    /// The trigger, if this deployment takes it (`CVPN_TAKES`): the answering functions refuse
    /// anything but their answers, so that invoking one grants nothing else.
    fn taken(&self, decoded: Result<Trigger, DecodeError>) -> Result<Trigger, DecodeError> {
        decoded.and_then(|t| match self.config.takes.refuses(&t) {
            Some(why) => Err(DecodeError {
                path: "event".into(),
                message: why.into(),
            }),
            None => Ok(t),
        })
    }

    /// Acts on `trigger`, then tells people what was done (`notify.rs`) in the time left.
    pub(crate) async fn run(
        &self,
        trigger: &Trigger,
        invoked: Invoked<'_>,
        event_id: Option<&str>,
    ) -> Result<Response, HandlerError> {
        let stop_at = invoked.deadline.map(|d| {
            d.checked_sub(self.config.deadline_margin)
                .unwrap_or_else(Instant::now)
        });
        // On the heap: in a debug build the SDKs' nested futures outgrow a 2 MiB thread stack.
        let mut result = Box::pin(self.act(trigger, stop_at, invoked.account, event_id)).await;
        Box::pin(self.notify(trigger, &mut result, stop_at, invoked, event_id)).await;
        result
    }

    async fn act(
        &self,
        trigger: &Trigger,
        stop_at: Option<Instant>,
        account: Option<&str>,
        event_id: Option<&str>,
    ) -> Result<Response, HandlerError> {
        let Some(source) = trigger.source() else {
            return Err(HandlerError::bad_event(
                "event",
                "a client connect handler request or a Function URL request is answered by \
                 App::answer, which the Lambda handler and `invoke` use",
            ));
        };
        let mut invocation = Invocation {
            app: self,
            response: Response {
                dry_run: self.config.dry_run,
                ..Response::of(source)
            },
            budget: Budget::new(stop_at),
            scope: self.config.scope.clone(),
            own_account: account.map(str::to_owned),
            chosen: chosen_by(trigger),
            approved: None,
            seed: event_id.map(str::to_owned),
        };
        // Each path's future on the heap: in a debug build the SDKs' nested futures, one path
        // inline beside the others, outgrow a 2 MiB thread stack.
        match trigger {
            Trigger::Findings(findings) => {
                invocation.learn_own_account(findings).await;
                let selectors = invocation.finding_selectors(findings);
                Box::pin(invocation.incident(selectors)).await?;
            }
            Trigger::Direct(request) => {
                invocation.response.dry_run |= request.dry_run;
                let selector = invocation.direct_selector(request)?;
                Box::pin(invocation.incident(vec![selector])).await?;
            }
            Trigger::Idp(event) => Box::pin(invocation.idp(event)).await?,
            Trigger::Sweep(request) => {
                // A child sweep (`Targets`) sweeps its places only: the organization-wide chores
                // are the whole sweep's, once a tick.
                let whole = !request.is_child();
                if whole {
                    Box::pin(invocation.expire_requests()).await;
                }
                Box::pin(invocation.sweep(request)).await?;
                if whole {
                    Box::pin(invocation.refresh_organization()).await;
                }
            }
            Trigger::Places(request) => {
                // Listed first, so that a refusal changes nothing; then the split sweep's chores,
                // once a tick, as the whole sweep's.
                Box::pin(invocation.list_places(request)).await?;
                Box::pin(invocation.expire_requests()).await;
                Box::pin(invocation.refresh_organization()).await;
            }
            Trigger::Quarantine(request) => Box::pin(invocation.change_quarantine(request)).await?,
            Trigger::Answer(answer) => Box::pin(invocation.answer_request(answer)).await?,
            // Refused above: they have no source of their own.
            Trigger::Connect(_) | Trigger::Signal(_) => {}
        }
        let response = invocation.take_response();
        match trigger {
            // A child sweep (some places) that could not sweep them all fails: its tick's
            // ceiling holds across retries, and Step Functions retries it and counts it.
            Trigger::Sweep(r) if r.is_child() && !response.complete() => {
                Err(HandlerError::Incomplete(Box::new(response)))
            }
            // A sweep's faults are in its answer and its summary line (at error level); what it
            // left is the next tick's work. A whole sweep's is one invocation a tick.
            Trigger::Sweep(_) | Trigger::Places(_) => Ok(response),
            // An incident must leave nothing undone: failing lets Lambda's retry finish it.
            _ if response.complete() && response.deferred.is_empty() => Ok(response),
            _ => Err(HandlerError::Incomplete(Box::new(response))),
        }
    }
}

/// Who chose what `trigger` acts on: a person's request, a custom action on a finding a person
/// chose, or an answer are never asked about; the detectors' and the IdP's word may be.
fn chosen_by(trigger: &Trigger) -> ChosenBy {
    match trigger {
        Trigger::Findings(f) if f.source == FindingSource::SecurityHubCustomAction => {
            ChosenBy::Person
        }
        Trigger::Findings(_) | Trigger::Idp(_) => ChosenBy::Evidence,
        _ => ChosenBy::Person,
    }
}
