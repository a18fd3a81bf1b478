//! The identity provider's word on a person, however it came: Okta's System Log through
//! EventBridge (`okta.rs`), IAM Identity Center's CloudTrail records (`identity_center.rs`), or a
//! token the IdP signed over the Function URL (`domain/signal`).
//! Whether it acts, and whose holds it may lift, is decided here. Pure.

use crate::domain::model::Reason;
use crate::domain::pattern::glob;
use crate::domain::quarantine::{Hold, Placer};
use chrono::{DateTime, Utc};

/// What the IdP says of its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Says {
    /// Out, with why.
    Out(&'static str),
    /// Back in (reactivated, unsuspended, enabled).
    BackIn,
    /// Nothing this function acts on.
    Nothing,
}

/// How the word came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// An EventBridge partner event source, trusted only when `CVPN_IDP_SOURCES` names it.
    LogStream { source: String },
    /// A CloudTrail record of IAM Identity Center, trusted only when `CVPN_IDENTITY_STORE_IDS`
    /// names its store. It names the user by ID only: the shell resolves it into `user`.
    IdentityCenter {
        store_id: String,
        user_id: String,
        /// Where the store is (the record's `awsRegion`), to ask it.
        region: Option<String>,
    },
    /// A token whose signature, issuer and audience were checked before it was read.
    Signal,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IdpEvent {
    pub via: Via,
    /// Which IdP spoke: `okta.com/<org>` for a log stream, the token's issuer for a signal. The
    /// holds its word places carry it (`finding_id`), and only its own word lifts them.
    pub idp: String,
    /// The event's own ID (System Log `uuid`, the token's `jti`).
    pub uuid: String,
    pub event_type: String,
    /// `outcome.result`: only `SUCCESS` says anything happened.
    pub outcome: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// The login the event names, and where it was read.
    pub user: Option<(String, String)>,
    /// Why there is no user to act on (none, more than one `User` target, or one that cannot be
    /// read).
    pub no_user: Option<String>,
    /// The user did it to themselves (the actor is the target: a user signing out their own
    /// other sessions), which says nothing of whether they are out.
    pub by_themselves: bool,
    /// The time the same on every delivery of the event (the envelope's, the token's `iat`).
    pub time: Option<DateTime<Utc>>,
    pub says: Says,
}

impl IdpEvent {
    /// The ID its holds and notes carry: the IdP, then the event.
    pub fn finding_id(&self) -> String {
        format!("{}#{}", self.idp, self.uuid)
    }
}

/// Whether `source` is one a person named in `CVPN_IDP_SOURCES` (patterns, `*` wildcard): no
/// partner event speaks for the IdP until someone names the bus it comes from.
pub fn trusted(source: &str, patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|p| glob(p.as_bytes(), source.as_bytes()))
}

/// Whose word is taken: the log streams (`CVPN_IDP_SOURCES`) and identity stores
/// (`CVPN_IDENTITY_STORE_IDS`) a person named. A verified token's issuer was checked before.
#[derive(Clone, Copy, Debug)]
pub struct Trust<'a> {
    pub sources: &'a [String],
    pub identity_stores: &'a [String],
}

/// Why the word is not taken at all: a log stream or store no one named, an outcome other than
/// `SUCCESS`, or a user's doing to themselves.
pub(crate) fn untaken(event: &IdpEvent, trust: Trust) -> Option<(Reason, String)> {
    match &event.via {
        Via::LogStream { source } if !trusted(source, trust.sources) => {
            return Some((
                Reason::UntrustedSource,
                format!(
                    "{source} is not among CVPN_IDP_SOURCES; no partner event acts until it is named there"
                ),
            ));
        }
        Via::IdentityCenter { store_id, .. }
            if !trust.identity_stores.iter().any(|s| s == store_id) =>
        {
            return Some((
                Reason::UntrustedSource,
                format!(
                    "identity store `{store_id}` is not among CVPN_IDENTITY_STORE_IDS; no store's \
                     record acts until it is named there"
                ),
            ));
        }
        _ => {}
    }
    if event.outcome.as_deref() != Some("SUCCESS") {
        return Some((
            Reason::NotOut,
            format!(
                "outcome.result is {}, not SUCCESS: it did not happen",
                event.outcome.as_deref().unwrap_or("missing")
            ),
        ));
    }
    if event.by_themselves {
        return Some((
            Reason::NotOut,
            format!(
                "{} was done by the user to themselves, not by an admin or the IdP",
                event.event_type
            ),
        ));
    }
    None
}

/// Why the event ends no session and holds nobody, if it does not: an untrusted source, an
/// outcome other than `SUCCESS`, an event type that does not say the person is out, or no one
/// user it names.
pub fn refusal(event: &IdpEvent, trust: Trust) -> Option<(Reason, String)> {
    if let Some(why) = untaken(event, trust) {
        return Some(why);
    }
    let Says::Out(_) = event.says else {
        return Some((
            Reason::NotOut,
            format!("{} does not say the person is out", event.event_type),
        ));
    };
    nobody(event)
}

/// Why a "back in" event lifts no hold, if it lifts any: as [`refusal`], and only when the team
/// asked for it (`CVPN_IDP_RELEASE_ON_REACTIVATE`).
pub fn release_refusal(
    event: &IdpEvent,
    trust: Trust,
    release_on_reactivate: bool,
) -> Option<(Reason, String)> {
    if let Some(why) = untaken(event, trust) {
        return Some(why);
    }
    if event.says != Says::BackIn {
        return Some((
            Reason::NotOut,
            format!("{} does not say the person is back", event.event_type),
        ));
    }
    if !release_on_reactivate {
        return Some((
            Reason::NotOut,
            "CVPN_IDP_RELEASE_ON_REACTIVATE is off: holds stay until a person releases them".into(),
        ));
    }
    nobody(event)
}

/// Why the event names no user, if it does not (an Identity Center record the store could not
/// name stays unnamed).
fn nobody(event: &IdpEvent) -> Option<(Reason, String)> {
    let why = match (&event.user, &event.no_user) {
        (_, Some(why)) => why.clone(),
        (None, None) => "the event's user was not named".to_owned(),
        (Some(_), None) => return None,
    };
    Some((Reason::NoIdentity, why))
}

/// Whether a "back in" said at `back` comes after the IdP's latest "out" (`last_out`, epoch
/// seconds): one said before it (delivered late: a retry, events out of order) lifts nothing, nor
/// one without a time of its own once an "out" is known. At the same second the order cannot be
/// told, and the later delivery stands.
pub fn back_after_out(back: Option<DateTime<Utc>>, last_out: Option<i64>) -> bool {
    match (back, last_out) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(back), Some(out)) => back.timestamp() >= out,
    }
}

/// An IdP's "back in", as a hold is asked to yield to it: whose word, and when it said so (by its
/// own clock).
#[derive(Clone, Copy, Debug)]
pub struct BackIn<'a> {
    pub idp: &'a str,
    pub said: Option<DateTime<Utc>>,
}

/// Why `hold` stays against `back`, if it does: a word other than this IdP's also placed it, or
/// the IdP said "back in" before the hold was last placed or extended (`since`). The second closes
/// the gap between placing a hold and recording when the IdP said "out" ([`back_after_out`]): a
/// "back in" said before that hold is older news, delivered late. A "back in" without a time of
/// its own lifts nothing. (Clocks differ: one said within the IdP's clock skew after the hold
/// keeps it too, and a person releases it.)
pub fn stays(hold: &Hold, back: BackIn) -> Option<String> {
    let (kind, name) = (hold.subject.kind.as_str(), &hold.subject.name);
    if !placed_only_by(hold, back.idp) {
        return Some(format!(
            "the hold on {kind} {name} was placed by more than {}'s word (a finding, a person or \
             another IdP): it stays until a person releases it",
            back.idp
        ));
    }
    match back.said {
        // A hold whose start could not be read (0) is held against every "back in".
        Some(said) if hold.since > 0 && said.timestamp() >= hold.since => None,
        said => {
            let said = said.map_or_else(|| "at no time it gave".into(), |t| t.to_rfc3339());
            Some(format!(
                "{} said the person is back {said}, before the hold on {kind} {name} was placed \
                 (epoch {}): it came late, and the hold stays",
                back.idp, hold.since
            ))
        }
    }
}

/// Whether `hold` was placed by `idp`'s word alone, so that its word may lift it: every word that
/// placed or extended it is the IdP's, as the hold itself records (a finding's ID, which a product
/// chooses, could look like anything). A hold a finding, a person or another IdP also placed
/// stays, and so does one that records no placer (an earlier version's).
fn placed_only_by(hold: &Hold, idp: &str) -> bool {
    // Both: placedBy says who (a finding's ID could look like anything), and every finding's ID
    // is the IdP's too (an earlier version adds findings to a hold without saying who).
    let prefix = format!("{idp}#");
    !hold.findings.is_empty()
        && hold.findings.iter().all(|f| f.id.starts_with(&prefix))
        && !hold.by_person
        && hold.requested_by.is_none()
        && !hold.placed_by.is_empty()
        && hold
            .placed_by
            .iter()
            .all(|p| matches!(p, Placer::Idp(i) if i == idp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::FindingRef;
    use crate::domain::quarantine::{placers, Subject, SubjectKind};

    /// A hold of findings, each by its ID and the IdP whose word it is (`None`: a finding's).
    fn hold(findings: &[(&str, Option<&str>)], requested_by: Option<&str>) -> Hold {
        let findings: Vec<FindingRef> = findings
            .iter()
            .map(|(id, idp)| FindingRef {
                id: (*id).to_owned(),
                seen_at: None,
                idp: idp.map(str::to_owned),
            })
            .collect();
        Hold {
            subject: Subject {
                kind: SubjectKind::Username,
                name: "dave".into(),
            },
            since: 0,
            until: 10,
            finding_id: findings.first().map(|f| f.id.clone()),
            placed_by: placers(&findings),
            findings,
            reason: String::new(),
            requested_by: requested_by.map(str::to_owned),
            by_person: false,
        }
    }

    #[test]
    fn a_back_in_said_before_the_latest_out_lifts_nothing() {
        let at = |s: i64| DateTime::from_timestamp(s, 0);
        assert!(back_after_out(at(100), None));
        assert!(back_after_out(None, None));
        assert!(back_after_out(at(100), Some(100)));
        assert!(back_after_out(at(101), Some(100)));
        assert!(!back_after_out(at(99), Some(100)));
        assert!(!back_after_out(None, Some(100)));
    }

    #[test]
    fn a_back_in_said_before_the_hold_was_placed_leaves_it() {
        let idp = "okta.com/example";
        let mut h = hold(&[("okta.com/example#u1", Some(idp))], None);
        h.since = 1_000;
        let at = |s: i64| DateTime::from_timestamp(s, 0);
        let back = |said| BackIn { idp, said };
        assert_eq!(stays(&h, back(at(1_000))), None);
        assert_eq!(stays(&h, back(at(1_500))), None);
        assert!(stays(&h, back(at(999))).unwrap().contains("came late"));
        assert!(stays(&h, back(None)).unwrap().contains("came late"));
        let mut unread = h.clone();
        unread.since = 0;
        assert!(stays(&unread, back(at(1_500))).is_some());
        let other = BackIn {
            idp: "okta.com/other",
            said: at(2_000),
        };
        assert!(stays(&h, other).unwrap().contains("more than"));
    }

    #[test]
    fn only_the_idp_that_alone_placed_a_hold_lifts_it() {
        let idp = "okta.com/example";
        let okta = |id| (id, Some(idp));
        assert!(placed_only_by(
            &hold(
                &[okta("okta.com/example#u1"), okta("okta.com/example#u2")],
                None
            ),
            idp
        ));
        // Another IdP's word, a finding, a person's request or nothing at all: it stays.
        let other = ("okta.com/other#u1", Some("okta.com/other"));
        assert!(!placed_only_by(&hold(&[other], None), idp));
        assert!(!placed_only_by(
            &hold(&[okta("okta.com/example#u1"), ("gd-finding", None)], None),
            idp
        ));
        assert!(!placed_only_by(
            &hold(&[okta("okta.com/example#u1")], Some("alice")),
            idp
        ));
        assert!(!placed_only_by(&hold(&[], None), idp));
        assert!(!placed_only_by(&hold(&[("gd-finding", None)], None), idp));
        // A finding whose ID a product wrote to look like the IdP's is still a finding.
        let forged = ("okta.com/example#u1", None);
        assert!(!placed_only_by(&hold(&[forged], None), idp));
        // A person's hold, and one that records no placer (an earlier version wrote it).
        let mut by_person = hold(&[okta("okta.com/example#u1")], None);
        by_person.by_person = true;
        assert!(!placed_only_by(&by_person, idp));
        let mut unrecorded = hold(&[okta("okta.com/example#u1")], None);
        unrecorded.placed_by.clear();
        assert!(!placed_only_by(&unrecorded, idp));
        // An earlier version's hold an IdP extended: placedBy says only the IdP, its findings not.
        let mut extended = hold(&[okta("okta.com/example#u1"), ("gd-1", None)], None);
        extended.placed_by = vec![Placer::Idp(idp.into())];
        assert!(!placed_only_by(&extended, idp));
    }
}
