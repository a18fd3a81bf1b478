//! The application (its settings and clients, built once per cold start) and how an invocation
//! fails ([`HandlerError`]), shared by the handler and every path it runs.

use crate::adapters::directory::Directory;
use crate::adapters::notify::Notifiers;
use crate::adapters::targets::Targets;
use crate::domain::json::DecodeError;
use crate::shell::config::Config;
use crate::shell::report::Response;
use std::fmt;

pub struct App<A, S> {
    pub config: Config,
    /// Client VPN's API in each place the function acts (`CVPN_TARGETS`).
    pub api: Targets<A>,
    /// The idle policy's state and the quarantine; `None` without `CVPN_STATE_TABLE`.
    pub store: Option<S>,
    /// Where people are told what was done (`notify.rs`); each channel optional.
    pub notifiers: Notifiers,
    /// IAM Identity Center's Identity Store, which names the users its records name by ID;
    /// `None` without `CVPN_IDENTITY_STORE_IDS`.
    pub directory: Option<Directory>,
}

pub enum HandlerError {
    /// The event is not one we act on; nothing was terminated.
    BadEvent(DecodeError),
    /// More connections matched than the cap allows; nothing was terminated.
    CapExceeded {
        planned: usize,
        cap: usize,
        response: Box<Response>,
    },
    /// Some planned termination failed, or an endpoint could not be listed.
    Incomplete(Box<Response>),
    /// Another invocation is acting on the same EventBridge event: failing lets Lambda retry this
    /// delivery later, when it is answered from the record, or acted on if that invocation died.
    InProgress { event_id: String },
}

impl HandlerError {
    /// The event is not one to act on: `path` names the field, `message` what is wrong with it.
    pub fn bad_event(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadEvent(DecodeError {
            path: path.into(),
            message: message.into(),
        })
    }

    pub fn response(&self) -> Option<&Response> {
        match self {
            Self::BadEvent(_) | Self::InProgress { .. } => None,
            Self::CapExceeded { response, .. } | Self::Incomplete(response) => Some(response),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadEvent(_) => "BadEvent",
            Self::CapExceeded { .. } => "CapExceeded",
            Self::Incomplete(_) => "Incomplete",
            Self::InProgress { .. } => "InProgress",
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadEvent(e) => write!(f, "bad event: {e}; nothing was terminated"),
            Self::InProgress { event_id } => write!(
                f,
                "event {event_id} is being handled by another invocation; nothing was done here, \
                 and a retry will find its outcome"
            ),
            Self::CapExceeded { planned, cap, .. } => write!(
                f,
                "refused: the trigger matches {planned} connections (active, or ended since the \
                 event by an earlier attempt or by themselves), more than CVPN_MAX_TERMINATIONS \
                 ({cap}); nothing was terminated. Check the username mapping and the finding"
            ),
            Self::Incomplete(r) => {
                // The first few of each: the message is one line, whatever the fleet's size.
                let failed: Vec<String> = r
                    .failed
                    .iter()
                    .take(IN_MESSAGE)
                    .map(|e| {
                        format!(
                            "{} {}",
                            e.connection_id.as_deref().unwrap_or("?"),
                            e.error_code.as_deref().unwrap_or("?")
                        )
                    })
                    .collect();
                let errors: Vec<String> = r
                    .errors
                    .iter()
                    .take(IN_MESSAGE)
                    .map(|e| {
                        format!(
                            "{} {} {} {}",
                            e.action,
                            e.place.label(),
                            e.endpoint_id.as_deref().unwrap_or("(all)"),
                            e.code
                        )
                    })
                    .collect();
                // Every place that failed, however many: the one line a person sees names the
                // accounts to look at.
                let places: std::collections::BTreeSet<String> =
                    r.errors.iter().map(|e| e.place.label()).collect();
                let places: Vec<String> = places.into_iter().collect();
                write!(
                    f,
                    "incomplete: {} of {} planned terminations failed [{}], {} were deferred; {} steps failed [{}]; {} connections of targeted users left active",
                    r.failed.len(),
                    r.failed.len() + r.terminated.len() + r.would_terminate.len() + r.deferred.len(),
                    failed.join(", ") + more(r.failed.len()),
                    r.deferred.len(),
                    r.errors.len(),
                    errors.join(", ") + more(r.errors.len()),
                    r.left_active.len()
                )?;
                if !places.is_empty() {
                    write!(f, "; where steps failed: {}", places.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// Failures named in an error's message; the rest are in the response and the log.
const IN_MESSAGE: usize = 10;

fn more(n: usize) -> &'static str {
    if n > IN_MESSAGE {
        ", …"
    } else {
        ""
    }
}

/// The Lambda runtime logs errors with `Debug`: keep that to the one-line summary, not the whole
/// response (which the summary log line and the handler's own lines already carry).
impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.kind())
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}
