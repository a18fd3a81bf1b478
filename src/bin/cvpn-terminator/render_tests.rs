//! The tables and sentences a person reads.

use super::*;
use serde_json::json;

#[test]
fn a_table_lines_up_its_columns() {
    let t = table(
        Style::default(),
        &["USER", "IP"],
        &[
            vec!["kate".into(), "10.0.0.1".into()],
            vec!["Ωmega-long".into(), "-".into()],
        ],
    );
    assert_eq!(t, "USER        IP\nkate        10.0.0.1\nΩmega-long  -");
    assert!(table(Style { colour: true }, &["A"], &[]).starts_with("\x1b[1m"));
}

#[test]
fn connections_show_where_only_when_somewhere_else() {
    let here = json!({"place": {}, "endpoint_id": "cvpn-endpoint-1", "connection_id": "c1",
        "username": "kate", "client_ip": "10.0.0.2", "status": "active",
        "established": "2026-12-07T08:00:00Z"});
    let t = connections(Style::default(), std::slice::from_ref(&here));
    assert!(
        !t.contains("PLACE") && t.contains("kate") && t.contains("10.0.0.2"),
        "{t}"
    );
    let mut there = here.clone();
    there["place"] = json!({"account": "444455556666", "region": "eu-west-1"});
    let t = connections(Style::default(), &[here, there]);
    assert!(
        t.contains("PLACE") && t.contains("444455556666/eu-west-1"),
        "{t}"
    );
    assert!(t.contains("this account/this Region"), "{t}");
    assert_eq!(connections(Style::default(), &[]), "No one is connected.");
}

#[test]
fn each_outcome_is_one_sentence() {
    let r = json!({
        "terminated": [{"endpoint_id": "cvpn-endpoint-1", "connection_id": "c1", "person": "frank"}],
        "failed": [{"endpoint_id": "cvpn-endpoint-1", "connection_id": "c2", "username": "frank",
            "error_code": "Throttling", "detail": "slow down"}],
        "skipped": [{"connection_id": "c3", "reason": "protected_user"}],
        "errors": [{"account": "444455556666", "region": "eu-west-1", "action": "AssumeRole",
            "code": "AccessDenied", "message": "not authorized"}],
        "quarantine": [{"kind": "username", "name": "frank", "outcome": "placed",
            "until": "2026-12-08T00:00:00Z"}],
        "notifications": [{"channel": "outcome_event", "destination": "bus", "sent": false,
            "error": "gone"}, {"channel": "outcome_event", "destination": "bus", "sent": true}],
    });
    let s = sentences(Style::default(), &r);
    assert_eq!(
        s,
        [
            "Ended frank's connection c1 on cvpn-endpoint-1.",
            "Skipped connection c3: protected_user.",
            "Could not end frank's connection c2 on cvpn-endpoint-1: Throttling slow down",
            "frank (username) is kept out until 2026-12-08T00:00:00Z.",
            "AssumeRole failed in 444455556666/eu-west-1: AccessDenied not authorized",
            "Could not tell people through outcome event bus: gone",
        ]
    );
}

#[test]
fn a_response_that_did_nothing_says_so() {
    let s = sentences(
        Style::default(),
        &json!({"terminated": [], "dry_run": false}),
    );
    assert_eq!(s, ["Nothing was ended."]);
    let s = sentences(
        Style::default(),
        &json!({"would_terminate": [{"connection_id": "c1", "username": "ivan"}], "dry_run": true}),
    );
    assert_eq!(
        s,
        ["Would end ivan's connection c1 (dry run: nothing was ended)."]
    );
}

#[test]
fn holds_and_wiring_are_tables() {
    let h = json!({"subject": {"kind": "username", "name": "mallory"}, "until": "2026-12-08T00:00:00Z",
        "reason": "INC-7", "requested_by": "arn:aws:iam::123456789012:user/ana"});
    let t = holds(Style::default(), &[h]);
    assert!(
        t.contains("mallory") && t.contains("INC-7") && t.contains("user/ana"),
        "{t}"
    );
    assert_eq!(holds(Style::default(), &[]), "No one is held.");
    let w = wiring(
        Style::default(),
        &[json!({"endpoint_id": "cvpn-endpoint-1", "enforces_quarantine": false})],
    );
    assert!(w.contains("NO") && w.contains("-"), "{w}");
}

#[test]
fn a_connect_decision_and_an_http_answer_are_said_too() {
    let refused = json!({"allow": false, "error-msg-on-failed-posture-compliance": "held",
        "posture-compliance-statuses": [], "schema-version": "v2"});
    assert_eq!(
        sentences(Style::default(), &refused),
        ["The connection would be refused: held"]
    );
    let allowed = json!({"allow": true, "schema-version": "v2"});
    assert_eq!(
        sentences(Style::default(), &allowed),
        ["The connection would be allowed."]
    );
    let http = json!({"statusCode": 500, "body": "{\"error\":\"Incomplete\"}"});
    assert_eq!(
        sentences(Style::default(), &http),
        ["HTTP 500: {\"error\":\"Incomplete\"}"]
    );
    let expired = json!({"expired_requests": [{"id": "apr-1"}],
        "delivery_conflict": {"event_id": "e1"}});
    let s = sentences(Style::default(), &expired);
    assert!(s[0].starts_with("Event e1 was delivered before"), "{s:?}");
    assert!(
        s.contains(&"Request apr-1 expired unanswered: nothing of it was done.".to_owned()),
        "{s:?}"
    );
}
