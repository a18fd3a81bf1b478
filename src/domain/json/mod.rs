//! Reading events as JSON while keeping the path of each value, so an error can say exactly which
//! field was wrong (`event.detail.findings[0].Severity.Label: expected a string, found a number`).

pub mod parse;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// A value and where it sits in the event.
#[derive(Clone, Debug)]
pub struct At<'a> {
    pub value: &'a Value,
    path: String,
}

impl<'a> At<'a> {
    pub fn root(value: &'a Value) -> Self {
        Self {
            value,
            path: "event".into(),
        }
    }

    pub fn path(&self) -> String {
        self.path.clone()
    }

    pub fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    fn child(&self, key: &str, value: &'a Value) -> At<'a> {
        At {
            value,
            path: format!("{}.{key}", self.path),
        }
    }

    /// The member `key`; `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        let value = self.value.as_object()?.get(key)?;
        (!value.is_null()).then(|| self.child(key, value))
    }

    /// The member `key` in lower camel case or, failing that, upper camel case (GuardDuty's
    /// EventBridge and GetFindings forms of one finding).
    pub fn get_either(&self, key: &str) -> Option<At<'a>> {
        self.get(key).or_else(|| {
            let (found, value) = self
                .value
                .as_object()?
                .iter()
                .find(|(k, _)| upper_camel_matches(k, key))?;
            (!value.is_null()).then(|| self.child(found, value))
        })
    }

    pub fn require(&self, key: &str) -> Result<At<'a>, DecodeError> {
        self.get(key).ok_or_else(|| missing(self, key))
    }

    pub fn require_either(&self, key: &str) -> Result<At<'a>, DecodeError> {
        self.get_either(key).ok_or_else(|| missing(self, key))
    }

    pub fn str(&self) -> Result<&'a str, DecodeError> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, found {}", kind(self.value))))
    }

    pub fn f64(&self) -> Result<f64, DecodeError> {
        match self.value {
            Value::Number(n) => n.as_f64().ok_or_else(|| self.error("expected a number")),
            // GuardDuty's GetFindings output and some runbooks carry numbers as strings.
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| self.error(format!("expected a number, found `{s}`"))),
            other => Err(self.error(format!("expected a number, found {}", kind(other)))),
        }
    }

    pub fn bool(&self) -> Result<bool, DecodeError> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            other => Err(self.error(format!("expected true or false, found {}", kind(other)))),
        }
    }

    /// An RFC 3339 time, or milliseconds since the epoch (OCSF's `*_time`).
    pub fn time(&self) -> Result<DateTime<Utc>, DecodeError> {
        if let Some(ms) = self.value.as_i64() {
            return Utc
                .timestamp_millis_opt(ms)
                .single()
                .ok_or_else(|| self.error(format!("{ms} is not a time in milliseconds")));
        }
        let text = self.str()?;
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| self.error(format!("`{text}` is not an RFC 3339 time")))
    }

    pub fn items(&self) -> Result<Vec<At<'a>>, DecodeError> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.error(format!("expected a list, found {}", kind(self.value))))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(i, value)| At {
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// A list of strings; absent is empty.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, DecodeError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(list) => list
                .items()?
                .iter()
                .map(|i| i.str().map(str::to_owned))
                .collect(),
        }
    }
}

fn missing(at: &At, key: &str) -> DecodeError {
    DecodeError {
        path: format!("{}.{key}", at.path),
        message: "missing".into(),
    }
}

fn upper_camel_matches(candidate: &str, lower: &str) -> bool {
    let mut a = candidate.chars();
    let mut b = lower.chars();
    match (a.next(), b.next()) {
        (Some(x), Some(y)) => x == y.to_ascii_uppercase() && a.as_str() == b.as_str(),
        _ => false,
    }
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_carry_the_path() {
        let v = json!({"detail": {"findings": [{"Severity": {"Label": 3}}]}});
        let root = At::root(&v);
        let detail = root.require("detail").unwrap();
        let findings = detail.require("findings").unwrap();
        let items = findings.items().unwrap();
        let severity = items[0].require("Severity").unwrap();
        let label = severity.require("Label").unwrap();
        assert_eq!(
            label.str().unwrap_err().to_string(),
            "event.detail.findings[0].Severity.Label: expected a string, found a number"
        );
        assert_eq!(
            severity.require("Normalized").unwrap_err().path,
            "event.detail.findings[0].Severity.Normalized"
        );
    }

    #[test]
    fn either_camel_case() {
        let v =
            json!({"AccessKeyDetails": {"PrincipalId": "AROA:x"}, "type": "t", "nothing": null});
        let root = At::root(&v);
        let details = root.get_either("accessKeyDetails").unwrap();
        assert_eq!(details.path(), "event.AccessKeyDetails");
        assert_eq!(
            details.get_either("principalId").unwrap().str().unwrap(),
            "AROA:x"
        );
        assert!(root.get_either("type").is_some());
        assert!(root.get("nothing").is_none());
    }

    #[test]
    fn numbers_and_flags_accept_strings() {
        let v = json!({"a": "8.5", "b": "TRUE", "c": [1]});
        let root = At::root(&v);
        assert_eq!(root.get("a").unwrap().f64().unwrap(), 8.5);
        assert!(root.get("b").unwrap().bool().unwrap());
        assert!(root.get("c").unwrap().f64().is_err());
    }
}
