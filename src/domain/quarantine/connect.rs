//! The client connect handler's decision: Client VPN asks before every new connection, and any
//! error, timeout or malformed answer refuses it, so the decision is a plain function of what the
//! quarantine and (optionally) the user's live connections say, including that they could not be
//! read.

use super::{Hold, Subject};
use crate::domain::person::People;
use crate::domain::quarantine::OnStoreError;
use serde::Serialize;

/// The request's fields this function reads (`aws_lambda_events`' request, checked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    pub connection_id: String,
    pub endpoint_id: String,
    pub username: Option<String>,
    pub common_name: Option<String>,
    pub public_ip: Option<String>,
    /// What could not be read (a field of another type, no name at all): the decision is then
    /// `CVPN_CONNECT_ON_ERROR`'s, as when the quarantine cannot be read.
    pub malformed: Option<String>,
}

impl ConnectRequest {
    /// Every stored subject that would keep this connection out: holds on the person of its
    /// username or of its common name, through either kind of name (`Subject::holding`).
    pub fn subjects(&self, people: &People) -> Vec<Subject> {
        let mut out: Vec<Subject> = Vec::new();
        for name in [&self.username, &self.common_name].into_iter().flatten() {
            for s in Subject::holding(name, people) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectReason {
    NotQuarantined,
    Quarantined,
    /// A protected user is never kept out.
    Protected,
    TooManyConnections,
    /// The quarantine or the user's connections could not be read in time; `CVPN_CONNECT_ON_ERROR`
    /// decided.
    CheckFailed,
}

impl ConnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotQuarantined => "not_quarantined",
            Self::Quarantined => "quarantined",
            Self::Protected => "protected",
            Self::TooManyConnections => "too_many_connections",
            Self::CheckFailed => "check_failed",
        }
    }
}

/// What the handler read: the holds on the request's names, and (when a per-user limit is set
/// and the request has a username) the IDs of the same person's active connections on the
/// endpoint, in whatever form each was opened.
/// An `Err` carries the failure's code.
pub struct Facts {
    pub holds: Result<Vec<Hold>, String>,
    pub active: Option<Result<Vec<String>, String>>,
}

pub struct ConnectRules<'a> {
    pub people: &'a People,
    pub is_protected: &'a dyn Fn(&str) -> bool,
    pub on_error: OnStoreError,
    pub max_per_user: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allow: bool,
    pub reason: ConnectReason,
    /// The hold that refused the connection.
    pub hold: Option<Hold>,
    /// What could not be read, when that decided.
    pub failure: Option<String>,
}

impl Decision {
    fn new(allow: bool, reason: ConnectReason) -> Self {
        Self {
            allow,
            reason,
            hold: None,
            failure: None,
        }
    }
}

pub fn decide(request: &ConnectRequest, facts: &Facts, rules: &ConnectRules, now: i64) -> Decision {
    let names = [&request.username, &request.common_name];
    if names.into_iter().flatten().any(|n| (rules.is_protected)(n)) {
        return Decision::new(true, ConnectReason::Protected);
    }
    let failed = |code: &str| Decision {
        failure: Some(code.to_owned()),
        ..Decision::new(
            rules.on_error == OnStoreError::Allow,
            ConnectReason::CheckFailed,
        )
    };
    let mut check_failed = request
        .malformed
        .as_deref()
        .map(|_| failed("MalformedRequest"));
    match &facts.holds {
        Err(code) => check_failed = check_failed.or_else(|| Some(failed(code))),
        Ok(holds) => {
            let subjects = request.subjects(rules.people);
            // The longest of the holds in force, so the log names the one that decides.
            let hold = holds
                .iter()
                .filter(|h| h.in_force(now) && subjects.contains(&h.subject))
                .max_by_key(|h| h.until);
            if let Some(hold) = hold {
                return Decision {
                    hold: Some(hold.clone()),
                    ..Decision::new(false, ConnectReason::Quarantined)
                };
            }
        }
    }
    if let Some(denied) = check_failed.as_ref().filter(|d| !d.allow) {
        return denied.clone();
    }
    // A limit per user needs a user: a certificate-only client has no username to count by.
    let limited = rules.max_per_user.filter(|_| request.username.is_some());
    if let (Some(max), Some(active)) = (limited, &facts.active) {
        match active {
            Err(code) => return failed(code),
            Ok(ids) => {
                let others = ids
                    .iter()
                    .filter(|id| **id != request.connection_id)
                    .count();
                if others >= max {
                    return Decision::new(false, ConnectReason::TooManyConnections);
                }
            }
        }
    }
    check_failed.unwrap_or_else(|| Decision::new(true, ConnectReason::NotQuarantined))
}

/// What the user is shown when refused (Client VPN allows 255 characters).
pub fn message(decision: &Decision, deny_message: &str, max_per_user: Option<usize>) -> String {
    match decision.reason {
        _ if decision.allow => String::new(),
        ConnectReason::TooManyConnections => format!(
            "You already have {} VPN connection(s) open, the most allowed. Disconnect one and try again.",
            max_per_user.unwrap_or_default()
        ),
        ConnectReason::CheckFailed => {
            "Your VPN access could not be checked just now. Try again in a minute.".into()
        }
        _ => deny_message.to_owned(),
    }
}
