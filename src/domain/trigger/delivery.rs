//! Which delivery an EventBridge event is: its `id` (the same on every delivery and retry of one
//! event) and a digest of what decides the action (source, detail type, time, an archive
//! replay's name, and the whole detail: the findings with their IDs and update times, the
//! request's fields). Another event that
//! reuses an `id` (an edited sample, a replay tool, a hand-written event) has another digest and
//! is acted on; only the same `id` with the same digest is the same delivery.

use crate::domain::json::At;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    /// SHA-256 of the canonical form of what decides the action, 32 hex digits (128 bits): an
    /// event written to collide with another's must find a second preimage.
    pub digest: String,
}

/// The delivery `event` is, for an EventBridge event with an `id`.
pub fn delivery(event: &Value) -> Option<Delivery> {
    let root = At::root(event);
    root.get("detail-type")?;
    root.get("source")?;
    let id = root.get("id")?.value.as_str()?.trim();
    if id.is_empty() {
        return None;
    }
    let mut text = String::new();
    // An archive's replay keeps the event as it was but names the replay: it is acted on again.
    for key in ["source", "detail-type", "time", "replay-name", "detail"] {
        canonical(event.get(key).unwrap_or(&Value::Null), &mut text);
        text.push('\n');
    }
    let hash = Sha256::digest(text.as_bytes());
    let digest = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    Some(Delivery {
        id: id.to_owned(),
        digest,
    })
}

/// JSON with every object's keys in one order, whatever order the event's text had them in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"id": "e-1", "source": "aws.guardduty", "detail-type": "GuardDuty Finding",
               "time": "2026-12-02T10:00:00Z", "account": "111122223333", "detail": detail})
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z0-9 @.\\\\]{0,12}".prop_map(Value::from),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `value` as text with every object's keys in reverse order.
    fn reversed(value: &Value) -> String {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                keys.reverse();
                let members: Vec<String> = keys
                    .into_iter()
                    .map(|k| format!("{}:{}", Value::from(k.as_str()), reversed(&map[k])))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(reversed).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    proptest! {
        #[test]
        fn the_same_event_in_any_key_order_is_the_same_delivery(detail in json_value()) {
            let e = event(detail);
            let again: Value = serde_json::from_str(&reversed(&e)).unwrap();
            prop_assert_eq!(delivery(&e), delivery(&again));
        }

        #[test]
        fn any_change_to_what_decides_the_action_is_another_delivery(
            detail in json_value(),
            other in json_value(),
        ) {
            prop_assume!(detail != other);
            let (a, b) = (delivery(&event(detail)).unwrap(), delivery(&event(other)).unwrap());
            prop_assert_eq!(&a.id, &b.id);
            prop_assert_ne!(a.digest, b.digest);
        }
    }

    #[test]
    fn the_envelope_decides_too_but_not_its_account_or_region() {
        let base = event(json!({"id": "f"}));
        let d = delivery(&base).unwrap();
        assert_eq!(d.id, "e-1");
        assert_eq!(d.digest.len(), 32);
        for (key, value) in [
            ("source", json!("aws.securityhub")),
            ("detail-type", json!("Security Hub Findings - Imported")),
            ("time", json!("2026-12-02T10:00:01Z")),
            ("replay-name", json!("after-the-outage")),
        ] {
            let mut e = base.clone();
            e[key] = value;
            assert_ne!(delivery(&e).unwrap().digest, d.digest, "{key}");
        }
        let mut e = base.clone();
        e["region"] = json!("eu-west-1");
        assert_eq!(delivery(&e).unwrap().digest, d.digest);
        for no in [
            json!({"id": "x"}),
            json!({"id": "", "source": "s", "detail-type": "t"}),
        ] {
            assert_eq!(delivery(&no), None);
        }
    }
}
