//! The client connect handler: Client VPN asks before every new connection. Reads the holds on the
//! request's person (one BatchGetItem) and, with a per-user limit, the endpoint's connections of
//! that person (Describe, pages of 1000), both within `CVPN_CONNECT_TIMEOUT_MS`; the decision is
//! `quarantine::connect`'s. It always answers: an error would refuse the connection whatever
//! `CVPN_CONNECT_ON_ERROR` says. Settings it needs that could not be read are said on every
//! decision (`Config::unreadable`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::domain::model::ApiError;
use crate::domain::person::People;
use crate::domain::quarantine::connect::{
    decide, message, ConnectRequest, ConnectRules, Decision, Facts,
};
use crate::domain::quarantine::time;
use crate::domain::quarantine::OnStoreError;
use crate::shell::app::App;
use crate::shell::budget::within;
use crate::shell::logging::AUDIT;
use aws_lambda_events::clientvpn::ClientVpnConnectionHandlerResponse;

/// The active connections on `endpoint_id` of `user`'s person, in any form and case of the name
/// (a limit per person errs toward keeping out).
async fn person_connections<A: ClientVpnApi>(
    api: &A,
    endpoint_id: &str,
    user: &str,
    people: &People,
) -> Result<Vec<String>, ApiError> {
    let key = people.key(user);
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = api.connections_page(endpoint_id, token).await?;
        ids.extend(
            page.items
                .into_iter()
                .filter(|c| c.is_active())
                .filter(|c| c.username.as_deref().is_some_and(|u| people.key(u) == key))
                .map(|c| c.connection_id),
        );
        token = page.next_token;
        if token.is_none() {
            return Ok(ids);
        }
    }
}

fn response(decision: &Decision, message: &str) -> ClientVpnConnectionHandlerResponse {
    let mut response = ClientVpnConnectionHandlerResponse::default();
    response.allow = decision.allow;
    response.error_msg_on_failed_posture_compliance = Some(message.to_owned());
    response.posture_compliance_statuses = Vec::new();
    response.schema_version = Some("v1".into());
    response
}

impl<A: ClientVpnApi, S: QuarantineStore> App<A, S> {
    pub async fn connect(&self, request: &ConnectRequest) -> ClientVpnConnectionHandlerResponse {
        let started = std::time::Instant::now();
        let config = &self.config;
        let quarantine = &config.quarantine;
        let limit = quarantine.connect_timeout;
        let people = &config.people;
        for problem in &config.unreadable {
            tracing::error!(
                target: AUDIT,
                event = "bad_config",
                variable = problem.variable,
                error = problem.message.as_str(),
                connection_id = request.connection_id.as_str(),
                "a setting the connect handler needs could not be read; its default decides"
            );
        }
        let subjects = request.subjects(people);
        let holds = async {
            match &self.store {
                None => Err("NoStateTable".to_owned()),
                Some(store) => within(limit, store.holds(&subjects))
                    .await
                    .map_err(|e| e.code),
            }
        };
        let active = async {
            let user = request
                .username
                .as_deref()
                .filter(|_| quarantine.max_connections_per_user.is_some())?;
            // The handler runs in the endpoint's own account and Region.
            let listed = match self.api.home() {
                Some(api) => within(
                    limit,
                    person_connections(api, &request.endpoint_id, user, people),
                )
                .await
                .map_err(|e| e.code),
                None => Err("NoTarget".to_owned()),
            };
            Some(listed)
        };
        let (holds, active) = futures::join!(holds, active);
        let facts = Facts { holds, active };
        let is_protected = |name: &str| config.is_protected(name);
        let decision = decide(
            request,
            &facts,
            &ConnectRules {
                people,
                is_protected: &is_protected,
                on_error: quarantine.on_error,
                max_per_user: quarantine.max_connections_per_user,
            },
            chrono::Utc::now().timestamp(),
        );
        log(request, &facts, &decision, quarantine.on_error, started);
        let text = message(
            &decision,
            &quarantine.deny_message,
            quarantine.max_connections_per_user,
        );
        response(&decision, &text)
    }
}

/// The decision's audit line, with how long it took since `started` (the dashboard's latency).
fn log(
    request: &ConnectRequest,
    facts: &Facts,
    d: &Decision,
    on_error: OnStoreError,
    started: std::time::Instant,
) {
    let failures = [
        ("request", request.malformed.as_ref()),
        ("quarantine", facts.holds.as_ref().err()),
        (
            "user_connections",
            facts.active.as_ref().and_then(|a| a.as_ref().err()),
        ),
    ];
    for (what, code) in failures {
        if let Some(code) = code {
            tracing::error!(
                target: AUDIT,
                event = "quarantine_check_failed",
                endpoint_id = request.endpoint_id.as_str(),
                connection_id = request.connection_id.as_str(),
                read = what,
                error = code.as_str(),
                on_error = on_error.as_str(),
                "could not read what the connect decision needs; CVPN_CONNECT_ON_ERROR decides"
            );
        }
    }
    tracing::info!(
        target: AUDIT,
        event = "connect_decision",
        endpoint_id = request.endpoint_id.as_str(),
        connection_id = request.connection_id.as_str(),
        username = request.username.as_deref(),
        common_name = request.common_name.as_deref(),
        public_ip = request.public_ip.as_deref(),
        allowed = d.allow,
        reason = d.reason.as_str(),
        quarantine_finding = d.hold.as_ref().and_then(|h| h.finding_id.as_deref()),
        quarantined_until = d.hold.as_ref().map(|h| time(h.until)),
        failure = d.failure.as_deref(),
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "connect decision"
    );
}
