//! JSON log lines on stderr, one object per line with the event's fields at the top level.

use tracing_subscriber::EnvFilter;

/// The target of the lines that are the audit trail (every status Terminate returned, failure,
/// deferral, skip and summary): kept at `info` whatever the level, so a deployment that logs only
/// warnings still has a line for every ended session.
pub const AUDIT: &str = "cvpn_audit";

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
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
