//! Outcome events through the real SDKs: the function's `PutEvents` to moto's EventBridge, a rule
//! on `source: cvpn-terminator` delivering to an SQS queue, and the event read back from it.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use cvpn_terminator::adapters::notify::{Notifiers, OutcomeBus};
use cvpn_terminator::shell::report::Channel;
use cvpn_terminator::HandlerError;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

/// A queue fed by a rule on every outcome event of the default bus.
struct Inbox {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Inbox {
    async fn new(moto: &Moto, name: &str) -> Inbox {
        let sdk = moto.sdk();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = format!("arn:aws:sqs:eu-west-1:123456789012:{name}");
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        events
            .put_rule()
            .name(name)
            .event_pattern(json!({"source": ["cvpn-terminator"]}).to_string())
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule(name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("inbox")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        Inbox { sqs, url }
    }

    /// Every event the queue holds (moto delivers within `PutEvents`).
    async fn events(&self) -> Vec<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect()
    }
}

fn notifiers(moto: &Moto, bus: &str) -> Notifiers {
    Notifiers {
        bus: Some(OutcomeBus::new(
            aws_sdk_eventbridge::Client::new(&moto.sdk()),
            bus,
        )),
        region: Some("eu-west-1".into()),
        ..Notifiers::default()
    }
}

/// Field names and kinds of a JSON value, arrays by their first item.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => json!([a.first().map(shape)]),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

async fn told(moto: &Moto, table: &str) -> (Harness, Inbox) {
    let mut h = with_table(config(), moto, table).await;
    h.app.notifiers = notifiers(moto, "default");
    (h, Inbox::new(moto, table).await)
}

#[tokio::test]
async fn an_incident_sends_one_outcome_event_and_a_duplicate_none() {
    let moto = Moto::start();
    let (h, inbox) = told(&moto, "incident").await;
    let finding = event("guardduty-iam-assumed-role.json");
    let response = deliver(&h.app, &finding, "req-1").await.unwrap();
    assert_eq!(response.terminated.len(), 3);
    let n = &response.notifications;
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].sent && n[0].channel == Channel::OutcomeEvent && n[0].destination == "default");

    let events = inbox.events().await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    // The sample README shows and the template's message is checked against has this shape.
    assert_eq!(
        shape(&e["detail"]),
        shape(&event("outcomes/sessions-terminated.json")["detail"])
    );
    assert_eq!(e["source"], "cvpn-terminator");
    assert_eq!(e["detail-type"], "Client VPN Sessions Terminated");
    assert_eq!(e["id"].as_str(), n[0].event_id.as_deref());
    let d = &e["detail"];
    assert_eq!(d["account"], ACCOUNT);
    assert_eq!(d["region"], "eu-west-1");
    assert_eq!(d["outcome"], "completed");
    assert_eq!(d["trigger"], "guard_duty");
    assert_eq!(d["dry_run"], false);
    assert_eq!(d["finding_ids"], json!([GUARDDUTY_FINDING]));
    let link = format!("https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId={GUARDDUTY_FINDING}");
    assert_eq!(d["findings"][0]["link"], link);
    assert_eq!(d["link"], link);
    assert_eq!(d["users"], json!([ALICE]));
    assert_eq!(d["counts"]["terminated"], 3);
    assert_eq!(d["counts"]["failed"], 0);
    assert_eq!(d["counts"]["quarantine"], 1);
    let ended: std::collections::BTreeSet<String> = d["ended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connection_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ended, h.ended());
    assert!(d["ended"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["username"] == ALICE && c["finding_id"] == GUARDDUTY_FINDING));
    assert_eq!(d["quarantine"][0]["name"], ALICE);
    assert_eq!(d["quarantine"][0]["outcome"], "placed");
    assert_eq!(d["not_listed"], 0);
    assert_eq!(d["request_id"], "req-1");
    assert_eq!(d["event_id"], finding["id"]);
    let summary = d["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!(
            "ended 3 sessions of {ALICE}; quarantined {ALICE} until "
        )),
        "{summary}"
    );
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .starts_with("UnauthorizedAccess:IAMUser/"),
        "{}",
        d["reason"]
    );

    // The same delivery again: answered from its record, nothing sent.
    let again = deliver(&h.app, &finding, "req-2").await.unwrap();
    assert!(again.duplicate.is_some() && again.notifications.is_empty());
    assert!(inbox.events().await.is_empty());
}

#[tokio::test]
async fn two_deliveries_at_once_send_one_event() {
    let moto = Moto::start();
    let (h, inbox) = told(&moto, "concurrent").await;
    let finding = event("guardduty-iam-assumed-role.json");
    let (a, b) = tokio::join!(
        deliver(&h.app, &finding, "req-a"),
        deliver(&h.app, &finding, "req-b")
    );
    let acted = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Ok(r) if r.duplicate.is_none()))
        .count();
    assert_eq!(acted, 1, "{a:?} {b:?}");
    assert_eq!(inbox.events().await.len(), 1);
}

#[tokio::test]
async fn failures_dry_runs_sweeps_and_quarantine_changes_have_their_own_events() {
    let moto = Moto::start();
    let (mut h, inbox) = told(&moto, "kinds").await;

    // Refused by the cap: nothing ended, the event says so.
    let strict = cvpn_terminator::Config {
        max_terminations: 1,
        ..config()
    };
    let capped = app_with(&h, strict);
    let finding = event("guardduty-iam-assumed-role.json");
    let err = deliver(&capped, &finding, "req-cap").await.unwrap_err();
    assert!(matches!(err, HandlerError::CapExceeded { .. }));
    assert_eq!(err.response().unwrap().notifications.len(), 1);
    let e = inbox.events().await.remove(0);
    assert_eq!(e["detail-type"], "Client VPN Termination Failed");
    assert_eq!(e["detail"]["outcome"], "failed");
    assert_eq!(e["detail"]["error"]["kind"], "CapExceeded");
    assert_eq!(e["detail"]["counts"]["terminated"], 0);
    assert!(h.ended().is_empty());

    // A dry run says it is one.
    let dry = cvpn_terminator::Config {
        dry_run: true,
        ..config()
    };
    deliver(&app_with(&h, dry), &anew(&finding, "dry"), "req-dry")
        .await
        .unwrap();
    let e = inbox.events().await.remove(0);
    assert_eq!(e["detail"]["dry_run"], true);
    assert_eq!(e["detail"]["counts"]["would_terminate"], 3);
    assert!(e["detail"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("dry run: would end 3 sessions"));

    // A person's release.
    let release =
        json!({"Release": {"Username": ALICE, "Reason": "cleared", "RequestedBy": "analyst"}});
    let quarantine = json!({"Quarantine": {"Username": ALICE, "Minutes": 60, "Reason": "suspected", "RequestedBy": "analyst"}});
    deliver(&h.app, &quarantine, "req-hold").await.unwrap();
    let e = inbox.events().await.remove(0);
    assert_eq!(e["detail-type"], "Client VPN Quarantine Changed");
    assert_eq!(e["detail"]["trigger"], "quarantine");
    assert_eq!(e["detail"]["reason"], "quarantine request: suspected");
    deliver(&h.app, &release, "req-release").await.unwrap();
    let e = inbox.events().await.remove(0);
    assert!(e["detail"]["summary"]
        .as_str()
        .unwrap()
        .contains("released"));
    // Releasing again changes nothing, and says nothing.
    deliver(&h.app, &release, "req-release-2").await.unwrap();
    assert!(inbox.events().await.is_empty());

    // A sweep that ends nothing says nothing; one that ends sessions says what it ended.
    h.app.config.sweep.limits.max_session_minutes = Some(24 * 60);
    deliver(&h.app, &tick("2026-11-22T09:15:00Z"), "req-tick")
        .await
        .unwrap();
    assert!(inbox.events().await.is_empty());
    h.app.config.sweep.limits.max_session_minutes = Some(30);
    let swept = deliver(&h.app, &tick("2026-11-22T09:16:00Z"), "req-tick-2")
        .await
        .unwrap();
    assert!(!swept.terminated.is_empty());
    let e = inbox.events().await.remove(0);
    assert_eq!(e["detail-type"], "Client VPN Sweep Completed");
    assert_eq!(e["detail"]["trigger"], "schedule");
    assert_eq!(e["detail"]["counts"]["terminated"], swept.terminated.len());
    assert_eq!(
        e["detail"]["link"],
        "https://eu-west-1.console.aws.amazon.com/vpcconsole/home?region=eu-west-1#ClientVPNEndpoints:"
    );
}

#[tokio::test]
async fn a_bus_that_fails_never_undoes_or_fails_the_work() {
    let moto = Moto::start();
    let mut h = with_table(config(), &moto, "unreachable").await;
    // Nothing listens there: every attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let sdk = aws_config::SdkConfig::builder()
        .endpoint_url(url)
        .region(aws_config::Region::new("eu-west-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(moto.sdk().credentials_provider().unwrap())
        .build();
    h.app.notifiers.bus = Some(OutcomeBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        "default",
    ));
    let response = deliver(&h.app, &event("guardduty-iam-assumed-role.json"), "req-1")
        .await
        .expect("telling failed, acting did not");
    assert_eq!(response.terminated.len(), 3);
    assert_eq!(h.ended().len(), 3);
    let n = &response.notifications[0];
    assert!(!n.sent);
    assert_eq!(n.error_code.as_deref(), Some("DispatchFailure"), "{n:?}");
    // The holds stand as well.
    assert_eq!(holds(&h).await.len(), 1);
}

#[tokio::test]
async fn an_approval_request_sends_the_event_the_chat_buttons_read() {
    let moto = Moto::start();
    let (mut h, inbox) = told(&moto, "asked").await;
    h.app.config.ask = cvpn_terminator::domain::approval::AskRules {
        below_severity: Some(9.0),
        ..Default::default()
    };
    let finding = event("guardduty-iam-assumed-role.json");
    let response = deliver(&h.app, &finding, "req-1").await.unwrap();
    assert!(response.terminated.is_empty());
    let events = inbox.events().await;
    let [e] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e["detail-type"], "Client VPN Approval Requested");
    // The sample the template's chat transformer is checked against has this shape.
    let sample = event("outcomes/approval-requested.json");
    assert_eq!(shape(&e["detail"]), shape(&sample["detail"]), "{e:#}");
    let asked = &e["detail"]["approval_requests"][0];
    assert_eq!(
        asked["id"].as_str(),
        Some(response.approval_requests[0].id.as_str())
    );
    let id = asked["id"].as_str().unwrap();
    assert!(asked["approve"].as_str().unwrap().contains(id));
}
