//! One invocation: decode the event, hand it to the incident path (`incident.rs`) or the scheduled
//! cleanup (`sweep.rs`), and turn the outcome into a response or an error. The same handler serves
//! the Lambda runtime loop and `cvpn-terminator invoke`.

use crate::config::Config;
use crate::ec2::ClientVpnApi;
use crate::execute::{self, Calls, Outcome};
use crate::json::DecodeError;
use crate::model::{Connection, Endpoint, ENDPOINT_NOT_FOUND};
use crate::plan::Call;
use crate::report::{self, Response};
use crate::state::StateStore;
use crate::trigger::{self, Trigger};
use serde_json::Value;
use std::fmt;
use std::time::Instant;

/// What the listing saw.
pub(crate) struct Picture {
    pub endpoints: Vec<Endpoint>,
    pub connections: Vec<Connection>,
    /// Endpoints in scope whose connections could not be listed: the picture is incomplete.
    pub unlisted: usize,
}

pub struct App<A, S> {
    pub config: Config,
    pub api: A,
    /// The idle policy's state; `None` without `CVPN_STATE_TABLE`.
    pub store: Option<S>,
}

/// Why a path refused to act; nothing was terminated.
pub(crate) enum Refusal {
    BadEvent(DecodeError),
    Cap { planned: usize, cap: usize },
}

pub enum HandlerError {
    /// The event is not one we act on; nothing was terminated.
    BadEvent(DecodeError),
    /// More connections matched than the cap allows; nothing was terminated.
    CapExceeded {
        planned: usize,
        cap: usize,
        response: Box<Response>,
    },
    /// Some planned termination failed, or an endpoint could not be listed.
    Incomplete(Box<Response>),
}

impl HandlerError {
    pub fn response(&self) -> Option<&Response> {
        match self {
            Self::BadEvent(_) => None,
            Self::CapExceeded { response, .. } | Self::Incomplete(response) => Some(response),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadEvent(_) => "BadEvent",
            Self::CapExceeded { .. } => "CapExceeded",
            Self::Incomplete(_) => "Incomplete",
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadEvent(e) => write!(f, "bad event: {e}; nothing was terminated"),
            Self::CapExceeded { planned, cap, .. } => write!(
                f,
                "refused: the trigger matches {planned} active connections, more than \
                 CVPN_MAX_TERMINATIONS ({cap}); nothing was terminated. Check the username mapping \
                 and the finding"
            ),
            Self::Incomplete(r) => {
                let failed: Vec<String> = r
                    .failed
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e.connection_id.as_deref().unwrap_or("?"),
                            e.error_code.as_deref().unwrap_or("?")
                        )
                    })
                    .collect();
                let errors: Vec<String> = r
                    .errors
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {} {}",
                            e.action,
                            e.endpoint_id.as_deref().unwrap_or("(all)"),
                            e.code
                        )
                    })
                    .collect();
                write!(
                    f,
                    "incomplete: {} of {} planned terminations failed [{}], {} were deferred; {} steps failed [{}]",
                    r.failed.len(),
                    r.failed.len() + r.terminated.len() + r.would_terminate.len() + r.deferred.len(),
                    failed.join(", "),
                    r.deferred.len(),
                    r.errors.len(),
                    errors.join(", ")
                )
            }
        }
    }
}

/// The Lambda runtime logs errors with `Debug`: keep that to the one-line summary, not the whole
/// response (which the summary log line and the handler's own lines already carry).
impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.kind())
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl<A: ClientVpnApi, S: StateStore> App<A, S> {
    /// The connections of `endpoints`, or when `None` of `CVPN_ENDPOINT_IDS`, or when that is empty
    /// of every endpoint in the Region; with the endpoints' client CIDRs when every endpoint is
    /// listed or `cidrs` asks for them. Listings that fail are recorded in the response; `None`
    /// when the endpoints themselves could not be listed, so there is nothing to match.
    pub(crate) async fn connections_of(
        &self,
        endpoints: Option<Vec<String>>,
        cidrs: bool,
        response: &mut Response,
        calls: &Calls,
    ) -> Option<Picture> {
        let named = endpoints.or_else(|| {
            (!self.config.endpoint_ids.is_empty()).then(|| self.config.endpoint_ids.clone())
        });
        let endpoints = match named {
            Some(ids) if !cidrs => ids
                .into_iter()
                .map(|id| Endpoint {
                    id,
                    client_cidr: None,
                })
                .collect(),
            named => {
                let all = match execute::list_endpoints(&self.api, calls).await {
                    Ok(all) => all,
                    Err(e) => {
                        report::log_call_error(&e);
                        response.errors.push(e);
                        return None;
                    }
                };
                match named {
                    // Named endpoints the Region does not have are listed anyway, so the answer
                    // says so; without a CIDR, no client IP matches there.
                    Some(ids) => ids
                        .into_iter()
                        .map(|id| {
                            let client_cidr =
                                all.iter().find(|e| e.id == id).and_then(|e| e.client_cidr);
                            Endpoint { id, client_cidr }
                        })
                        .collect(),
                    None => all,
                }
            }
        };
        let ids: Vec<String> = endpoints.iter().map(|e| e.id.clone()).collect();
        let (connections, errors) =
            execute::list_connections(&self.api, &ids, self.config.concurrency, calls).await;
        errors.iter().for_each(report::log_call_error);
        // An endpoint that does not exist hides no connection; any other failure might.
        let unlisted = errors
            .iter()
            .filter(|e| e.code != ENDPOINT_NOT_FOUND)
            .count();
        response.errors.extend(errors);
        Some(Picture {
            endpoints,
            connections,
            unlisted,
        })
    }

    /// Carries out the planned calls and reports every outcome, with those decided already
    /// (`decided`, e.g. deferred beyond a ceiling), in the log and the response.
    pub(crate) async fn carry_out(
        &self,
        planned: Vec<Call>,
        decided: Vec<Outcome>,
        response: &mut Response,
        calls: &Calls,
        stop_at: Option<Instant>,
    ) {
        let done = execute::run_calls(
            &self.api,
            planned,
            response.dry_run,
            self.config.concurrency,
            calls,
            stop_at,
        )
        .await;
        for o in decided.iter().chain(&done) {
            report::log_outcome(o, response.dry_run);
            response.record(o);
        }
    }

    pub async fn handle(&self, event: &Value) -> Result<Response, HandlerError> {
        self.handle_until(event, None).await
    }

    /// As [`App::handle`], for an invocation that must return by `deadline`: no termination starts
    /// within `CVPN_DEADLINE_MARGIN_SECONDS` of it; what is left is deferred.
    pub async fn handle_until(
        &self,
        event: &Value,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let trigger = trigger::decode(event).map_err(|e| {
            tracing::error!(
                event = "bad_event",
                path = e.path.as_str(),
                error = e.message.as_str(),
                "bad event"
            );
            HandlerError::BadEvent(e)
        })?;
        let stop_at = deadline.map(|d| d.checked_sub(self.config.deadline_margin).unwrap_or(d));
        let mut response = Response {
            dry_run: self.config.dry_run,
            ..Response::default()
        };
        let calls = Calls::default();
        let result = match &trigger {
            Trigger::Findings(findings) => {
                let selectors = self.finding_selectors(findings, &mut response);
                self.incident(selectors, &mut response, &calls, stop_at)
                    .await
            }
            Trigger::Direct(request) => {
                response.dry_run |= request.dry_run;
                match self.direct_selector(request, &mut response) {
                    Ok(selector) => {
                        self.incident(vec![selector], &mut response, &calls, stop_at)
                            .await
                    }
                    Err(refusal) => Err(refusal),
                }
            }
            Trigger::Sweep(request) => self.sweep(request, &mut response, &calls, stop_at).await,
        };
        response.api_calls = calls.get();
        // A sweep leaves deferred connections to the next tick; an incident must not leave any.
        let done = response.complete()
            && (matches!(trigger, Trigger::Sweep(_)) || response.deferred.is_empty());
        match result {
            Err(Refusal::BadEvent(e)) => {
                tracing::error!(
                    event = "bad_event",
                    path = e.path.as_str(),
                    error = e.message.as_str(),
                    "bad event"
                );
                Err(HandlerError::BadEvent(e))
            }
            Err(Refusal::Cap { planned, cap }) => {
                report::log_summary(&response, false);
                Err(HandlerError::CapExceeded {
                    planned,
                    cap,
                    response: Box::new(response),
                })
            }
            Ok(()) => {
                report::log_summary(&response, done);
                if done {
                    Ok(response)
                } else {
                    Err(HandlerError::Incomplete(Box::new(response)))
                }
            }
        }
    }
}
