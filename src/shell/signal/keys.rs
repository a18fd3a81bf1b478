//! Verifying a token the IdP signed: its header (a public-key algorithm, the type its way in
//! expects, no critical extensions), its signature with the `jsonwebtoken` crate against a key of
//! the issuer's key set, then its claims (`domain/signal/token.rs`). The key set is cached for the
//! process's life (Lambda keeps it between invocations) and fetched again when it is old, or at
//! most once a minute when a token names a key it does not hold: a rotated key is found, and a
//! flood of invented key IDs cannot make the function hammer the IdP. Key IDs are never logged.

use crate::adapters::keys::fetch;
use crate::domain::json::parse::{parse, Parsed};
use crate::domain::signal::refusal::{Refusal, Why};
use crate::domain::signal::token::{
    self, fits, refetch, Checked, Expect, KeysAge, KeysNow, ALGORITHMS,
};
use base64::Engine;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long fetching the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// One usable key of the set.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    kty: String,
    crv: Option<String>,
    alg: Option<String>,
    key: DecodingKey,
}

struct Cached {
    url: String,
    keys: Vec<Key>,
    /// When the keys were fetched; `None` until they were.
    fetched: Option<Instant>,
    /// When an unknown key ID last had the set fetched again.
    refetched: Option<Instant>,
    /// When fetching the set last failed.
    failed: Option<Instant>,
}

static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// The `typ` header a way in expects: a Security Event Token must say it is one (RFC 8417 section
/// 2.3), so that no other token the IdP signed can pass for one; a revocation request's token may
/// say nothing, or what Okta's says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typ {
    SecurityEvent,
    Revocation,
}

impl Typ {
    fn fits(self, typ: Option<&str>) -> bool {
        let typ = typ.map(|t| t.to_ascii_lowercase());
        let typ = typ
            .as_deref()
            .map(|t| t.strip_prefix("application/").unwrap_or(t));
        match self {
            Self::SecurityEvent => typ == Some("secevent+jwt"),
            Self::Revocation => typ.is_none_or(|t| t == "global-token-revocation+jwt"),
        }
    }
}

/// A verified token's claims.
pub struct Verified {
    pub claims: Value,
    pub checked: Checked,
}

fn refuse<T>(why: Why, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::new(why, detail))
}

/// The header's `alg` and `kid`, once it is one this function takes.
fn header(token: &str, typ: Typ) -> Result<(String, Option<String>), Refusal> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return refuse(
            Why::Malformed,
            "not a signed JWT (three dot-separated parts)",
        );
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0].trim_end_matches('='))
        .map_err(|_| Refusal::new(Why::Malformed, "the header is not base64url"))?;
    let header =
        parse(&raw).map_err(|e| Refusal::new(Why::Malformed, format!("header: {}", e.message)))?;
    let text = |name: &str| header.get(name).and_then(Value::as_str).map(str::to_owned);
    let alg = text("alg").unwrap_or_default();
    if !ALGORITHMS.contains(&alg.as_str()) {
        return refuse(
            Why::Signature,
            format!(
                "alg `{}` is not a public-key algorithm this function takes",
                alg.chars().take(16).collect::<String>()
            ),
        );
    }
    if header.get("crit").is_some() {
        return refuse(
            Why::Malformed,
            "the header names critical extensions, which are not understood",
        );
    }
    if !typ.fits(text("typ").as_deref()) {
        return refuse(
            Why::Malformed,
            "the header's typ is not this way in's token type",
        );
    }
    Ok((alg, text("kid")))
}

/// The usable keys of a JWKS document: public keys of a type an algorithm here fits, for
/// signing. A symmetric (`oct`) key is never one.
fn keys_of(document: &[u8]) -> Result<Vec<Key>, String> {
    let set = parse(document).map_err(|e| format!("the key set is not JSON: {}", e.message))?;
    let listed = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the key set has no keys list")?;
    let mut keys = Vec::new();
    for jwk in listed {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str).map(str::to_owned);
        let kty = text("kty").unwrap_or_default();
        if !["RSA", "EC", "OKP"].contains(&kty.as_str()) || text("use").is_some_and(|u| u != "sig")
        {
            continue;
        }
        let Ok(parsed) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(jwk.clone()) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(&parsed) else {
            continue;
        };
        keys.push(Key {
            kid: text("kid"),
            kty,
            crv: text("crv"),
            alg: text("alg"),
            key,
        });
    }
    Ok(keys)
}

/// The keys that could have signed a token with `alg` and `kid`.
fn candidates(keys: &[Key], alg: &str, kid: Option<&str>) -> Vec<Key> {
    keys.iter()
        .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
        .filter(|k| fits(alg, &k.kty, k.crv.as_deref()))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg))
        .cloned()
        .collect()
}

async fn fetched(url: &str) -> Result<Vec<Key>, Refusal> {
    let document = fetch(url, FETCH_TIMEOUT)
        .await
        .map_err(|e| Refusal::new(Why::KeysUnavailable, e.to_string()))?;
    keys_of(&document).map_err(|m| Refusal::new(Why::KeysUnavailable, m))
}

/// The keys of `url` that could have signed the token, fetching the set when the cache says so.
/// A failed fetch is remembered, so that it counts against the minute as a fetch for an unknown
/// key does; keys still fresh stay in use meanwhile for the tokens they can check.
async fn keys_for(url: &str, alg: &str, kid: Option<&str>) -> Result<Vec<Key>, Refusal> {
    let now = Instant::now();
    let since = |at: Option<Instant>| at.map(|t| now - t);
    let decided = {
        let cache = CACHE.lock().expect("the key cache lock is never poisoned");
        let held = cache.iter().find(|c| c.url == url);
        refetch(&KeysAge {
            fetched: held.and_then(|c| since(c.fetched)),
            refetched: held.and_then(|c| since(c.refetched)),
            failed: held.and_then(|c| since(c.failed)),
            known: held.is_some_and(|c| !candidates(&c.keys, alg, kid).is_empty()),
        })
    };
    match decided {
        KeysNow::Use => {}
        KeysNow::Unavailable => {
            return refuse(
                Why::KeysUnavailable,
                "fetching the key set failed less than a minute ago; not asked again yet",
            )
        }
        KeysNow::Fetch { for_unknown_kid } => {
            let result = fetched(url).await;
            let mut cache = CACHE.lock().expect("the key cache lock is never poisoned");
            if !cache.iter().any(|c| c.url == url) {
                cache.push(Cached {
                    url: url.to_owned(),
                    keys: Vec::new(),
                    fetched: None,
                    refetched: None,
                    failed: None,
                });
            }
            let held = cache
                .iter_mut()
                .find(|c| c.url == url)
                .expect("just put there");
            let at = Instant::now();
            if for_unknown_kid {
                held.refetched = Some(at);
            }
            match result {
                Ok(keys) => {
                    held.keys = keys;
                    held.fetched = Some(at);
                }
                Err(refusal) => {
                    // The keys held stay, for tokens they can check.
                    held.failed = Some(at);
                    return Err(refusal);
                }
            }
        }
    }
    let cache = CACHE.lock().expect("the key cache lock is never poisoned");
    let keys = cache
        .iter()
        .find(|c| c.url == url)
        .map(|c| c.keys.as_slice())
        .unwrap_or_default();
    Ok(candidates(keys, alg, kid))
}

/// Verifies `token` for a way in: header, signature, then claims.
pub async fn verify(
    token: &str,
    url: &str,
    typ: Typ,
    expect: &Expect<'_>,
) -> Result<Verified, Refusal> {
    let (alg, kid) = header(token, typ)?;
    let keys = keys_for(url, &alg, kid.as_deref()).await?;
    if keys.is_empty() {
        return refuse(
            Why::UnknownKey,
            "no key of CVPN_SIGNAL_JWKS_URL fits the token's kid and alg",
        );
    }
    let algorithm: jsonwebtoken::Algorithm = alg
        .parse()
        .map_err(|_| Refusal::new(Why::Signature, "alg"))?;
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut last = Refusal::new(Why::Signature, "the signature does not verify");
    for key in keys {
        match jsonwebtoken::decode::<Parsed>(token, &key.key, &validation) {
            Ok(data) => {
                let claims = data
                    .claims
                    .checked()
                    .map_err(|e| Refusal::new(Why::Malformed, format!("claims: {}", e.message)))?
                    .clone();
                let checked = token::check(&claims, expect)?;
                return Ok(Verified { claims, checked });
            }
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                    last = Refusal::new(Why::Malformed, "the token cannot be read as a signed JWT");
                }
            }
        }
    }
    Err(last)
}
