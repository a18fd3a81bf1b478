//! The incident path: findings and direct requests become selectors, selectors meet the live
//! connections, and the chosen ones are terminated.

use crate::config::MatchBy;
use crate::ec2::ClientVpnApi;
use crate::execute::{CallError, Calls};
use crate::handler::{App, Refusal};
use crate::json::DecodeError;
use crate::plan::{self, Origin, Rules, Selector};
use crate::report::{self, Entry, FindingInfo, Response, TriggerInfo};
use crate::state::StateStore;
use crate::trigger::evidence::Named;
use crate::trigger::{DirectRequest, FindingEvent, FindingSource};
use std::time::Instant;

fn source_name(source: FindingSource) -> String {
    serde_json::to_value(source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl<A: ClientVpnApi, S: StateStore> App<A, S> {
    pub(crate) fn finding_selectors(
        &self,
        event: &FindingEvent,
        response: &mut Response,
    ) -> Vec<Selector> {
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
            time: None,
        };
        for bad in &event.bad {
            let e = CallError::bad_finding(bad);
            report::log_call_error(&e);
            response.errors.push(e);
        }
        let mut selectors = Vec::new();
        for f in &event.findings {
            let origin = Origin {
                source: source.clone(),
                finding_id: Some(f.id.clone()),
                finding_type: f.types.first().cloned(),
                severity: Some(f.severity),
                reason: event.action_name.clone(),
            };
            let mut skipped = 0;
            let mut skip = |response: &mut Response, reason: &'static str, detail: String| {
                let entry = Entry::finding_skipped(&origin, reason, detail);
                report::log_skipped(&entry, &origin);
                response.skipped.push(entry);
                skipped += 1;
            };
            if let Err(gate) = self.config.gates.check(f, event.source) {
                skip(response, gate.reason, gate.detail);
                continue;
            }
            let evidence = &f.evidence;
            let named = &evidence.endpoint_ids;
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
            for n in &evidence.no_identity {
                skip(
                    response,
                    "no_identity",
                    format!("{}: {}", n.field, n.detail),
                );
            }
            let mut usernames = Vec::new();
            for identity in &evidence.identities {
                let name = &identity.name;
                // The finding's account and the principal's own (an ARN may name another).
                let foreign = [f.account.as_deref(), identity.account.as_deref()]
                    .into_iter()
                    .find(|a| !self.config.identity_account_allowed(*a));
                if let Some(account) = foreign {
                    skip(
                        response,
                        "foreign_account",
                        format!(
                            "{} ({}) is a principal of account {}, not one of CVPN_IDENTITY_ACCOUNTS",
                            name.value,
                            name.origin,
                            account.unwrap_or("(unknown)")
                        ),
                    );
                    continue;
                }
                let Some(vpn) = self.config.mapping.map(&name.value) else {
                    continue;
                };
                let origin = if vpn == name.value {
                    name.origin.clone()
                } else {
                    format!("mapped from {} at {}", name.value, name.origin)
                };
                usernames.push(Named { value: vpn, origin });
            }
            let selector = Selector {
                origin: origin.clone(),
                match_by: self.config.match_by.clone(),
                usernames,
                ips: evidence.ips.clone(),
                connection_ids: evidence.connection_ids.clone(),
                endpoint_ids,
                seen_from: evidence.first_seen,
                seen_at: evidence.seen_at,
            };
            // A finding whose every principal was refused has said why already.
            let names_something = !selector.usernames.is_empty()
                || !selector.ips.is_empty()
                || !selector.connection_ids.is_empty();
            if names_something || skipped == 0 {
                selectors.push(selector);
            }
        }
        selectors
    }

    pub(crate) fn direct_selector(
        &self,
        request: &DirectRequest,
        response: &mut Response,
    ) -> Result<Selector, Refusal> {
        if let Some(endpoint) = &request.endpoint_id {
            if !self.config.endpoint_ids.is_empty() && !self.config.endpoint_ids.contains(endpoint)
            {
                return Err(Refusal::BadEvent(DecodeError {
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
            seen_from: None,
            seen_at: None,
        })
    }

    /// Lists, decides and terminates; refuses when more than the cap would be ended.
    pub(crate) async fn incident(
        &self,
        selectors: Vec<Selector>,
        response: &mut Response,
        calls: &Calls,
        stop_at: Option<Instant>,
    ) -> Result<(), Refusal> {
        if selectors.is_empty() {
            return Ok(());
        }
        let config = &self.config;
        // The endpoints the selectors name, when all of them name some.
        let named = selectors
            .iter()
            .all(|s| !s.endpoint_ids.is_empty())
            .then(|| {
                let mut named: Vec<String> = selectors
                    .iter()
                    .flat_map(|s| s.endpoint_ids.iter().cloned())
                    .collect();
                named.sort();
                named.dedup();
                named
            });
        let cidrs = selectors
            .iter()
            .any(|s| s.match_by.client_ip && !s.ips.is_empty());
        let Some(picture) = self.connections_of(named, cidrs, response, calls).await else {
            return Ok(());
        };
        if picture.unlisted > 0 {
            // The cap and the matching need every connection in scope: decide on a retry instead.
            tracing::error!(
                event = "incomplete_picture",
                unlisted = picture.unlisted,
                "endpoints in scope could not be listed; nothing is ended"
            );
            return Ok(());
        }
        let connections = picture.connections;
        let is_protected = |name: &str| config.is_protected(name);
        let selection = plan::select(
            &selectors,
            &connections,
            &Rules {
                case: config.mapping.case,
                is_protected: &is_protected,
                endpoints: &picture.endpoints,
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
            return Err(Refusal::Cap {
                planned,
                cap: config.max_terminations,
            });
        }
        let planned = plan::calls(selection.targets, &connections);
        self.carry_out(planned, Vec::new(), response, calls, stop_at)
            .await;
        Ok(())
    }
}
