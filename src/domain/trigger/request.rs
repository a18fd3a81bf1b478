//! How a request reads, whatever it asks (a person's: `quarantine.rs`, `approval.rs`; a
//! schedule's: `schedule.rs`, `split.rs`): one member naming the kind, an object of known fields
//! only, and text that is one plain value.

use crate::domain::json::{kind, At, DecodeError};

/// `Some` when `root`'s member is one of `kinds`: that kind and its value; an error when the
/// event has any other member beside it (`what` names such a request in the message).
pub fn member<'a>(
    root: &At<'a>,
    kinds: &[&'static str],
    what: &str,
) -> Option<Result<(&'static str, At<'a>), DecodeError>> {
    let object = root.value.as_object()?;
    let (key, at) = kinds.iter().find_map(|k| Some((*k, root.get(k)?)))?;
    if let Some(other) = object.keys().find(|k| *k != key) {
        return Some(Err(DecodeError {
            path: format!("event.{other}"),
            message: format!("{what} holds only {key}"),
        }));
    }
    Some(Ok((key, at)))
}

/// Refuses `at` unless it is an object of `fields` only.
pub fn known_fields(at: &At, fields: &[&str]) -> Result<(), DecodeError> {
    let object = at
        .value
        .as_object()
        .ok_or_else(|| at.error(format!("expected an object, found {}", kind(at.value))))?;
    match object.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(unknown) => Err(DecodeError {
            path: format!("{}.{unknown}", at.path()),
            message: format!("not a field here; expected {}", fields.join(", ")),
        }),
        None => Ok(()),
    }
}

/// The text of `at`'s field `key`, trimmed, and where it is; refused when empty or with control
/// characters.
pub fn text(at: &At, key: &str) -> Result<Option<(String, String)>, DecodeError> {
    let Some(v) = at.get(key) else {
        return Ok(None);
    };
    let s = v.str()?.trim();
    if s.is_empty() {
        return Err(v.error("empty"));
    }
    if s.chars().any(char::is_control) {
        return Err(v.error("contains control characters"));
    }
    Ok(Some((s.to_owned(), v.path())))
}
