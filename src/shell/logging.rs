//! JSON log lines on stderr, one object per line with the event's fields at the top level. No
//! line carries a credential or a key identifier, whatever level is asked for: the SDK's signing
//! and wire lines (which print the access key ID and the signed headers at TRACE) are never
//! written, and a key ID that reaches a line any other way is masked as it is written.

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

/// The level comes from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's JSON log format) or `RUST_LOG`;
/// the SDK's own chatter is kept to warnings unless asked for.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    let directives = if level.contains('=') {
        level
    } else {
        format!("{level},{AUDIT}=info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_ec2=warn,lambda_runtime=warn,hyper=warn")
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let cap = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED);
    let lines = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(Masked)
        .with_filter(filter)
        .with_filter(cap);
    tracing_subscriber::registry().with(lines).init();
}

/// Standard error, through [`mask`]: the JSON formatter writes each line whole, so a key ID is
/// never split across two writes.
struct Masked;

impl<'a> MakeWriter<'a> for Masked {
    type Writer = MaskedLine;
    fn make_writer(&'a self) -> MaskedLine {
        MaskedLine(Vec::new())
    }
}

/// One line, masked and written to stderr when the formatter is done with it.
struct MaskedLine(Vec<u8>);

impl Write for MaskedLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLine {
    fn drop(&mut self) {
        let line = String::from_utf8_lossy(&self.0);
        let _ = io::stderr().lock().write_all(mask(&line).as_bytes());
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
