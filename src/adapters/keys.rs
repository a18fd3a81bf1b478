//! Fetching an identity provider's signing keys (its JWKS document) over HTTPS, with hyper and
//! rustls (already in the tree through the AWS SDK's HTTP client): a bounded body, a timeout, no
//! redirects (a redirect could lead to plain HTTP). Which URLs are allowed is the config's
//! (`signal::token::jwks_url`).

use crate::domain::model::ApiError;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// The largest key set read.
const MAX_BYTES: usize = 256 * 1024;

fn failed(code: &str, message: String) -> ApiError {
    ApiError {
        code: code.into(),
        message,
    }
}

/// The document at `url`, or why it could not be read within `timeout`.
pub async fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, ApiError> {
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| failed("KeysFetchFailed", format!("no TLS roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(tls);
    let request = http::Request::get(url)
        .header("accept", "application/jwk-set+json, application/json")
        .body(Empty::new())
        .map_err(|e| failed("KeysFetchFailed", format!("CVPN_SIGNAL_JWKS_URL: {e}")))?;
    let read = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| failed("KeysFetchFailed", format!("CVPN_SIGNAL_JWKS_URL: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(
                "KeysFetchFailed",
                format!("CVPN_SIGNAL_JWKS_URL answered HTTP {}", status.as_u16()),
            ));
        }
        let body = Limited::new(response.into_body(), MAX_BYTES)
            .collect()
            .await
            .map_err(|e| failed("KeysFetchFailed", format!("CVPN_SIGNAL_JWKS_URL: {e}")))?;
        Ok(body.to_bytes().to_vec())
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(failed(
            "KeysFetchTimeout",
            format!("CVPN_SIGNAL_JWKS_URL did not answer within {timeout:?}"),
        )),
    }
}
