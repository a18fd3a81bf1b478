//! The client connect handler: Client VPN asks before every new connection. Reads the holds on the
//! request's names (one BatchGetItem) and, with a per-user limit, the user's connections (one
//! Describe), both within `CVPN_CONNECT_TIMEOUT_MS`; the decision is `quarantine::connect`'s.
//! It always answers: an error would refuse the connection whatever `CVPN_CONNECT_ON_ERROR` says.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::domain::mapping::{CaseRule, NamePattern};
use crate::domain::quarantine::connect::{
    decide, message, ConnectRequest, ConnectRules, Decision, Facts,
};
use crate::domain::quarantine::time;
use crate::domain::quarantine::OnStoreError;
use crate::domain::trigger::{self, Trigger};
use crate::shell::execute::within;
use crate::shell::handler::App;
use crate::shell::logging::AUDIT;
use aws_lambda_events::clientvpn::ClientVpnConnectionHandlerResponse;

/// What the handler answers a connect request when its settings are bad (`problem`): the
/// quarantine cannot be read, so `CVPN_CONNECT_ON_ERROR` decides (`allow` unless it says `deny`),
/// and the protected users that can still be read are let in. Settings come through `lookup`,
/// each read on its own so that one bad value spoils no other. `None` for any other event. Without
/// this, a bad setting would make every invocation fail, and Client VPN would refuse everyone.
pub fn answer_unconfigured(
    event: &serde_json::Value,
    problem: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<ClientVpnConnectionHandlerResponse> {
    let Ok(Trigger::Connect(request)) = trigger::decode(event) else {
        return None;
    };
    let setting = |name: &str| lookup(name).map(|v| v.trim().to_ascii_lowercase());
    let on_error = match setting("CVPN_CONNECT_ON_ERROR").as_deref() {
        Some("deny") => OnStoreError::Deny,
        _ => OnStoreError::Allow,
    };
    let case = match setting("CVPN_USERNAME_CASE").as_deref() {
        Some("sensitive") => CaseRule::Sensitive,
        _ => CaseRule::Insensitive,
    };
    let protected: Vec<NamePattern> = lookup("CVPN_PROTECTED_USERS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| NamePattern::new(p.trim(), case).ok())
        .filter(|p| !p.matches_everyone())
        .collect();
    let is_protected = |name: &str| protected.iter().any(|p| p.matches(name));
    let facts = Facts {
        holds: Err("BadConfig".into()),
        active: None,
    };
    let decision = decide(
        &request,
        &facts,
        &ConnectRules {
            case,
            is_protected: &is_protected,
            on_error,
            max_per_user: None,
        },
        chrono::Utc::now().timestamp(),
    );
    tracing::error!(target: AUDIT, event = "bad_config", error = problem, "bad configuration");
    log(&request, &facts, &decision, on_error);
    Some(response(&decision, &message(&decision, "", None)))
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
        let config = &self.config;
        let keep_out = &config.keep_out;
        let limit = keep_out.connect_timeout;
        let subjects = request.subjects(config.mapping.case);
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
                .filter(|_| keep_out.max_connections_per_user.is_some())?;
            // The handler runs in the endpoint's own account and Region.
            let listed = match self.api.home() {
                Some(api) => within(limit, api.user_connections(&request.endpoint_id, user))
                    .await
                    .map_err(|e| e.code),
                None => Err("NoTarget".to_owned()),
            };
            Some(listed.map(|cs| {
                cs.into_iter()
                    .filter(|c| c.is_active())
                    .map(|c| c.connection_id)
                    .collect()
            }))
        };
        let (holds, active) = futures::join!(holds, active);
        let facts = Facts { holds, active };
        let is_protected = |name: &str| config.is_protected(name);
        let decision = decide(
            request,
            &facts,
            &ConnectRules {
                case: config.mapping.case,
                is_protected: &is_protected,
                on_error: keep_out.on_error,
                max_per_user: keep_out.max_connections_per_user,
            },
            chrono::Utc::now().timestamp(),
        );
        log(request, &facts, &decision, keep_out.on_error);
        let text = message(
            &decision,
            &keep_out.deny_message,
            keep_out.max_connections_per_user,
        );
        response(&decision, &text)
    }
}

fn log(request: &ConnectRequest, facts: &Facts, d: &Decision, on_error: OnStoreError) {
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
        "connect decision"
    );
}
