//! The connect handler benchmark's floor (`bench/connect.py`): a process that does only what the
//! harness and moto must do for any handler — take the event from the Runtime API, send one
//! unsigned BatchGetItem to moto, post the answer — with no SDK, no TLS setup, no logging. What a
//! handler takes beyond this is its own. Built with `rustc` alone (`bench/run.sh`).
use std::io::{Read, Write};
use std::net::TcpStream;
/// One request on a fresh connection, and its whole answer.
fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            let len: usize = text[..i].lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap())).unwrap_or(0);
            if buf.len() >= i + 4 + len { return text; }
        }
        if n == 0 { return text; }
    }
}
fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap();
    let moto = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let moto = moto.trim_start_matches("http://").to_string();
    let next = http(&api, &format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\n\r\n"));
    let id = next.lines().find_map(|l| l.strip_prefix("Lambda-Runtime-Aws-Request-Id: ")).unwrap().trim().to_string();
    let body = r#"{"RequestItems":{"bench-quarantine":{"Keys":[{"pk":{"S":"quarantine#username#alice@example.com"}}],"ConsistentRead":true}}}"#;
    let got = http(&moto, &format!("POST / HTTP/1.1\r\nHost: {moto}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.BatchGetItem\r\nAuthorization: AWS4-HMAC-SHA256 Credential=bench/20261122/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    let held = got.contains("quarantine#username");
    let answer = format!(r#"{{"allow":{},"error-msg-on-failed-posture-compliance":"held","posture-compliance-statuses":[],"schema-version":"v2"}}"#, !held);
    http(&api, &format!("POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: {api}\r\nContent-Length: {}\r\n\r\n{answer}", answer.len()));
    // As a handler under the Runtime API would, it stays until the harness stops it.
    std::thread::sleep(std::time::Duration::from_secs(30));
}
