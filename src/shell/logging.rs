//! JSON log lines on stderr, one object per line with the event's fields at the top level. No
//! line carries a credential or a key identifier, whatever level is asked for: the SDK's signing
//! and wire lines (which print the access key ID and the signed headers at TRACE) are never
//! written, and a key ID that reaches a line any other way is masked as it is written.

use crate::domain::metrics;
use serde_json::Value;
use std::io::{self, Write};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The target of the lines that are the audit trail (every status Terminate returned, failure,
/// deferral, skip and summary): kept at `info` whatever the level, so a deployment that logs only
/// warnings still has a line for every ended session.
pub const AUDIT: &str = "cvpn_audit";

/// The SDK's crates whose lines below these levels print what signs a request: sigv4's
/// parameters (the credentials' access key ID) and canonical request, the orchestrator's and the
/// HTTP client's requests with their headers. No directive can lower these.
const CAPPED: [(&str, LevelFilter); 6] = [
    ("aws_sigv4", LevelFilter::INFO),
    ("aws_credential_types", LevelFilter::INFO),
    ("aws_smithy_runtime", LevelFilter::DEBUG),
    ("aws_smithy_runtime_api", LevelFilter::DEBUG),
    ("aws_smithy_http_client", LevelFilter::DEBUG),
    ("hyper", LevelFilter::DEBUG),
];

/// Who the lines are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Under Lambda: JSON lines, those that stand for a metric with its Embedded Metric Format
    /// members (`domain/metrics.rs`).
    Lambda,
    /// The command line: JSON lines for scripts, or short human lines beside the tables and
    /// sentences (`text`); the SDK's own warnings only with `-v`, its details with `-vv`.
    Command { text: bool, verbose: u8 },
}

/// The level comes from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's JSON log format) or `RUST_LOG`;
/// the SDK's own chatter is kept to warnings (on the command line, to errors unless asked for).
pub fn init(style: Style) {
    let asked = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .map(|l| l.to_lowercase());
    let filter =
        EnvFilter::try_new(directives(style, asked)).unwrap_or_else(|_| EnvFilter::new("info"));
    let cap = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED);
    let registry = tracing_subscriber::registry();
    let layer = tracing_subscriber::fmt::layer().with_target(false);
    match style {
        Style::Command { text: true, .. } => {
            let human = layer
                .compact()
                .without_time()
                .with_writer(Masked { metrics_for: None })
                .with_filter(filter)
                .with_filter(cap);
            registry.with(human).init();
        }
        _ => {
            let metrics_for = (style == Style::Lambda)
                .then(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok())
                .flatten();
            let lines = layer
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(Masked { metrics_for })
                .with_filter(filter)
                .with_filter(cap);
            registry.with(lines).init();
        }
    }
}

/// The filter's directives: what was asked for (a whole directive list is taken as it is), with
/// the audit trail kept at `info` and the SDK's crates at the style's level.
fn directives(style: Style, asked: Option<String>) -> String {
    if let Some(list) = asked.as_ref().filter(|l| l.contains('=')) {
        return list.clone();
    }
    let (own, audit, sdk) = match style {
        Style::Lambda => ("info", "info", "warn"),
        Style::Command {
            text: false,
            verbose,
        } => ("info", "info", sdk_level(verbose)),
        // A person reads the sentences; the lines say only what went wrong, unless asked for.
        Style::Command {
            text: true,
            verbose: 0,
        } => ("warn", "warn", "error"),
        Style::Command {
            text: true,
            verbose,
        } => ("info", "info", sdk_level(verbose)),
    };
    let own = asked.as_deref().unwrap_or(own);
    let sdk_crates = [
        "aws_config",
        "aws_runtime",
        "aws_smithy_runtime",
        "aws_smithy_http_client",
        "aws_sdk_ec2",
        "aws_sdk_sts",
        "aws_sdk_dynamodb",
        "aws_sdk_eventbridge",
        "aws_sdk_securityhub",
        "aws_sdk_organizations",
        "aws_sdk_identitystore",
        "aws_sdk_config",
        "lambda_runtime",
        "hyper",
        "hyper_util",
    ];
    let quiet: Vec<String> = sdk_crates.iter().map(|c| format!("{c}={sdk}")).collect();
    format!("{own},{AUDIT}={audit},{}", quiet.join(","))
}

fn sdk_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "error",
        1 => "warn",
        _ => "debug",
    }
}

/// Standard error, through [`mask`]: the formatter writes each line whole, so a key ID is never
/// split across two writes. Under Lambda, a line that stands for a metric gets its EMF members
/// for the function `metrics_for`.
struct Masked {
    metrics_for: Option<String>,
}

impl<'a> MakeWriter<'a> for Masked {
    type Writer = MaskedLine<'a>;
    fn make_writer(&'a self) -> MaskedLine<'a> {
        MaskedLine(Vec::new(), self.metrics_for.as_deref())
    }
}

/// One line, masked and written to stderr when the formatter is done with it.
struct MaskedLine<'a>(Vec<u8>, Option<&'a str>);

impl Write for MaskedLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine<'_> {
    fn drop(&mut self) {
        let line = String::from_utf8_lossy(&self.0);
        let line = match self.1 {
            Some(function) => with_metrics(&line, function),
            None => line.into_owned(),
        };
        let _ = io::stderr().lock().write_all(mask(&line).as_bytes());
    }
}

/// A JSON line with its EMF members when it stands for a metric; only lines of the metrics'
/// events or at error level are read back.
fn with_metrics(line: &str, function: &str) -> String {
    // The event's name read in place: every line passes here, most are no metric's.
    const EVENT: &str = r#""event":""#;
    let event = line
        .find(EVENT)
        .map(|at| &line[at + EVENT.len()..])
        .and_then(|rest| rest.split('"').next());
    let candidate =
        line.contains(r#""level":"ERROR""#) || event.is_some_and(|e| metrics::EVENTS.contains(&e));
    let parsed = candidate
        .then(|| serde_json::from_str::<serde_json::Map<String, Value>>(line).ok())
        .flatten();
    match parsed {
        Some(fields) => {
            let decorated = metrics::with_metrics(fields, function);
            format!("{}\n", Value::Object(decorated))
        }
        None => line.to_owned(),
    }
}

/// The prefixes of IAM's unique identifiers that name a key or a credential (access keys, STS
/// session keys) or a principal's ID that sits beside them in signing lines.
const KEY_PREFIXES: [&str; 4] = ["AKIA", "ASIA", "ABIA", "ACCA"];
/// An access key ID is its prefix and 16 more uppercase letters and digits.
const KEY_ID_LEN: usize = 20;

/// `text` with every access key ID replaced by `[key id withheld]`.
pub fn mask(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + KEY_ID_LEN <= bytes.len() {
        let candidate = &bytes[i..i + KEY_ID_LEN];
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let ends_word = bytes
            .get(i + KEY_ID_LEN)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        let key_id = KEY_PREFIXES
            .iter()
            .any(|p| candidate.starts_with(p.as_bytes()))
            && candidate[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if starts_word && ends_word && key_id {
            out.push_str(&text[copied..i]);
            out.push_str("[key id withheld]");
            i += KEY_ID_LEN;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_keeps_the_sdk_quiet_unless_asked() {
        let json = |verbose| Style::Command {
            text: false,
            verbose,
        };
        let text = |verbose| Style::Command {
            text: true,
            verbose,
        };
        assert!(directives(json(0), None).contains("aws_config=error"));
        assert!(directives(json(1), None).contains("aws_config=warn"));
        assert!(directives(Style::Lambda, None).contains("aws_config=warn"));
        assert!(directives(text(0), None).starts_with("warn,cvpn_audit=warn,"));
        assert!(directives(text(2), None).contains("aws_smithy_runtime=debug"));
        // The audit trail stays at info under a level asked for; a directive list is taken whole.
        assert!(directives(Style::Lambda, Some("warn".into())).starts_with("warn,cvpn_audit=info,"));
        assert_eq!(
            directives(Style::Lambda, Some("debug,hyper=off".into())),
            "debug,hyper=off"
        );
    }

    #[test]
    fn a_metric_line_carries_its_emf_and_others_are_left_whole() {
        let summary = r#"{"timestamp":"2026-12-07T18:00:00.000000Z","level":"INFO","event":"summary","terminated":2}"#;
        let decorated: Value = serde_json::from_str(&with_metrics(summary, "f")).unwrap();
        assert_eq!(decorated["SessionsEnded"], 2.0);
        assert_eq!(
            decorated["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "CvpnTerminator"
        );
        assert_eq!(decorated["Function"], "f");
        let other = "{\"event\":\"skipped\"}\n";
        assert_eq!(with_metrics(other, "f"), other);
        assert_eq!(
            with_metrics("not json \"event\":\"summary\"", "f"),
            "not json \"event\":\"summary\""
        );
    }

    #[test]
    fn access_key_ids_are_masked_wherever_they_are() {
        assert_eq!(
            mask(r#"{"params":"access_key_id: \"AKIAIOSFODNN7EXAMPLE\", x"}"#),
            r#"{"params":"access_key_id: \"[key id withheld]\", x"}"#
        );
        assert_eq!(
            mask("Credential=ASIAY34FZKBOKMUTVV7A/20261202/eu-west-1/ec2/aws4_request é"),
            "Credential=[key id withheld]/20261202/eu-west-1/ec2/aws4_request é"
        );
        // Not a key ID: too short, too long, lowercase, or inside a longer word.
        for kept in [
            "AKIA123",
            "AKIAIOSFODNN7EXAMPLEX",
            "akiaiosfodnn7example",
            "XAKIAIOSFODNN7EXAMPLE",
            "cvpn-connection-0123456789abcdef0",
        ] {
            assert_eq!(mask(kept), kept);
        }
    }
}
