//! What the AWS adapters share: turning an SDK error into our [`ApiError`], and telling a refused
//! condition (DynamoDB's conditional writes) from a failure.

use crate::domain::model::ApiError;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
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
    R: std::fmt::Debug,
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
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// Whether a conditional write was refused because its condition did not hold: an answer, not a
/// failure.
pub fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
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
