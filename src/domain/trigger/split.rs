//! The request that splits a tick's sweep (a Step Functions Distributed Map's first step):
//! `{"Places": {"Time": …}}` asks which places the tick's children sweep. It names no place and no
//! connection: the answer is the function's own targets.

use crate::domain::json::{At, DecodeError};
use crate::domain::trigger::request::{known_fields, member};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacesRequest {
    /// The tick's time, which every child of the tick carries: they share its ceiling.
    pub time: DateTime<Utc>,
    /// Where the request sits (`event.Places`), for errors about it.
    pub path: String,
}

/// A request for the tick's places: an object whose only member is `Places`.
pub fn payload(root: &At) -> Option<Result<PlacesRequest, DecodeError>> {
    let found = member(root, &["Places"], "a request for the tick's places")?;
    Some(found.and_then(|(_, at)| decode(&at)))
}

fn decode(at: &At) -> Result<PlacesRequest, DecodeError> {
    known_fields(at, &["Time"])?;
    let time = at
        .get("Time")
        .ok_or_else(|| at.error("Time is missing: the tick's children share its ceiling by it"))?
        .time()?;
    Ok(PlacesRequest {
        time,
        path: at.path(),
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::trigger::{decode, Trigger};
    use serde_json::json;

    #[test]
    fn asks_for_a_ticks_places_by_its_time() {
        let Trigger::Places(r) =
            decode(&json!({"Places": {"Time": "2026-12-07T10:00:00Z"}})).unwrap()
        else {
            panic!("a request for the places")
        };
        assert_eq!(r.time.to_rfc3339(), "2026-12-07T10:00:00+00:00");
        assert_eq!(r.path, "event.Places");
    }

    #[test]
    fn bad_requests_name_the_field() {
        for (event, path) in [
            (json!({"Places": {}}), "event.Places"),
            (json!({"Places": {"Time": "soon"}}), "event.Places.Time"),
            (json!({"Places": []}), "event.Places"),
            (
                json!({"Places": {"Time": "2026-12-07T10:00:00Z", "Targets": ["eu-west-1"]}}),
                "event.Places.Targets",
            ),
            (
                json!({"Places": {"Time": "2026-12-07T10:00:00Z"}, "Username": "a"}),
                "event.Username",
            ),
        ] {
            let e = decode(&event).unwrap_err();
            assert_eq!(e.path, path, "{event}: {e}");
        }
    }
}
