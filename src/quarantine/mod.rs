//! Keeping people out after their sessions end: who an incident quarantines, what a hold says, and
//! (in [`connect`]) what the client connect handler answers. Pure: the store is in
//! `state::quarantine`, the calls in `keep_out.rs` and `connect.rs`.

pub mod connect;

use crate::mapping::CaseRule;
use crate::model::Connection;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

/// Which of a connection's names a hold is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Username,
    CommonName,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::CommonName => "common_name",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Username, Self::CommonName]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A name a hold can be on, folded per `CVPN_USERNAME_CASE`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
}

impl Subject {
    pub fn new(kind: SubjectKind, name: &str, case: CaseRule) -> Self {
        Self {
            kind,
            name: case.fold(name.trim()),
        }
    }
}

/// One quarantine: `subject` may not connect until `until` (epoch seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub subject: Subject,
    pub since: i64,
    pub until: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
}

impl Hold {
    /// DynamoDB deletes expired items up to days late: an item is a hold only until `until`.
    pub fn in_force(&self, now: i64) -> bool {
        self.until > now
    }
}

/// What storing a hold did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    /// No hold was in force: this one is.
    Placed,
    /// A shorter hold was in force: this one replaces it.
    Extended,
    /// A hold lasting at least as long was in force and stays: a quarantine never shortens.
    Kept,
}

/// Whether an endpoint calling `handler` (its enabled connect handler, if any) enforces the
/// quarantine: it calls the `deployed` one, or, when that is not known, some handler.
pub fn enforces(deployed: Option<&str>, handler: Option<&str>) -> bool {
    match (deployed, handler) {
        (Some(want), Some(got)) => want == got,
        (None, got) => got.is_some(),
        (Some(_), None) => false,
    }
}

/// Epoch seconds as an RFC 3339 time, for answers and log lines.
pub fn time(epoch: i64) -> String {
    Utc.timestamp_opt(epoch, 0)
        .single()
        .map(|t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Whom an incident quarantines, each with what led to it (`T`, the first source that names
/// it): the VPN users it named (`identities`, from the finding after mapping, whether or not they
/// are connected now) and the names of the connections it `ended`. A connection's common name is
/// held only when it has no username: with username (directory or SAML) authentication, the
/// certificate is often one that every client shares, and holding it would lock everyone out.
/// Protected users are never held.
pub fn subjects<'a, T>(
    identities: impl IntoIterator<Item = (&'a str, T)>,
    ended: impl IntoIterator<Item = (&'a Connection, T)>,
    case: CaseRule,
    is_protected: &dyn Fn(&str) -> bool,
) -> Vec<(Subject, T)> {
    let mut out: Vec<(Subject, T)> = Vec::new();
    let mut add = |kind, name: &str, tag: T| {
        if name.trim().is_empty() || is_protected(name) {
            return;
        }
        let subject = Subject::new(kind, name, case);
        if !out.iter().any(|(s, _)| *s == subject) {
            out.push((subject, tag));
        }
    };
    for (name, tag) in identities {
        add(SubjectKind::Username, name, tag);
    }
    for (c, tag) in ended {
        // A connection whose other name is protected is not ended, so not held either.
        if [&c.username, &c.common_name]
            .into_iter()
            .flatten()
            .any(|n| is_protected(n))
        {
            continue;
        }
        match (&c.username, &c.common_name) {
            (Some(user), _) => add(SubjectKind::Username, user, tag),
            (None, Some(cn)) => add(SubjectKind::CommonName, cn, tag),
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
