//! Why a request over the Function URL changed nothing, and how each way in says so: Global Token
//! Revocation with HTTP statuses (draft-parecki-oauth-global-token-revocation), Shared Signals push
//! with `400` and RFC 8935's `err` codes. Pure.

use super::Route;
use serde_json::{json, Value};

/// Why a request was refused, as one fixed set every way in maps from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// No such path (or the ways in are not configured).
    NotFound,
    /// A method other than POST.
    Method,
    /// A body over [`super::MAX_BODY_BYTES`].
    TooLarge,
    /// The token, the body or a claim cannot be read as what it must be.
    Malformed,
    /// The subject identifier is malformed or of a format not taken.
    Subject,
    /// The signature does not verify, or the algorithm is not a public-key one the key fits.
    Signature,
    /// No key of the issuer's key set has the token's `kid`, even after fetching it again.
    UnknownKey,
    Issuer,
    Audience,
    Expired,
    NotYet,
    /// The token's `jti` was taken before.
    Replayed,
    /// The issuer's keys could not be fetched: nothing can be verified now, so try again.
    KeysUnavailable,
    /// The `jti` record could not be written: the token cannot be taken only once.
    StoreUnavailable,
    /// Another invocation is acting on the same token now: its retry is answered from what that
    /// one did.
    InProgress,
    /// An answer that Lambda's IAM auth did not sign for: no verified caller.
    Unsigned,
    /// An answer the request's state refuses (denied, expired, carried out, the subject's own).
    Refused,
}

impl Why {
    /// The name log lines give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Method => "method_not_allowed",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Subject => "bad_subject",
            Self::Signature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::Issuer => "wrong_issuer",
            Self::Audience => "wrong_audience",
            Self::Expired => "expired",
            Self::NotYet => "not_yet_valid",
            Self::Replayed => "replayed",
            Self::KeysUnavailable => "keys_unavailable",
            Self::StoreUnavailable => "store_unavailable",
            Self::InProgress => "in_progress",
            Self::Unsigned => "unsigned",
            Self::Refused => "refused",
        }
    }

    /// Whether the token did not prove who sent it (as against a request that did, but asked
    /// for something malformed).
    fn unauthenticated(self) -> bool {
        matches!(
            self,
            Self::Signature
                | Self::UnknownKey
                | Self::Issuer
                | Self::Audience
                | Self::Expired
                | Self::NotYet
                | Self::Replayed
        )
    }

    /// RFC 8935 section 2.4's error code.
    fn err(self) -> &'static str {
        match self {
            Self::UnknownKey => "invalid_key",
            Self::Issuer => "invalid_issuer",
            Self::Audience => "invalid_audience",
            Self::Signature | Self::Expired | Self::NotYet => "authentication_failed",
            _ => "invalid_request",
        }
    }
}

/// A refusal: why, and what exactly was wrong (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub why: Why,
    pub detail: String,
}

impl Refusal {
    pub fn new(why: Why, detail: impl Into<String>) -> Self {
        Self {
            why,
            detail: detail.into(),
        }
    }
}

/// An HTTP answer, as the Function URL sends it back (payload format 2.0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl HttpAnswer {
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: Some(body),
        }
    }

    /// The Function URL's response object.
    pub fn to_value(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            headers.insert((*name).into(), Value::String(value.clone()));
        }
        json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body.as_ref().map(Value::to_string).unwrap_or_default(),
            "isBase64Encoded": false,
        })
    }
}

/// How `route` says `refusal`.
pub fn answer(route: Route, refusal: &Refusal) -> HttpAnswer {
    let why = refusal.why;
    let transport = match why {
        Why::NotFound => Some(404),
        Why::Method => Some(405),
        Why::TooLarge => Some(413),
        Why::KeysUnavailable | Why::StoreUnavailable | Why::InProgress => Some(503),
        _ => None,
    };
    if let Some(status) = transport {
        let mut out = HttpAnswer::json(status, json!({"error": why.as_str()}));
        if status == 405 {
            out.headers.push(("allow", "POST".into()));
        }
        if status == 503 {
            out.headers.push(("retry-after", "60".into()));
        }
        return out;
    }
    match route {
        Route::GlobalTokenRevocation if why.unauthenticated() || why == Why::Malformed => {
            let mut out = HttpAnswer::json(401, json!({"error": "invalid_token"}));
            out.headers
                .push(("www-authenticate", "Bearer error=\"invalid_token\"".into()));
            out
        }
        Route::GlobalTokenRevocation => HttpAnswer::json(400, json!({"error": "invalid_request"})),
        Route::SsfEvents => HttpAnswer::json(
            400,
            json!({"err": why.err(), "description": refusal.detail}),
        ),
        // The caller is a person who signed: what was wrong is theirs to read.
        Route::Answer => {
            let status = match why {
                Why::Unsigned => 403,
                Why::Refused => 409,
                _ => 400,
            };
            HttpAnswer::json(
                status,
                json!({"error": why.as_str(), "description": refusal.detail}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(route: Route, why: Why) -> u16 {
        answer(route, &Refusal::new(why, "d")).status
    }

    #[test]
    fn global_token_revocation_says_401_for_any_token_fault_and_400_for_a_subject() {
        let gtr = Route::GlobalTokenRevocation;
        for why in [
            Why::Malformed,
            Why::Signature,
            Why::UnknownKey,
            Why::Issuer,
            Why::Audience,
            Why::Expired,
            Why::NotYet,
            Why::Replayed,
        ] {
            assert_eq!(status(gtr, why), 401, "{why:?}");
        }
        assert_eq!(status(gtr, Why::Subject), 400);
        let a = answer(gtr, &Refusal::new(Why::Signature, "d"));
        assert!(a.headers.iter().any(|(h, _)| *h == "www-authenticate"));
    }

    #[test]
    fn shared_signals_say_400_with_rfc_8935_codes() {
        let ssf = Route::SsfEvents;
        let err = |why| {
            let a = answer(ssf, &Refusal::new(why, "what"));
            assert_eq!(a.status, 400);
            let body = a.body.unwrap();
            assert_eq!(body["description"], "what");
            body["err"].as_str().unwrap().to_owned()
        };
        assert_eq!(err(Why::UnknownKey), "invalid_key");
        assert_eq!(err(Why::Issuer), "invalid_issuer");
        assert_eq!(err(Why::Audience), "invalid_audience");
        assert_eq!(err(Why::Signature), "authentication_failed");
        assert_eq!(err(Why::Malformed), "invalid_request");
        assert_eq!(err(Why::Replayed), "invalid_request");
    }

    #[test]
    fn transport_faults_are_plain_http() {
        for route in [Route::GlobalTokenRevocation, Route::SsfEvents] {
            assert_eq!(status(route, Why::TooLarge), 413);
            assert_eq!(status(route, Why::NotFound), 404);
            assert_eq!(status(route, Why::Method), 405);
            assert_eq!(status(route, Why::KeysUnavailable), 503);
        }
        let v = HttpAnswer::empty(204).to_value();
        assert_eq!(v["statusCode"], 204);
        assert_eq!(v["body"], "");
    }
}
