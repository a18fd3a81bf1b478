//! The function under a Lambda Runtime API with a short deadline and a slow EC2: the response
//! reaches the Runtime API before the deadline, and every connection the emulator ended has its log
//! line. The Runtime API here is a minimal one on loopback that hands out one invocation; the
//! function is the real binary, talking to the emulator through aws-sdk-ec2.

use crate::common::*;
use cvpn_emulator::{ActionFaults, Faults, Options};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the function posted back: the path (`…/response` or `…/error`), the body, and when.
struct Posted {
    path: String,
    body: Value,
    at: SystemTime,
}

/// Serves `GET …/invocation/next` once with `event` and `deadline`, then never again (the
/// function waits there until it is stopped); reports each `POST` on `posted`.
async fn runtime_api(
    listener: TcpListener,
    event: Value,
    deadline: SystemTime,
    posted: mpsc::Sender<Posted>,
) {
    let mut served = false;
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let next = if served {
            None
        } else {
            Some((event.clone(), deadline))
        };
        served = true;
        tokio::spawn(serve(stream, next, posted.clone()));
    }
}

async fn serve(
    stream: TcpStream,
    mut next: Option<(Value, SystemTime)>,
    posted: mpsc::Sender<Posted>,
) {
    let mut reader = AsyncBufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        let mut chunked = false;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await.unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).await.unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            reader.read_exact(&mut body).await.unwrap();
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let reply = if request_line.starts_with("GET") && path.ends_with("/invocation/next") {
            let Some((event, deadline)) = next.take() else {
                // The next invocation never comes: the function waits until it is stopped.
                std::future::pending::<()>().await;
                return;
            };
            let body = event.to_string();
            let ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n\
                 Lambda-Runtime-Deadline-Ms: {ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:111122223333:function:cvpn-terminator\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        } else {
            let at = SystemTime::now();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let _ = posted.send(Posted { path, body, at }).await;
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_owned()
        };
        reader.get_mut().write_all(reply.as_bytes()).await.unwrap();
    }
}

#[tokio::test]
async fn under_a_short_deadline_the_answer_comes_in_time_and_every_ended_session_is_logged() {
    // Eight connections of one user (more than a Username call may end: one call each), and a
    // Terminate that takes 700 ms.
    let mut state = sample_state();
    state.endpoints[0].connections.extend(
        (1..=8).map(|i| connection(cid("510e", i), Some("slowpoke"), &format!("10.100.7.{i}"))),
    );
    let emulator = cvpn_emulator::start("127.0.0.1:0", state, Options::default())
        .await
        .unwrap();
    let slow = ActionFaults {
        latency_ms: 700,
        ..Default::default()
    };
    emulator
        .service()
        .set_faults(Faults {
            seed: 1,
            actions: [("TerminateClientVpnConnections".to_owned(), slow)].into(),
        })
        .unwrap();

    // EventBridge as a black hole: it takes the connection and never answers, so telling people
    // could only end at the deadline's margin.
    let hole = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let events_url = format!("http://{}", hole.local_addr().unwrap());
    let swallow = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let deadline = SystemTime::now() + Duration::from_secs(4);
    let (posted, logs) = run_function(
        &[
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", events_url.as_str()),
            ("AWS_ENDPOINT_URL_EC2", emulator.url().as_str()),
            ("CVPN_MAX_TERMINATIONS", "20"),
            ("CVPN_CONCURRENCY", "1"),
            ("CVPN_DEADLINE_MARGIN_SECONDS", "1"),
        ],
        json!({"Username": "slowpoke"}),
        deadline,
    )
    .await;

    assert!(
        posted.at <= deadline,
        "answered {:?} after the deadline",
        posted.at.duration_since(deadline).unwrap_or_default()
    );
    // Not all eight fit before the deadline: the invocation says so as an error, with the rest
    // deferred (or cut off), and Lambda's retry picks them up.
    assert!(
        posted.path.ends_with("/error"),
        "{}: {}",
        posted.path,
        posted.body
    );
    let ended = emulator
        .service()
        .snapshot()
        .endpoints
        .iter()
        .flat_map(|e| e.connections.iter())
        .filter(|c| {
            c.username.as_deref() == Some("slowpoke")
                && c.status != cvpn_emulator::ConnectionStatus::Active
        })
        .map(|c| c.connection_id.clone())
        .collect::<Vec<_>>();
    assert!(
        !ended.is_empty() && ended.len() < 8,
        "the deadline fell mid-way: {ended:?}"
    );
    for id in &ended {
        assert!(
            logs.iter().any(|l| l["connection_id"] == id.as_str()
                && ["connection_status", "termination_failed"]
                    .contains(&l["event"].as_str().unwrap_or(""))),
            "{id} was ended but has no log line"
        );
    }
    let deferred = logs.iter().filter(|l| l["event"] == "deferred").count();
    assert!(deferred > 0, "some calls never started");
    // Telling people failed in the time left, and said so; it held nothing up.
    let told = logs
        .iter()
        .find(|l| l["event"] == "notification_failed")
        .expect("a notification_failed line");
    assert!(
        ["Deadline", "Timeout"].contains(&told["error_code"].as_str().unwrap_or("")),
        "{told}"
    );
    swallow.abort();
}

/// Runs the real binary under the Runtime API above with `env`, hands it `event`, and returns what
/// it posted back and its JSON log lines.
async fn run_function(
    env: &[(&str, &str)],
    event: Value,
    deadline: SystemTime,
) -> (Posted, Vec<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime = listener.local_addr().unwrap();
    let mut function = Command::new(env!("CARGO_BIN_EXE_cvpn-terminator"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "cvpn-terminator")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "example-secret")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = function.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .map(|l| match serde_json::from_str::<Value>(&l) {
                // Every line the function writes under Lambda is one JSON object.
                Ok(line @ Value::Object(_)) => line,
                _ => panic!("a log line that is not one JSON object: {l}"),
            })
            .collect::<Vec<Value>>()
    });
    let (tx, mut rx) = mpsc::channel(4);
    let server = tokio::spawn(runtime_api(listener, event, deadline, tx));
    let posted = rx.recv().await.expect("the function answered");
    function.kill().unwrap();
    function.wait().unwrap();
    server.abort();
    (posted, logs.join().unwrap())
}

#[tokio::test]
async fn with_bad_settings_the_connect_handler_still_answers_and_nothing_else_acts() {
    let request = json!({"connection-id": "cvpn-connection-0000000000c0ffee1",
        "endpoint-id": EP_A, "common-name": "alice", "username": "alice", "platform": "macos",
        "platform-version": "15", "public-ip": "198.51.100.1", "client-openvpn-version": "2.6",
        "schema-version": "v1"});
    let deadline = SystemTime::now() + Duration::from_secs(30);
    let bad = ("CVPN_CONNECT_TIMEOUT_MS", "30000");
    for (on_error, allow) in [(None, true), (Some("deny"), false)] {
        let mut env = vec![bad];
        env.extend(on_error.map(|v| ("CVPN_CONNECT_ON_ERROR", v)));
        let (posted, logs) = run_function(&env, request.clone(), deadline).await;
        assert!(
            posted.path.ends_with("/response"),
            "{}: {}",
            posted.path,
            posted.body
        );
        assert_eq!(posted.body["allow"], allow, "{}", posted.body);
        assert_eq!(posted.body["schema-version"], "v1");
        assert!(logs.iter().any(|l| l["event"] == "quarantine_check_failed"));
    }
    let (posted, _) = run_function(&[bad], json!({"Username": "alice"}), deadline).await;
    assert!(posted.path.ends_with("/error"), "{}", posted.body);
    assert!(
        posted.body.to_string().contains("CVPN_CONNECT_TIMEOUT_MS"),
        "{}",
        posted.body
    );
}

#[tokio::test]
async fn a_bad_setting_with_a_newline_in_it_is_logged_as_one_json_line() {
    let forged = "eleven\n{\"event\":\"forged\",\"level\":\"INFO\"}";
    let deadline = SystemTime::now() + Duration::from_secs(30);
    let (posted, logs) = run_function(
        &[("CVPN_MIN_SEVERITY", forged)],
        json!({"Username": "alice"}),
        deadline,
    )
    .await;
    assert!(posted.path.ends_with("/error"), "{}", posted.body);
    // run_function has checked that every line is one JSON object.
    assert!(logs.iter().all(|l| l["event"] != "forged"), "{logs:?}");
    let bad = logs
        .iter()
        .find(|l| l["event"] == "bad_config")
        .expect("a bad_config line");
    assert_eq!(bad["variable"], "CVPN_MIN_SEVERITY");
}

#[tokio::test]
async fn at_trace_no_line_carries_the_access_key_id_or_the_secret() {
    let emulator = cvpn_emulator::start("127.0.0.1:0", sample_state(), Options::default())
        .await
        .unwrap();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    let key = "AKIAIOSFODNN7EXAMPLE";
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let (posted, logs) = run_function(
        &[
            ("AWS_ENDPOINT_URL_EC2", emulator.url().as_str()),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLEsessiontoken"),
            // Asked for by name, too: the SDK's signing lines are never written.
            (
                "AWS_LAMBDA_LOG_LEVEL",
                "trace,aws_sigv4=trace,aws_smithy_runtime=trace,aws_credential_types=trace",
            ),
        ],
        json!({"Username": "alice", "DryRun": true}),
        deadline,
    )
    .await;
    assert!(posted.path.ends_with("/response"), "{}", posted.body);
    assert!(
        logs.iter()
            .any(|l| l["level"] == "TRACE" || l["level"] == "DEBUG"),
        "verbose lines were written"
    );
    for line in &logs {
        let text = line.to_string();
        for never in [key, secret, "FwoGZXIvYXdzEXAMPLEsessiontoken"] {
            assert!(!text.contains(never), "{never} in {text}");
        }
    }
}
