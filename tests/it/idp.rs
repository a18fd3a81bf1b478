//! The identity provider's word, through the SDKs against the emulator and moto's DynamoDB: an
//! Okta System Log event through EventBridge ends the person's sessions and keeps them out, and
//! only an event from a named source, that succeeded, and says that one user is out, does.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use cvpn_terminator::domain::model::Reason;
use cvpn_terminator::shell::report::HoldOutcome;
use serde_json::{json, Value};

const STREAM: &str = "aws.partner/okta.com/example/*";

/// A change to the sample.
type Change = Box<dyn FnOnce(&mut Value)>;

fn trusting() -> cvpn_terminator::Config {
    cvpn_terminator::Config {
        idp: cvpn_terminator::shell::config::Idp {
            sources: vec![STREAM.into()],
            ..Default::default()
        },
        ..config()
    }
}

/// Trusting the stream, and its "back in" lifting its own holds.
fn releasing() -> cvpn_terminator::Config {
    cvpn_terminator::Config {
        idp: cvpn_terminator::shell::config::Idp {
            sources: vec![STREAM.into()],
            release_on_reactivate: true,
            ..Default::default()
        },
        ..config()
    }
}

/// This moment as the IdP's clock writes it: a "back in" said before a hold was placed lifts
/// nothing, and the samples' times are weeks old.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The usernames of the sessions a response ended.
fn usernames(r: &cvpn_terminator::Response) -> Vec<&str> {
    r.terminated
        .iter()
        .filter_map(|e| e.username.as_deref())
        .collect()
}

/// The deactivation sample with `change` applied to it, as another event.
fn okta(tag: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut e = anew(&event("okta-user-deactivated.json"), tag);
    change(&mut e);
    e
}

#[tokio::test]
async fn an_okta_deactivation_ends_the_persons_sessions_and_keeps_them_out() {
    let moto = Moto::start();
    let h = with_table(trusting(), &moto, "okta").await;
    let sample = event("okta-user-deactivated.json");
    let r = deliver(&h.app, &sample, "req-1").await.unwrap();
    let ended = usernames(&r);
    assert_eq!(ended, ["dave"]);
    assert_eq!(r.trigger.source.as_str(), "okta");
    let [hold] = r.quarantine.as_slice() else {
        panic!("{:?}", r.quarantine)
    };
    assert_eq!(hold.name, "dave");
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    // The admin who did it is never a target.
    assert!(allowed(
        &connect(&h.app, Some("it-admin@example.com"), "x").await
    ));
    // Delivered again, it is answered from its record.
    let again = deliver(&h.app, &sample, "req-2").await.unwrap();
    assert!(again.duplicate.is_some() && again.api_calls == 0);
}

#[tokio::test]
async fn what_okta_does_not_say_ends_nothing_and_holds_nobody() {
    let moto = Moto::start();
    let h = with_table(trusting(), &moto, "okta-not").await;
    let cases: [(&str, Change, Reason); 5] = [
        (
            "unnamed-stream",
            Box::new(|e| e["source"] = json!("aws.partner/okta.com/other/stream")),
            Reason::UntrustedSource,
        ),
        (
            "failed",
            Box::new(|e| e["detail"]["outcome"]["result"] = json!("FAILURE")),
            Reason::NotOut,
        ),
        (
            "lockout",
            Box::new(|e| e["detail"]["eventType"] = json!("user.account.lock")),
            Reason::NotOut,
        ),
        (
            "reactivated",
            Box::new(|e| e["detail"]["eventType"] = json!("user.lifecycle.reactivate")),
            Reason::NotOut,
        ),
        (
            "actor-only",
            Box::new(|e| e["detail"]["target"] = json!([])),
            Reason::NoIdentity,
        ),
    ];
    for (tag, change, reason) in cases {
        let r = deliver(&h.app, &okta(tag, change), tag).await.unwrap();
        assert!(
            r.terminated.is_empty() && r.quarantine.is_empty(),
            "{tag}: {r:?}"
        );
        assert_eq!(r.skipped[0].reason, Some(reason), "{tag}");
    }
    assert!(h.ended().is_empty());
    // Without CVPN_IDP_SOURCES no partner event acts at all.
    let h = with_table(config(), &moto, "okta-none").await;
    let r = deliver(&h.app, &event("okta-user-deactivated.json"), "req-1")
        .await
        .unwrap();
    assert_eq!(r.skipped[0].reason, Some(Reason::UntrustedSource));
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn a_protected_user_is_neither_ended_nor_held_by_okta() {
    let moto = Moto::start();
    let h = with_table(trusting(), &moto, "okta-protected").await;
    let r = deliver(
        &h.app,
        &okta("breakglass", |e| {
            e["detail"]["target"][0]["alternateId"] = json!("breakglass")
        }),
        "req-1",
    )
    .await
    .unwrap();
    assert!(r.terminated.is_empty() && r.quarantine.is_empty(), "{r:?}");
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn the_login_is_mapped_as_every_other_name() {
    let moto = Moto::start();
    let config = cvpn_terminator::Config {
        mapping: cvpn_terminator::domain::mapping::UsernameMapping::new("{local}").unwrap(),
        ..trusting()
    };
    let h = with_table(config, &moto, "okta-mapped").await;
    let e = okta("mapped", |e| {
        e["detail"]["target"][0]["alternateId"] = json!("heidi@example.com")
    });
    let r = deliver(&h.app, &e, "req-1").await.unwrap();
    let ended = usernames(&r);
    assert_eq!(ended, ["heidi"]);
    assert!(r.terminated[0]
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("mapped from heidi@example.com")));
}

/// `event` as another System Log event of `event_type` (its own uuid and envelope ID).
fn okta_event(tag: &str, event_type: &str) -> Value {
    okta(tag, |e| {
        e["detail"]["eventType"] = json!(event_type);
        e["detail"]["uuid"] = json!(format!("uuid-{tag}"));
    })
}

#[tokio::test]
async fn a_reactivation_lifts_the_holds_okta_alone_placed_when_asked_to() {
    let moto = Moto::start();
    let releasing = releasing();
    let h = with_table(releasing, &moto, "okta-back").await;
    wire_endpoint_a(&h).await;
    let out = deliver(&h.app, &event("okta-user-deactivated.json"), "req-1")
        .await
        .unwrap();
    assert_eq!(usernames(&out), ["dave"]);
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    // Another org's reactivation lifts nothing (it is not trusted, and not the IdP that held her).
    let other = okta("other-org", |e| {
        e["source"] = json!("aws.partner/okta.com/other/vpn-log-stream");
        e["detail"]["eventType"] = json!("user.lifecycle.reactivate");
    });
    deliver(&h.app, &other, "req-2").await.unwrap();
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    // A reactivation Okta logged before the deactivation, delivered late, lifts nothing.
    let mut late = okta_event("late", "user.lifecycle.reactivate");
    late["detail"]["published"] = json!("2026-11-22T09:10:00.000Z");
    let kept = deliver(&h.app, &late, "req-late").await.unwrap();
    assert_eq!(kept.quarantine[0].outcome, HoldOutcome::Kept, "{kept:?}");
    assert!(kept.quarantine[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("came late"));
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    // The org that held her reactivates her (after the hold, by its clock): she connects again.
    let mut back = okta_event("back", "user.lifecycle.reactivate");
    back["detail"]["published"] = json!(now());
    let back = deliver(&h.app, &back, "req-3").await.unwrap();
    let [released] = back.quarantine.as_slice() else {
        panic!("{:?}", back.quarantine)
    };
    assert_eq!(released.outcome, HoldOutcome::Released);
    assert!(allowed(&connect(&h.app, Some("dave"), "dave").await));
    assert!(h.ended().len() == 1, "a reactivation ends nothing");
    // Held by Okta and by a person: Okta's "back in" leaves the hold to the person.
    deliver(
        &h.app,
        &okta_event("again", "user.lifecycle.suspend"),
        "req-4",
    )
    .await
    .unwrap();
    let person =
        json!({"Quarantine": {"Username": "dave", "Minutes": 60, "RequestedBy": "analyst"}});
    h.app.handle(&person).await.unwrap();
    let kept = deliver(
        &h.app,
        &okta_event("unsuspend", "user.lifecycle.unsuspend"),
        "req-5",
    )
    .await
    .unwrap();
    assert!(
        kept.quarantine
            .iter()
            .all(|q| q.outcome != HoldOutcome::Released),
        "{kept:?}"
    );
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
}

#[tokio::test]
async fn a_finding_whose_id_looks_like_the_idps_is_not_lifted_by_its_reactivation() {
    let moto = Moto::start();
    let releasing = releasing();
    let h = with_table(releasing, &moto, "okta-forged").await;
    wire_endpoint_a(&h).await;
    // A product chooses its findings' IDs: this one wrote Okta's shape.
    let mut finding = anew(&event("securityhub-custom-action.json"), "forged");
    finding["detail"]["findings"][0]["Id"] = json!("okta.com/example#forged");
    let held = deliver(&h.app, &finding, "req-1").await.unwrap();
    assert_eq!(held.quarantine[0].outcome, HoldOutcome::Placed, "{held:?}");
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    let back = deliver(
        &h.app,
        &okta_event("back", "user.lifecycle.reactivate"),
        "req-2",
    )
    .await
    .unwrap();
    let [kept] = back.quarantine.as_slice() else {
        panic!("{:?}", back.quarantine)
    };
    assert_eq!(kept.outcome, HoldOutcome::Kept, "{back:?}");
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
}

const STORE: &str = "d-1234567890";

/// A harness whose Identity Center store `STORE` (moto's) speaks, holding `dave` there; and his
/// user ID.
async fn identity_center(moto: &Moto, table: &str, releasing: bool) -> (Harness, String) {
    let config = cvpn_terminator::Config {
        idp: cvpn_terminator::shell::config::Idp {
            identity_stores: vec![STORE.into()],
            release_on_reactivate: releasing,
            ..Default::default()
        },
        ..config()
    };
    let mut h = with_table(config, moto, table).await;
    wire_endpoint_a(&h).await;
    h.app.directory = Some(cvpn_terminator::adapters::directory::Directory::new(
        moto.sdk(),
    ));
    let name = aws_sdk_identitystore::types::Name::builder()
        .given_name("Dave")
        .family_name("Example")
        .build();
    let dave = aws_sdk_identitystore::Client::new(&moto.sdk())
        .create_user()
        .identity_store_id(STORE)
        .user_name("dave")
        .display_name("Dave Example")
        .name(name)
        .send()
        .await
        .unwrap();
    (h, dave.user_id().to_owned())
}

/// The Identity Center sample as the call `name` on `user_id`, its own event.
fn record(tag: &str, name: &str, user_id: &str) -> Value {
    let mut e = anew(&event("identity-center-disable-user.json"), tag);
    e["detail"]["eventName"] = json!(name);
    e["detail"]["eventID"] = json!(format!("event-{tag}"));
    e["detail"]["requestParameters"]["userId"] = json!(user_id);
    e
}

async fn delete_user(moto: &Moto, user_id: &str) {
    aws_sdk_identitystore::Client::new(&moto.sdk())
        .delete_user()
        .identity_store_id(STORE)
        .user_id(user_id)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn identity_center_disabling_ends_the_users_sessions_and_its_delete_still_names_them() {
    let moto = Moto::start();
    let (h, dave) = identity_center(&moto, "idc", false).await;
    let r = deliver(&h.app, &record("disable", "DisableUser", &dave), "req-1")
        .await
        .unwrap();
    assert_eq!(usernames(&r), ["dave"]);
    assert_eq!(r.trigger.source.as_str(), "identity_center");
    assert_eq!(r.quarantine.len(), 1);
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    // Deleted, the store no longer knows him: the name read at the disable names him.
    delete_user(&moto, &dave).await;
    let r = deliver(&h.app, &record("delete", "DeleteUser", &dave), "req-2")
        .await
        .unwrap();
    assert!(r.complete(), "{:?}", r.errors);
    assert!(r.trigger.reason.as_deref().unwrap().starts_with("dave "));
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
}

#[tokio::test]
async fn a_remembered_name_another_user_holds_now_names_nobody() {
    let moto = Moto::start();
    let (h, dave) = identity_center(&moto, "idc-taken", false).await;
    deliver(&h.app, &record("disable", "DisableUser", &dave), "req-1")
        .await
        .unwrap();
    // He goes, and a new user takes the name he had: the delete of his ID must not end the
    // new dave's sessions.
    delete_user(&moto, &dave).await;
    let name = aws_sdk_identitystore::types::Name::builder()
        .given_name("Dave")
        .family_name("Other")
        .build();
    aws_sdk_identitystore::Client::new(&moto.sdk())
        .create_user()
        .identity_store_id(STORE)
        .user_name("dave")
        .display_name("Dave Other")
        .name(name)
        .send()
        .await
        .unwrap();
    let before = h.ended().len();
    let Err(cvpn_terminator::HandlerError::Incomplete(r)) =
        deliver(&h.app, &record("delete", "DeleteUser", &dave), "req-2").await
    else {
        panic!("a name someone else holds now must fail the invocation");
    };
    assert_eq!(r.errors[0].code, "NameTaken", "{:?}", r.errors);
    assert!(r.terminated.is_empty() && h.ended().len() == before);
}

#[tokio::test]
async fn an_identity_center_user_no_one_can_name_fails_loudly_and_ends_nothing() {
    let moto = Moto::start();
    let (h, dave) = identity_center(&moto, "idc-unknown", false).await;
    delete_user(&moto, &dave).await;
    let Err(cvpn_terminator::HandlerError::Incomplete(r)) =
        deliver(&h.app, &record("gone", "DeleteUser", &dave), "req-1").await
    else {
        panic!("an ID no one can name must fail the invocation");
    };
    let [e] = r.errors.as_slice() else {
        panic!("{:?}", r.errors)
    };
    assert_eq!(e.code, "UserUnknown");
    assert!(
        e.message.contains(&dave) && e.message.contains(STORE),
        "{}",
        e.message
    );
    assert_eq!(e.path.as_deref(), Some("detail.requestParameters.userId"));
    assert!(h.ended().is_empty());
    // A record from the named store whose user ID or Region cannot be read fails loudly too.
    for (tag, field, value) in [
        ("odd-id", "/requestParameters/userId", json!("a/../b")),
        ("odd-region", "/awsRegion", json!("evil.example/x?")),
    ] {
        let mut odd = record(tag, "DisableUser", &dave);
        *odd["detail"].pointer_mut(field).unwrap() = value;
        let Err(cvpn_terminator::HandlerError::Incomplete(r)) = deliver(&h.app, &odd, tag).await
        else {
            panic!("{tag}: an unreadable record must fail the invocation");
        };
        assert_eq!(r.errors[0].code, "RecordUnreadable", "{tag}");
        assert!(h.ended().is_empty(), "{tag}");
    }
}

#[tokio::test]
async fn only_a_named_store_and_a_call_that_happened_act_and_enable_lifts_its_own_hold() {
    let moto = Moto::start();
    let (h, dave) = identity_center(&moto, "idc-gates", true).await;
    let cases: [(&str, Change, Reason); 2] = [
        (
            "other-store",
            Box::new(|e| {
                e["detail"]["requestParameters"]["identityStoreId"] = json!("d-0000000000")
            }),
            Reason::UntrustedSource,
        ),
        (
            "denied",
            Box::new(|e| e["detail"]["errorCode"] = json!("AccessDeniedException")),
            Reason::NotOut,
        ),
    ];
    for (tag, change, reason) in cases {
        let mut e = record(tag, "DisableUser", &dave);
        change(&mut e);
        let r = deliver(&h.app, &e, tag).await.unwrap();
        assert_eq!(r.skipped[0].reason, Some(reason), "{tag}");
        assert!(h.ended().is_empty(), "{tag}");
    }
    deliver(&h.app, &record("disable", "DisableUser", &dave), "req-1")
        .await
        .unwrap();
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    // Enabled before the hold was placed (delivered late), the hold stays; after it, it goes.
    let late = deliver(&h.app, &record("late", "EnableUser", &dave), "req-late")
        .await
        .unwrap();
    assert_eq!(late.quarantine[0].outcome, HoldOutcome::Kept, "{late:?}");
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
    let mut enable = record("enable", "EnableUser", &dave);
    enable["detail"]["eventTime"] = json!(now());
    let back = deliver(&h.app, &enable, "req-2").await.unwrap();
    assert_eq!(back.quarantine[0].outcome, HoldOutcome::Released);
    assert!(allowed(&connect(&h.app, Some("dave"), "dave").await));
}
