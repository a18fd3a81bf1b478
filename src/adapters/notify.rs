//! Where the function tells people what it did: an EventBridge bus (aws-sdk-eventbridge,
//! `PutEvents`) and Security Hub's findings (aws-sdk-securityhub, `BatchUpdateFindings`). Both are
//! optional; neither is ever retried past the time the shell gives it.

use crate::adapters::aws::api_error;
use crate::adapters::lazy::Lazy;
use crate::domain::model::ApiError;
use crate::domain::trigger::{ExistingNote, SecurityHubRef, NOTE_AUTHOR};
use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, NoteUpdate, StringFilter,
    StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};

/// The `source` of every outcome event.
pub const OUTCOME_SOURCE: &str = "cvpn-terminator";

/// The clients the shell tells people through, each built when first used.
#[derive(Clone, Debug, Default)]
pub struct Notifiers {
    pub bus: Option<OutcomeBus>,
    pub securityhub: Option<Lazy<aws_sdk_securityhub::Client>>,
    /// The Region the function runs in: findings without one are linked there.
    pub region: Option<String>,
    /// Asked for the account when an invocation does not say (the command line, local runtimes).
    pub sts: Option<Lazy<aws_sdk_sts::Client>>,
    /// What STS said, once asked; start it empty.
    pub account: tokio::sync::OnceCell<Option<String>>,
}

impl Notifiers {
    /// The account the credentials belong to, asked of STS once per process (until it answers).
    pub async fn account(&self) -> Result<Option<String>, ApiError> {
        let Some(sts) = &self.sts else {
            return Ok(None);
        };
        self.account
            .get_or_try_init(|| async {
                let asked = sts.get().get_caller_identity().send().await;
                let who = asked.map_err(api_error)?;
                Ok(who.account().map(str::to_owned))
            })
            .await
            .cloned()
    }
}

#[derive(Clone, Debug)]
pub struct OutcomeBus {
    client: Lazy<aws_sdk_eventbridge::Client>,
    /// Name or ARN.
    name: String,
}

impl OutcomeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, name: impl Into<String>) -> Self {
        Self::built_on_use(Lazy::ready(client), name)
    }

    /// The bus's client built when the first event is put.
    pub fn built_on_use(
        client: Lazy<aws_sdk_eventbridge::Client>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Puts one event; the answer is its event ID. A refused entry (`PutEvents` answers 200 with a
    /// failed entry) is an error with EventBridge's code.
    pub async fn put(&self, detail_type: &str, detail: &str) -> Result<String, ApiError> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(OUTCOME_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .event_bus_name(&self.name)
            .build();
        let out = self
            .client
            .get()
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(api_error)?;
        let first = out.entries().first();
        match first.and_then(|e| e.event_id()) {
            Some(id) if out.failed_entry_count() == 0 => Ok(id.to_owned()),
            _ => Err(ApiError {
                code: first
                    .and_then(|e| e.error_code())
                    .unwrap_or("FailedEntry")
                    .to_owned(),
                message: first
                    .and_then(|e| e.error_message())
                    .unwrap_or("EventBridge accepted no entry")
                    .to_owned(),
            }),
        }
    }
}

/// The note `finding` carries now (`GetFindings`), for a finding whose event did not show it (a
/// GuardDuty finding's Security Hub copy): a person's words on it are kept.
pub async fn current_note(
    client: &aws_sdk_securityhub::Client,
    finding: &SecurityHubRef,
) -> Result<Option<ExistingNote>, ApiError> {
    let equals = |value: &str| {
        StringFilter::builder()
            .value(value)
            .comparison(StringFilterComparison::Equals)
            .build()
    };
    let filters = AwsSecurityFindingFilters::builder()
        .id(equals(&finding.id))
        .product_arn(equals(&finding.product_arn))
        .build();
    let out = client
        .get_findings()
        .filters(filters)
        .max_results(1)
        .send()
        .await
        .map_err(api_error)?;
    let note = out.findings().first().and_then(|f| f.note());
    Ok(note
        .map(|n| ExistingNote {
            text: n.text().unwrap_or_default().to_owned(),
            by: n.updated_by().unwrap_or_default().to_owned(),
        })
        .filter(|n| !n.text.is_empty()))
}

/// Writes `text` as the note of `finding`, when given, and sets its workflow status, when given.
/// A finding Security Hub did not process is an error with its code.
pub async fn note_finding(
    client: &aws_sdk_securityhub::Client,
    finding: &SecurityHubRef,
    text: Option<&str>,
    workflow: Option<&str>,
) -> Result<(), ApiError> {
    let identifier = AwsSecurityFindingIdentifier::builder()
        .id(&finding.id)
        .product_arn(&finding.product_arn)
        .build();
    let mut call = client
        .batch_update_findings()
        .finding_identifiers(identifier);
    if let Some(text) = text {
        call = call.note(
            NoteUpdate::builder()
                .text(text)
                .updated_by(NOTE_AUTHOR)
                .build(),
        );
    }
    if let Some(status) = workflow {
        call = call.workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::from(status))
                .build(),
        );
    }
    let out = call.send().await.map_err(api_error)?;
    match out.unprocessed_findings().first() {
        None => Ok(()),
        Some(u) => Err(ApiError {
            code: u.error_code().unwrap_or("Unprocessed").to_owned(),
            message: u
                .error_message()
                .unwrap_or("Security Hub did not update the finding")
                .to_owned(),
        }),
    }
}
