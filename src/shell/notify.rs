//! Telling people what was done, after it was done: one outcome event per invocation on
//! `CVPN_OUTCOME_BUS`, and a note on each Security Hub finding acted on. Telling never undoes,
//! holds up or fails what was done: it starts after the last termination, runs only in the time
//! left before the deadline's margin, and a failure is logged (`notification_failed`) and listed
//! in the response, nothing more.

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::notify::{current_note, note_finding};
use crate::domain::console;
use crate::domain::model::ApiError;
use crate::domain::trigger::Trigger;
use crate::shell::app::{App, HandlerError};
use crate::shell::budget::{within, DEADLINE};
use crate::shell::handler::Invoked;
use crate::shell::report::note::{self, Note};
use crate::shell::report::outcome::{self, Context, Work};
use crate::shell::report::{log_notification, Channel, Failure, Notification, Response};
use futures::stream::{self, StreamExt};
use std::future::Future;
use std::time::{Duration, Instant};

/// The longest any one call to tell people may take.
const TELLING: Duration = Duration::from_secs(3);
/// Notes in flight at once: each reads the finding (`GetFindings`, 3 a second) and writes it
/// (`BatchUpdateFindings`, 10 a second).
const NOTES_AT_ONCE: usize = 3;

fn work_of(trigger: &Trigger) -> Option<Work> {
    match trigger {
        Trigger::Findings(_) | Trigger::Direct(_) | Trigger::Idp(_) | Trigger::Answer(_) => {
            Some(Work::Incident)
        }
        Trigger::Sweep(_) | Trigger::Places(_) => Some(Work::Sweep),
        Trigger::Quarantine(_) => Some(Work::QuarantineChange),
        Trigger::Connect(_) | Trigger::Signal(_) => None,
    }
}

fn told(channel: Channel, destination: &str, detail: Option<String>) -> Notification {
    Notification {
        channel,
        destination: destination.to_owned(),
        sent: true,
        detail,
        event_id: None,
        error_code: None,
        error: None,
    }
}

fn failed(mut n: Notification, e: ApiError) -> Notification {
    n.sent = false;
    n.error_code = Some(e.code);
    n.error = Some(e.message);
    n
}

/// The finding's note could not be read (no `securityhub:GetFindings`, throttling): said, and
/// what the event showed is trusted instead, where it shows the note.
fn log_unread(finding_id: &str, e: &ApiError) {
    tracing::warn!(
        event = "note_unread",
        finding_id,
        error_code = e.code.as_str(),
        error = e.message.as_str(),
        "the finding's note could not be read; ours goes beside the note as the event showed it, if it showed one"
    );
}

/// Why a finding's note was left as it is, with what ours would have said.
fn note_kept(ours: &str) -> ApiError {
    ApiError {
        code: "NoteKept".into(),
        message: format!(
            "the finding's note is a person's and ours does not fit beside it in the {} characters \
             Security Hub keeps, so their note was left as it is; ours: {ours}",
            note::MAX_NOTE
        ),
    }
}

/// Writes one note: the finding's note as it is now is read first (an analyst may have written
/// since the event; a GuardDuty copy's event never shows it), so that people's words on it stay.
/// Unread, ours goes beside the note as the event showed it; where the event shows none (a
/// GuardDuty copy), no note is written. The workflow status moves either way.
async fn write_note(
    client: &aws_sdk_securityhub::Client,
    note: &Note,
    stop_at: Option<Instant>,
) -> Notification {
    let workflow = note.workflow.map(|w| w.as_str());
    let n = told(
        Channel::FindingNote,
        &note.finding_id,
        workflow.map(str::to_owned),
    );
    let (text, unread) = match in_time(stop_at, current_note(client, &note.finding)).await {
        Ok(existing) => (note.beside(existing.as_ref()), None),
        Err(e) => {
            log_unread(&note.finding_id, &e);
            match &note.shown {
                Some(shown) => (note.beside(shown.as_ref()), None),
                None => (None, Some(e)),
            }
        }
    };
    let text = text.as_deref();
    let sent = match (text, workflow) {
        (None, None) => Ok(()),
        _ => in_time(stop_at, note_finding(client, &note.finding, text, workflow)).await,
    };
    match (sent, text, unread) {
        (Err(e), _, _) | (Ok(()), None, Some(e)) => failed(n, e),
        (Ok(()), Some(_), _) => n,
        // People's note stays as they wrote it; ours is told here instead.
        (Ok(()), None, None) => failed(n, note_kept(&note.ours)),
    }
}

/// Runs `call` in whatever is left before the margin, and never more than a few seconds.
async fn in_time<T>(
    stop_at: Option<Instant>,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let limit = stop_at.map_or(TELLING, |s| {
        s.saturating_duration_since(Instant::now()).min(TELLING)
    });
    if limit.is_zero() {
        return Err(ApiError {
            code: DEADLINE.into(),
            message: "not sent: no time was left before the Lambda deadline's margin".into(),
        });
    }
    within(limit, call).await
}

impl<A: ClientVpnApi, S> App<A, S> {
    /// Tells people what `result` did, recording every attempt in its response.
    pub(crate) async fn notify(
        &self,
        trigger: &Trigger,
        result: &mut Result<Response, HandlerError>,
        stop_at: Option<Instant>,
        invoked: Invoked<'_>,
        event_id: Option<&str>,
    ) {
        let Some(work) = work_of(trigger) else { return };
        let failure = result.as_ref().err().map(|e| Failure {
            kind: e.kind().to_owned(),
            message: e.to_string(),
        });
        let response = match result {
            Ok(r) => r,
            Err(
                HandlerError::CapExceeded { response, .. } | HandlerError::Incomplete(response),
            ) => response,
            Err(_) => return,
        };
        let region = self.notifiers.region.as_deref();
        let fallback = region.and_then(console::client_vpn_link);
        let sending = self.notifiers.bus.is_some()
            && outcome::detail_type(work, response, failure.is_some()).is_some();
        let account = self
            .account_to_name(invoked.account, sending, stop_at)
            .await;
        let cx = Context {
            account: account.as_deref(),
            region,
            request_id: invoked.request_id,
            event_id,
            fallback_link: fallback.as_deref(),
        };
        let event =
            self.notifiers
                .bus
                .as_ref()
                .zip(outcome::build(work, response, failure.as_ref(), cx));
        let notes: Vec<Note> = match (trigger, &self.notifiers.securityhub) {
            (Trigger::Findings(findings), Some(_)) => {
                note::notes(findings, response, failure.as_ref(), &self.config.notify)
            }
            _ => Vec::new(),
        };

        let sending = async {
            let (bus, (kind, detail)) = event?;
            let n = told(
                Channel::OutcomeEvent,
                bus.name(),
                Some(kind.as_str().into()),
            );
            let body = outcome::sent(&detail).to_string();
            Some(
                match in_time(stop_at, bus.put(kind.as_str(), &body)).await {
                    Ok(id) => Notification {
                        event_id: Some(id),
                        ..n
                    },
                    Err(e) => failed(n, e),
                },
            )
        };
        // A few at a time: Security Hub allows BatchUpdateFindings 10 a second.
        let noting = stream::iter(&notes)
            .map(|note| async {
                let client = self.notifiers.securityhub.as_ref()?;
                Some(write_note(client.get(), note, stop_at).await)
            })
            .buffer_unordered(NOTES_AT_ONCE)
            .collect::<Vec<_>>();
        let (sent, noted) = futures::join!(sending, noting);
        for n in sent.into_iter().chain(noted.into_iter().flatten()) {
            log_notification(&n);
            response.notifications.push(n);
        }
    }

    /// The account the outcome event names: the invocation's, else (only where the invocation
    /// does not say, as on the command line, and only when an event is sent) STS's answer.
    async fn account_to_name(
        &self,
        invoked: Option<&str>,
        sending: bool,
        stop_at: Option<Instant>,
    ) -> Option<String> {
        match invoked {
            Some(a) => Some(a.to_owned()),
            None if sending => match in_time(stop_at, self.notifiers.account()).await {
                Ok(account) => account,
                Err(e) => {
                    tracing::warn!(
                        event = "account_unknown",
                        error_code = e.code.as_str(),
                        error = e.message.as_str(),
                        "STS GetCallerIdentity failed; the outcome event names no account"
                    );
                    None
                }
            },
            None => None,
        }
    }
}
