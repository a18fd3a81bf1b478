//! A target role's credentials, from one STS client that every place shares. aws-config's
//! assume-role provider builds an STS client of its own for each role, which an organization's
//! thousands of places paid for each. The credentials are kept until five minutes before they
//! expire, and one `AssumeRole` is in flight per role at a time however many calls wait for it.

use crate::adapters::lazy::Lazy;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use std::time::{Duration, SystemTime};

/// Credentials closer than this to their expiry are asked for again.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// The longest an `AssumeRole` may take: every call of the role's places waits for it.
const ASK_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct AssumedRole {
    sts: Lazy<aws_sdk_sts::Client>,
    role_arn: String,
    session_name: &'static str,
    external_id: Option<String>,
    held: tokio::sync::Mutex<Option<Credentials>>,
}

impl AssumedRole {
    pub fn new(
        sts: Lazy<aws_sdk_sts::Client>,
        role_arn: &str,
        session_name: &'static str,
        external_id: Option<&str>,
    ) -> Self {
        Self {
            sts,
            role_arn: role_arn.to_owned(),
            session_name,
            external_id: external_id.map(str::to_owned),
            held: tokio::sync::Mutex::default(),
        }
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut held = self.held.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_BEFORE)
        };
        if let Some(c) = held.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let asked = self
            .sts
            .get()
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(self.session_name)
            .set_external_id(self.external_id.clone())
            .send();
        let out = tokio::time::timeout(ASK_WITHIN, asked)
            .await
            .map_err(|_| CredentialsError::provider_timed_out(ASK_WITHIN))?
            .map_err(CredentialsError::provider_error)?;
        let given = out
            .credentials()
            .ok_or_else(|| CredentialsError::unhandled("STS AssumeRole answered no credentials"))?;
        let expiry = SystemTime::try_from(*given.expiration()).map_err(|e| {
            CredentialsError::unhandled(format!("STS AssumeRole's expiration: {e}"))
        })?;
        let credentials = Credentials::new(
            given.access_key_id(),
            given.secret_access_key(),
            Some(given.session_token().to_owned()),
            Some(expiry),
            "AssumedRole",
        );
        *held = Some(credentials.clone());
        Ok(credentials)
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
