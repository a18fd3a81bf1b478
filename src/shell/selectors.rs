//! What an incident's triggers name: a finding's selectors (gated, judged by who may name a
//! person, mapped to VPN usernames), the account the function runs in when a finding needs it,
//! and a direct request's selector. The idp's word is `idp.rs`; what follows is `incident.rs`.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::console;
use crate::domain::model::ApiError;
use crate::domain::naming::Accounts;
use crate::domain::plan::CallError;
use crate::domain::plan::{finding_selector, FindingRules, MatchBy, Origin, Selector};
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::TriggerSource;
use crate::domain::trigger::{DirectRequest, FindingEvent};
use crate::shell::app::HandlerError;
use crate::shell::budget::{within, STS_TIMEOUT};
use crate::shell::invocation::Invocation;
use crate::shell::logging::AUDIT;
use crate::shell::report::{self, Entry, FindingInfo};

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    pub(crate) fn finding_selectors(&mut self, event: &FindingEvent) -> Vec<Selector> {
        let config = &self.app.config;
        let home = self.app.notifiers.region.as_deref();
        let response = &mut self.response;
        response.trigger.action_name = event.action_name.clone();
        response.trigger.findings = event
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
            .collect();
        for bad in &event.bad {
            response.step_failed(CallError::bad_finding(bad));
        }
        let targets = config.target_accounts();
        let allowed = config
            .naming
            .accounts
            .allowed(self.own_account.as_deref(), &targets);
        let rules = FindingRules {
            gates: &config.gates,
            scope: &config.scope,
            naming: &config.naming,
            allowed: &allowed,
            mapping: &config.mapping,
            match_by: &config.match_by,
        };
        let mut unknown_own = false;
        let mut selectors = Vec::new();
        for f in &event.findings {
            let chosen = finding_selector(&rules, event, f);
            for (reason, detail) in chosen.skipped {
                let entry = Entry::finding_skipped(&chosen.origin, reason, detail);
                report::log_skipped(&entry, &chosen.origin);
                response.skipped.push(entry);
            }
            unknown_own |= chosen.own_account_unknown;
            selectors.extend(chosen.selector);
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
        if needed {
            self.ask_own_account().await;
        }
    }

    pub(crate) fn direct_selector(
        &mut self,
        request: &DirectRequest,
    ) -> Result<Selector, HandlerError> {
        let config = &self.app.config;
        // A person may narrow the incident to the targets of one account and Region; naming one
        // the function does not act in is a mistake, not an empty scope.
        self.scope = config
            .scope
            .within(request.account_id.clone(), request.region.clone());
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
            if !self.scope.has_endpoint(endpoint) {
                return Err(HandlerError::bad_event(
                    "event.ClientVpnEndpointId",
                    format!("{endpoint} is not among CVPN_ENDPOINT_IDS; nothing was terminated"),
                ));
            }
        }
        let origin = Origin {
            reason: request.reason.clone(),
            ..Origin::of(TriggerSource::Direct)
        };
        self.response.trigger.reason = request.reason.clone();
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
}

impl<A, S> Invocation<'_, A, S> {
    /// The function's own account from STS `GetCallerIdentity`, unless the invocation said it;
    /// a few seconds at most, and logged when STS cannot say.
    pub(crate) async fn ask_own_account(&mut self) {
        if self.own_account.is_some() {
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
}
