//! What an error means, whatever call said it ([`ErrorKind`]): the one table the pacer, the
//! `Username` fallback and the reports read, instead of comparing codes where they stand. Pure.

use crate::domain::model::{
    ApiError, CONNECTION_NOT_FOUND, DEADLINE, DRY_RUN_OPERATION, NOT_STARTED, USER_NOT_FOUND,
};

/// EC2's answers when the account's token bucket for the action is empty: nothing was done.
const THROTTLED: [&str; 3] = ["RequestLimitExceeded", "Throttling", "ThrottlingException"];
/// Failures worth one more try: the server's, or the way to it (the SDK's own, `adapters/aws.rs`).
const TRANSIENT: [&str; 9] = [
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "DispatchFailure",
    "ResponseError",
    "Timeout",
    "RequestTimeout",
    // STS could not be reached for the call's credentials (`adapters/aws.rs`); a refusal is
    // STS's own code (`AccessDenied`), not this.
    "CredentialsUnavailable",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The account's token bucket for the action was empty: nothing was done.
    Throttled,
    /// Terminate with `DryRun`: it would have ended the connections.
    DryRunPermitted,
    /// The user has no connection there (any more).
    UserNotFound,
    /// The connection is gone.
    ConnectionNotFound,
    /// The server's failure, or the way to it: worth one more try.
    Transient,
    /// The invocation's deadline cut the call off: its outcome is not known.
    Deadline,
    /// The invocation's deadline came before the call started: nothing was sent.
    NotStarted,
    /// Anything else: refused for a reason of its own.
    Other,
}

impl ApiError {
    pub fn kind(&self) -> ErrorKind {
        let code = self.code.as_str();
        match code {
            DRY_RUN_OPERATION => ErrorKind::DryRunPermitted,
            USER_NOT_FOUND => ErrorKind::UserNotFound,
            CONNECTION_NOT_FOUND => ErrorKind::ConnectionNotFound,
            DEADLINE => ErrorKind::Deadline,
            NOT_STARTED => ErrorKind::NotStarted,
            _ if THROTTLED.contains(&code) => ErrorKind::Throttled,
            _ if TRANSIENT.contains(&code) => ErrorKind::Transient,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::ENDPOINT_NOT_FOUND;

    #[test]
    fn each_error_code_means_one_kind() {
        let kind = |code: &str| {
            ApiError {
                code: code.into(),
                message: String::new(),
            }
            .kind()
        };
        for code in ["RequestLimitExceeded", "Throttling", "ThrottlingException"] {
            assert_eq!(kind(code), ErrorKind::Throttled, "{code}");
        }
        for code in [
            "InternalError",
            "ServiceUnavailable",
            "DispatchFailure",
            "Timeout",
        ] {
            assert_eq!(kind(code), ErrorKind::Transient, "{code}");
        }
        assert_eq!(kind(DRY_RUN_OPERATION), ErrorKind::DryRunPermitted);
        assert_eq!(kind(USER_NOT_FOUND), ErrorKind::UserNotFound);
        assert_eq!(kind(CONNECTION_NOT_FOUND), ErrorKind::ConnectionNotFound);
        assert_eq!(kind(DEADLINE), ErrorKind::Deadline);
        assert_eq!(kind(NOT_STARTED), ErrorKind::NotStarted);
        for code in [
            ENDPOINT_NOT_FOUND,
            "UnauthorizedOperation",
            "throttling",
            "",
        ] {
            assert_eq!(kind(code), ErrorKind::Other, "{code}");
        }
    }
}
