//! Scheduled cleanups: an EventBridge rule's `Scheduled Event` (its `detail` may carry overrides),
//! or an EventBridge Scheduler payload `{"Sweep": {...}}`. Nothing here names a connection: a
//! sweep judges every connection in scope by the policy.

use crate::domain::json::{At, DecodeError};
use crate::domain::model::{is_account_id, is_resource_id, Place, ENDPOINT_PREFIX};
use crate::domain::targets::is_region;
use crate::domain::trigger::request::member;
use chrono::{DateTime, Utc};

/// A scheduled cleanup: an EventBridge rule's `Scheduled Event`, or an EventBridge Scheduler payload
/// `{"Sweep": {...}}`. Either may override the policy for this run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepRequest {
    /// The tick's time: the event's `time`, or the Scheduler payload's `Time`.
    pub time: Option<DateTime<Utc>>,
    /// Where the time was read, for errors about it.
    pub time_path: String,
    /// Where the settings sit (`event.Sweep`, `event.detail`), for errors about them.
    pub path: String,
    pub overrides: SweepOverrides,
}

impl SweepRequest {
    /// A sweep of some places only (`Targets`): a split sweep's child.
    pub fn is_child(&self) -> bool {
        self.overrides.places.is_some()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepOverrides {
    pub endpoint_ids: Option<Vec<String>>,
    /// Only these places (`Targets`: `ACCOUNT/REGION`, or `REGION` for the function's own
    /// account), each one of the function's targets: a Distributed Map's child sweeps one.
    pub places: Option<Vec<Place>>,
    pub idle_minutes: Option<u32>,
    pub idle_bytes: Option<u64>,
    pub max_session_minutes: Option<u32>,
    pub dry_run: Option<bool>,
}

const SWEEP_FIELDS: [&str; 7] = [
    "Time",
    "ClientVpnEndpointIds",
    "Targets",
    "IdleMinutes",
    "IdleBytes",
    "MaxSessionMinutes",
    "DryRun",
];

/// A Scheduler payload: an object whose only member is `Sweep`.
pub fn payload(root: &At) -> Option<Result<SweepRequest, DecodeError>> {
    let found = member(root, &["Sweep"], "a Scheduler payload")?;
    Some(found.and_then(|(_, sweep)| decode(&sweep, None)))
}

/// The overrides of a Scheduler payload's `Sweep`, or of a scheduled event's `detail` (where the
/// time comes from the envelope).
pub fn decode(at: &At, envelope_time: Option<DateTime<Utc>>) -> Result<SweepRequest, DecodeError> {
    let object = at.value.as_object().ok_or_else(|| {
        at.error(format!(
            "expected an object, found {}",
            crate::domain::json::kind(at.value)
        ))
    })?;
    if let Some(unknown) = object
        .keys()
        .find(|k| !SWEEP_FIELDS.contains(&k.as_str()) || (envelope_time.is_some() && *k == "Time"))
    {
        return Err(DecodeError {
            path: format!("{}.{unknown}", at.path()),
            message: format!("not a sweep setting; expected {}", SWEEP_FIELDS.join(", ")),
        });
    }
    let positive = |key: &str, max: u64| -> Result<Option<u64>, DecodeError> {
        let Some(v) = at.get(key) else {
            return Ok(None);
        };
        match v.value.as_u64() {
            Some(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(v.error(format!("expected a whole number from 1 to {max}"))),
        }
    };
    let (time, time_path) = match at.get("Time") {
        Some(t) => (Some(t.time()?), t.path()),
        None => (envelope_time, "event.time".to_owned()),
    };
    let endpoint_ids = match at.get("ClientVpnEndpointIds") {
        Some(list) => {
            let mut ids = Vec::new();
            for item in list.items()? {
                let id = item.str()?;
                if !is_resource_id(id, ENDPOINT_PREFIX) {
                    return Err(item.error(format!("`{id}` is not a Client VPN endpoint ID")));
                }
                ids.push(id.to_owned());
            }
            if ids.is_empty() {
                return Err(list.error("empty; leave it out to sweep every endpoint"));
            }
            Some(ids)
        }
        None => None,
    };
    Ok(SweepRequest {
        time,
        time_path,
        path: at.path(),
        overrides: SweepOverrides {
            endpoint_ids,
            places: at.get("Targets").map(|t| places(&t)).transpose()?,
            idle_minutes: positive("IdleMinutes", 5_256_000)?.map(|n| n as u32),
            idle_bytes: positive("IdleBytes", u64::MAX)?,
            max_session_minutes: positive("MaxSessionMinutes", 5_256_000)?.map(|n| n as u32),
            dry_run: at.get("DryRun").map(|d| d.bool()).transpose()?,
        },
    })
}

/// `Targets`: places as `ACCOUNT/REGION`, or `REGION` for the function's own account; each once.
fn places(list: &At) -> Result<Vec<Place>, DecodeError> {
    let mut places: Vec<Place> = Vec::new();
    for item in list.items()? {
        let text = item.str()?;
        let (account, region) = match text.split_once('/') {
            Some((account, region)) if is_account_id(account) => (Some(account), region),
            Some(_) => return Err(item.error(format!("`{text}`: the account is not 12 digits"))),
            None => (None, text),
        };
        if !is_region(region) {
            return Err(item.error(format!(
                "`{text}` is not ACCOUNT/REGION or REGION (such as 444455556666/eu-west-1)"
            )));
        }
        let place = Place {
            account: account.map(str::to_owned),
            region: Some(region.to_owned()),
        };
        if places.contains(&place) {
            return Err(item.error(format!("`{text}` is named twice")));
        }
        places.push(place);
    }
    if places.is_empty() {
        return Err(list.error("empty; leave it out to sweep every target"));
    }
    Ok(places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::{decode, Trigger};
    use serde_json::json;

    #[test]
    fn scheduled_events_and_scheduler_payloads() {
        let rule = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "111122223333", "time": "2026-11-22T10:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
        let Trigger::Sweep(s) = decode(&rule).unwrap() else {
            panic!()
        };
        assert_eq!(s.time, Some("2026-11-22T10:00:00Z".parse().unwrap()));
        assert_eq!(s.overrides, SweepOverrides::default());

        let payload = json!({"Sweep": {"Time": "2026-11-22T10:05:00Z", "ClientVpnEndpointIds": ["cvpn-endpoint-0a1b2c3d4e5f60718"],
            "IdleMinutes": 45, "IdleBytes": 20000, "MaxSessionMinutes": 600, "DryRun": true}});
        let Trigger::Sweep(s) = decode(&payload).unwrap() else {
            panic!()
        };
        assert_eq!(s.time, Some("2026-11-22T10:05:00Z".parse().unwrap()));
        assert_eq!(s.time_path, "event.Sweep.Time");
        assert_eq!(
            s.overrides,
            SweepOverrides {
                endpoint_ids: Some(vec!["cvpn-endpoint-0a1b2c3d4e5f60718".into()]),
                places: None,
                idle_minutes: Some(45),
                idle_bytes: Some(20000),
                max_session_minutes: Some(600),
                dry_run: Some(true),
            }
        );
        let Trigger::Sweep(s) = decode(&json!({"Sweep": {}})).unwrap() else {
            panic!()
        };
        assert_eq!((s.time, s.path.as_str()), (None, "event.Sweep"));
        assert_eq!(s.overrides, SweepOverrides::default());
    }

    #[test]
    fn a_child_sweep_names_its_places() {
        let child = json!({"Sweep": {"Targets": ["444455556666/eu-west-1", "us-east-1"]}});
        let Trigger::Sweep(s) = decode(&child).unwrap() else {
            panic!()
        };
        let place = |account: Option<&str>, region: &str| Place {
            account: account.map(str::to_owned),
            region: Some(region.to_owned()),
        };
        assert_eq!(
            s.overrides.places,
            Some(vec![
                place(Some("444455556666"), "eu-west-1"),
                place(None, "us-east-1")
            ])
        );
        for (targets, path) in [
            (json!([]), "event.Sweep.Targets"),
            (json!("us-east-1"), "event.Sweep.Targets"),
            (json!(["us-east-1", "nowhere"]), "event.Sweep.Targets[1]"),
            (json!(["4444/eu-west-1"]), "event.Sweep.Targets[0]"),
            (json!(["444455556666/"]), "event.Sweep.Targets[0]"),
            (json!(["us-east-1", "us-east-1"]), "event.Sweep.Targets[1]"),
            (
                json!([{"Account": "444455556666"}]),
                "event.Sweep.Targets[0]",
            ),
        ] {
            let e = decode(&json!({"Sweep": {"Targets": targets}})).unwrap_err();
            assert_eq!(e.path, path, "{targets}: {e}");
        }
    }

    #[test]
    fn bad_sweep_settings_name_the_field() {
        let cases = [
            (
                json!({"Sweep": {"IdleMinutes": 0}}),
                "event.Sweep.IdleMinutes",
            ),
            (
                json!({"Sweep": {"IdleMinutes": -5}}),
                "event.Sweep.IdleMinutes",
            ),
            (
                json!({"Sweep": {"IdleBytes": "lots"}}),
                "event.Sweep.IdleBytes",
            ),
            (
                json!({"Sweep": {"IdleMinuets": 5}}),
                "event.Sweep.IdleMinuets",
            ),
            (json!({"Sweep": {"Time": "yesterday"}}), "event.Sweep.Time"),
            (
                json!({"Sweep": {"ClientVpnEndpointIds": []}}),
                "event.Sweep.ClientVpnEndpointIds",
            ),
            (
                json!({"Sweep": {"ClientVpnEndpointIds": ["vpn-1"]}}),
                "event.Sweep.ClientVpnEndpointIds[0]",
            ),
            (json!({"Sweep": 5}), "event.Sweep"),
            (json!({"Sweep": {}, "Username": "x"}), "event.Username"),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
                "event.time",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-22T10:00:00Z", "detail": {"Time": "2026-11-22T10:00:00Z"}}),
                "event.detail.Time",
            ),
        ];
        for (event, path) in cases {
            let e = decode(&event).unwrap_err();
            assert_eq!(e.path, path, "{event}: {e}");
        }
    }
}
