//! The standards' ways in, over a Lambda Function URL (payload format 2.0): Global Token
//! Revocation (`POST /global-token-revocation`, draft-parecki-oauth-global-token-revocation, as
//! Okta's Universal Logout sends it) and Shared Signals push delivery (`POST /ssf/events`, RFC 8935
//! Security Event Tokens). Anyone can reach the URL: only a token the configured issuer signed
//! speaks, and what it says is read here once the signature is checked (`token.rs`,
//! `subject.rs`). On the answers' own function (`AWS_IAM`), `POST /approvals` is a person's answer
//! to a request for approval, as the caller Lambda verified (`caller`). How each way in answers is
//! `refusal.rs`. Pure.

pub mod refusal;
pub mod subject;
pub mod token;

use crate::domain::json::At;
use base64::Engine;
use refusal::{Refusal, Why};

/// The largest body read: a token and a subject are a few kilobytes; a megabyte is not a signal.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The paths the Function URL answers.
pub const GTR_PATH: &str = "/global-token-revocation";
pub const SSF_PATH: &str = "/ssf/events";
pub const ANSWER_PATH: &str = "/approvals";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    GlobalTokenRevocation,
    SsfEvents,
    /// A person's answer to a request for approval, signed with SigV4.
    Answer,
}

impl Route {
    /// The name responses and log lines give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GlobalTokenRevocation => "global_token_revocation",
            Self::SsfEvents => "ssf_events",
            Self::Answer => "approval_answer",
        }
    }
}

/// A Function URL request, as far as this function reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The way in, or why the request is refused before any token is looked at.
    pub route: Result<Route, (Route, Refusal)>,
    /// The `Authorization` header's bearer token.
    pub bearer: Option<String>,
    /// The `Content-Type`, lowercased, without parameters.
    pub content_type: Option<String>,
    /// The body's bytes (base64-decoded when the Function URL encoded them).
    pub body: Vec<u8>,
    /// The IAM identity whose SigV4 signature Lambda verified (`requestContext.authorizer.iam.
    /// userArn`): present only behind an `AWS_IAM` Function URL, which a client cannot forge.
    pub caller: Option<String>,
}

/// Whether the event is a Function URL (or API Gateway HTTP API) request, payload format 2.0.
pub fn looks_like(root: &At) -> bool {
    root.get("version").and_then(|v| v.value.as_str()) == Some("2.0")
        && root
            .get("requestContext")
            .and_then(|c| c.get("http"))
            .and_then(|h| h.get("method"))
            .is_some()
}

/// Reads the request. It never fails: whatever it is, it is answered over HTTP.
pub fn decode(root: &At) -> Request {
    let text = |at: Option<At>| at.and_then(|a| a.value.as_str().map(str::to_owned));
    let http = root.get("requestContext").and_then(|c| c.get("http"));
    let method = text(http.as_ref().and_then(|h| h.get("method"))).unwrap_or_default();
    let path = text(root.get("rawPath"))
        .or_else(|| text(http.as_ref().and_then(|h| h.get("path"))))
        .unwrap_or_default();
    let header = |name: &str| -> Option<String> {
        let headers = root.get("headers")?;
        let object = headers.value.as_object()?;
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    };
    let route = match path.trim_end_matches('/') {
        GTR_PATH => Ok(Route::GlobalTokenRevocation),
        SSF_PATH => Ok(Route::SsfEvents),
        ANSWER_PATH => Ok(Route::Answer),
        _ => Err((
            Route::GlobalTokenRevocation,
            Refusal::new(Why::NotFound, "no such path"),
        )),
    };
    let raw = text(root.get("body")).unwrap_or_default();
    let encoded = root.get("isBase64Encoded").and_then(|b| b.value.as_bool()) == Some(true);
    // Base64 is 4/3 of the bytes: a body far over the limit is refused before it is decoded.
    let body = if raw.len() > MAX_BODY_BYTES * 4 / 3 + 4 {
        Err(Why::TooLarge)
    } else if encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw.as_bytes())
            .map_err(|_| Why::Malformed)
    } else {
        Ok(raw.into_bytes())
    };
    let route = route.and_then(|r| {
        let refuse = |why, detail: &str| Err((r, Refusal::new(why, detail)));
        match &body {
            _ if !method.eq_ignore_ascii_case("POST") => refuse(Why::Method, "only POST"),
            Err(Why::TooLarge) => refuse(Why::TooLarge, "the body is over 64 KiB"),
            Err(_) => refuse(Why::Malformed, "the body is not valid base64"),
            Ok(b) if b.len() > MAX_BODY_BYTES => refuse(Why::TooLarge, "the body is over 64 KiB"),
            Ok(_) => Ok(r),
        }
    });
    let bearer = header("authorization").and_then(|a| {
        let (scheme, token) = a.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    });
    let content_type = header("content-type").map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let caller = text(
        root.get("requestContext")
            .and_then(|c| c.get("authorizer"))
            .and_then(|a| a.get("iam"))
            .and_then(|i| i.get("userArn")),
    )
    .filter(|arn| !arn.trim().is_empty());
    Request {
        route,
        bearer,
        content_type,
        body: body.unwrap_or_default(),
        caller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn request(path: &str, method: &str, body: Value, encoded: bool) -> Request {
        let event = json!({"version": "2.0", "rawPath": path,
            "headers": {"Authorization": "Bearer t.o.k", "content-type": "application/secevent+jwt; charset=utf-8"},
            "requestContext": {"http": {"method": method, "path": path}},
            "body": body, "isBase64Encoded": encoded});
        assert!(looks_like(&At::root(&event)));
        decode(&At::root(&event))
    }

    #[test]
    fn a_request_is_read_whatever_it_is() {
        let r = request(SSF_PATH, "POST", json!("a.b.c"), false);
        assert_eq!(r.route, Ok(Route::SsfEvents));
        assert_eq!(r.bearer.as_deref(), Some("t.o.k"));
        assert_eq!(r.content_type.as_deref(), Some("application/secevent+jwt"));
        assert_eq!(r.body, b"a.b.c");
        let r = request("/global-token-revocation/", "post", json!("e30="), true);
        assert_eq!(r.route, Ok(Route::GlobalTokenRevocation));
        assert_eq!(r.body, b"{}");
        let why = |r: Request| r.route.unwrap_err().1.why;
        assert_eq!(
            why(request("/other", "POST", json!(""), false)),
            Why::NotFound
        );
        assert_eq!(why(request(SSF_PATH, "GET", json!(""), false)), Why::Method);
        assert_eq!(
            why(request(SSF_PATH, "POST", json!("*"), true)),
            Why::Malformed
        );
        let big = "a".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(
            why(request(SSF_PATH, "POST", json!(big), false)),
            Why::TooLarge
        );
        let huge = "a".repeat(1 << 20);
        assert_eq!(
            why(request(SSF_PATH, "POST", json!(huge), true)),
            Why::TooLarge
        );
        assert!(!looks_like(&At::root(&json!({"version": "2.0"}))));
    }
}
