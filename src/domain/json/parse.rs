//! Reading an event's text as JSON that names each key once. `serde_json` keeps the last of two
//! equal keys without a word, so a finding with two `userName`s would be read as whichever came
//! last, and each reader of the text (a rule, a person, another tool) may pick another. An event
//! that names a key twice anywhere is refused, naming where.

use super::DecodeError;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// An event as the Lambda runtime hands it over: the value, and the first key named twice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub value: Value,
    /// The path of the first key named twice (`event.detail.userName`), if any.
    pub duplicate: Option<String>,
}

/// A value built in code names each key once.
impl From<Value> for Parsed {
    fn from(value: Value) -> Self {
        Self {
            value,
            duplicate: None,
        }
    }
}

impl Parsed {
    /// The value, unless a key was named twice.
    pub fn checked(&self) -> Result<&Value, DecodeError> {
        match &self.duplicate {
            None => Ok(&self.value),
            Some(path) => Err(duplicate(path)),
        }
    }
}

fn duplicate(path: &str) -> DecodeError {
    DecodeError {
        path: path.to_owned(),
        message: "named twice in one object; an event must name each key once, so that every \
                  reader of it reads the same thing"
            .into(),
    }
}

/// Parses `text` as one JSON value naming each key once.
pub fn parse(text: &[u8]) -> Result<Value, DecodeError> {
    let parsed: Parsed = serde_json::from_slice(text).map_err(|e| DecodeError {
        path: "event".into(),
        message: format!("not JSON: {e}"),
    })?;
    parsed.checked().cloned()
}

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let first = RefCell::new(None);
        let value = Strict {
            path: "event".into(),
            first: &first,
        }
        .deserialize(d)?;
        Ok(Parsed {
            value,
            duplicate: first.into_inner(),
        })
    }
}

/// Builds a value as `serde_json` does, noting the first key an object names twice (the first
/// value is kept, and the event is refused anyway).
struct Strict<'a> {
    path: String,
    first: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let seed = Strict {
                path: format!("{}[{}]", self.path, items.len()),
                first: self.first,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            let seed = Strict {
                path: path.clone(),
                first: self.first,
            };
            let value = map.next_value_seed(seed)?;
            if object.contains_key(&key) {
                self.first.borrow_mut().get_or_insert(path);
            } else {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_named_twice_anywhere_is_refused_naming_where() {
        let text = br#"{"detail": {"findings": [{"Id": "a"}, {"Id": "b", "Resources": [{"AccessKeyDetails": {"userName": "alice", "userName": "bob"}}]}]}}"#;
        let e = parse(text).unwrap_err();
        assert_eq!(
            e.path,
            "event.detail.findings[1].Resources[0].AccessKeyDetails.userName"
        );
        assert!(e.message.contains("named twice"), "{e}");
        assert_eq!(parse(br#"{"a": 1, "a": 1}"#).unwrap_err().path, "event.a");
    }

    #[test]
    fn anything_else_reads_as_serde_json_reads_it() {
        let text = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": "\u00e9"}"#;
        assert_eq!(
            parse(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
        assert_eq!(parse(b"[]").unwrap(), json!([]));
        let e = parse(b"{\"a\": ").unwrap_err();
        assert_eq!(e.path, "event");
        assert!(e.message.starts_with("not JSON"), "{e}");
    }
}
