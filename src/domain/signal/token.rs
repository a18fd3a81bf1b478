//! What a signed token must be before its word is taken: an asymmetric algorithm the key's type
//! fits, the issuer and audience the settings name, times within the clock skew, and a `jti`.
//! The signature itself is checked by the `jsonwebtoken` crate (`shell/signal/keys.rs`); the
//! clock is the caller's (`now`, epoch seconds). Pure.

use super::refusal::{Refusal, Why};
use serde_json::Value;
use std::time::Duration;

/// The algorithms a token may be signed with: public-key ones only. `none` says nothing, and an
/// HMAC token "signed" with the IdP's public key as its secret is the classic forgery, since the
/// public key is public.
pub const ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The passes_until token without an `exp` that is still taken, and how long a `jti` is remembered past
/// a token's end: a Security Event Token usually carries no `exp` (RFC 8417 section 2.2), and a
/// token older than this could have had its `jti` forgotten.
pub const MAX_AGE_SECONDS: i64 = 24 * 60 * 60;

/// How long a fetched key set is used before it is fetched again (a key the IdP withdrew stops
/// being trusted within this), and how often at most a token naming a key the set does not hold
/// has it fetched again.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(60 * 60);
pub const REFETCH_EVERY: Duration = Duration::from_secs(60);

/// What the cached key set is, when a token arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeysAge {
    /// Since it was fetched; `None` when it never was.
    pub fetched: Option<Duration>,
    /// Since an unknown key ID last had it fetched again.
    pub refetched: Option<Duration>,
    /// Since fetching it last failed.
    pub failed: Option<Duration>,
    /// Whether it holds a key for the token.
    pub known: bool,
}

/// What to do with the key set for a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeysNow {
    /// Use the set held.
    Use,
    /// Fetch it: it is missing or old (`for_unknown_kid: false`), or the token names a key it
    /// does not hold.
    Fetch { for_unknown_kid: bool },
    /// The last fetch failed within [`REFETCH_EVERY`] and the set held cannot answer (missing,
    /// old, or without the token's key): nothing can be verified now (the IdP retries), and the
    /// IdP is not asked again yet.
    Unavailable,
}

/// Whether to fetch the key set again. At most once a [`REFETCH_EVERY`] for a failed fetch or an
/// unknown key ID, whatever tokens arrive: a flood of invented key IDs, or an IdP that does not
/// answer, never has the function hammer it.
pub fn refetch(age: &KeysAge) -> KeysNow {
    let recent = |since: Option<Duration>| since.is_some_and(|s| s < REFETCH_EVERY);
    let usable = age.fetched.is_some_and(|f| f < KEYS_MAX_AGE);
    match (usable, age.known) {
        (false, _) if recent(age.failed) => KeysNow::Unavailable,
        (false, _) => KeysNow::Fetch {
            for_unknown_kid: false,
        },
        (true, true) => KeysNow::Use,
        // Whether the IdP rotated to this key cannot be told now: it retries.
        (true, false) if recent(age.failed) => KeysNow::Unavailable,
        (true, false) if recent(age.refetched) => KeysNow::Use,
        (true, false) => KeysNow::Fetch {
            for_unknown_kid: true,
        },
    }
}

/// Whether a key of JWK type `kty` (curve `crv`) can check a token signed with `alg`.
pub fn fits(alg: &str, kty: &str, crv: Option<&str>) -> bool {
    match (alg, kty) {
        ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512", "RSA") => true,
        ("ES256", "EC") => crv == Some("P-256"),
        ("ES384", "EC") => crv == Some("P-384"),
        ("EdDSA", "OKP") => crv == Some("Ed25519"),
        _ => false,
    }
}

/// Whether keys may be fetched from `url`: over HTTPS, or plain HTTP to a loopback address only
/// (tests and local try-out), since keys fetched in the clear could be anyone's.
pub fn jwks_url(url: &str) -> Result<(), String> {
    if let Some(rest) = url.strip_prefix("https://") {
        return match rest.split('/').next() {
            Some(host) if !host.is_empty() => Ok(()),
            _ => Err(format!("`{url}` names no host")),
        };
    }
    let host = url.strip_prefix("http://").map(|rest| {
        let authority = rest.split('/').next().unwrap_or_default();
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        }
    });
    match host {
        Some(h)
            if h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()) =>
        {
            Ok(())
        }
        Some(_) => Err(format!(
            "`{url}`: keys are fetched over https://; plain http:// only from a loopback address"
        )),
        None => Err(format!("`{url}` is not an https:// URL")),
    }
}

/// What the settings say a token must be.
#[derive(Clone, Debug)]
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// `CVPN_MAX_CLOCK_SKEW_SECONDS`.
    pub skew: i64,
    pub now: i64,
    /// The Global Token Revocation request's bearer token must end (`exp`); a Security Event
    /// Token need not.
    pub needs_exp: bool,
}

/// A token whose claims were taken: its `jti`, and until when that must be remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub jti: String,
    pub issued_at: i64,
    /// Epoch seconds after which the token is refused whatever its `jti`.
    pub remember_until: i64,
}

/// Checks a verified token's claims against `expect`.
pub fn check(claims: &Value, expect: &Expect) -> Result<Checked, Refusal> {
    let refuse = |why, detail: String| Err(Refusal::new(why, detail));
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == expect.issuer => {}
        Some(_) => return refuse(Why::Issuer, "iss is not CVPN_SIGNAL_ISSUER".into()),
        None => return refuse(Why::Issuer, "the token has no iss".into()),
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expect.audience) {
        return refuse(
            Why::Audience,
            "aud does not contain CVPN_SIGNAL_AUDIENCE".into(),
        );
    }
    let time = |name: &str| -> Result<Option<i64>, Refusal> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| Refusal::new(Why::Malformed, format!("{name} is not a number"))),
        }
    };
    let (now, skew) = (expect.now, expect.skew);
    let Some(iat) = time("iat")? else {
        return refuse(Why::Malformed, "the token has no iat".into());
    };
    if iat > now.saturating_add(skew) {
        return refuse(Why::NotYet, "iat is in the future".into());
    }
    if let Some(nbf) = time("nbf")? {
        if nbf > now.saturating_add(skew) {
            return refuse(Why::NotYet, "nbf is in the future".into());
        }
    }
    // The last moment the token could pass; saturating, as a signed number can be anything.
    let passes_until = iat.saturating_add(MAX_AGE_SECONDS).saturating_add(skew);
    let exp = time("exp")?;
    let remember_until = match exp {
        Some(exp) if exp.saturating_add(skew) < now => {
            return refuse(Why::Expired, "exp has passed".into())
        }
        Some(exp) => exp.saturating_add(skew).min(passes_until),
        None if expect.needs_exp => {
            return refuse(Why::Malformed, "the bearer token has no exp".into())
        }
        None => passes_until,
    };
    if passes_until < now {
        return refuse(
            Why::Expired,
            format!("iat is more than {MAX_AGE_SECONDS} s ago"),
        );
    }
    let jti = match claims.get("jti").and_then(Value::as_str).map(str::trim) {
        Some(j) if !j.is_empty() && j.len() <= 256 && !j.chars().any(char::is_control) => j,
        _ => return refuse(Why::Malformed, "the token has no usable jti".into()),
    };
    Ok(Checked {
        jti: jti.to_owned(),
        issued_at: iat,
        remember_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn expect(needs_exp: bool) -> Expect<'static> {
        Expect {
            issuer: "https://idp.example.com",
            audience: "https://vpn.example.com/ssf",
            skew: 60,
            now: NOW,
            needs_exp,
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://idp.example.com", "aud": ["x", "https://vpn.example.com/ssf"],
               "iat": NOW - 10, "exp": NOW + 300, "jti": "j-1"})
    }

    fn why(c: Value, needs_exp: bool) -> Option<Why> {
        check(&c, &expect(needs_exp)).err().map(|r| r.why)
    }

    fn with(key: &str, value: Value) -> Value {
        let mut c = claims();
        c[key] = value;
        c
    }

    fn without(key: &str) -> Value {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(key);
        c
    }

    #[test]
    fn a_good_token_is_remembered_until_it_ends() {
        let ok = check(&claims(), &expect(true)).unwrap();
        assert_eq!(ok.jti, "j-1");
        assert_eq!(ok.remember_until, NOW + 300 + 60);
        let set = check(&without("exp"), &expect(false)).unwrap();
        assert_eq!(set.remember_until, NOW - 10 + MAX_AGE_SECONDS + 60);
        // A far-off exp is remembered no longer than the longest age.
        let long = check(
            &with("exp", json!(NOW + 10 * MAX_AGE_SECONDS)),
            &expect(true),
        )
        .unwrap();
        assert_eq!(long.remember_until, NOW - 10 + MAX_AGE_SECONDS + 60);
    }

    #[test]
    fn the_issuer_and_audience_are_the_settings() {
        assert_eq!(
            why(with("iss", json!("https://evil.example")), true),
            Some(Why::Issuer)
        );
        assert_eq!(why(without("iss"), true), Some(Why::Issuer));
        assert_eq!(why(with("aud", json!("other")), true), Some(Why::Audience));
        assert_eq!(why(without("aud"), true), Some(Why::Audience));
        assert_eq!(
            why(with("aud", json!("https://vpn.example.com/ssf")), true),
            None
        );
        // Close is not the same.
        assert_eq!(
            why(with("aud", json!("https://vpn.example.com/ssf/")), true),
            Some(Why::Audience)
        );
    }

    #[test]
    fn times_hold_within_the_skew() {
        assert_eq!(why(with("exp", json!(NOW - 61)), true), Some(Why::Expired));
        assert_eq!(why(with("exp", json!(NOW - 59)), true), None);
        assert_eq!(why(with("iat", json!(NOW + 61)), true), Some(Why::NotYet));
        assert_eq!(why(with("iat", json!(NOW + 59)), true), None);
        assert_eq!(why(with("nbf", json!(NOW + 61)), true), Some(Why::NotYet));
        assert_eq!(why(without("iat"), true), Some(Why::Malformed));
        assert_eq!(why(with("iat", json!("soon")), true), Some(Why::Malformed));
        assert_eq!(why(without("exp"), true), Some(Why::Malformed));
        assert_eq!(why(without("exp"), false), None);
        let old = with("iat", json!(NOW - MAX_AGE_SECONDS - 61));
        let mut old_set = old.clone();
        old_set.as_object_mut().unwrap().remove("exp");
        assert_eq!(why(old_set, false), Some(Why::Expired));
    }

    #[test]
    fn numbers_at_the_edges_neither_overflow_nor_pass() {
        assert_eq!(why(with("exp", json!(i64::MAX)), true), None);
        assert_eq!(why(with("exp", json!(1e300)), true), None);
        assert_eq!(why(with("exp", json!(i64::MIN)), true), Some(Why::Expired));
        assert_eq!(why(with("iat", json!(i64::MAX)), true), Some(Why::NotYet));
        assert_eq!(why(with("iat", json!(i64::MIN)), true), Some(Why::Expired));
        assert_eq!(why(with("nbf", json!(-1e300)), true), None);
        assert_eq!(
            why(with("iat", json!(f64::NAN.to_string())), true),
            Some(Why::Malformed)
        );
    }

    #[test]
    fn a_token_needs_a_jti() {
        assert_eq!(why(without("jti"), true), Some(Why::Malformed));
        assert_eq!(why(with("jti", json!(" ")), true), Some(Why::Malformed));
        assert_eq!(why(with("jti", json!(7)), true), Some(Why::Malformed));
        assert_eq!(why(with("jti", json!("a\nb")), true), Some(Why::Malformed));
    }

    #[test]
    fn an_unknown_key_fetches_the_set_again_at_most_once_a_minute() {
        let age =
            |fetched: Option<u64>, refetched: Option<u64>, failed: Option<u64>, known| KeysAge {
                fetched: fetched.map(Duration::from_secs),
                refetched: refetched.map(Duration::from_secs),
                failed: failed.map(Duration::from_secs),
                known,
            };
        let fetch = |for_unknown_kid| KeysNow::Fetch { for_unknown_kid };
        assert_eq!(refetch(&age(Some(10), None, None, true)), KeysNow::Use);
        assert_eq!(refetch(&age(Some(10), None, None, false)), fetch(true));
        assert_eq!(refetch(&age(Some(10), Some(59), None, false)), KeysNow::Use);
        assert_eq!(refetch(&age(Some(10), Some(60), None, false)), fetch(true));
        assert_eq!(refetch(&age(Some(3600), Some(1), None, true)), fetch(false));
        assert_eq!(
            refetch(&age(Some(3600), Some(1), None, false)),
            fetch(false)
        );
        assert_eq!(refetch(&age(None, None, None, false)), fetch(false));
        // A failed fetch counts against the minute, for a missing, an old or an unknown key.
        assert_eq!(
            refetch(&age(None, None, Some(59), false)),
            KeysNow::Unavailable
        );
        assert_eq!(refetch(&age(None, None, Some(60), false)), fetch(false));
        assert_eq!(
            refetch(&age(Some(3600), None, Some(5), true)),
            KeysNow::Unavailable
        );
        assert_eq!(
            refetch(&age(Some(10), None, Some(5), false)),
            KeysNow::Unavailable
        );
        assert_eq!(refetch(&age(Some(10), None, Some(5), true)), KeysNow::Use);
    }

    #[test]
    fn keys_come_over_https_or_from_this_machine() {
        for ok in [
            "https://idp.example.com/oauth2/v1/keys",
            "http://127.0.0.1:8080/jwks",
            "http://[::1]:9/k",
        ] {
            assert_eq!(jwks_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://idp.example.com/keys",
            "http://127.0.0.1.evil.example/keys",
            "http://localhost/keys",
            "https:///keys",
            "ftp://idp.example.com",
            "idp.example.com",
        ] {
            assert!(jwks_url(bad).unwrap_err().contains(bad), "{bad}");
        }
    }

    #[test]
    fn only_public_key_algorithms_fit_their_keys() {
        assert!(fits("RS256", "RSA", None));
        assert!(fits("ES256", "EC", Some("P-256")));
        assert!(!fits("ES256", "EC", Some("P-384")));
        assert!(!fits("ES256", "RSA", None));
        assert!(fits("EdDSA", "OKP", Some("Ed25519")));
        for alg in ["HS256", "HS384", "HS512", "none", "None", ""] {
            assert!(!ALGORITHMS.contains(&alg));
            for kty in ["RSA", "EC", "OKP", "oct"] {
                assert!(!fits(alg, kty, Some("P-256")), "{alg} {kty}");
            }
        }
    }
}
