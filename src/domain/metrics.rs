//! The dashboard's figures, read from the log lines the function writes anyway: a line that
//! stands for a metric gets CloudWatch's Embedded Metric Format members (`_aws` and one member per
//! metric), and CloudWatch Logs makes the metrics of it. No `PutMetricData`, nothing on the
//! path to a termination. The names are an interface: the dashboards in `template.yaml` and
//! `cdk/lib/dashboard.ts` read them. Pure.

use crate::domain::trigger::source::TriggerSource;
use chrono::DateTime;
use serde_json::{json, Map, Value};

/// The metrics' namespace; their one dimension is the function's name (`Function`).
pub const NAMESPACE: &str = "CvpnTerminator";
pub const DIMENSION: &str = "Function";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One figure a line stands for.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
}

fn count(name: &'static str, value: f64) -> Metric {
    Metric {
        name,
        unit: Unit::Count,
        value,
    }
}

fn millis(name: &'static str, value: f64) -> Metric {
    Metric {
        name,
        unit: Unit::Milliseconds,
        value,
    }
}

/// The events whose lines stand for metrics: a line of another event (and not at error level)
/// is left as it is without being read.
pub const EVENTS: [&str; 4] = [
    "summary",
    "quarantine_changed",
    "connect_decision",
    "notification_failed",
];

/// The metrics one log line stands for (none for most lines).
pub fn metrics_of(line: &Map<String, Value>) -> Vec<Metric> {
    let number = |field: &str| line.get(field).and_then(Value::as_f64);
    let text = |field: &str| line.get(field).and_then(Value::as_str).unwrap_or_default();
    let mut out = Vec::new();
    if text("level") == "ERROR" {
        out.push(count("Errors", 1.0));
    }
    match text("event") {
        "summary" => {
            let sweep = text("trigger_source") == TriggerSource::Schedule.as_str();
            // Ended by a Username call beyond the plan: ended all the same.
            let ended = number("terminated").unwrap_or(0.0) + number("unplanned").unwrap_or(0.0);
            for (field, all, swept) in [
                ("terminated", "SessionsEnded", Some("SweepSessionsEnded")),
                (
                    "deferred",
                    "SessionsDeferred",
                    Some("SweepSessionsDeferred"),
                ),
                ("failed", "SessionsFailed", None),
            ] {
                let n = match field {
                    "terminated" => ended,
                    _ => number(field).unwrap_or(0.0),
                };
                out.push(count(all, n));
                if let (true, Some(swept)) = (sweep, swept) {
                    out.push(count(swept, n));
                }
            }
            if let (true, Some(ms)) = (sweep, number("duration_ms")) {
                out.push(millis("SweepDuration", ms));
            }
        }
        "quarantine_changed" => match text("outcome") {
            "placed" | "extended" => out.push(count("HoldsPlaced", 1.0)),
            "released" => out.push(count("HoldsLifted", 1.0)),
            _ => {}
        },
        "connect_decision" => {
            let decided = if text("reason") == "check_failed" {
                "ConnectCheckFailed"
            } else if line.get("allowed") == Some(&Value::Bool(true)) {
                "ConnectAllowed"
            } else {
                "ConnectRefused"
            };
            out.push(count(decided, 1.0));
            if let Some(ms) = number("duration_ms") {
                out.push(millis("ConnectLatency", ms));
            }
        }
        "notification_failed" => out.push(count("NotificationFailures", 1.0)),
        _ => {}
    }
    out
}

/// `line` with the Embedded Metric Format members for its metrics, for `function`; unchanged
/// when it stands for none or its `timestamp` is not a time (EMF needs one).
pub fn with_metrics(mut line: Map<String, Value>, function: &str) -> Map<String, Value> {
    let metrics = metrics_of(&line);
    let time = line
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let (false, Some(time)) = (metrics.is_empty(), time) else {
        return line;
    };
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
        .collect();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": time.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert(DIMENSION.into(), json!(function));
    for m in metrics {
        line.insert(m.name.into(), json!(m.value));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(v: Value) -> Map<String, Value> {
        let mut m = v.as_object().unwrap().clone();
        m.entry("timestamp")
            .or_insert(json!("2026-12-07T18:00:00.000000Z"));
        m.entry("level").or_insert(json!("INFO"));
        m
    }

    fn names(v: Value) -> Vec<(&'static str, f64)> {
        metrics_of(&line(v))
            .into_iter()
            .map(|m| (m.name, m.value))
            .collect()
    }

    #[test]
    fn a_sweeps_summary_counts_as_a_sweep_and_as_sessions() {
        let sweep = json!({"event": "summary", "trigger_source": "schedule", "terminated": 2, "unplanned": 1,
            "deferred": 2, "failed": 0, "duration_ms": 1250});
        assert_eq!(
            names(sweep),
            [
                ("SessionsEnded", 3.0),
                ("SweepSessionsEnded", 3.0),
                ("SessionsDeferred", 2.0),
                ("SweepSessionsDeferred", 2.0),
                ("SessionsFailed", 0.0),
                ("SweepDuration", 1250.0)
            ]
        );
        let finding = json!({"event": "summary", "trigger_source": "guard_duty", "terminated": 1,
            "level": "ERROR", "duration_ms": 80});
        assert_eq!(
            names(finding),
            [
                ("Errors", 1.0),
                ("SessionsEnded", 1.0),
                ("SessionsDeferred", 0.0),
                ("SessionsFailed", 0.0)
            ]
        );
    }

    #[test]
    fn each_connect_decision_is_one_of_three_and_its_latency() {
        for (decision, named) in [
            (
                json!({"allowed": true, "reason": "not_quarantined"}),
                "ConnectAllowed",
            ),
            (
                json!({"allowed": false, "reason": "quarantined"}),
                "ConnectRefused",
            ),
            (
                json!({"allowed": true, "reason": "check_failed"}),
                "ConnectCheckFailed",
            ),
            (
                json!({"allowed": false, "reason": "check_failed"}),
                "ConnectCheckFailed",
            ),
        ] {
            let mut v = decision.clone();
            v["event"] = json!("connect_decision");
            v["duration_ms"] = json!(4);
            assert_eq!(
                names(v),
                [(named, 1.0), ("ConnectLatency", 4.0)],
                "{decision}"
            );
        }
    }

    #[test]
    fn holds_placed_and_lifted_but_not_kept() {
        let hold =
            |outcome: &str| names(json!({"event": "quarantine_changed", "outcome": outcome}));
        assert_eq!(hold("placed"), [("HoldsPlaced", 1.0)]);
        assert_eq!(hold("extended"), [("HoldsPlaced", 1.0)]);
        assert_eq!(hold("released"), [("HoldsLifted", 1.0)]);
        assert!(hold("kept").is_empty() && hold("not_held").is_empty());
    }

    #[test]
    fn the_format_is_cloudwatchs() {
        let l = with_metrics(
            line(json!({"event": "notification_failed", "level": "ERROR"})),
            "cvpn-terminator",
        );
        let aws = &l["_aws"];
        assert_eq!(aws["Timestamp"], 1_796_666_400_000_i64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        // Every metric declared has its member, and the dimension its value.
        for m in directive["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(l[name].is_number(), "{name}");
        }
        assert_eq!(directive["Metrics"].as_array().unwrap().len(), 2);
        assert_eq!(l["Function"], "cvpn-terminator");
        // A line of no metric, or with no time, is left alone.
        let plain = line(json!({"event": "skipped"}));
        assert_eq!(with_metrics(plain.clone(), "f"), plain);
        let mut timeless = line(json!({"event": "notification_failed"}));
        timeless.remove("timestamp");
        assert_eq!(with_metrics(timeless.clone(), "f"), timeless);
    }
}
