//! IAM Identity Center's word, as CloudTrail records it and EventBridge delivers it ("AWS API Call
//! via CloudTrail"): `DisableUser` and `DeleteUser` say a user is out, `EnableUser` that they are
//! back. Since July 2025 the records name the user only by `requestParameters.userId` (with
//! `identityStoreId`), never by name: the shell resolves the ID (`shell/identity_center.rs`), and
//! until it has, the event names nobody. Which stores speak is the gate's
//! (`CVPN_IDENTITY_STORE_IDS`): anyone can create an Identity Center instance of their own, with a
//! user of whatever name they like. Pure.

use crate::domain::json::{At, DecodeError};
use crate::domain::targets::is_region;
use crate::domain::trigger::idp::{untaken, IdpEvent, Says, Trust, Via};
use chrono::{DateTime, Utc};

/// The EventBridge sources of Identity Center's directory (the console's `sso-directory` API) and
/// of the Identity Store API.
pub const SOURCES: [&str; 2] = ["aws.sso-directory", "aws.identitystore"];
/// The detail type of every CloudTrail record EventBridge delivers.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The calls that say a user is out, and why. Only an administrator of the store can make them.
pub const OUT: [(&str, &str); 2] = [
    ("DisableUser", "disabled in IAM Identity Center"),
    ("DeleteUser", "deleted in IAM Identity Center"),
];
/// The call that says a user is back.
pub const BACK_IN: [&str; 1] = ["EnableUser"];

/// Whether an EventBridge event with this source and detail type is Identity Center's.
pub fn looks_like(source: &str, detail_type: &str) -> bool {
    SOURCES.contains(&source) && detail_type == DETAIL_TYPE
}

/// What the call says.
pub fn says(event_name: &str) -> Says {
    if let Some((_, why)) = OUT.iter().find(|(t, _)| *t == event_name) {
        return Says::Out(why);
    }
    if BACK_IN.contains(&event_name) {
        return Says::BackIn;
    }
    Says::Nothing
}

/// Whether `id` can be an identity store's or a user's ID: letters, digits and `-`, at most 64
/// (the service's own patterns are narrower). Anything else is not sent to the service.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The IdP a store's word is: `identitystore/<store ID>`, so that its holds carry it.
pub fn idp_of(store_id: &str) -> String {
    format!("identitystore/{store_id}")
}

/// Decodes a CloudTrail record of Identity Center. Only its `eventName` and `eventID` must be
/// readable; an `errorCode` means the call did not happen (its outcome); a store or user ID that
/// is missing or odd names nobody.
pub fn decode(detail: &At, time: Option<DateTime<Utc>>) -> Result<IdpEvent, DecodeError> {
    let event_name = detail.require("eventName")?.str()?.to_owned();
    let uuid = detail.require("eventID")?.str()?.to_owned();
    let text = |at: Option<At>| at.and_then(|a| a.value.as_str().map(str::to_owned));
    let outcome = match text(detail.get("errorCode")) {
        Some(code) => code,
        None if detail.get("errorCode").is_some_and(|c| !c.value.is_null()) => "an error".into(),
        None => "SUCCESS".into(),
    };
    let params = detail.get("requestParameters");
    let param = |key: &str| text(params.as_ref().and_then(|p| p.get(key)));
    let (store_id, user_id) = (param("identityStoreId"), param("userId"));
    // The store is asked in the record's Region: the SDK puts it in the host name unchecked.
    let region = text(detail.get("awsRegion"));
    let no_user = match (&store_id, &user_id) {
        _ if region.as_deref().is_some_and(|r| !is_region(r)) => {
            Some("awsRegion is not an AWS Region")
        }
        (Some(s), Some(u)) if plausible_id(s) && plausible_id(u) => None,
        (Some(_), Some(_)) => Some("requestParameters.identityStoreId or .userId is not an ID"),
        _ => Some("requestParameters has no identityStoreId and userId"),
    };
    let store_id = store_id.unwrap_or_default();
    Ok(IdpEvent {
        idp: idp_of(&store_id),
        via: Via::IdentityCenter {
            store_id,
            user_id: user_id.unwrap_or_default(),
            region: region.filter(|r| is_region(r)),
        },
        says: says(&event_name),
        uuid,
        event_type: event_name,
        outcome: Some(outcome),
        published: detail.get("eventTime").and_then(|t| t.time().ok()),
        user: None,
        no_user: no_user.map(str::to_owned),
        by_themselves: false,
        time,
    })
}

/// The store, user ID and Region to ask for the name of the user a record names by ID, when its
/// word would be taken: from a named store, a call that happened, out or back, naming no one yet.
/// Nothing is asked for a record that would not act.
pub fn to_resolve<'e>(
    event: &'e IdpEvent,
    trust: Trust,
) -> Option<(&'e str, &'e str, Option<&'e str>)> {
    let Via::IdentityCenter {
        store_id,
        user_id,
        region,
    } = &event.via
    else {
        return None;
    };
    let unread = event.user.is_none() && event.no_user.is_none();
    let taken = event.says != Says::Nothing && untaken(event, trust).is_none();
    (unread && taken).then_some((store_id.as_str(), user_id.as_str(), region.as_deref()))
}

/// Why a record whose "out" would be taken cannot be read for its user (an ID missing or odd, a
/// Region that is none): an administrator's word is not dropped quietly, the invocation fails.
pub fn unreadable_out<'e>(event: &'e IdpEvent, trust: Trust) -> Option<&'e str> {
    let Via::IdentityCenter { .. } = &event.via else {
        return None;
    };
    let taken = matches!(event.says, Says::Out(_)) && untaken(event, trust).is_none();
    match (taken, &event.user) {
        (true, None) => event.no_user.as_deref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Reason;
    use crate::domain::trigger::idp::{refusal, Trust};
    use serde_json::json;

    fn record(name: &str, params: serde_json::Value) -> IdpEvent {
        let detail = json!({"eventVersion": "1.08", "eventTime": "2026-12-02T10:00:00Z",
            "eventSource": "sso-directory.amazonaws.com", "eventName": name,
            "awsRegion": "eu-west-1", "eventID": "e-1",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROA:admin"},
            "requestParameters": params});
        decode(&At::root(&detail), None).unwrap()
    }

    fn named(mut e: IdpEvent) -> IdpEvent {
        e.user = Some(("dave".into(), "requestParameters.userId".into()));
        e.no_user = None;
        e
    }

    #[test]
    fn disable_and_delete_say_out_enable_back_and_nothing_else_acts() {
        for (name, _) in OUT {
            assert!(matches!(says(name), Says::Out(_)), "{name}");
        }
        assert_eq!(says("EnableUser"), Says::BackIn);
        for name in ["CreateUser", "UpdateUser", "DescribeUser", "UpdatePassword"] {
            assert_eq!(says(name), Says::Nothing, "{name}");
        }
        assert!(looks_like("aws.sso-directory", DETAIL_TYPE));
        assert!(looks_like("aws.identitystore", DETAIL_TYPE));
        assert!(!looks_like("aws.sso", DETAIL_TYPE));
        assert!(!looks_like(
            "aws.sso-directory",
            "AWS Console Sign In via CloudTrail"
        ));
    }

    #[test]
    fn only_a_named_store_and_a_call_that_happened_act() {
        let params = json!({"identityStoreId": "d-1234567890", "userId": "9067-abc"});
        let e = record("DisableUser", params.clone());
        assert_eq!(e.idp, "identitystore/d-1234567890");
        assert_eq!(e.finding_id(), "identitystore/d-1234567890#e-1");
        assert!(matches!(&e.via, Via::IdentityCenter { user_id, .. } if user_id == "9067-abc"));
        let stores = vec!["d-1234567890".to_owned()];
        let trust = Trust {
            sources: &[],
            identity_stores: &stores,
        };
        assert_eq!(refusal(&named(e.clone()), trust), None);
        assert_eq!(
            to_resolve(&e, trust),
            Some(("d-1234567890", "9067-abc", Some("eu-west-1")))
        );
        assert_eq!(to_resolve(&named(e.clone()), trust), None, "named already");
        // Unresolved, it names nobody.
        assert_eq!(refusal(&e, trust).unwrap().0, Reason::NoIdentity);
        let reason = |e: &IdpEvent, t: Trust| refusal(e, t).map(|(r, _)| r);
        let other = ["d-0000000000".to_owned()];
        let elsewhere = Trust {
            sources: &[],
            identity_stores: &other,
        };
        assert_eq!(
            reason(&named(e.clone()), elsewhere),
            Some(Reason::UntrustedSource)
        );
        assert_eq!(
            to_resolve(&e, elsewhere),
            None,
            "no store is asked about a record it ignores"
        );
        let none = Trust {
            sources: &[],
            identity_stores: &[],
        };
        assert_eq!(reason(&named(e), none), Some(Reason::UntrustedSource));
        let mut failed = json!({"eventName": "DisableUser", "eventID": "e-2",
            "errorCode": "AccessDenied", "requestParameters": params});
        let e = decode(&At::root(&failed), None).unwrap();
        assert_eq!(e.outcome.as_deref(), Some("AccessDenied"));
        assert_eq!(to_resolve(&e, trust), None);
        assert_eq!(reason(&named(e), trust), Some(Reason::NotOut));
        failed["errorCode"] = json!(7);
        let e = decode(&At::root(&failed), None).unwrap();
        assert_eq!(reason(&named(e), trust), Some(Reason::NotOut));
    }

    #[test]
    fn a_missing_or_odd_id_names_nobody() {
        for params in [
            json!({}),
            json!({"identityStoreId": "d-1234567890"}),
            json!({"identityStoreId": "d-1234567890", "userId": "a/../b"}),
            json!({"identityStoreId": "", "userId": "u"}),
            json!({"identityStoreId": "d-1234567890", "userId": 7}),
            json!("HIDDEN_DUE_TO_SECURITY_REASONS"),
        ] {
            let e = record("DeleteUser", params.clone());
            assert!(e.no_user.is_some(), "{params}");
        }
        let params = json!({"identityStoreId": "d-1234567890", "userId": "9067-abc"});
        let mut odd = json!({"eventName": "DisableUser", "eventID": "e-3",
            "awsRegion": "evil.example/x?", "requestParameters": params});
        let e = decode(&At::root(&odd), None).unwrap();
        assert_eq!(e.no_user.as_deref(), Some("awsRegion is not an AWS Region"));
        assert!(matches!(&e.via, Via::IdentityCenter { region: None, .. }));
        odd["awsRegion"] = json!("eu-west-1");
        assert!(decode(&At::root(&odd), None).unwrap().no_user.is_none());
        assert!(plausible_id("d-1234567890"));
        assert!(!plausible_id(&"a".repeat(65)));
    }

    #[test]
    fn an_out_from_a_named_store_that_names_nobody_readable_is_said() {
        let stores = vec!["d-1234567890".to_owned()];
        let trust = Trust {
            sources: &[],
            identity_stores: &stores,
        };
        let odd = json!({"identityStoreId": "d-1234567890", "userId": "a/../b"});
        let e = record("DeleteUser", odd.clone());
        assert!(unreadable_out(&e, trust).unwrap().contains("not an ID"));
        // Named, from another store, failed, or not "out": nothing to say.
        let good = json!({"identityStoreId": "d-1234567890", "userId": "9067-abc"});
        assert_eq!(
            unreadable_out(&named(record("DeleteUser", good)), trust),
            None
        );
        let elsewhere = json!({"identityStoreId": "d-0000000000", "userId": "a/../b"});
        assert_eq!(
            unreadable_out(&record("DeleteUser", elsewhere), trust),
            None
        );
        assert_eq!(
            unreadable_out(&record("EnableUser", odd.clone()), trust),
            None
        );
        assert_eq!(unreadable_out(&record("CreateUser", odd), trust), None);
    }
}
