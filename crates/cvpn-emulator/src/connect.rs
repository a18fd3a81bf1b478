//! The client connect handler: `ModifyClientVpnEndpoint` with `ClientConnectOptions`, and what
//! Client VPN does with a handler when a client connects: it calls the function through the Lambda
//! Invoke API and refuses the connection on any error, timeout or malformed answer (AWS Client VPN
//! administrator guide, "Client connect handler").

use crate::actions::{dry_run, endpoint_not_found, Ctx};
use crate::protocol::{ApiError, Params, Xml};
use crate::state::ClientConnectOptions;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Client VPN calls only functions whose name begins with this (its service-linked role allows
/// no other).
pub const HANDLER_PREFIX: &str = "AWSClientVPN-";

pub fn modify_endpoint(ctx: Ctx, p: &Params) -> Result<String, ApiError> {
    p.only(&[
        "ClientVpnEndpointId",
        "ClientConnectOptions.Enabled",
        "ClientConnectOptions.LambdaFunctionArn",
        "DryRun",
    ])?;
    let id = p.required("ClientVpnEndpointId")?;
    let endpoint = ctx
        .world
        .visible_mut(id, ctx.caller)
        .ok_or_else(|| endpoint_not_found(id))?;
    if p.get("ClientConnectOptions.Enabled").is_none() {
        return Err(ApiError::invalid_value(
            "the emulator changes only ClientConnectOptions; give ClientConnectOptions.Enabled",
        ));
    }
    let enabled = p.flag("ClientConnectOptions.Enabled")?;
    let arn = p
        .get("ClientConnectOptions.LambdaFunctionArn")
        .filter(|a| !a.is_empty());
    if enabled {
        let arn = arn.ok_or_else(|| ApiError::missing("ClientConnectOptions.LambdaFunctionArn"))?;
        if function_name(arn).is_none() {
            return Err(ApiError::invalid_value(format!(
                "Invalid Lambda function ARN {arn}: the function name must begin with {HANDLER_PREFIX}"
            )));
        }
    }
    dry_run(p)?;
    endpoint.meta.client_connect_options = Some(ClientConnectOptions {
        enabled,
        lambda_function_arn: arn.map(str::to_owned),
    });
    let mut xml = Xml::response("ModifyClientVpnEndpoint", ctx.request_id);
    xml.leaf("return", "true");
    Ok(xml.finish())
}

/// The function name of a handler ARN (`arn:…:lambda:REGION:ACCOUNT:function:AWSClientVPN-…`,
/// optionally with a version or alias, which Client VPN supports).
pub fn function_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name]
        | ["arn", _, "lambda", _, _, "function", name, _]
            if name.starts_with(HANDLER_PREFIX) =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// A client trying to connect (`POST /_emulator/endpoints/{id}/connect`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectAttempt {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub common_name: Option<String>,
    /// The address the client gets inside the tunnel; one from the client CIDR when absent.
    #[serde(default)]
    pub client_ip: Option<String>,
    #[serde(default)]
    pub public_ip: Option<String>,
}

/// What became of an attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResult {
    pub allowed: bool,
    pub connection_id: String,
    /// Why it was refused, as Client VPN's connection log says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where the emulator reaches Lambda: `url` serves the Invoke API (`cargo lambda watch`'s invoke
/// port); `function` replaces the ARN's function name (a local Runtime API serves functions by
/// binary name).
#[derive(Clone, Debug)]
pub struct LambdaOptions {
    pub url: Option<String>,
    pub function: Option<String>,
    /// Client VPN waits at most 30 seconds.
    pub timeout: Duration,
}

impl Default for LambdaOptions {
    fn default() -> Self {
        Self {
            url: None,
            function: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The handler's verdict: `Ok(None)` allows; `Ok(Some((reason, message)))` refuses.
pub type Verdict = Result<Option<(String, Option<String>)>, String>;

/// Calls the handler `arn` with `request` and applies Client VPN's rules to what comes back.
/// `Err` when the emulator cannot call at all (no `--lambda-url`): a test's mistake, not a refusal.
pub async fn ask(lambda: &LambdaOptions, arn: &str, request: &Value) -> Verdict {
    let url = lambda.url.as_deref().ok_or_else(|| {
        format!("the endpoint's connect handler is {arn}, but the emulator was started without --lambda-url")
    })?;
    let name = lambda
        .function
        .as_deref()
        .or_else(|| function_name(arn))
        .ok_or_else(|| format!("{arn} is not a connect handler ARN"))?;
    let uri = format!(
        "{}/2015-03-31/functions/{name}/invocations",
        url.trim_end_matches('/')
    );
    let call = hyper::Request::post(&uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(request.to_string())))
        .map_err(|e| format!("{uri}: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let refused = |reason: &str| Ok(Some((reason.to_owned(), None)));
    let answer = match tokio::time::timeout(lambda.timeout, async {
        let response = client.request(call).await?;
        let status = response.status();
        let failed = response.headers().contains_key("x-amz-function-error");
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, failed, body))
    })
    .await
    {
        Err(_) => return refused("client-connect-handler-timed-out"),
        Ok(Err(_)) => return refused("client-connect-handler-service-error"),
        Ok(Ok((status, _, _))) if status.as_u16() == 429 => {
            return refused("client-connect-handler-throttled")
        }
        Ok(Ok((status, failed, _))) if failed || !status.is_success() => {
            return refused("client-connect-handler-other-execution-error")
        }
        Ok(Ok((_, _, body))) => body,
    };
    match validate(&answer) {
        None => refused("client-connect-handler-invalid-response"),
        Some((true, _)) => Ok(None),
        Some((false, message)) => Ok(Some(("client-connect-failed".into(), Some(message)))),
    }
}

/// `(allow, message)` when `body` is a handler response as Client VPN requires it: every field
/// present, a message of at most 255 characters, at most 10 posture statuses, schema `v1`.
fn validate(body: &[u8]) -> Option<(bool, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let allow = v.get("allow")?.as_bool()?;
    let message = v.get("error-msg-on-failed-posture-compliance")?.as_str()?;
    let statuses = v.get("posture-compliance-statuses")?.as_array()?;
    let schema = v.get("schema-version")?.as_str()?;
    let valid = message.chars().count() <= 255
        && statuses.len() <= 10
        && statuses.iter().all(Value::is_string)
        && schema == "v1";
    valid.then(|| (allow, message.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_as_client_vpn_checks_them() {
        let ok = br#"{"allow": true, "error-msg-on-failed-posture-compliance": "",
            "posture-compliance-statuses": [], "schema-version": "v1"}"#;
        assert_eq!(validate(ok), Some((true, String::new())));
        let deny = br#"{"allow": false, "error-msg-on-failed-posture-compliance": "no",
            "posture-compliance-statuses": [], "schema-version": "v1"}"#;
        assert_eq!(validate(deny), Some((false, "no".into())));
        for bad in [
            &br#"{"allow": true}"#[..],
            br#"{"allow": "true", "error-msg-on-failed-posture-compliance": "", "posture-compliance-statuses": [], "schema-version": "v1"}"#,
            br#"{"allow": true, "error-msg-on-failed-posture-compliance": "", "posture-compliance-statuses": [], "schema-version": "v2"}"#,
            br#"{"allow": true, "error-msg-on-failed-posture-compliance": null, "posture-compliance-statuses": [], "schema-version": "v1"}"#,
            b"not json",
        ] {
            assert_eq!(validate(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let long = format!(
            r#"{{"allow": false, "error-msg-on-failed-posture-compliance": "{}", "posture-compliance-statuses": [], "schema-version": "v1"}}"#,
            "x".repeat(256)
        );
        assert_eq!(validate(long.as_bytes()), None);
    }

    #[test]
    fn only_handler_names_are_accepted() {
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn"),
            Some("AWSClientVPN-cvpn")
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn:live"),
            Some("AWSClientVPN-cvpn")
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:111122223333:function:cvpn"),
            None
        );
        assert_eq!(function_name("AWSClientVPN-cvpn"), None);
    }
}
