//! Okta's System Log, through Okta's Amazon EventBridge log stream (a partner event source):
//! `source` `aws.partner/okta.com/<org>/<stream>`, `detail-type` `SystemLog`, `detail` one System
//! Log event (`uuid`, `published`, `eventType`, `outcome.result`, `actor`, `target[]`). Which event
//! types say a person is out is fixed here ([`OUT`]); the user is the `target[]` entry of type
//! `User` (its `alternateId`, the login); the `actor` is whoever did it and never a target. Whether
//! the event's source may speak at all is the gate's (`CVPN_IDP_SOURCES`). Pure.

use crate::domain::json::{At, DecodeError};
use crate::domain::trigger::idp::Via;
pub use crate::domain::trigger::idp::{refusal, IdpEvent, Says};
use chrono::{DateTime, Utc};

/// The start of every Okta partner event source's name.
pub const PARTNER_PREFIX: &str = "aws.partner/okta.com/";
/// The detail type of Okta's log stream events.
pub const DETAIL_TYPE: &str = "SystemLog";

/// The event types that say a person is out, and why (Okta's event type catalogue). An admin or
/// Okta itself does these to the user; none of them can be provoked by someone else (a lockout
/// after failed passwords, `user.account.lock`, could: it never acts). Of Identity Threat
/// Protection's events only the entity risk policy's action is: it is the org's own policy
/// deciding on a user (`user.risk.detect` is a risk level, which an outsider's activity can move;
/// `security.threat.detected` is about a client IP, not a user).
/// (Universal Logout's `user.authentication.universal_logout` events log a user out of one app
/// instance, which says nothing of the VPN: they do not act.)
pub const OUT: [(&str, &str); 6] = [
    ("user.lifecycle.deactivate", "deactivated in Okta"),
    ("user.lifecycle.suspend", "suspended in Okta"),
    ("user.lifecycle.delete.initiated", "deleted in Okta"),
    ("user.lifecycle.delete.completed", "deleted in Okta"),
    (
        "user.session.clear",
        "an Okta admin cleared the user's sessions",
    ),
    (
        "policy.entity_risk.action",
        "Okta's entity risk policy acted on the user (Identity Threat Protection)",
    ),
];
/// The event types that say a person is back: with `CVPN_IDP_RELEASE_ON_REACTIVATE`, they lift
/// the holds the org's own events alone placed.
pub const BACK_IN: [&str; 3] = [
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.lifecycle.unsuspend",
];

/// Whether an EventBridge event with this source and detail type is Okta's log stream's.
pub fn looks_like(source: &str, detail_type: &str) -> bool {
    source.starts_with(PARTNER_PREFIX) && detail_type == DETAIL_TYPE
}

/// What the event type says.
pub fn says(event_type: &str) -> Says {
    if let Some((_, why)) = OUT.iter().find(|(t, _)| *t == event_type) {
        return Says::Out(why);
    }
    if BACK_IN.contains(&event_type) {
        return Says::BackIn;
    }
    Says::Nothing
}

/// `CVPN_IDP_SOURCES` as read: each pattern names its Okta org literally
/// (`aws.partner/okta.com/ORG/STREAM`, a `*` only in STREAM), since any Okta org can offer a partner
/// event source to an account and a wildcard there would trust whichever is associated.
pub fn source_patterns(patterns: Vec<String>) -> Result<Vec<String>, String> {
    for p in &patterns {
        let org = p
            .strip_prefix(PARTNER_PREFIX)
            .and_then(|rest| rest.split_once('/'))
            .map(|(org, _)| org);
        if !org.is_some_and(|o| !o.is_empty() && !o.contains('*')) {
            return Err(format!(
                "`{p}`: a pattern must name the Okta org: {PARTNER_PREFIX}ORG/STREAM, with `*` only in STREAM"
            ));
        }
    }
    Ok(patterns)
}

/// Decodes a System Log event. Only its `uuid` and `eventType` must be readable: the rest is
/// read as far as it can be, and what cannot be read names nobody (`no_user`), so that an odd
/// event from any stream is told apart from one that acts instead of failing the invocation.
pub fn decode(
    detail: &At,
    source: &str,
    time: Option<DateTime<Utc>>,
) -> Result<IdpEvent, DecodeError> {
    let event_type = detail.require("eventType")?.str()?.to_owned();
    let uuid = detail.require("uuid")?.str()?.to_owned();
    let outcome = text(detail.get("outcome").and_then(|o| o.get("result")));
    let published = detail.get("published").and_then(|t| t.time().ok());
    let actor_user = detail
        .get("actor")
        .filter(|a| text(a.get("type")).as_deref() == Some("User"))
        .and_then(|a| text(a.get("id")));
    let (users, unreadable) = user_targets(detail);
    let (user, no_user) = match (users.as_slice(), unreadable) {
        (_, true) => (
            None,
            Some("a target of type User has no readable alternateId".to_owned()),
        ),
        ([one], false) => (Some(one.clone()), None),
        ([], false) => (
            None,
            Some("the event has no target of type User".to_owned()),
        ),
        (many, false) => (
            None,
            Some(format!(
                "the event has {} targets of type User; which one is out is not clear",
                many.len()
            )),
        ),
    };
    let by_themselves = match (&user, actor_user) {
        (Some(u), Some(actor)) => u.2.as_deref() == Some(actor.as_str()),
        _ => false,
    };
    Ok(IdpEvent {
        via: Via::LogStream {
            source: source.to_owned(),
        },
        idp: org(source),
        says: says(&event_type),
        uuid,
        event_type,
        outcome,
        published,
        user: user.map(|(login, path, _)| (login, path)),
        no_user,
        by_themselves,
        time,
    })
}

/// The IdP a partner event source speaks for: `okta.com/<org>` of `aws.partner/okta.com/<org>/…`.
fn org(source: &str) -> String {
    let org = source
        .strip_prefix(PARTNER_PREFIX)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    format!("okta.com/{org}")
}

fn text(at: Option<At>) -> Option<String> {
    at.and_then(|a| a.value.as_str().map(str::to_owned))
}

/// A `User` target: its login, where that was read, and Okta's ID for it.
type UserTarget = (String, String, Option<String>);

/// The `target[]` entries of type `User`, each login once; and whether one of them (or the list)
/// could not be read.
fn user_targets(detail: &At) -> (Vec<UserTarget>, bool) {
    let Some(targets) = detail.get("target") else {
        return (Vec::new(), false);
    };
    let Ok(items) = targets.items() else {
        return (Vec::new(), true);
    };
    let mut users: Vec<UserTarget> = Vec::new();
    for t in items {
        if text(t.get("type")).as_deref() != Some("User") {
            continue;
        }
        let Some(login) = t.get("alternateId") else {
            return (Vec::new(), true);
        };
        match login.value.as_str().map(str::trim) {
            Some(v) if !v.is_empty() => {
                if !users.iter().any(|u| u.0 == v) {
                    users.push((v.to_owned(), login.path(), text(t.get("id"))));
                }
            }
            _ => return (Vec::new(), true),
        }
    }
    (users, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Reason;
    use serde_json::json;

    fn event(event_type: &str, targets: serde_json::Value) -> IdpEvent {
        let detail = json!({"uuid": "u-1", "published": "2026-12-02T10:00:00.000Z",
            "eventType": event_type, "outcome": {"result": "SUCCESS"},
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com"},
            "target": targets});
        decode(&At::root(&detail), "aws.partner/okta.com/example/vpn", None).unwrap()
    }

    #[test]
    fn the_user_is_the_target_never_the_actor() {
        let e = event(
            "user.lifecycle.deactivate",
            json!([{"id": "00udave", "type": "User", "alternateId": "dave@example.com"}]),
        );
        assert_eq!(e.says, Says::Out("deactivated in Okta"));
        assert_eq!(e.user.unwrap().0, "dave@example.com");
        // The admin who did it is only the actor: no target, no user.
        let e = event("user.lifecycle.deactivate", json!([]));
        assert_eq!(e.user, None);
        assert!(e.no_user.is_some());
        let e = event(
            "user.session.clear",
            json!([{"type": "User", "alternateId": "a@example.com"},
                   {"type": "User", "alternateId": "b@example.com"}]),
        );
        assert_eq!(e.user, None, "two users: which one is out is not clear");
        let e = event(
            "user.lifecycle.suspend",
            json!([{"type": "AppInstance", "alternateId": "vpn"},
                   {"type": "User", "alternateId": "erin@example.com"}]),
        );
        assert_eq!(e.user.unwrap().0, "erin@example.com");
    }

    #[test]
    fn only_what_an_admin_or_okta_does_to_a_user_says_out() {
        for (t, _) in OUT {
            assert!(matches!(says(t), Says::Out(_)), "{t}");
        }
        for t in [
            "user.account.lock",
            "user.account.lock.limit",
            "user.account.report_suspicious_activity_by_enduser",
            "user.session.start",
            "security.threat.detected",
            "user.risk.detect",
            "user.authentication.auth_via_mfa",
            "user.authentication.universal_logout",
        ] {
            assert_eq!(says(t), Says::Nothing, "{t}");
        }
        for t in BACK_IN {
            assert_eq!(says(t), Says::BackIn);
        }
        assert!(looks_like("aws.partner/okta.com/example/vpn", "SystemLog"));
        assert!(!looks_like(
            "aws.partner/okta.com/example/vpn",
            "Okta Log Event"
        ));
        assert!(!looks_like("custom.okta", "SystemLog"));
    }

    #[test]
    fn a_source_pattern_names_its_org() {
        let read = |p: &str| source_patterns(vec![p.to_owned()]);
        assert!(read("aws.partner/okta.com/example/*").is_ok());
        assert!(read("aws.partner/okta.com/example/vpn-log-stream").is_ok());
        for bad in [
            "*",
            "aws.partner/okta.com/*",
            "aws.partner/okta.com/ex*/vpn",
            "aws.partner/okta.com/example",
            "aws.partner/okta.com//x",
            "custom.okta/example/x",
        ] {
            let e = read(bad).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn only_a_named_source_a_success_and_an_exit_for_one_user_act() {
        let user = json!([{"type": "User", "alternateId": "dave@example.com"}]);
        let trusted = vec!["aws.partner/okta.com/example/*".to_owned()];
        let out = event("user.lifecycle.deactivate", user.clone());
        fn trust(sources: &[String]) -> crate::domain::trigger::idp::Trust<'_> {
            crate::domain::trigger::idp::Trust {
                sources,
                identity_stores: &[],
            }
        }
        assert_eq!(refusal(&out, trust(&trusted)), None);
        let reason = |e: &IdpEvent, p: &[String]| refusal(e, trust(p)).map(|(r, _)| r);
        assert_eq!(reason(&out, &[]), Some(Reason::UntrustedSource));
        assert_eq!(
            reason(&out, &["aws.partner/okta.com/other/*".to_owned()]),
            Some(Reason::UntrustedSource)
        );
        let failed = IdpEvent {
            outcome: Some("FAILURE".into()),
            ..out.clone()
        };
        assert_eq!(reason(&failed, &trusted), Some(Reason::NotOut));
        let back = event("user.lifecycle.unsuspend", user.clone());
        assert_eq!(reason(&back, &trusted), Some(Reason::NotOut));
        let locked = event("user.account.lock", user);
        assert_eq!(reason(&locked, &trusted), Some(Reason::NotOut));
        // A user who clears their own sessions is not out.
        let own = event(
            "user.session.clear",
            json!([{"id": "00uadmin", "type": "User", "alternateId": "admin@example.com"}]),
        );
        assert!(own.by_themselves);
        assert_eq!(reason(&own, &trusted), Some(Reason::NotOut));
        // What cannot be read names nobody, and fails nothing.
        for odd in [
            json!({"a": 1}),
            json!([{"type": "User", "alternateId": 7}]),
            json!([{"type": "User"}]),
        ] {
            let e = event("user.lifecycle.deactivate", odd);
            assert_eq!(reason(&e, &trusted), Some(Reason::NoIdentity));
        }
        let nobody = event("user.lifecycle.deactivate", json!([]));
        assert_eq!(reason(&nobody, &trusted), Some(Reason::NoIdentity));
    }
}
