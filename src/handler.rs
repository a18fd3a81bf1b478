//! One invocation: decode the event, decide, act through the API, report. The same handler serves
//! the Lambda runtime loop and `cvpn-terminator invoke`.

use crate::config::{Config, MatchBy};
use crate::ec2::ClientVpnApi;
use crate::execute::{self, Calls, Outcome};
use crate::indicators::Named;
use crate::json::DecodeError;
use crate::plan::{self, Origin, Rules, Selector};
use crate::report::{self, Entry, FindingInfo, Response, TriggerInfo};
use crate::trigger::{self, DirectRequest, FindingEvent, FindingSource, Trigger};
use serde_json::Value;
use std::fmt;

pub struct App<A> {
    pub config: Config,
    pub api: A,
}

#[derive(Debug)]
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
                    "incomplete: {} of {} planned terminations failed [{}]; {} listings failed [{}]",
                    r.failed.len(),
                    r.failed.len() + r.terminated.len() + r.would_terminate.len(),
                    failed.join(", "),
                    r.errors.len(),
                    errors.join(", ")
                )
            }
        }
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

fn source_name(source: FindingSource) -> String {
    serde_json::to_value(source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl<A: ClientVpnApi> App<A> {
    pub async fn handle(&self, event: &Value) -> Result<Response, HandlerError> {
        let trigger = trigger::decode(event).map_err(|e| {
            tracing::error!(
                event = "bad_event",
                path = e.path.as_str(),
                error = e.message.as_str(),
                "bad event"
            );
            HandlerError::BadEvent(e)
        })?;
        let mut response = Response {
            dry_run: self.config.dry_run,
            ..Response::default()
        };
        let selectors = match &trigger {
            Trigger::Findings(findings) => self.finding_selectors(findings, &mut response),
            Trigger::Direct(request) => {
                response.dry_run |= request.dry_run;
                vec![self.direct_selector(request, &mut response)?]
            }
        };
        let calls = Calls::default();
        let result = self.act(selectors, &mut response, &calls).await;
        response.api_calls = calls.get();
        report::log_summary(&response);
        match result {
            Err(cap) => Err(HandlerError::CapExceeded {
                planned: cap.0,
                cap: cap.1,
                response: Box::new(response),
            }),
            Ok(()) if response.complete() => Ok(response),
            Ok(()) => Err(HandlerError::Incomplete(Box::new(response))),
        }
    }

    fn finding_selectors(&self, event: &FindingEvent, response: &mut Response) -> Vec<Selector> {
        let source = source_name(event.source);
        response.trigger = TriggerInfo {
            source: source.clone(),
            action_name: event.action_name.clone(),
            findings: event
                .findings
                .iter()
                .map(|f| FindingInfo {
                    id: f.id.clone(),
                    types: f.types.clone(),
                    severity: f.severity,
                    severity_label: f.severity_label.clone(),
                    account: f.account.clone(),
                    region: f.region.clone(),
                })
                .collect(),
            reason: None,
        };
        let mut selectors = Vec::new();
        for f in &event.findings {
            let origin = Origin {
                source: source.clone(),
                finding_id: Some(f.id.clone()),
                finding_type: f.types.first().cloned(),
                severity: Some(f.severity),
                reason: event.action_name.clone(),
            };
            let skip = |response: &mut Response, reason: &'static str, detail: String| {
                let entry = Entry::finding_skipped(&origin, reason, detail);
                report::log_skipped(&entry, &origin);
                response.skipped.push(entry);
            };
            if let Err(gate) = self.config.gates.check(f, event.source.severity_gated()) {
                skip(response, gate.reason, gate.detail);
                continue;
            }
            let named = &f.indicators.endpoint_ids;
            let endpoint_ids: Vec<String> = named
                .iter()
                .filter(|e| {
                    self.config.endpoint_ids.is_empty() || self.config.endpoint_ids.contains(e)
                })
                .cloned()
                .collect();
            if !named.is_empty() && endpoint_ids.is_empty() {
                skip(
                    response,
                    "out_of_scope",
                    format!(
                        "the finding names endpoints {named:?}, none of them in CVPN_ENDPOINT_IDS"
                    ),
                );
                continue;
            }
            let usernames = f
                .indicators
                .identities
                .iter()
                .filter_map(|identity| {
                    let vpn = self.config.mapping.map(&identity.value)?;
                    let origin = if vpn == identity.value {
                        identity.origin.clone()
                    } else {
                        format!("mapped from {} at {}", identity.value, identity.origin)
                    };
                    Some(Named { value: vpn, origin })
                })
                .collect();
            selectors.push(Selector {
                origin: origin.clone(),
                match_by: self.config.match_by.clone(),
                usernames,
                ips: f.indicators.ips.clone(),
                connection_ids: f.indicators.connection_ids.clone(),
                endpoint_ids,
            });
        }
        selectors
    }

    fn direct_selector(
        &self,
        request: &DirectRequest,
        response: &mut Response,
    ) -> Result<Selector, HandlerError> {
        if let Some(endpoint) = &request.endpoint_id {
            if !self.config.endpoint_ids.is_empty() && !self.config.endpoint_ids.contains(endpoint)
            {
                return Err(HandlerError::BadEvent(DecodeError {
                    path: "event.ClientVpnEndpointId".into(),
                    message: format!(
                        "{endpoint} is not among CVPN_ENDPOINT_IDS; nothing was terminated"
                    ),
                }));
            }
        }
        let origin = Origin {
            source: "direct".into(),
            reason: request.reason.clone(),
            ..Origin::default()
        };
        response.trigger = TriggerInfo {
            source: "direct".into(),
            reason: request.reason.clone(),
            ..TriggerInfo::default()
        };
        Ok(Selector {
            origin,
            // A person named the user or the connection: match what they named wherever it shows.
            match_by: MatchBy::ALL,
            usernames: request
                .username
                .iter()
                .map(|u| Named {
                    value: u.clone(),
                    origin: "event.Username".into(),
                })
                .collect(),
            ips: Vec::new(),
            connection_ids: request.connection_id.iter().cloned().collect(),
            endpoint_ids: request.endpoint_id.iter().cloned().collect(),
        })
    }

    /// Lists, decides and terminates. `Err((planned, cap))` when the cap refuses the plan.
    async fn act(
        &self,
        selectors: Vec<Selector>,
        response: &mut Response,
        calls: &Calls,
    ) -> Result<(), (usize, usize)> {
        if selectors.is_empty() {
            return Ok(());
        }
        let config = &self.config;
        let endpoints = if selectors.iter().all(|s| !s.endpoint_ids.is_empty()) {
            let mut named: Vec<String> = selectors
                .iter()
                .flat_map(|s| s.endpoint_ids.iter().cloned())
                .collect();
            named.sort();
            named.dedup();
            named
        } else if !config.endpoint_ids.is_empty() {
            config.endpoint_ids.clone()
        } else {
            match execute::list_endpoints(&self.api, calls).await {
                Ok(all) => all,
                Err(e) => {
                    tracing::error!(
                        event = "describe_failed",
                        action = e.action,
                        error_code = e.code.as_str(),
                        error = e.message.as_str(),
                        "cannot list endpoints"
                    );
                    response.errors.push(e);
                    return Ok(());
                }
            }
        };
        let (connections, errors) =
            execute::list_connections(&self.api, &endpoints, config.concurrency, calls).await;
        for e in &errors {
            tracing::error!(
                event = "describe_failed",
                action = e.action,
                endpoint_id = e.endpoint_id.as_deref(),
                error_code = e.code.as_str(),
                error = e.message.as_str(),
                "cannot list connections"
            );
        }
        response.errors.extend(errors);

        let is_protected = |name: &str| config.is_protected(name);
        let selection = plan::select(
            &selectors,
            &connections,
            &Rules {
                case: config.mapping.case,
                is_protected: &is_protected,
            },
        );
        for s in &selection.skipped {
            let entry = Entry::skipped(s);
            report::log_skipped(&entry, &s.origin);
            response.skipped.push(entry);
        }
        if selection.targets.len() > config.max_terminations {
            let planned = selection.targets.len();
            tracing::error!(
                event = "cap_exceeded",
                planned,
                cap = config.max_terminations,
                "refusing to terminate"
            );
            response
                .skipped
                .extend(selection.targets.iter().map(|t| Entry {
                    reason: Some("cap_exceeded".into()),
                    ..Entry::planned(t)
                }));
            return Err((planned, config.max_terminations));
        }
        let planned = plan::calls(selection.targets, &connections);
        let outcomes: Vec<Outcome> = execute::run_calls(
            &self.api,
            planned,
            response.dry_run,
            config.concurrency,
            calls,
        )
        .await;
        for o in &outcomes {
            report::log_outcome(o, response.dry_run);
            response.record(o);
        }
        Ok(())
    }
}
