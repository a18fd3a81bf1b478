use super::connect::{decide, message, ConnectReason, ConnectRequest, ConnectRules, Facts};
use super::*;
use crate::domain::mapping::CaseRule;
use crate::domain::person::People;
use crate::domain::quarantine::OnStoreError;

static PEOPLE: People = People {
    case: CaseRule::Insensitive,
    directory: crate::domain::person::Directory::EMPTY,
};
static SENSITIVE: People = People {
    case: CaseRule::Sensitive,
    directory: crate::domain::person::Directory::EMPTY,
};

const NOW: i64 = 1_795_000_000;

fn hold(kind: SubjectKind, name: &str, until: i64) -> Hold {
    Hold {
        subject: Subject::new(kind, name, &PEOPLE),
        since: NOW - 60,
        until,
        finding_id: Some("f-1".into()),
        findings: vec![],
        reason: "test".into(),
        requested_by: None,
        by_person: false,
        placed_by: vec![Placer::Finding],
    }
}

fn request(user: Option<&str>, cn: Option<&str>) -> ConnectRequest {
    ConnectRequest {
        connection_id: "cvpn-connection-0000000000000000a".into(),
        endpoint_id: "cvpn-endpoint-0a1b2c3d4e5f60718".into(),
        username: user.map(str::to_owned),
        common_name: cn.map(str::to_owned),
        public_ip: Some("198.51.100.7".into()),
        malformed: None,
    }
}

fn protect_root(name: &str) -> bool {
    name.eq_ignore_ascii_case("root-breakglass")
}

fn rules(on_error: OnStoreError, max_per_user: Option<usize>) -> ConnectRules<'static> {
    ConnectRules {
        people: &PEOPLE,
        is_protected: &protect_root,
        on_error,
        max_per_user,
    }
}

fn facts(holds: Vec<Hold>) -> Facts {
    Facts {
        holds: Ok(holds),
        active: None,
    }
}

#[test]
fn a_hold_in_force_refuses_and_an_expired_one_does_not() {
    let r = rules(OnStoreError::Allow, None);
    let alice = request(Some("alice"), Some("shared.vpn.example.com"));
    let d = decide(
        &alice,
        &facts(vec![hold(SubjectKind::Username, "alice", NOW + 1)]),
        &r,
        NOW,
    );
    assert!(!d.allow);
    assert_eq!(d.reason, ConnectReason::Quarantined);
    assert_eq!(d.hold.unwrap().finding_id.as_deref(), Some("f-1"));
    // DynamoDB may keep an expired item for days: its time decides, not its presence.
    let d = decide(
        &alice,
        &facts(vec![hold(SubjectKind::Username, "alice", NOW)]),
        &r,
        NOW,
    );
    assert!(d.allow);
    assert_eq!(d.reason, ConnectReason::NotQuarantined);
    // A hold placed through a certificate's common name is on the person too: keeping out errs
    // toward holding, so it refuses her by username as well.
    let d = decide(
        &alice,
        &facts(vec![hold(SubjectKind::CommonName, "alice", NOW + 60)]),
        &r,
        NOW,
    );
    assert!(!d.allow);
}

#[test]
fn a_common_name_hold_refuses_certificate_users() {
    let r = rules(OnStoreError::Allow, None);
    let laptop = request(None, Some("laptop-17.vpn.example.com"));
    let d = decide(
        &laptop,
        &facts(vec![hold(
            SubjectKind::CommonName,
            "LAPTOP-17.vpn.example.com",
            NOW + 60,
        )]),
        &r,
        NOW,
    );
    assert!(!d.allow);
}

#[test]
fn names_compare_under_the_case_rule() {
    let held = facts(vec![hold(
        SubjectKind::Username,
        "Alice@Example.com",
        NOW + 60,
    )]);
    let d = decide(
        &request(Some("ALICE@example.COM"), None),
        &held,
        &rules(OnStoreError::Allow, None),
        NOW,
    );
    assert!(!d.allow);
    let sensitive = ConnectRules {
        people: &SENSITIVE,
        ..rules(OnStoreError::Allow, None)
    };
    let held = Facts {
        holds: Ok(vec![Hold {
            subject: Subject::new(SubjectKind::Username, "Alice", &SENSITIVE),
            ..hold(SubjectKind::Username, "x", NOW + 60)
        }]),
        active: None,
    };
    // Keeping out folds case whatever the rule: a hold on `Alice` refuses `alice` too.
    assert!(!decide(&request(Some("alice"), None), &held, &sensitive, NOW).allow);
    assert!(!decide(&request(Some("Alice"), None), &held, &sensitive, NOW).allow);
    assert!(decide(&request(Some("bob"), None), &held, &sensitive, NOW).allow);
}

#[test]
fn protected_users_are_never_kept_out() {
    let r = rules(OnStoreError::Deny, Some(1));
    let held = Facts {
        holds: Err("ProvisionedThroughputExceededException".into()),
        active: Some(Ok(vec!["a".into(), "b".into()])),
    };
    let d = decide(&request(Some("Root-BreakGlass"), None), &held, &r, NOW);
    assert!(d.allow);
    assert_eq!(d.reason, ConnectReason::Protected);
    let d = decide(
        &request(Some("root-breakglass"), None),
        &facts(vec![hold(
            SubjectKind::Username,
            "root-breakglass",
            NOW + 60,
        )]),
        &r,
        NOW,
    );
    assert!(d.allow);
}

#[test]
fn a_store_error_is_decided_by_the_setting() {
    let failed = Facts {
        holds: Err("timeout".into()),
        active: None,
    };
    let bob = request(Some("bob"), None);
    let d = decide(&bob, &failed, &rules(OnStoreError::Allow, None), NOW);
    assert_eq!((d.allow, d.reason), (true, ConnectReason::CheckFailed));
    assert_eq!(d.failure.as_deref(), Some("timeout"));
    let d = decide(&bob, &failed, &rules(OnStoreError::Deny, None), NOW);
    assert_eq!((d.allow, d.reason), (false, ConnectReason::CheckFailed));
    // Allowed on error, still refused over the per-user limit.
    let failed_full = Facts {
        holds: Err("timeout".into()),
        active: Some(Ok(vec!["cvpn-connection-00000000000000001".into()])),
    };
    let d = decide(
        &bob,
        &failed_full,
        &rules(OnStoreError::Allow, Some(1)),
        NOW,
    );
    assert_eq!(
        (d.allow, d.reason),
        (false, ConnectReason::TooManyConnections)
    );
}

#[test]
fn the_per_user_limit_counts_other_active_connections() {
    let r = rules(OnStoreError::Allow, Some(2));
    let bob = request(Some("bob"), None);
    let with = |ids: &[&str]| Facts {
        holds: Ok(vec![]),
        active: Some(Ok(ids.iter().map(|s| s.to_string()).collect())),
    };
    assert!(decide(&bob, &with(&["c1"]), &r, NOW).allow);
    // The connection being asked about does not count against itself.
    assert!(decide(&bob, &with(&["c1", &bob.connection_id]), &r, NOW).allow);
    let d = decide(&bob, &with(&["c1", "c2"]), &r, NOW);
    assert_eq!(
        (d.allow, d.reason),
        (false, ConnectReason::TooManyConnections)
    );
    assert!(message(&d, "x", Some(2)).contains("2 VPN connection"));
    // The listing failed: the setting decides.
    let failed = Facts {
        holds: Ok(vec![]),
        active: Some(Err("RequestLimitExceeded".into())),
    };
    assert!(decide(&bob, &failed, &r, NOW).allow);
    assert!(!decide(&bob, &failed, &rules(OnStoreError::Deny, Some(2)), NOW).allow);
}

#[test]
fn messages_fit_what_client_vpn_shows() {
    let d = decide(
        &request(Some("alice"), None),
        &facts(vec![hold(SubjectKind::Username, "alice", NOW + 1)]),
        &rules(OnStoreError::Allow, None),
        NOW,
    );
    assert_eq!(message(&d, "Call the SOC", None), "Call the SOC");
    let ok = decide(
        &request(Some("bob"), None),
        &facts(vec![]),
        &rules(OnStoreError::Allow, None),
        NOW,
    );
    assert_eq!(message(&ok, "Call the SOC", None), "");
    assert!(message(&ok, "", Some(1000)).len() <= 255);
}

fn conn(user: Option<&str>, cn: Option<&str>) -> Connection {
    Connection {
        place: Default::default(),
        endpoint_id: "cvpn-endpoint-0a1b2c3d4e5f60718".into(),
        connection_id: "cvpn-connection-0000000000000000b".into(),
        username: user.map(str::to_owned),
        common_name: cn.map(str::to_owned),
        client_ip: None,
        status: crate::domain::model::ConnectionStatus::Terminated,
        established: None,
        ended: None,
        observed: None,
        ingress_bytes: 0,
        egress_bytes: 0,
    }
}

fn conn_id(id: &str, user: Option<&str>, cn: Option<&str>) -> Connection {
    Connection {
        place: Default::default(),
        connection_id: id.into(),
        ..conn(user, cn)
    }
}

#[test]
fn an_incident_holds_named_users_and_ended_connections_never_shared_certificates() {
    let ended = [
        conn_id("c1", Some("Alice"), Some("shared.vpn.example.com")),
        conn_id("c2", None, Some("Laptop-9.vpn.example.com")),
        conn_id("c3", Some("root-breakglass"), None),
        conn_id("c4", Some("carol"), Some("ROOT-BREAKGLASS")),
        conn_id("c5", None, Some("client1.domain.tld")),
    ];
    // Someone else is connected with client1's certificate too; laptop-9's is only on c2 (and on
    // a connection of its own that ended earlier, which is no one else).
    let mut listed = ended.to_vec();
    listed.push(Connection {
        place: Default::default(),
        status: crate::domain::model::ConnectionStatus::Active,
        ..conn_id("c9", None, Some("CLIENT1.domain.tld"))
    });
    listed.push(conn_id("c8", None, Some("laptop-9.vpn.example.com")));
    let got = subjects(
        [("alice", 1), ("dave", 2), (" root-breakglass ", 3)],
        ended.iter().zip(10..),
        &listed,
        &PEOPLE,
        &protect_root,
        true,
    );
    let s = |kind, name| Subject::new(kind, name, &PEOPLE);
    assert_eq!(
        got.held,
        vec![
            (s(SubjectKind::Username, "alice"), vec![1, 10]),
            (s(SubjectKind::Username, "dave"), vec![2]),
            (
                s(SubjectKind::CommonName, "laptop-9.vpn.example.com"),
                vec![11]
            ),
        ]
    );
    assert_eq!(
        got.shared,
        vec![s(SubjectKind::CommonName, "client1.domain.tld")]
    );
    // Whitespace is ASCII only, as evidence trims it.
    assert_eq!(
        Subject::new(SubjectKind::Username, " bob\u{3000}", &PEOPLE).name,
        "bob\u{3000}"
    );
}

#[test]
fn subject_kinds_round_trip() {
    for k in [SubjectKind::Username, SubjectKind::CommonName] {
        assert_eq!(SubjectKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(time(0), "1970-01-01T00:00:00Z");
}

#[test]
fn an_endpoint_enforces_the_quarantine_only_through_the_deployed_handler() {
    let deployed = "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn";
    assert!(enforces(Some(deployed), Some(deployed)));
    assert!(!enforces(
        Some(deployed),
        Some("arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-other")
    ));
    assert!(!enforces(Some(deployed), None));
    assert!(enforces(None, Some(deployed)));
    assert!(!enforces(None, None));
}

#[test]
fn a_request_that_cannot_be_read_is_decided_by_the_setting_but_a_hold_still_refuses() {
    let odd = ConnectRequest {
        malformed: Some("event.schema-version: expected a string".into()),
        ..request(Some("bob"), None)
    };
    let d = decide(&odd, &facts(vec![]), &rules(OnStoreError::Allow, None), NOW);
    assert_eq!((d.allow, d.reason), (true, ConnectReason::CheckFailed));
    assert_eq!(d.failure.as_deref(), Some("MalformedRequest"));
    assert!(!decide(&odd, &facts(vec![]), &rules(OnStoreError::Deny, None), NOW).allow);
    let held = facts(vec![hold(SubjectKind::Username, "bob", NOW + 60)]);
    assert_eq!(
        decide(&odd, &held, &rules(OnStoreError::Allow, None), NOW).reason,
        ConnectReason::Quarantined
    );
}

#[test]
fn a_release_covers_the_findings_that_held_the_name_in_either_form_and_nothing_newer() {
    use crate::domain::plan::FindingRef;
    use chrono::TimeZone;
    let alice = Subject::new(SubjectKind::Username, "alice", &PEOPLE);
    let r = Released {
        subject: alice.clone(),
        finding_ids: vec!["6ec9f4b2".into(), "f-2".into()],
        at: NOW - 10,
        by: Some("soc".into()),
        until: NOW + 60,
    };
    let seen = |at: i64| Some(chrono::Utc.timestamp_opt(at, 0).unwrap());
    let f = |id: &str, at: Option<chrono::DateTime<chrono::Utc>>| FindingRef {
        id: id.into(),
        seen_at: at,
        idp: None,
    };
    let arn = "arn:aws:guardduty:eu-west-1:111122223333:detector/d1/finding/6ec9f4b2";
    assert_eq!(finding_key(arn), "6ec9f4b2");
    assert_eq!(finding_key("f-2"), "f-2");
    let releases = [r];
    assert!(released(&alice, &[f(arn, seen(NOW - 100))], &releases, NOW).is_some());
    assert!(released(
        &alice,
        &[f("f-2", None), f("6ec9f4b2", None)],
        &releases,
        NOW
    )
    .is_some());
    // A new finding in the same event, or new activity under a released one, is not covered.
    assert!(released(&alice, &[f("f-2", None), f("f-3", None)], &releases, NOW).is_none());
    assert!(released(&alice, &[f("f-2", seen(NOW - 5))], &releases, NOW).is_none());
    assert!(
        released(&alice, &[], &releases, NOW).is_none(),
        "a person's request"
    );
    assert!(
        released(&alice, &[f("f-2", None)], &releases, NOW + 60).is_none(),
        "expired"
    );
    let bob = Subject::new(SubjectKind::Username, "bob", &PEOPLE);
    assert!(released(&bob, &[f("f-2", None)], &releases, NOW).is_none());
}

#[test]
fn an_endpoint_in_another_target_enforces_through_its_own_handler() {
    let home = Place {
        account: None,
        region: Some("eu-west-1".into()),
    };
    let there = Place {
        account: Some("222233334444".into()),
        region: Some("us-east-1".into()),
    };
    let name = "AWSClientVPN-cvpn-terminator";
    let deployed = "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-main";
    let arn = |region: &str, account: &str, name: &str| {
        format!("arn:aws:lambda:{region}:{account}:function:{name}")
    };
    let check = |place: &Place, handler: Option<&str>| {
        enforced(Some(deployed), name, &home, place, handler)
    };
    assert!(check(&home, Some(deployed)));
    assert!(!check(&home, Some(&arn("eu-west-1", "111122223333", name))));
    assert!(check(&there, Some(&arn("us-east-1", "222233334444", name))));
    assert!(check(
        &there,
        Some(&format!("{}:live", arn("us-east-1", "222233334444", name)))
    ));
    assert!(!check(&there, Some(deployed)));
    assert!(!check(
        &there,
        Some(&arn("eu-west-1", "222233334444", name))
    ));
    assert!(!check(
        &there,
        Some(&arn("us-east-1", "999999999999", name))
    ));
    assert!(!check(
        &there,
        Some(&arn("us-east-1", "222233334444", "AWSClientVPN-other"))
    ));
    assert!(!check(&there, None));
}

#[test]
fn placers_read_back_as_written_and_anything_else_is_a_finding() {
    for p in [
        Placer::Idp("okta.com/example".into()),
        Placer::Idp("https://idp.example.com".into()),
        Placer::Finding,
        Placer::Person,
    ] {
        assert_eq!(Placer::parse(&p.key()), p);
    }
    assert_eq!(Placer::parse("okta.com/example"), Placer::Finding);
    assert_eq!(Placer::parse(""), Placer::Finding);
    let f = |idp: Option<&str>| crate::domain::plan::FindingRef {
        id: "x".into(),
        seen_at: None,
        idp: idp.map(str::to_owned),
    };
    assert_eq!(
        placers(&[f(Some("a")), f(None), f(Some("a")), f(None)]),
        vec![Placer::Idp("a".into()), Placer::Finding]
    );
}
