//! The incident path: findings and direct requests become selectors, selectors meet the live
//! connections, and the chosen ones are terminated.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::console;
use crate::domain::model::{ApiError, By, Reason};
use crate::domain::naming::Accounts;
use crate::domain::plan::{self, MatchBy, Origin, Rules, Selector};
use crate::domain::targets::Within;
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::{DirectRequest, FindingEvent};
use crate::shell::app::HandlerError;
use crate::shell::budget::within;
use crate::shell::execute::{CallError, Outcome};
use crate::shell::invocation::{Describe, Invocation};
use crate::shell::logging::AUDIT;
use crate::shell::report::{self, Entry, FindingInfo, Response, TriggerInfo};
use std::collections::BTreeSet;

/// How long an incident waits for STS to say which account the function runs in.
const STS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    pub(crate) fn finding_selectors(&mut self, event: &FindingEvent) -> Vec<Selector> {
        let config = &self.app.config;
        let home = self.app.notifiers.region.as_deref();
        let response = &mut self.response;
        let source = event.source.as_str().to_owned();
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
                    link: f
                        .region
                        .as_deref()
                        .or(home)
                        .and_then(|region| console::finding_link(event.source, &f.id, region)),
                })
                .collect(),
            reason: None,
            time: None,
        };
        for bad in &event.bad {
            response.step_failed(CallError::bad_finding(bad));
        }
        let targets = config.target_accounts();
        let allowed = config
            .naming
            .accounts
            .allowed(self.own_account.as_deref(), &targets);
        let mut unknown_own = false;
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
            let mut skip = |response: &mut Response, reason: Reason, detail: String| {
                let entry = Entry::finding_skipped(&origin, reason, detail);
                report::log_skipped(&entry, &origin);
                response.skipped.push(entry);
                skipped += 1;
            };
            if let Err(gate) = config.gates.check(f, event.source) {
                skip(response, gate.reason, gate.detail);
                continue;
            }
            let evidence = &f.evidence;
            let named = &evidence.endpoint_ids;
            let endpoint_ids: Vec<String> = named
                .iter()
                .filter(|e| config.endpoint_ids.is_empty() || config.endpoint_ids.contains(e))
                .cloned()
                .collect();
            if !named.is_empty() && endpoint_ids.is_empty() {
                skip(
                    response,
                    Reason::OutOfScope,
                    format!(
                        "the finding names endpoints {named:?}, none of them in CVPN_ENDPOINT_IDS"
                    ),
                );
                continue;
            }
            for n in &evidence.no_identity {
                skip(
                    response,
                    Reason::NoIdentity,
                    format!("{}: {}", n.field, n.detail),
                );
            }
            let mut usernames = Vec::new();
            for identity in &evidence.identities {
                let name = &identity.name;
                if let Err(refused) = config
                    .naming
                    .judge(identity, f.account.as_deref(), &allowed)
                {
                    if refused.own_account_unknown {
                        unknown_own = true;
                    }
                    skip(response, refused.reason, refused.detail);
                    continue;
                }
                let Some(vpn) = config.mapping.map(&name.value) else {
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
                match_by: config.match_by.clone(),
                usernames,
                ips: evidence.ips.clone(),
                connection_ids: evidence.connection_ids.clone(),
                endpoint_ids,
                seen_from: evidence.first_seen,
                seen_at: evidence.seen_at,
                since: event.time.or(evidence.seen_at),
            };
            // A finding whose every principal was refused has said why already.
            let names_something = !selector.usernames.is_empty()
                || !selector.ips.is_empty()
                || !selector.connection_ids.is_empty();
            if names_something || skipped == 0 {
                selectors.push(selector);
            }
        }
        if unknown_own {
            // Not knowing whose principals may name people is an incomplete picture: said, and
            // the invocation fails so that it is seen and retried.
            response.step_failed(CallError::new(
                None,
                "GetCallerIdentity",
                ApiError {
                    code: "OwnAccountUnknown".into(),
                    message: "the function's own account could not be learned, so principals of \
                              accounts other than CVPN_TARGETS' were not judged; set \
                              CVPN_IDENTITY_ACCOUNTS"
                        .into(),
                },
            ));
        }
        selectors
    }

    /// Learns the function's own account for the identity gate, when the settings need it and the
    /// invocation did not say (the command line, local runtimes): STS `GetCallerIdentity`, asked
    /// once per process and for a few seconds at most.
    pub(crate) async fn learn_own_account(&mut self, event: &FindingEvent) {
        let needed = self.app.config.naming.accounts == Accounts::OwnAndTargets
            && event
                .findings
                .iter()
                .any(|f| !f.evidence.identities.is_empty());
        if self.own_account.is_some() || !needed {
            return;
        }
        match within(STS_TIMEOUT, self.app.notifiers.account()).await {
            Ok(account) => self.own_account = account,
            Err(e) => tracing::error!(
                target: AUDIT,
                event = "call_failed",
                action = "GetCallerIdentity",
                error_code = e.code.as_str(),
                error = e.message.as_str(),
                "the function's own account could not be learned"
            ),
        }
    }

    pub(crate) fn direct_selector(
        &mut self,
        request: &DirectRequest,
    ) -> Result<Selector, HandlerError> {
        let config = &self.app.config;
        // A person may narrow the incident to the targets of one account and Region; naming one
        // the function does not act in is a mistake, not an empty scope.
        self.within = Within {
            account: request.account_id.clone(),
            region: request.region.clone(),
        };
        // Only a request naming a place can leave nothing in scope.
        if self.scope().is_empty() {
            let (field, place) = match (&request.account_id, &request.region) {
                (Some(a), Some(r)) => ("event.AccountId", format!("{a}/{r}")),
                (Some(a), None) => ("event.AccountId", a.clone()),
                (None, r) => ("event.Region", r.clone().unwrap_or_default()),
            };
            return Err(HandlerError::bad_event(
                field,
                format!(
                    "no target of CVPN_TARGETS is in {place} (the function's own account is named by Region alone); nothing was terminated"
                ),
            ));
        }
        if let Some(endpoint) = &request.endpoint_id {
            if !config.endpoint_ids.is_empty() && !config.endpoint_ids.contains(endpoint) {
                return Err(HandlerError::bad_event(
                    "event.ClientVpnEndpointId",
                    format!("{endpoint} is not among CVPN_ENDPOINT_IDS; nothing was terminated"),
                ));
            }
        }
        let origin = Origin {
            source: "direct".into(),
            reason: request.reason.clone(),
            ..Origin::default()
        };
        self.response.trigger = TriggerInfo {
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
            since: None,
        })
    }

    /// Lists, decides and terminates; refuses when the targets and what earlier attempts at the
    /// event ended exceed the cap, and ends nothing when any endpoint in scope could not be listed.
    pub(crate) async fn incident(&mut self, selectors: Vec<Selector>) -> Result<(), HandlerError> {
        if selectors.is_empty() {
            return Ok(());
        }
        let config = &self.app.config;
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
        // Client IPs need the endpoints' CIDRs; the quarantine's warning, their connect handlers.
        let describe = if selectors
            .iter()
            .any(|s| s.match_by.client_ip && !s.ips.is_empty())
        {
            Describe::Needed
        } else if config.quarantine_minutes().is_some() {
            Describe::Wanted
        } else {
            Describe::No
        };
        let Some(picture) = self.connections_of(named, describe).await else {
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
                people: &config.people,
                is_protected: &is_protected,
                endpoints: &picture.endpoints,
            },
        );
        for s in &selection.skipped {
            let entry = Entry::skipped(s);
            report::log_skipped(&entry, &s.origin);
            self.response.skipped.push(entry);
        }
        // Who would be held, and whom a person released for the same finding: those are neither
        // ended again nor held again.
        let holds = self.holds_for(
            &selectors,
            &selection.targets,
            &selection.spent,
            &connections,
        );
        let releases = self.releases_for(&holds, &selection.targets).await;
        let (targets, holds) = self.drop_released(selection.targets, holds, &releases);
        // What earlier attempts at this event ended counts too, so a retry cannot spend the cap
        // again.
        let planned = targets.len() + selection.spent.len();
        if !targets.is_empty() && planned > config.max_terminations {
            tracing::error!(
                event = "cap_exceeded",
                planned,
                already_ended = selection.spent.len(),
                cap = config.max_terminations,
                "refusing to terminate"
            );
            self.response.skipped.extend(targets.iter().map(|t| Entry {
                reason: Some(Reason::CapExceeded),
                ..Entry::planned(t)
            }));
            return Err(self.cap_exceeded(planned, config.max_terminations));
        }
        if picture.described {
            self.report_unenforced(&picture.endpoints);
        }
        // What a Username call may end beyond its plan must fit under the cap too.
        let headroom = config.max_terminations.saturating_sub(planned);
        let planned_ids: BTreeSet<String> = targets
            .iter()
            .map(|t| t.connection.connection_id.clone())
            .collect();
        let planned = plan::calls(targets, &connections, headroom);
        // Users chosen by name whose connections are ended one by one: one who connected again
        // after the listing keeps that connection.
        let mut one_by_one: BTreeSet<(String, String)> = planned
            .iter()
            .filter(|c| matches!(c.by, By::ConnectionId(_)))
            .flat_map(|c| &c.targets)
            .filter(|t| t.by_username)
            .filter_map(|t| {
                Some((
                    t.connection.endpoint_id.clone(),
                    t.connection.username.clone()?,
                ))
            })
            .collect();
        let outcomes = self.carry_out_holding(planned, holds).await;
        one_by_one.extend(outcomes.iter().filter_map(|o| match o {
            Outcome::UsernameRefused {
                endpoint_id,
                username,
                ..
            } => Some((endpoint_id.clone(), username.clone())),
            _ => None,
        }));
        if !one_by_one.is_empty() && !self.response.dry_run {
            self.report_left_active(one_by_one, &planned_ids).await;
        }
        Ok(())
    }

    /// Lists the endpoints of `users` again and reports each active connection of theirs that was
    /// not planned as `left_active`.
    async fn report_left_active(
        &mut self,
        users: BTreeSet<(String, String)>,
        planned: &BTreeSet<String>,
    ) {
        let endpoints: BTreeSet<String> = users.iter().map(|(e, _)| e.clone()).collect();
        let Some(picture) = self
            .connections_of(Some(endpoints.into_iter().collect()), Describe::No)
            .await
        else {
            return;
        };
        let config = &self.app.config;
        let left = picture.connections.iter().filter(|c| {
            c.is_active()
                && !planned.contains(&c.connection_id)
                && c.username.as_deref().is_some_and(|u| {
                    users.contains(&(c.endpoint_id.clone(), u.to_owned()))
                        && !config.is_protected(u)
                })
        });
        for c in left {
            tracing::error!(
                event = "left_active",
                endpoint_id = c.endpoint_id.as_str(),
                connection_id = c.connection_id.as_str(),
                username = c.username.as_deref(),
                "a targeted user has a connection that was not ended"
            );
            self.response.left_active.push(Entry::left_active(c));
        }
    }
}
