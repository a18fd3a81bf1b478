//! Notes on findings: the function's `BatchUpdateFindings` through aws-sdk-securityhub, answered
//! by aws-smithy-mocks (moto's server has no BatchUpdateFindings), with every request it sends
//! kept and checked; Client VPN is the emulator and the quarantine moto's DynamoDB, as elsewhere.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::*;
use aws_sdk_securityhub::operation::batch_update_findings::{
    BatchUpdateFindingsInput, BatchUpdateFindingsOutput,
};
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, BatchUpdateFindingsUnprocessedFinding, WorkflowStatus,
};
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use cvpn_terminator::adapters::lazy::Lazy;
use cvpn_terminator::shell::config::{Notify, Workflow};
use cvpn_terminator::shell::report::Channel;
use cvpn_terminator::{Config, HandlerError};
use serde_json::Value;
use std::sync::{Arc, Mutex};

type Sent = Arc<Mutex<Vec<BatchUpdateFindingsInput>>>;

/// Security Hub as aws-smithy-mocks answers it: every request kept in `sent`; `unprocessed` makes
/// it refuse each finding as Security Hub does (200, the finding listed as unprocessed).
fn securityhub(
    sent: &Sent,
    unprocessed: bool,
    note: Option<&'static str>,
) -> (aws_sdk_securityhub::Client, Rule) {
    let keep = sent.clone();
    let rule = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(move |req| {
            keep.lock().unwrap().push(req.clone());
            true
        })
        .then_compute_output(move |req| {
            let out = BatchUpdateFindingsOutput::builder();
            if !unprocessed {
                return out.build();
            }
            let id = req.finding_identifiers()[0].clone();
            out.unprocessed_findings(
                BatchUpdateFindingsUnprocessedFinding::builder()
                    .finding_identifier(id)
                    .error_code("FindingNotFound")
                    .error_message("no such finding")
                    .build(),
            )
            .build()
        });
    let config = aws_sdk_securityhub::config::Builder::from(&mocked_sdk())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(&rule)
                .with_rule(&finding_with_note(note)),
        )
        .build();
    (aws_sdk_securityhub::Client::from_conf(config), rule)
}

/// What an analyst wrote on a GuardDuty finding's Security Hub copy, which its event does not show.
const ANALYSTS: &str = "Dana: confirmed with the user's manager, keep for IR-2291.";

/// A `GetFindings` the role may not call.
const REFUSED: &str = "(GetFindings refused)";

/// `GetFindings` answering with the finding as it is now: carrying a person's note `note`, or
/// none; refusing with `REFUSED`.
fn finding_with_note(note: Option<&'static str>) -> Rule {
    use aws_sdk_securityhub::operation::get_findings::GetFindingsError;
    use aws_sdk_securityhub::types::error::InvalidAccessException;
    if note == Some(REFUSED) {
        return mock!(aws_sdk_securityhub::Client::get_findings).then_error(|| {
            GetFindingsError::InvalidAccessException(
                InvalidAccessException::builder()
                    .message("not allowed")
                    .build(),
            )
        });
    }
    mock!(aws_sdk_securityhub::Client::get_findings).then_output(move || {
        let out = aws_sdk_securityhub::operation::get_findings::GetFindingsOutput::builder();
        let Some(text) = note else {
            return out.build();
        };
        let note = aws_sdk_securityhub::types::Note::builder()
            .text(text)
            .updated_by("arn:aws:iam::111122223333:user/dana")
            .updated_at("2026-11-22T10:00:00Z")
            .build();
        let finding = aws_sdk_securityhub::types::AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id("copy")
            .product_arn("arn:aws:securityhub:eu-west-1::product/aws/guardduty")
            .generator_id("guardduty")
            .aws_account_id("111122223333")
            .created_at("2026-11-22T09:00:00Z")
            .updated_at("2026-11-22T09:00:00Z")
            .title("t")
            .description("d")
            .note(note)
            .build();
        out.findings(finding).build()
    })
}

async fn noted(moto: &Moto, table: &str, notify: Notify, unprocessed: bool) -> (Harness, Sent) {
    noted_over(moto, table, notify, unprocessed, None).await
}

/// As [`noted`], with findings that carry a person's note `note` when read.
async fn noted_over(
    moto: &Moto,
    table: &str,
    notify: Notify,
    unprocessed: bool,
    note: Option<&'static str>,
) -> (Harness, Sent) {
    let config = Config { notify, ..config() };
    let mut h = with_table(config, moto, table).await;
    let sent = Sent::default();
    let (client, _rule) = securityhub(&sent, unprocessed, note);
    h.app.notifiers.securityhub = Some(Lazy::ready(client));
    (h, sent)
}

fn ids(req: &BatchUpdateFindingsInput) -> Vec<(String, String)> {
    req.finding_identifiers()
        .iter()
        .map(|f: &AwsSecurityFindingIdentifier| {
            (
                f.id().unwrap().to_owned(),
                f.product_arn().unwrap().to_owned(),
            )
        })
        .collect()
}

fn finding_of(event: &Value) -> (String, String) {
    let f = &event["detail"]["findings"][0];
    (
        f["Id"].as_str().unwrap().to_owned(),
        f["ProductArn"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_custom_action_finding_gets_a_note_and_moves_to_notified() {
    let moto = Moto::start();
    let (h, sent) = noted(&moto, "notes", Notify::default(), false).await;
    let event = custom_action_for(&[ALICE]);
    let response = h.app.handle(&event).await.unwrap();
    assert_eq!(response.terminated.len(), 3);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let req = &sent[0];
    assert_eq!(ids(req), vec![finding_of(&event)]);
    let note = req.note().unwrap();
    assert_eq!(note.updated_by(), Some("cvpn-terminator"));
    let text = note.text().unwrap();
    assert!(
        text.starts_with(&format!(
            "cvpn-terminator ended 3 Client VPN sessions of {ALICE} (cvpn-connection-"
        )),
        "{text}"
    );
    for id in h.ended() {
        assert!(text.contains(&id), "{text}");
    }
    assert!(
        text.contains(&format!("quarantined username {ALICE} until 20")),
        "{text}"
    );
    assert!(text.len() <= 512);
    assert_eq!(
        req.workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::Notified)
    );
    let n = &response.notifications;
    assert_eq!(n.len(), 1);
    assert!(n[0].sent && n[0].channel == Channel::FindingNote);
    assert_eq!(n[0].destination, finding_of(&event).0);
    assert_eq!(n[0].detail.as_deref(), Some("NOTIFIED"));
}

#[tokio::test]
async fn settings_choose_the_workflow_and_dry_runs_and_notes_off_send_nothing() {
    let moto = Moto::start();
    let resolved = Notify {
        workflow: Some(Workflow::Resolved),
        ..Notify::default()
    };
    let (h, sent) = noted(&moto, "resolved", resolved, false).await;
    h.app.handle(&custom_action_for(&[ALICE])).await.unwrap();
    assert_eq!(
        sent.lock().unwrap()[0].workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::Resolved)
    );

    let keep = Notify {
        workflow: None,
        ..Notify::default()
    };
    let (h, sent) = noted(&moto, "keep", keep, false).await;
    h.app.handle(&custom_action_for(&[ALICE])).await.unwrap();
    let first = sent.lock().unwrap()[0].clone();
    assert!(first.note().is_some() && first.workflow().is_none());

    let off = Notify {
        finding_notes: false,
        ..Notify::default()
    };
    let (h, sent) = noted(&moto, "off", off, false).await;
    let r = h.app.handle(&custom_action_for(&[ALICE])).await.unwrap();
    assert_eq!(r.terminated.len(), 3);
    assert!(sent.lock().unwrap().is_empty() && r.notifications.is_empty());

    let (mut h, sent) = noted(&moto, "dry", Notify::default(), false).await;
    h.app.config.dry_run = true;
    let r = h.app.handle(&custom_action_for(&[ALICE])).await.unwrap();
    assert_eq!(r.would_terminate.len(), 3);
    assert!(sent.lock().unwrap().is_empty() && r.notifications.is_empty());
}

#[tokio::test]
async fn a_guardduty_finding_is_noted_on_its_security_hub_copy_only_when_asked() {
    let moto = Moto::start();
    let finding = event("guardduty-iam-assumed-role.json");
    let (h, sent) = noted(&moto, "gd-off", Notify::default(), false).await;
    h.app.handle(&finding).await.unwrap();
    assert!(sent.lock().unwrap().is_empty());

    let on = Notify {
        guardduty_notes: true,
        ..Notify::default()
    };
    let (h, sent) = noted_over(&moto, "gd-on", on, false, Some(ANALYSTS)).await;
    h.app.handle(&finding).await.unwrap();
    let sent = sent.lock().unwrap();
    assert_eq!(
        ids(&sent[0]),
        vec![(
            finding["detail"]["arn"].as_str().unwrap().to_owned(),
            "arn:aws:securityhub:eu-west-1::product/aws/guardduty".to_owned()
        )]
    );
    // The copy's note, read first, is a person's: it stays, and ours follows it.
    let text = sent[0].note().unwrap().text().unwrap();
    assert!(
        text.starts_with(&format!("{ANALYSTS}\n\ncvpn-terminator ended 3")),
        "{text}"
    );
    assert!(text.ends_with("[cvpn-terminator copy]"), "{text}");
}

#[tokio::test]
async fn a_refused_note_is_reported_and_changes_nothing_done() {
    let moto = Moto::start();
    let (h, sent) = noted(&moto, "refused", Notify::default(), true).await;
    let response = h
        .app
        .handle(&custom_action_for(&[ALICE]))
        .await
        .expect("a note that fails does not fail the invocation");
    assert_eq!(response.terminated.len(), 3);
    assert_eq!(h.ended().len(), 3);
    assert_eq!(sent.lock().unwrap().len(), 1);
    let n = &response.notifications[0];
    assert!(!n.sent);
    assert_eq!(n.error_code.as_deref(), Some("FindingNotFound"));
    let answer = serde_json::to_value(&response).unwrap();
    assert_eq!(answer["notifications"][0]["channel"], "finding_note");
    assert_eq!(answer["notifications"][0]["sent"], false);
}

#[tokio::test]
async fn a_refused_incident_notes_why_without_moving_the_workflow() {
    let moto = Moto::start();
    let (mut h, sent) = noted(&moto, "capped", Notify::default(), false).await;
    h.app.config.max_terminations = 1;
    let err = h
        .app
        .handle(&custom_action_for(&[ALICE]))
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::CapExceeded { .. }));
    let sent = sent.lock().unwrap();
    let text = sent[0].note().unwrap().text().unwrap();
    assert!(
        text.starts_with("cvpn-terminator refused it: more connections matched than CVPN_MAX_TERMINATIONS allows, so nothing was ended. [cvpn-terminator "),
        "{text}"
    );
    assert!(sent[0].workflow().is_none());
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn security_hubs_event_for_our_own_note_acts_on_nothing_and_notes_nothing() {
    let moto = Moto::start();
    let (h, sent) = noted(&moto, "echo", Notify::default(), false).await;
    let imported = event("securityhub-imported.json");
    let first = h.app.handle(&imported).await.unwrap();
    assert_eq!(first.terminated.len(), 1);
    let note = sent.lock().unwrap()[0]
        .note()
        .unwrap()
        .text()
        .unwrap()
        .to_owned();
    // What Security Hub sends after that BatchUpdateFindings: the same finding, with the note
    // and the status the function set, and UpdatedAt as it was.
    let mut echo = anew(&imported, "echo");
    let f = &mut echo["detail"]["findings"][0];
    f["Note"] = serde_json::json!({"Text": note, "UpdatedBy": "cvpn-terminator",
        "UpdatedAt": "2026-11-22T09:15:07.000Z"});
    f["Workflow"] = serde_json::json!({"Status": "NOTIFIED"});
    let quiet = h.app.handle(&echo).await.unwrap();
    assert!(
        quiet.terminated.is_empty() && quiet.quarantine.is_empty(),
        "{quiet:?}"
    );
    assert_eq!(
        quiet.skipped[0].reason.map(|r| r.as_str()),
        Some("own_note")
    );
    assert_eq!(sent.lock().unwrap().len(), 1, "the echo is not noted");
    // An analyst's evidence added afterwards (BatchUpdateFindings leaves UpdatedAt as it was) is
    // acted on: here, bob's other connection, by its ID.
    let mut evidence = anew(&echo, "evidence");
    let other = h
        .emulator
        .service()
        .snapshot()
        .endpoints
        .iter()
        .flat_map(|e| e.connections.iter())
        .find(|c| c.status == cvpn_emulator::ConnectionStatus::Active)
        .map(|c| c.connection_id.clone())
        .unwrap();
    evidence["detail"]["findings"][0]["UserDefinedFields"] =
        serde_json::json!({ "ClientVpnConnectionId": other });
    let acted = h.app.handle(&evidence).await.unwrap();
    assert!(
        acted
            .skipped
            .iter()
            .all(|e| e.reason.map(|r| r.as_str()) != Some("own_note")),
        "{acted:?}"
    );
    assert!(h.ended().contains(&other));
}

#[tokio::test]
async fn a_run_again_on_a_finding_a_person_annotated_changes_nothing_and_writes_nothing() {
    let moto = Moto::start();
    let (h, sent) = noted(&moto, "annotated", Notify::default(), false).await;
    let imported = event("securityhub-imported.json");
    let first = h.app.handle(&imported).await.unwrap();
    assert_eq!(first.terminated.len(), 1);
    assert_eq!(sent.lock().unwrap().len(), 1);
    // An analyst has since written on the finding; the same finding comes again.
    let mut again = anew(&imported, "annotated");
    again["detail"]["findings"][0]["Note"] = serde_json::json!({"Text": ANALYSTS,
        "UpdatedBy": "arn:aws:iam::111122223333:user/dana", "UpdatedAt": "2026-11-22T09:20:00Z"});
    let r = h.app.handle(&again).await.unwrap();
    assert!(r.terminated.is_empty(), "{:?}", r.terminated);
    assert!(
        r.quarantine
            .iter()
            .all(|q| q.outcome == cvpn_terminator::shell::report::HoldOutcome::Kept),
        "{:?}",
        r.quarantine
    );
    // Nothing new happened: the analyst's note stays, and nobody is told anything.
    assert_eq!(sent.lock().unwrap().len(), 1, "no note over the analyst's");
    assert!(r.notifications.is_empty(), "{:?}", r.notifications);
}

#[tokio::test]
async fn a_note_that_cannot_be_read_is_kept_as_the_event_showed_it_or_not_written() {
    let moto = Moto::start();
    // A custom action on a finding whose event shows an analyst's note: ours goes beside it.
    let (h, sent) = noted_over(&moto, "unread", Notify::default(), false, Some(REFUSED)).await;
    let mut action = custom_action_for(&[ALICE]);
    action["detail"]["findings"][0]["Note"] = serde_json::json!({"Text": ANALYSTS,
        "UpdatedBy": "arn:aws:iam::111122223333:user/dana", "UpdatedAt": "2026-11-22T09:20:00Z"});
    h.app.handle(&action).await.unwrap();
    let text = sent.lock().unwrap()[0]
        .note()
        .unwrap()
        .text()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with(&format!("{ANALYSTS}\n\ncvpn-terminator ended")),
        "{text}"
    );
    // A GuardDuty copy, whose event never shows its note: no note of ours over what may be there.
    let on = Notify {
        guardduty_notes: true,
        ..Notify::default()
    };
    let (h, sent) = noted_over(&moto, "unread-gd", on, false, Some(REFUSED)).await;
    let r = h
        .app
        .handle(&event("guardduty-iam-assumed-role.json"))
        .await
        .unwrap();
    assert!(sent.lock().unwrap().iter().all(|req| req.note().is_none()));
    let n = &r.notifications[0];
    assert!(!n.sent);
    // The read's own failure, not a note kept aside.
    assert!(
        n.error_code.as_deref().is_some_and(|c| c != "NoteKept"),
        "{n:?}"
    );
}
