//! What the AWS adapters share: turning an SDK error into our [`ApiError`], and telling a refused
//! condition (DynamoDB's conditional writes) from a failure.

use crate::domain::model::ApiError;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

/// A request the SDK's builder refused to build (a required field left out): our fault, said as
/// the SDK says it.
pub fn build_error(e: aws_smithy_types::error::operation::BuildError) -> ApiError {
    ApiError {
        code: "ConstructionFailure".into(),
        message: e.to_string(),
    }
}

/// The service's error code where there is one; STS's, when the credentials could not be had
/// (a role refused: not a fault worth another try); otherwise the kind of failure in reaching it.
pub fn api_error<E, R>(e: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(refused) = credentials_error(&e) {
        return refused;
    }
    if let Some(code) = e.code() {
        return ApiError {
            code: code.to_owned(),
            message: e.message().unwrap_or_default().to_owned(),
        };
    }
    let code = match &e {
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Unknown",
    };
    ApiError {
        code: code.to_owned(),
        message: causes(&e),
    }
}

/// Whether a conditional write was refused because its condition did not hold: an answer, not a
/// failure.
pub fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// A conditional write's answer: `true` written, `false` refused by its condition (an answer, not
/// a failure).
pub fn written<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(api_error(e)),
    }
}

/// What STS said when the call's credentials could not be had (an assumed role refused or not
/// found): its code (`AccessDenied`) and message, without the SDK's dump of the response. A
/// failure to reach STS is `CredentialsUnavailable`, still worth another try.
pub fn credentials_error<E, R>(e: &SdkError<E, R>) -> Option<ApiError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut source = std::error::Error::source(e);
    let credentials = loop {
        let s = source?;
        if let Some(c) = s.downcast_ref::<CredentialsError>() {
            break c;
        }
        source = s.source();
    };
    let sts = std::error::Error::source(credentials)
        .and_then(|s| s.downcast_ref::<aws_sdk_sts::error::SdkError<AssumeRoleError>>());
    Some(match sts.and_then(|s| s.code().map(|c| (c, s.message()))) {
        Some((code, message)) => ApiError {
            code: code.to_owned(),
            message: format!("STS AssumeRole: {}", message.unwrap_or(code)),
        },
        None => ApiError {
            code: CREDENTIALS_UNAVAILABLE.into(),
            message: format!("no credentials: {credentials}"),
        },
    })
}

/// The code of a call that could not get its credentials for another reason than STS's refusal.
pub const CREDENTIALS_UNAVAILABLE: &str = "CredentialsUnavailable";

/// An error and its causes as people read them, each said once: `dispatch failure: io error:
/// … Connection refused (os error 111)`. The SDK's `DisplayErrorContext` appends the whole error's
/// `Debug` form (raw responses, headers), which is for developers, not for a message.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        // A wrapper often repeats its cause's words: keep what each level adds.
        if !said.last().is_some_and(|last| last.contains(&text)) && !text.is_empty() {
            said.push(text);
        }
        next = cause.source();
    }
    said.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn causes_are_said_once_without_debug_dumps() {
        let e = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer("Connection refused (os error 111)", None))),
            ))),
        );
        assert_eq!(
            causes(&e),
            "dispatch failure: io error: Connection refused (os error 111)"
        );
    }
}
