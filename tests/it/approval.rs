//! Asking a person first (`CVPN_ASK_*`), through the SDKs against the emulator and moto's
//! DynamoDB: each way of asking, and every answer — approve, deny, expiry, twice, after the user
//! reconnected, over the cap, two people, the subject themselves, a forged request.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use cvpn_terminator::domain::approval::AskRules;
use cvpn_terminator::domain::person::People;
use cvpn_terminator::domain::trigger::approval::Answer;
use cvpn_terminator::domain::trigger::Trigger;
use cvpn_terminator::shell::report::approval::AnswerOutcome;
use cvpn_terminator::{Config, HandlerError, Response};
use serde_json::json;

/// alice's three sessions, at severity 8.
const FINDING: &str = "guardduty-iam-assumed-role.json";

fn asking(ask: AskRules) -> Config {
    Config {
        ask,
        // A tick's policy that ends nothing here: ticks tell expired requests.
        sweep: cvpn_terminator::domain::policy::SweepPolicy {
            limits: cvpn_terminator::domain::policy::Limits {
                idle_minutes: None,
                max_session_minutes: Some(500_000),
            },
            ..Default::default()
        },
        ..config()
    }
}

fn below(severity: f64) -> AskRules {
    AskRules {
        below_severity: Some(severity),
        ..AskRules::default()
    }
}

/// The one request a response made.
fn request_of(r: &Response) -> String {
    let [asked] = r.approval_requests.as_slice() else {
        panic!("{:?}", r.approval_requests)
    };
    assert!(asked.stored, "{asked:?}");
    asked.id.clone()
}

fn answer(request: &str, approve: bool, by: &str, verified: bool) -> Trigger {
    Trigger::Answer(Answer {
        request: request.into(),
        approve,
        by: by.into(),
        verified,
        reason: None,
        request_path: "event.Approve.Request".into(),
    })
}

/// Moves the request's end into the past, as an hour going by would.
async fn expire(moto: &Moto, table: &str, id: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let key = AttributeValue::S(format!("approval#{id}"));
    let item = moto
        .client()
        .get_item()
        .table_name(table)
        .key("pk", key.clone())
        .send()
        .await
        .unwrap();
    let text = item.item().unwrap()["request"].as_s().unwrap();
    let mut request: serde_json::Value = serde_json::from_str(text).unwrap();
    request["asks_until"] = json!(1);
    moto.client()
        .update_item()
        .table_name(table)
        .key("pk", key)
        .update_expression("SET #r = :r, asksUntil = :past")
        .expression_attribute_names("#r", "request")
        .expression_attribute_values(":r", AttributeValue::S(request.to_string()))
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
}

fn refusal(result: Result<Response, HandlerError>) -> String {
    match result {
        Err(HandlerError::BadEvent(e)) => e.message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_finding_below_the_asking_severity_waits_for_an_approval_that_ends_what_is_there_then() {
    let moto = Moto::start();
    let h = with_table(asking(below(9.0)), &moto, "ask-severity").await;
    let r = deliver(&h.app, &event(FINDING), "req-1").await.unwrap();
    assert!(r.terminated.is_empty() && r.quarantine.is_empty(), "{r:?}");
    assert!(
        h.ended().is_empty(),
        "nothing is done before a person approves"
    );
    let id = request_of(&r);
    assert_eq!(r.approval_requests[0].sessions, 3);
    assert_eq!(
        r.approval_requests[0].approve,
        format!("cvpn-terminator approve {id}")
    );
    assert!(allowed(&connect(&h.app, Some(ALICE), "alice").await));
    // Delivered again (a retry), the same request: nothing new is asked.
    let again = deliver(&h.app, &anew(&event(FINDING), "retry"), "req-2")
        .await
        .unwrap();
    assert_eq!(again.approval_requests.len(), 1);
    // alice connects once more meanwhile: the approval ends what is there then.
    let again = connection(cid("a11ce", 9), Some(ALICE), "10.100.0.9");
    h.emulator
        .service()
        .upsert_connections(EP_A, vec![again])
        .unwrap();
    assert_eq!(h.active_of(ALICE), 4);
    let approved = h
        .app
        .handle_trigger(answer(&id, true, "soc-lead", false))
        .await
        .unwrap();
    let entry = approved.approval.as_ref().unwrap();
    assert_eq!(entry.outcome, AnswerOutcome::CarriedOut);
    assert_eq!(entry.approved_by, ["soc-lead"]);
    assert_eq!(approved.terminated.len(), 4, "{approved:?}");
    assert!(ids(&approved.terminated).contains(&cid("a11ce", 9)));
    assert_eq!(h.active_of(ALICE), 0);
    assert!(!allowed(&connect(&h.app, Some(ALICE), "alice").await));
    // Approved twice, or denied after: nothing.
    let twice = h
        .app
        .handle_trigger(answer(&id, true, "other", false))
        .await;
    assert!(refusal(twice).contains("carried out already"));
    let late = h
        .app
        .handle_trigger(answer(&id, false, "other", false))
        .await;
    assert!(refusal(late).contains("carried out already"));
}

#[tokio::test]
async fn a_denied_or_expired_or_forged_request_changes_nothing() {
    let moto = Moto::start();
    let h = with_table(asking(below(9.0)), &moto, "ask-deny").await;
    let id = request_of(&deliver(&h.app, &event(FINDING), "req-1").await.unwrap());
    let denied = h
        .app
        .handle_trigger(answer(&id, false, "soc", false))
        .await
        .unwrap();
    assert_eq!(denied.approval.unwrap().outcome, AnswerOutcome::Denied);
    let after = h.app.handle_trigger(answer(&id, true, "soc", false)).await;
    assert!(refusal(after).contains("denied"));
    assert!(h.ended().is_empty());
    // A request nobody answers in time.
    let other = anew(&event(FINDING), "expires");
    let mut other = other;
    other["detail"]["id"] = json!("another-finding");
    let expiring = request_of(&deliver(&h.app, &other, "req-2").await.unwrap());
    expire(&moto, "ask-deny", &expiring).await;
    let expired = h
        .app
        .handle_trigger(answer(&expiring, true, "soc", false))
        .await;
    assert!(refusal(expired).contains("stopped asking"));
    // The next tick finds it, marks it expired and tells it, once.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ticked = h.app.handle(&tick(&now)).await.unwrap();
    let ids: Vec<&str> = ticked
        .expired_requests
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(ids, [expiring.as_str()], "{ticked:?}");
    let again = h.app.handle(&anew(&tick(&now), "again")).await.unwrap();
    assert!(again.expired_requests.is_empty(), "{again:?}");
    let late = h
        .app
        .handle_trigger(answer(&expiring, true, "soc", false))
        .await;
    assert!(refusal(late).contains("expired unanswered"));
    // A request ID nobody issued, or one that is not an ID at all.
    let forged = h
        .app
        .handle_trigger(answer("apr-00000000000000000000", true, "soc", false))
        .await;
    assert!(refusal(forged).contains("no approval request"));
    let bad = h
        .app
        .handle(&json!({"Approve": {"Request": "approval#x", "RequestedBy": "soc"}}))
        .await;
    assert!(matches!(bad, Err(HandlerError::BadEvent(_))));
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn two_people_must_approve_with_verified_identities_and_never_the_subject() {
    let moto = Moto::start();
    let h = with_table(
        asking(AskRules {
            approvals_required: 2,
            ..below(9.0)
        }),
        &moto,
        "ask-two",
    )
    .await;
    let id = request_of(&deliver(&h.app, &event(FINDING), "req-1").await.unwrap());
    let soc = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Sec_1/soc@example.com";
    let lead = "arn:aws:iam::111122223333:user/lead";
    // Only said, not verified: refused.
    let said = h.app.handle_trigger(answer(&id, true, "soc", false)).await;
    assert!(refusal(said).contains("verified"));
    // The person it would cut off, whatever identity they come with.
    let herself = format!("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_1/{ALICE}");
    let own = h
        .app
        .handle_trigger(answer(&id, true, &herself, true))
        .await;
    assert!(refusal(own).contains("their own"));
    let first = h
        .app
        .handle_trigger(answer(&id, true, soc, true))
        .await
        .unwrap();
    let entry = first.approval.unwrap();
    assert_eq!(
        (entry.outcome, entry.approvals, entry.needed),
        (AnswerOutcome::Counted, 1, 2)
    );
    assert!(h.ended().is_empty());
    let same = h.app.handle_trigger(answer(&id, true, soc, true)).await;
    assert!(refusal(same).contains("already"));
    assert!(h.ended().is_empty());
    let second = h
        .app
        .handle_trigger(answer(&id, true, lead, true))
        .await
        .unwrap();
    assert_eq!(second.approval.unwrap().approved_by, [soc, lead]);
    assert_eq!(h.active_of(ALICE), 0);
}

#[tokio::test]
async fn asked_people_and_an_incident_over_the_cap_ask_and_the_approval_allows_the_count_it_showed()
{
    let moto = Moto::start();
    // Over the cap: 3 sessions, a cap of 2.
    let over = Config {
        max_terminations: 2,
        ..asking(AskRules {
            over_cap: true,
            ..AskRules::default()
        })
    };
    let h = with_table(over, &moto, "ask-cap").await;
    let r = deliver(&h.app, &event(FINDING), "req-1").await.unwrap();
    assert!(
        r.approval_requests[0].why[0].contains("CVPN_MAX_TERMINATIONS"),
        "{r:?}"
    );
    let id = request_of(&r);
    let approved = h
        .app
        .handle_trigger(answer(&id, true, "soc", false))
        .await
        .unwrap();
    assert_eq!(approved.terminated.len(), 3, "{approved:?}");
    // A person on the asking list: the finding that names her asks; one naming another acts.
    let users = asking(AskRules {
        users: vec![People::default().pattern("ALICE@example.com").unwrap()],
        ..AskRules::default()
    });
    let h = with_table(users, &moto, "ask-users").await;
    let r = deliver(&h.app, &event(FINDING), "req-2").await.unwrap();
    assert_eq!(r.approval_requests[0].people, [ALICE]);
    assert!(h.ended().is_empty());
    // A person's own choice never asks: a direct request acts at once.
    let direct = h
        .app
        .handle(&json!({"Username": ALICE, "Reason": "INC-1"}))
        .await
        .unwrap();
    assert!(direct.approval_requests.is_empty() && direct.terminated.len() == 3);
}

#[tokio::test]
async fn the_idps_word_on_an_asked_person_waits_too_and_a_role_anyone_names_is_nobody() {
    let moto = Moto::start();
    let config = Config {
        idp: cvpn_terminator::shell::config::Idp {
            sources: vec!["aws.partner/okta.com/example/*".into()],
            ..Default::default()
        },
        ..asking(AskRules {
            users: vec![People::default().pattern("dave").unwrap()],
            approvals_required: 2,
            ..AskRules::default()
        })
    };
    let h = with_table(config, &moto, "ask-idp").await;
    let r = deliver(&h.app, &event("okta-user-deactivated.json"), "req-1")
        .await
        .unwrap();
    let id = request_of(&r);
    assert!(r.terminated.is_empty() && r.quarantine.is_empty(), "{r:?}");
    assert_eq!(h.active_of("dave"), 1);
    assert!(allowed(&connect(&h.app, Some("dave"), "dave").await));
    // Sessions of a role whose session name the caller chooses name nobody: not a second person.
    let ops = |s: &str| format!("arn:aws:sts::111122223333:assumed-role/Ops/{s}");
    let refused = h
        .app
        .handle_trigger(answer(&id, true, &ops("alice"), true))
        .await;
    assert!(refusal(refused).contains("names a person"));
    let sso = |s: &str| format!("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Sec_1/{s}");
    h.app
        .handle_trigger(answer(&id, true, &sso("soc"), true))
        .await
        .unwrap();
    let done = h
        .app
        .handle_trigger(answer(&id, true, &sso("lead"), true))
        .await
        .unwrap();
    assert_eq!(done.terminated.len(), 1, "{done:?}");
    assert!(!allowed(&connect(&h.app, Some("dave"), "dave").await));
}

#[tokio::test]
async fn a_partial_picture_asks_nobody_and_the_retry_that_sees_it_whole_asks() {
    let moto = Moto::start();
    let h = with_table(asking(below(9.0)), &moto, "ask-partial").await;
    // Endpoint B cannot be listed: how many sessions a person would decide on is not known.
    let partial = h.without_listing(asking(below(9.0)), EP_B);
    let e = deliver(&partial, &event(FINDING), "req-1")
        .await
        .unwrap_err();
    let HandlerError::Incomplete(r) = e else {
        panic!("{e}")
    };
    assert!(r.approval_requests.is_empty(), "{:?}", r.approval_requests);
    assert!(r.terminated.is_empty() && h.ended().is_empty());
    // Lambda's retry sees every endpoint: it asks about all three sessions.
    let r = deliver(&h.app, &event(FINDING), "req-1").await.unwrap();
    request_of(&r);
    assert_eq!(r.approval_requests[0].sessions, 3);
    assert!(h.ended().is_empty());
}

/// A Function URL request to `/approvals`, as Lambda hands it over: behind an AWS_IAM URL it
/// names the signer (`caller`); behind none, nobody.
fn over_url(body: serde_json::Value, caller: Option<&str>) -> serde_json::Value {
    let mut context =
        json!({"http": {"method": "POST", "path": "/approvals"}, "accountId": "111122223333"});
    if let Some(arn) = caller {
        context["authorizer"] = json!({"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "111122223333",
            "callerId": "AROAEXAMPLE", "userArn": arn, "userId": "AROAEXAMPLE"}});
    }
    json!({"version": "2.0", "rawPath": "/approvals", "headers": {"content-type": "application/json"},
           "requestContext": context, "body": body.to_string(), "isBase64Encoded": false})
}

async fn post(
    app: &cvpn_terminator::App<cvpn_terminator::Ec2, cvpn_terminator::Dynamo>,
    event: serde_json::Value,
) -> (u64, serde_json::Value) {
    let answer = app
        .answer(&event, cvpn_terminator::shell::handler::Invoked::default())
        .await
        .unwrap();
    let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or_default();
    (answer["statusCode"].as_u64().unwrap(), body)
}

#[tokio::test]
async fn signed_answers_over_the_answers_url_are_verified_and_each_signer_counts_once() {
    let moto = Moto::start();
    let mut h = with_table(
        asking(AskRules {
            approvals_required: 2,
            ..below(9.0)
        }),
        &moto,
        "ask-url",
    )
    .await;
    let id = request_of(&deliver(&h.app, &event(FINDING), "req-1").await.unwrap());
    let soc = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Sec_1/soc@example.com";
    let lead = "arn:aws:iam::111122223333:user/lead";
    let approve = json!({"Approve": {"Request": id}});
    // Not the answers' function: its URL takes no answers.
    assert_eq!(
        post(&h.app, over_url(approve.clone(), Some(soc))).await.0,
        404
    );
    h.app.config.takes = cvpn_terminator::domain::trigger::takes::Takes::SignedAnswers;
    // Unsigned (a URL with AuthType NONE names nobody), a said name, a forged ID: nothing changes.
    assert_eq!(post(&h.app, over_url(approve.clone(), None)).await.0, 403);
    let said = json!({"Approve": {"Request": id, "RequestedBy": lead}});
    assert_eq!(post(&h.app, over_url(said, Some(soc))).await.0, 400);
    let forged = json!({"Approve": {"Request": "apr-00000000000000000000"}});
    assert_eq!(post(&h.app, over_url(forged, Some(soc))).await.0, 409);
    // The person it would cut off, signing as themselves.
    let herself = format!("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_1/{ALICE}");
    let (status, body) = post(&h.app, over_url(approve.clone(), Some(&herself))).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["description"].as_str().unwrap().contains("their own"),
        "{body}"
    );
    // Two signers: the first counts, the same one again is refused, the second carries it out.
    let (status, body) = post(&h.app, over_url(approve.clone(), Some(soc))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["approval"]["approvals"], 1);
    assert!(h.ended().is_empty());
    assert_eq!(
        post(&h.app, over_url(approve.clone(), Some(soc))).await.0,
        409
    );
    assert!(h.ended().is_empty());
    let (status, body) = post(&h.app, over_url(approve, Some(lead))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["approval"]["approved_by"], json!([soc, lead]));
    assert_eq!(h.active_of(ALICE), 0);
}

#[tokio::test]
async fn each_answering_function_takes_its_answers_and_nothing_else() {
    use cvpn_terminator::domain::trigger::takes::Takes;
    let moto = Moto::start();
    let mut h = with_table(asking(below(9.0)), &moto, "ask-takes").await;
    let id = request_of(&deliver(&h.app, &event(FINDING), "req-1").await.unwrap());
    let lead = "arn:aws:iam::111122223333:user/lead";
    let invoked = cvpn_terminator::shell::handler::Invoked::default;
    // The chat buttons' function: a denial from chat, a direct request, an answer dressed as a
    // signed one — each refused, nothing changes.
    h.app.config.takes = Takes::ChatApprovals;
    let deny = json!({"Deny": {"Request": id, "RequestedBy": "chat"}});
    let forged = over_url(json!({"Approve": {"Request": id}}), Some(lead));
    for refused in [deny, json!({"Username": ALICE}), forged.clone()] {
        let e = h.app.answer(&refused, invoked()).await.unwrap_err();
        assert!(format!("{e}").contains("only approvals from chat"), "{e}");
    }
    assert_eq!(h.active_of(ALICE), 3);
    // The answers' function: nothing but a signed answer over its URL.
    h.app.config.takes = Takes::SignedAnswers;
    let said = json!({"Approve": {"Request": id, "RequestedBy": "chat"}});
    let e = h.app.answer(&said, invoked()).await.unwrap_err();
    assert!(format!("{e}").contains("only answers signed"), "{e}");
    assert_eq!(h.active_of(ALICE), 3);
    // The chat buttons' function carries out an approval (one is enough here).
    h.app.config.takes = Takes::ChatApprovals;
    let r = h.app.answer(&said, invoked()).await.unwrap();
    assert_eq!(r["approval"]["approved_by"], json!(["chat"]), "{r}");
    assert_eq!(h.active_of(ALICE), 0);
}
