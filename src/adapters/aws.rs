//! What the AWS adapters share: turning an SDK error into our [`ApiError`], and telling a refused
//! condition (DynamoDB's conditional writes) from a failure.

use crate::domain::model::ApiError;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A request the SDK's builder refused to build (a required field left out): our fault, said as
/// the SDK says it.
pub fn build_error(e: aws_smithy_types::error::operation::BuildError) -> ApiError {
    ApiError {
        code: "ConstructionFailure".into(),
        message: e.to_string(),
    }
}

/// The service's error code where there is one; otherwise the kind of failure in reaching it.
pub fn api_error<E, R>(e: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
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
