//! Keeping people out after their sessions end: who an incident quarantines, what a hold says, and
//! (in [`connect`]) what the client connect handler answers. Pure: the store is in
//! `state::quarantine`, the calls in `quarantine.rs` and `connect.rs`.

pub mod connect;
pub mod incident;

use crate::domain::model::{Connection, Place};
use crate::domain::person::People;
use crate::domain::plan::FindingRef;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

/// The longest quarantine: a year.
pub const MAX_QUARANTINE_MINUTES: u32 = 525_600;

/// What the connect handler does when it cannot read the quarantine in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStoreError {
    /// A store outage must not lock the whole company out.
    Allow,
    Deny,
}

impl OnStoreError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

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

/// A person a hold can be on, by the kind of name it was placed through: `name` is the person's
/// key (`People::key`: the canonical name, fully case-folded), or a key an earlier version wrote.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
}

impl Subject {
    pub fn new(kind: SubjectKind, name: &str, people: &People) -> Self {
        Self {
            kind,
            name: people.key(name),
        }
    }

    /// Every stored subject that holds `name`'s person: a hold covers every form of the name,
    /// whichever kind of name it was placed through (a certificate whose common name is a held
    /// user's name is hers), and the keys earlier versions wrote.
    pub fn holding(name: &str, people: &People) -> Vec<Self> {
        let mut out = Vec::new();
        for key in people.keys(name) {
            for kind in [SubjectKind::Username, SubjectKind::CommonName] {
                out.push(Self {
                    kind,
                    name: key.clone(),
                });
            }
        }
        out
    }
}

/// One quarantine: `subject` may not connect until `until` (epoch seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub subject: Subject,
    pub since: i64,
    pub until: i64,
    /// The first finding that holds it (for people); all of them are in `findings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// Every finding of the incident that names the subject (what the item's `findingIds` adds).
    #[serde(skip)]
    pub findings: Vec<FindingRef>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// A person asked for it (a `Quarantine` request), whoever else did: no IdP's "back in"
    /// lifts it.
    #[serde(skip)]
    pub by_person: bool,
    /// Whose word placed or extended it (the item's `placedBy` set; one an earlier version wrote
    /// has none, and no IdP lifts it).
    #[serde(skip)]
    pub placed_by: Vec<Placer>,
}

/// Whose words the holds `findings` give are, each once.
pub fn placers(findings: &[FindingRef]) -> Vec<Placer> {
    let mut out: Vec<Placer> = Vec::new();
    for p in findings.iter().map(Placer::of) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Whose word placed a hold: what lets an IdP's "back in" lift only what its own word placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placer {
    /// The IdP's (`okta.com/<org>`, `identitystore/<store>`, a token's issuer).
    Idp(String),
    Finding,
    Person,
}

impl Placer {
    /// Who placed the hold `finding` gives.
    pub fn of(finding: &FindingRef) -> Self {
        match &finding.idp {
            Some(idp) => Self::Idp(idp.clone()),
            None => Self::Finding,
        }
    }

    /// As the state table writes it.
    pub fn key(&self) -> String {
        match self {
            Self::Idp(idp) => format!("idp:{idp}"),
            Self::Finding => "finding".into(),
            Self::Person => "person".into(),
        }
    }

    /// What the state table says: anything but an IdP's or a person's mark counts as a finding's,
    /// which no IdP lifts.
    pub fn parse(key: &str) -> Self {
        match key.strip_prefix("idp:") {
            Some(idp) => Self::Idp(idp.to_owned()),
            None if key == "person" => Self::Person,
            None => Self::Finding,
        }
    }
}

impl Hold {
    /// DynamoDB deletes expired items up to days late: an item is a hold only until `until`.
    pub fn in_force(&self, now: i64) -> bool {
        self.until > now
    }

    /// The release that keeps this hold from being placed again, if any.
    pub fn released_by<'a>(&self, releases: &'a [Released], now: i64) -> Option<&'a Released> {
        released(&self.subject, &self.findings, releases, now)
    }
}

/// A person lifted a hold: until `until` (when that hold would have ended), the findings that had
/// placed or extended it (`finding_ids`) — delivered again, retried, or updated and published
/// again, as GuardDuty does — neither end the subject's sessions nor hold it again. Another finding
/// does both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Released {
    pub subject: Subject,
    /// As [`finding_key`] writes them.
    pub finding_ids: Vec<String>,
    pub at: i64,
    pub by: Option<String>,
    pub until: i64,
}

/// The release covering `subject` for all of `findings` at `now`: each finding released, and its
/// activity last seen before the release (GuardDuty publishes new activity under the same ID; a
/// person released what they had seen). A direct request (no finding) is a person's act: no
/// release covers it.
pub fn released<'a>(
    subject: &Subject,
    findings: &[FindingRef],
    releases: &'a [Released],
    now: i64,
) -> Option<&'a Released> {
    let covering = |f: &FindingRef| {
        let key = finding_key(&f.id);
        releases.iter().find(|r| {
            r.subject == *subject
                && r.until > now
                && r.finding_ids.contains(&key)
                && f.seen_at.is_none_or(|t| t.timestamp() <= r.at)
        })
    };
    let first = covering(findings.first()?)?;
    findings
        .iter()
        .all(|f| covering(f).is_some())
        .then_some(first)
}

/// One finding's key however it arrives: GuardDuty's own events carry its ID, its Security Hub
/// copy the finding's ARN (`…:detector/D/finding/ID`), so the ARN's last segment stands for both.
pub fn finding_key(id: &str) -> String {
    match id.rsplit_once("/finding/") {
        Some((arn, last)) if arn.contains(":guardduty:") => last.to_owned(),
        _ => id.to_owned(),
    }
}

/// The name of `c` a hold would be on: its username or, without one, its common name.
pub fn subject_of(c: &Connection, people: &People) -> Option<Subject> {
    match (&c.username, &c.common_name) {
        (Some(user), _) => Some(Subject::new(SubjectKind::Username, user, people)),
        (None, Some(cn)) => Some(Subject::new(SubjectKind::CommonName, cn, people)),
        (None, None) => None,
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
        (Some(want), Some(got)) => function(want) == function(got),
        (None, got) => got.is_some(),
        (Some(_), None) => false,
    }
}

/// Whether an endpoint at `place` enforces the quarantine. At `home` (the function's own account
/// and Region), as [`enforces`]; in another target, by calling the handler `target.yaml` deploys
/// there: `there` by name, in the endpoint's own account and Region.
pub fn enforced(
    deployed: Option<&str>,
    there: &str,
    home: &Place,
    place: &Place,
    handler: Option<&str>,
) -> bool {
    if place == home {
        return enforces(deployed, handler);
    }
    let Some(arn) = handler else {
        return false;
    };
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", region, account, "function", name, ..] => {
            *name == there
                && place.region.as_deref().is_none_or(|r| r == *region)
                && place.account.as_deref().is_none_or(|a| a == *account)
        }
        _ => false,
    }
}

/// A Lambda ARN's function, whatever version or alias: `arn:…:function:NAME[:QUALIFIER]`.
fn function(arn: &str) -> Vec<&str> {
    arn.split(':').take(7).collect()
}

/// Epoch seconds as an RFC 3339 time, for answers and log lines.
pub fn time(epoch: i64) -> String {
    Utc.timestamp_opt(epoch, 0)
        .single()
        .map(|t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Whom an incident holds, each with what led to it (`T`, every source that names it, first
/// first), and the certificates it would not hold because others use them.
#[derive(Debug, PartialEq)]
pub struct Holding<T> {
    pub held: Vec<(Subject, Vec<T>)>,
    /// Common names that connections outside the incident also carry.
    pub shared: Vec<Subject>,
}

/// Whom an incident holds: the VPN users it named (`identities`, from the finding after mapping,
/// whether or not they are connected now) and the names of the connections it ends (`ended`).
/// A connection's common name is held only when the connection has no username (with directory or
/// SAML authentication the certificate is often one every client shares) and no other connection
/// in the listing (`listed`) carries it: holding a certificate others use would lock them out.
/// Protected users are never held.
///
/// With `certificates` off (`CVPN_HOLD_COMMON_NAMES=never`, for teams whose clients share one
/// certificate), no common name is held: each is reported with the shared ones.
pub fn subjects<'a, T: Clone>(
    identities: impl IntoIterator<Item = (&'a str, T)>,
    ended: impl IntoIterator<Item = (&'a Connection, T)>,
    listed: &[Connection],
    people: &People,
    is_protected: &dyn Fn(&str) -> bool,
    certificates: bool,
) -> Holding<T> {
    let ended: Vec<(&Connection, T)> = ended.into_iter().collect();
    let mut out = Holding {
        held: Vec::new(),
        shared: Vec::new(),
    };
    let add = |out: &mut Holding<T>, kind, name: &str, tag: T| {
        let name = name.trim_ascii();
        if name.is_empty() || is_protected(name) {
            return;
        }
        let subject = Subject::new(kind, name, people);
        match out.held.iter_mut().find(|(s, _)| *s == subject) {
            Some((_, tags)) => tags.push(tag),
            None => out.held.push((subject, vec![tag])),
        }
    };
    for (name, tag) in identities {
        add(&mut out, SubjectKind::Username, name, tag);
    }
    let is_ended = |c: &Connection| {
        ended
            .iter()
            .any(|(e, _)| e.connection_id == c.connection_id)
    };
    for (c, tag) in ended.iter().map(|(c, t)| (*c, t)) {
        // A connection whose other name is protected is not ended, so not held either.
        if [&c.username, &c.common_name]
            .into_iter()
            .flatten()
            .any(|n| is_protected(n.trim_ascii()))
        {
            continue;
        }
        match (&c.username, &c.common_name) {
            (Some(user), _) => add(&mut out, SubjectKind::Username, user, tag.clone()),
            (None, Some(cn)) => {
                // Connected now with it, and not being ended: a connection of the same
                // certificate that ended already (a reconnect Describe still lists) is no one else.
                let others = listed.iter().any(|o| {
                    o.is_active()
                        && !is_ended(o)
                        && o.common_name
                            .as_deref()
                            .is_some_and(|n| people.key(n) == people.key(cn))
                });
                if others || !certificates {
                    let subject = Subject::new(SubjectKind::CommonName, cn, people);
                    if !out.shared.contains(&subject) {
                        out.shared.push(subject);
                    }
                } else {
                    add(&mut out, SubjectKind::CommonName, cn, tag.clone());
                }
            }
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
