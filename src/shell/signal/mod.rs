//! A request over the Function URL: Global Token Revocation or a Security Event Token. Refused
//! (and logged without its token) unless its token verifies (`keys.rs`); then taken once per
//! `jti` (the state table), read for what it says of whom (`domain/signal/subject.rs`), and acted
//! on as the IdP's word through the incident path (`idp.rs`). Answered over HTTP, whatever
//! happened: a fault is a `5xx` the IdP retries, with the `jti` given back.

mod answer;
mod keys;

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::tokens::Take;
use crate::adapters::state::Stores;
use crate::domain::model::Reason;
use crate::domain::signal::refusal::{answer, HttpAnswer, Refusal, Why};
use crate::domain::signal::subject;
use crate::domain::signal::token::Expect;
use crate::domain::signal::{Request, Route};
use crate::domain::trigger::idp::IdpEvent;
use crate::domain::trigger::Trigger;
use crate::shell::app::{App, HandlerError};
use crate::shell::handler::Invoked;
use crate::shell::logging::AUDIT;
use crate::shell::report::{self, Response};
use keys::{verify, Typ};
use serde_json::json;

fn refused(route: Route, refusal: &Refusal) -> HttpAnswer {
    tracing::warn!(
        target: AUDIT,
        event = "signal_refused",
        route = route.as_str(),
        reason = refusal.why.as_str(),
        detail = refusal.detail.as_str(),
        "a request over the Function URL was refused; nothing was changed"
    );
    answer(route, refusal)
}

/// Whether the incident found nothing of the person to end: no connection of theirs listed.
fn found_nobody(r: &Response) -> bool {
    [
        &r.terminated,
        &r.would_terminate,
        &r.failed,
        &r.deferred,
        &r.left_active,
    ]
    .iter()
    .all(|l| l.is_empty())
        && r.skipped.iter().all(|e| e.connection_id.is_none())
}

/// What a revocation that acted answers (the draft's codes): `204` done; `202` when a person is
/// asked first; `404` when no VPN user of the subject's was found (held anyway: they may connect
/// later); `422` when the person is one this function may not end (protected) or the subject
/// names no VPN username.
fn revoked(r: &Response) -> HttpAnswer {
    // Accepted, and a person decides (CVPN_ASK_USERS, the cap): not done yet.
    if !r.approval_requests.is_empty() {
        return HttpAnswer::empty(202);
    }
    let refused = |reason| r.skipped.iter().any(|e| e.reason == Some(reason));
    if refused(Reason::Protected) || (refused(Reason::NoIdentity) && r.quarantine.is_empty()) {
        return HttpAnswer::empty(422);
    }
    if found_nobody(r) {
        return HttpAnswer::empty(404);
    }
    HttpAnswer::empty(204)
}

impl<A, S> App<A, S>
where
    A: ClientVpnApi,
    S: Stores,
{
    /// Answers a Function URL request.
    pub(crate) async fn signal(&self, request: &Request, invoked: Invoked<'_>) -> HttpAnswer {
        let way = match &request.route {
            Ok(Route::GlobalTokenRevocation) => Way::GlobalTokenRevocation,
            Ok(Route::SsfEvents) => Way::SsfEvents,
            Ok(Route::Answer) => return self.signed_answer(request, invoked).await,
            Err((route, refusal)) => return refused(*route, refusal),
        };
        match self.verified(way, request).await {
            Ok(event) => self.act_on_signal(way, event, invoked).await,
            Err(refusal) => refused(way.route(), &refusal),
        }
    }

    /// The request's word, once its token verified and was taken for the first time.
    async fn verified(&self, way: Way, request: &Request) -> Result<Taken, Refusal> {
        let Some(signal) = &self.config.idp.signal else {
            return Err(Refusal::new(
                Why::NotFound,
                "the Function URL's ways in are off: CVPN_SIGNAL_JWKS_URL, CVPN_SIGNAL_ISSUER and CVPN_SIGNAL_AUDIENCE are not set",
            ));
        };
        let (token, typ) = match way {
            Way::GlobalTokenRevocation => match &request.bearer {
                Some(token) => (token.clone(), Typ::Revocation),
                None => {
                    return Err(Refusal::new(
                        Why::Malformed,
                        "no Authorization: Bearer token",
                    ))
                }
            },
            Way::SsfEvents => {
                if request.content_type.as_deref() != Some("application/secevent+jwt") {
                    return Err(Refusal::new(
                        Why::Malformed,
                        "Content-Type must be application/secevent+jwt (RFC 8935)",
                    ));
                }
                let body = String::from_utf8(request.body.clone())
                    .map_err(|_| Refusal::new(Why::Malformed, "the body is not UTF-8"))?;
                (body.trim().to_owned(), Typ::SecurityEvent)
            }
        };
        let now = chrono::Utc::now().timestamp();
        let expect = Expect {
            issuer: &signal.issuer,
            audience: &signal.audience,
            skew: self.config.max_clock_skew.num_seconds(),
            now,
            needs_exp: way == Way::GlobalTokenRevocation,
        };
        let verified = verify(&token, &signal.jwks_url, typ, &expect).await?;
        let event = match way {
            Way::GlobalTokenRevocation => {
                subject::revocation(&request.body, &signal.issuer, &verified.checked)?
            }
            Way::SsfEvents => {
                subject::security_event(&verified.claims, &signal.issuer, &verified.checked)?
            }
        };
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| Refusal::new(Why::StoreUnavailable, "CVPN_STATE_TABLE is not set"))?;
        let jti = &verified.checked.jti;
        match store
            .take(&signal.issuer, jti, now, verified.checked.remember_until)
            .await
        {
            Ok(Take::First) => Ok(Taken::First(event)),
            Ok(Take::Done) => Ok(Taken::Again(event)),
            Ok(Take::Pending) => Err(Refusal::new(
                Why::InProgress,
                "another invocation is acting on this token now",
            )),
            Err(e) => Err(Refusal::new(Why::StoreUnavailable, e.to_string())),
        }
    }

    async fn act_on_signal(&self, way: Way, taken: Taken, invoked: Invoked<'_>) -> HttpAnswer {
        let event = match taken {
            Taken::First(event) => event,
            // RFC 8935: a SET delivered again is answered as the first time, and not acted on
            // again. A bearer token is for one request.
            Taken::Again(event) => {
                let refusal = Refusal::new(Why::Replayed, "the token's jti was taken before");
                if way == Way::SsfEvents {
                    tracing::info!(
                        target: AUDIT,
                        event = "signal_repeated",
                        route = way.route().as_str(),
                        finding_id = event.finding_id().as_str(),
                        "a Security Event Token delivered again; acted on the first time, not again"
                    );
                    return HttpAnswer::empty(202);
                }
                return refused(way.route(), &refusal);
            }
        };
        tracing::info!(
            target: AUDIT,
            event = "signal_accepted",
            route = way.route().as_str(),
            event_type = event.event_type.as_str(),
            finding_id = event.finding_id().as_str(),
            "a verified request over the Function URL"
        );
        let trigger = Trigger::Idp(event.clone());
        let started = std::time::Instant::now();
        let result = self.run(&trigger, invoked, None).await;
        match &result {
            Ok(response) => report::log_summary(response, response.complete(), started),
            Err(e) => {
                if let Some(response) = e.response() {
                    report::log_summary(response, false, started);
                }
            }
        }
        if result.is_ok() {
            self.signal_done(&event).await;
        }
        match result {
            Ok(response) => match way {
                Way::GlobalTokenRevocation => revoked(&response),
                Way::SsfEvents => HttpAnswer::empty(202),
            },
            Err(e) => self.failed_signal(&event, &e).await,
        }
    }

    /// Marks the token's word carried out, so that a retry is answered as done. When that cannot
    /// be written the token stays pending, and a retry after `PENDING_SECONDS` acts again (acting
    /// twice on the same word ends nothing more).
    async fn signal_done(&self, event: &IdpEvent) {
        if let (Some(store), Some(signal)) = (&self.store, &self.config.idp.signal) {
            if let Err(e) = store.done(&signal.issuer, &event.uuid).await {
                report::log_call_warning(
                    "UpdateItem",
                    &e,
                    "the token could not be marked done: it stays pending until it can be taken again",
                );
            }
        }
    }

    /// A request whose word could not be carried out: the `jti` is given back, so that the IdP's
    /// retry acts again, and the answer is one it retries on.
    async fn failed_signal(&self, event: &IdpEvent, e: &HandlerError) -> HttpAnswer {
        if let (Some(store), Some(signal)) = (&self.store, &self.config.idp.signal) {
            if let Err(given) = store.give_back(&signal.issuer, &event.uuid).await {
                tracing::error!(
                    target: AUDIT,
                    event = "call_failed",
                    action = "DeleteItem",
                    error_code = given.code.as_str(),
                    error = given.message.as_str(),
                    "the token could not be given back: the IdP's retry of it will be refused"
                );
            }
        }
        let status = match e {
            HandlerError::CapExceeded { .. } => 422,
            _ => 500,
        };
        // The IdP is told what happened, not where: the places that failed are the
        // organization's account IDs, for the log and the alarm only.
        let description = match e {
            HandlerError::Incomplete(_) => "not every place could be read: what could be seen was \
                                            acted on, and the request should be sent again"
                .to_owned(),
            _ => e.to_string(),
        };
        HttpAnswer::json(
            status,
            json!({"error": e.kind(), "description": description}),
        )
    }
}

/// The ways in that carry the IdP's signed token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    GlobalTokenRevocation,
    SsfEvents,
}

impl Way {
    fn route(self) -> Route {
        match self {
            Self::GlobalTokenRevocation => Route::GlobalTokenRevocation,
            Self::SsfEvents => Route::SsfEvents,
        }
    }
}

/// A verified request's word, and whether its `jti` was new.
enum Taken {
    First(IdpEvent),
    Again(IdpEvent),
}
