//! What a verified request says, and of whom: the Global Token Revocation body's `sub_id`, or a
//! Security Event Token's events and subject. A subject is an RFC 9493 subject identifier; the ones
//! that can name a VPN user are taken (`email`; `iss_sub` of the token's own issuer, its `sub`;
//! `opaque`; a `complex` one's `user`; `aliases`, the first of those), the others refused. Pure.

use super::refusal::{Refusal, Why};
use super::token::Checked;
use crate::domain::json::parse::parse;
use crate::domain::trigger::idp::{IdpEvent, Says, Via};
use chrono::{TimeZone, Utc};
use serde_json::Value;

const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";

/// The Security Event Token event types that say a person is out, and why.
pub const OUT: [(&str, &str, &str); 4] = [
    (
        CAEP,
        "session-revoked",
        "the IdP revoked the user's session (CAEP)",
    ),
    (
        RISC,
        "account-disabled",
        "the IdP disabled the account (RISC)",
    ),
    (RISC, "account-purged", "the IdP deleted the account (RISC)"),
    (
        RISC,
        "credential-compromise",
        "the IdP found the user's credential compromised (RISC)",
    ),
];
/// The event type that says a person is back.
pub const BACK_IN: (&str, &str) = (RISC, "account-enabled");

/// What Global Token Revocation says.
pub const REVOKED: &str = "the IdP revoked all of the user's tokens (Global Token Revocation)";

/// What a Security Event Token event type says.
pub fn says(event_type: &str) -> Says {
    let named = |(base, name): (&str, &str)| event_type.strip_prefix(base) == Some(name);
    if let Some((_, _, why)) = OUT.iter().find(|(b, n, _)| named((b, n))) {
        return Says::Out(why);
    }
    if named(BACK_IN) {
        return Says::BackIn;
    }
    Says::Nothing
}

/// The login a subject identifier names, or why it names none that can be taken.
pub fn login(id: &Value, issuer: &str, path: &str) -> Result<(String, String), Refusal> {
    let bad = |detail: String| Refusal::new(Why::Subject, format!("{path}: {detail}"));
    let member = |name: &str| -> Result<String, Refusal> {
        match id.get(name).and_then(Value::as_str).map(str::trim) {
            Some(v) if !v.is_empty() && v.len() <= 256 && !v.chars().any(char::is_control) => {
                Ok(v.to_owned())
            }
            _ => Err(bad(format!("{name} is missing or not a usable string"))),
        }
    };
    let format = id.get("format").and_then(Value::as_str).unwrap_or_default();
    match format {
        "email" => {
            let email = member("email")?;
            match email.split_once('@') {
                Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                    Ok((email, format!("{path}.email")))
                }
                _ => Err(bad("email is not an email address".into())),
            }
        }
        "iss_sub" => {
            // Another issuer's subject is that issuer's word, which this token does not carry.
            if member("iss")? != issuer {
                return Err(bad("iss is not the token's issuer".into()));
            }
            Ok((member("sub")?, format!("{path}.sub")))
        }
        "opaque" => Ok((member("id")?, format!("{path}.id"))),
        "complex" => match id.get("user") {
            Some(user) => login(user, issuer, &format!("{path}.user")),
            None => Err(bad(
                "a complex subject without a user names no person".into()
            )),
        },
        "aliases" => {
            let ids = id
                .get("identifiers")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("identifiers is not a list".into()))?;
            ids.iter()
                .enumerate()
                .find_map(|(i, one)| login(one, issuer, &format!("{path}.identifiers[{i}]")).ok())
                .ok_or_else(|| bad("no identifier names a user".into()))
        }
        "" => Err(bad("format is missing".into())),
        other => Err(bad(format!("the {other} format is not taken"))),
    }
}

/// The word of a verified Global Token Revocation request: `{"sub_id": …}` as Okta sends it, or
/// `{"subject": …}` as the draft's other revisions write it; both naming different people is
/// refused.
pub fn revocation(body: &[u8], issuer: &str, checked: &Checked) -> Result<IdpEvent, Refusal> {
    let request = parse(body)
        .map_err(|e| Refusal::new(Why::Subject, format!("the body is not JSON: {}", e.message)))?;
    let mut named = Vec::new();
    for key in ["sub_id", "subject"] {
        if let Some(id) = request.get(key) {
            let path = format!("body.{key}");
            if !id.is_object() {
                return Err(Refusal::new(Why::Subject, format!("{path}: not an object")));
            }
            named.push(login(id, issuer, &path)?);
        }
    }
    let user = match named.as_slice() {
        [] => return Err(Refusal::new(Why::Subject, "body.sub_id: missing")),
        [(a, _), (b, _)] if a != b => {
            return Err(Refusal::new(
                Why::Subject,
                "body.sub_id and body.subject name different users",
            ))
        }
        [first, ..] => first.clone(),
    };
    Ok(word(
        issuer,
        checked,
        "global-token-revocation",
        Says::Out(REVOKED),
        user,
    ))
}

/// The word of a verified Security Event Token: its events that say something, about its one
/// subject (SSF 1.0's `sub_id`, or the events' own `subject` as earlier drafts put it).
pub fn security_event(
    claims: &Value,
    issuer: &str,
    checked: &Checked,
) -> Result<IdpEvent, Refusal> {
    let events = claims
        .get("events")
        .and_then(Value::as_object)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Refusal::new(Why::Malformed, "events: missing or not an object"))?;
    // Out wins over back in: a token that says both is about a person who is out.
    let mut chosen: Option<(&String, Says)> = None;
    for (event_type, _) in events {
        let s = says(event_type);
        let better = match (&chosen, s) {
            (_, Says::Nothing) => false,
            (None, _) => true,
            (Some((_, Says::Out(_))), _) => false,
            (Some(_), Says::Out(_)) => true,
            (Some(_), _) => false,
        };
        if better {
            chosen = Some((event_type, s));
        }
    }
    let mut subjects = Vec::new();
    if let Some(id) = claims.get("sub_id") {
        subjects.push(login(id, issuer, "sub_id")?);
    }
    for (event_type, body) in events {
        if let Some(id) = body.get("subject") {
            let path = format!("events[{event_type}].subject");
            subjects.push(login(id, issuer, &path)?);
        }
    }
    let Some((event_type, says)) = chosen else {
        // Named all, so that "does not say the person is out" says which it heard.
        let types: Vec<&str> = events.keys().map(String::as_str).collect();
        let empty = (String::new(), String::new());
        return Ok(word(
            issuer,
            checked,
            &types.join(", "),
            Says::Nothing,
            empty,
        ));
    };
    let Some(first) = subjects.first().cloned() else {
        return Err(Refusal::new(
            Why::Subject,
            "the token names no subject (sub_id)",
        ));
    };
    if subjects.iter().any(|(s, _)| *s != first.0) {
        return Err(Refusal::new(
            Why::Subject,
            "the token's events name different subjects",
        ));
    }
    Ok(word(issuer, checked, event_type, says, first))
}

fn word(
    issuer: &str,
    checked: &Checked,
    event_type: &str,
    says: Says,
    (login, path): (String, String),
) -> IdpEvent {
    let issued = Utc.timestamp_opt(checked.issued_at, 0).single();
    IdpEvent {
        via: Via::Signal,
        idp: issuer.to_owned(),
        uuid: checked.jti.clone(),
        event_type: event_type.to_owned(),
        outcome: Some("SUCCESS".into()),
        published: issued,
        user: (!login.is_empty()).then_some((login, path)),
        no_user: None,
        by_themselves: false,
        time: issued,
        says,
    }
}

#[cfg(test)]
mod tests;
