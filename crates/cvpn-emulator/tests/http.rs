//! Raw HTTP against the emulator: malformed requests must get EC2 error documents, and the admin API
//! must read and change the world.

use cvpn_emulator::{Options, StateFile};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=abc";

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn error_code(&self) -> &str {
        let start = self.body.find("<Code>").expect("an EC2 error document") + 6;
        let end = self.body[start..].find("</Code>").unwrap() + start;
        &self.body[start..end]
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// One request over a fresh connection; the server closes it after answering.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply { status, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

async fn api(addr: std::net::SocketAddr, body: &str) -> Reply {
    request(
        addr,
        "POST",
        "/",
        &[
            ("Authorization", SIGNED),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ],
        body.as_bytes(),
    )
    .await
}

fn sample_state() -> StateFile {
    serde_json::from_value(json!({"endpoints": [{
        "clientVpnEndpointId": "cvpn-endpoint-0123456789abcdef0",
        "clientCidrBlock": "10.100.0.0/16",
        "connections": [{
            "connectionId": "cvpn-connection-0123456789abcdef0", "username": "alice", "commonName": "alice",
            "clientIp": "10.100.0.2", "status": "active", "connectionEstablishedTime": "2026-11-22T08:00:00Z",
            "ingressBytes": 1200, "egressBytes": 3400
        }]
    }]}))
    .unwrap()
}

#[tokio::test]
async fn malformed_requests_get_ec2_errors() {
    let emulator = cvpn_emulator::start("127.0.0.1:0", sample_state(), Options::default())
        .await
        .unwrap();
    let addr = emulator.addr();
    let ok = "Action=DescribeClientVpnConnections&Version=2016-11-15&ClientVpnEndpointId=cvpn-endpoint-0123456789abcdef0";
    let cases: &[(&str, u16, &str)] = &[
        ("this is not a form", 400, "InvalidQueryParameter"),
        (
            "{\"Action\":\"DescribeClientVpnConnections\"}",
            400,
            "InvalidQueryParameter",
        ),
        (
            "Action=DescribeClientVpnConnections&Action=RunInstances",
            400,
            "InvalidQueryParameter",
        ),
        ("Action=Describe%ZZ", 400, "InvalidQueryParameter"),
        ("Version=2016-11-15", 400, "MissingAction"),
        (
            "Action=RunInstances&Version=2016-11-15",
            400,
            "InvalidAction",
        ),
        (
            "Action=DescribeClientVpnConnections",
            400,
            "MissingParameter",
        ),
        (
            "Action=DescribeClientVpnConnections&Version=2016-11-15",
            400,
            "MissingParameter",
        ),
        (
            "Action=TerminateClientVpnConnections&Version=2016-11-15&Username=alice",
            400,
            "MissingParameter",
        ),
        (
            &format!("{ok}&MaxResults=100000"),
            400,
            "InvalidParameterValue",
        ),
        (
            &format!("{ok}&MaxResults=ten"),
            400,
            "InvalidParameterValue",
        ),
        (
            &format!("{ok}&NextToken=garbage"),
            400,
            "InvalidPaginationToken",
        ),
        (&format!("{ok}&DryRun=maybe"), 400, "InvalidParameterValue"),
        (&format!("{ok}&Frobnicate=1"), 400, "UnknownParameter"),
        (&format!("{ok}&Filter.1.Value.1=x"), 400, "MissingParameter"),
    ];
    for (body, status, code) in cases {
        let reply = api(addr, body).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (*status, *code),
            "body: {body}"
        );
        assert!(reply.body.contains("<RequestID>"), "{}", reply.body);
    }
    let reply = api(addr, ok).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains(
        "<DescribeClientVpnConnectionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    ));
    assert!(reply.body.contains("<requestId>"));

    let oversized = "A=".to_owned() + &"x".repeat(2 << 20);
    assert_eq!(
        api(addr, &oversized).await.error_code(),
        "InvalidQueryParameter"
    );
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let emulator = cvpn_emulator::start("127.0.0.1:0", sample_state(), Options::default())
        .await
        .unwrap();
    let body = b"Action=DescribeClientVpnEndpoints&Version=2016-11-15";
    let none = request(emulator.addr(), "POST", "/", &[], body).await;
    assert_eq!(
        (none.status, none.error_code()),
        (401, "MissingAuthenticationToken")
    );
    let basic = request(
        emulator.addr(),
        "POST",
        "/",
        &[("Authorization", "Basic YTpi")],
        body,
    )
    .await;
    assert_eq!((basic.status, basic.error_code()), (401, "AuthFailure"));
    let get = request(
        emulator.addr(),
        "GET",
        "/?Action=DescribeClientVpnEndpoints&Version=2016-11-15",
        &[("Authorization", SIGNED)],
        b"",
    )
    .await;
    assert_eq!(get.status, 200, "{}", get.body);
}

#[tokio::test]
async fn admin_api_reads_and_changes_the_world() {
    let emulator = cvpn_emulator::start("127.0.0.1:0", sample_state(), Options::default())
        .await
        .unwrap();
    let addr = emulator.addr();
    let json_header = [("Content-Type", "application/json")];

    let state = request(addr, "GET", "/_emulator/state", &[], b"")
        .await
        .json();
    assert_eq!(
        state,
        serde_json::to_value(sample_state()).unwrap(),
        "the state file round-trips"
    );

    let clock = request(
        addr,
        "POST",
        "/_emulator/clock",
        &json_header,
        br#"{"now":"2026-11-22T09:00:00Z"}"#,
    )
    .await
    .json();
    assert_eq!(
        clock,
        json!({"now": "2026-11-22T09:00:00Z", "frozen": true})
    );
    let clock = request(
        addr,
        "POST",
        "/_emulator/clock",
        &json_header,
        br#"{"advanceSeconds":600}"#,
    )
    .await
    .json();
    assert_eq!(clock["now"], "2026-11-22T09:10:00Z");

    let added = request(
        addr,
        "POST",
        "/_emulator/endpoints/cvpn-endpoint-0123456789abcdef0/connections",
        &json_header,
        br#"[{"connectionId":"cvpn-connection-0123456789abcdef1","username":"bob","connectionEstablishedTime":"2026-11-22 09:05:00"}]"#,
    )
    .await;
    assert_eq!(added.json(), json!({"upserted": 1}));
    let typo = request(
        addr,
        "POST",
        "/_emulator/endpoints/cvpn-endpoint-0123456789abcdef0/connections",
        &json_header,
        br#"[{"connectionId":"cvpn-connection-0123456789abcdef2","userName":"bob","connectionEstablishedTime":"2026-11-22 09:05:00"}]"#,
    )
    .await;
    assert_eq!(typo.status, 400);
    assert!(typo.json()["error"].as_str().unwrap().contains("userName"));

    let traffic = request(
        addr,
        "POST",
        "/_emulator/traffic",
        &json_header,
        br#"[{"connectionId":"cvpn-connection-0123456789abcdef0","addIngressBytes":800,"addEgressBytes":600}]"#,
    )
    .await;
    assert_eq!(traffic.json(), json!({"changed": 1}));
    let unknown = request(
        addr,
        "POST",
        "/_emulator/traffic",
        &json_header,
        br#"[{"connectionId":"cvpn-connection-nope"}]"#,
    )
    .await;
    assert_eq!(unknown.status, 400);

    let terminate = api(
        addr,
        "Action=TerminateClientVpnConnections&Version=2016-11-15&ClientVpnEndpointId=cvpn-endpoint-0123456789abcdef0&Username=alice",
    )
    .await;
    assert_eq!(terminate.status, 200, "{}", terminate.body);
    let state = request(addr, "GET", "/_emulator/state", &[], b"")
        .await
        .json();
    let conns = state["endpoints"][0]["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["status"], "terminating");
    assert_eq!(conns[0]["ingressBytes"], 2000);
    assert_eq!(conns[0]["egressBytes"], 4000);
    assert_eq!(conns[1]["username"], "bob");
    assert_eq!(conns[1]["status"], "active");

    let faults = json!({"seed": 9, "actions": {"TerminateClientVpnConnections": {"throttle": {"bucket": 5.0, "refillPerSecond": 1.0}, "errorRate": 0.1, "latencyMs": 5}}});
    let put = request(
        addr,
        "PUT",
        "/_emulator/faults",
        &json_header,
        faults.to_string().as_bytes(),
    )
    .await;
    assert_eq!(put.status, 204);
    let read = request(addr, "GET", "/_emulator/faults", &[], b"")
        .await
        .json();
    assert_eq!(
        read["actions"]["TerminateClientVpnConnections"]["latencyMs"],
        5
    );
    let bad = request(
        addr,
        "PUT",
        "/_emulator/faults",
        &json_header,
        br#"{"actions":{"RunInstances":{}}}"#,
    )
    .await;
    assert_eq!(bad.status, 400);

    let stats = request(addr, "GET", "/_emulator/stats", &[], b"")
        .await
        .json();
    assert_eq!(stats["TerminateClientVpnConnections"]["calls"], 1);
    assert_eq!(
        request(addr, "DELETE", "/_emulator/stats", &[], b"")
            .await
            .status,
        204
    );
    let stats = request(addr, "GET", "/_emulator/stats", &[], b"")
        .await
        .json();
    assert_eq!(stats["TerminateClientVpnConnections"]["calls"], 0);

    let replaced = request(
        addr,
        "PUT",
        "/_emulator/state",
        &json_header,
        br#"{"endpoints":[]}"#,
    )
    .await;
    assert_eq!(replaced.status, 204);
    assert_eq!(
        request(addr, "GET", "/_emulator/state", &[], b"")
            .await
            .json(),
        json!({"endpoints": []})
    );
}

#[tokio::test]
async fn admin_inputs_that_would_overflow_are_refused_and_change_nothing() {
    let emulator = cvpn_emulator::start("127.0.0.1:0", sample_state(), Options::default())
        .await
        .unwrap();
    let addr = emulator.addr();
    let json_header = [("Content-Type", "application/json")];
    let post = |path: &'static str, body: String| async move {
        request(addr, "POST", path, &json_header, body.as_bytes()).await
    };
    let added = post(
        "/_emulator/endpoints/cvpn-endpoint-0123456789abcdef0/connections",
        json!([{"connectionId": "cvpn-connection-0123456789abcdef1", "username": "bob",
                "connectionEstablishedTime": "2026-11-22T08:30:00Z", "ingressBytes": 7}])
        .to_string(),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let state = || async move {
        request(addr, "GET", "/_emulator/state", &[], b"")
            .await
            .json()
    };
    let before = state().await;

    let alice = "cvpn-connection-0123456789abcdef0";
    let bob = "cvpn-connection-0123456789abcdef1";
    let refused_batches = [
        (
            json!([{"connectionId": alice, "addIngressBytes": u64::MAX}]),
            "traffic[0].addIngressBytes",
        ),
        // The first item alone is fine; the second overflows, so neither applies.
        (
            json!([{"connectionId": alice, "addEgressBytes": 5},
                   {"connectionId": bob, "ingressBytes": u64::MAX, "addIngressBytes": 1}]),
            "traffic[1].addIngressBytes",
        ),
        (
            json!([{"connectionId": alice, "addIngressPackets": 1},
                   {"connectionId": alice, "addIngressPackets": u64::MAX}]),
            "traffic[1].addIngressPackets",
        ),
        (
            json!([{"connectionId": bob, "addEgressPackets": 1},
                   {"connectionId": "cvpn-connection-nope"}]),
            "traffic[1].connectionId",
        ),
    ];
    for (batch, field) in refused_batches {
        let reply = post("/_emulator/traffic", batch.to_string()).await;
        assert_eq!(reply.status, 400, "{batch}: {}", reply.body);
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.starts_with(field), "{batch}: {error}");
        assert_eq!(state().await, before, "{batch} changed the state");
    }
    let fits = post(
        "/_emulator/traffic",
        json!([{"connectionId": bob, "ingressBytes": u64::MAX - 1, "addIngressBytes": 1}])
            .to_string(),
    )
    .await;
    assert_eq!(fits.json(), json!({"changed": 1}));
    assert_eq!(
        state().await["endpoints"][0]["connections"][1]["ingressBytes"],
        u64::MAX
    );

    let set = post(
        "/_emulator/clock",
        json!({"now": "2026-11-22T09:00:00Z"}).to_string(),
    )
    .await
    .json();
    for change in [
        // Within `TimeDelta`, beyond `DateTime`: this overflowed (and panicked).
        json!({"advanceSeconds": 9_000_000_000_000_000_i64}),
        json!({"advanceSeconds": -9_000_000_000_000_000_i64}),
        // Past the year 9999, which RFC 3339 cannot write.
        json!({"advanceSeconds": 300_000_000_000_i64, "frozen": false}),
        json!({"now": "9999-12-31T23:59:59-01:00"}),
    ] {
        let reply = post("/_emulator/clock", change.to_string()).await;
        assert_eq!(reply.status, 400, "{change}: {}", reply.body);
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        let field = change.as_object().unwrap().keys().next().unwrap().clone();
        assert!(error.starts_with(&format!("{field}:")), "{change}: {error}");
        let clock = request(addr, "GET", "/_emulator/clock", &[], b"")
            .await
            .json();
        assert_eq!(clock, set, "{change} moved the clock");
    }

    let slow = json!({"actions": {"DescribeClientVpnEndpoints": {"latencyMs": u64::MAX}}});
    let reply = request(
        addr,
        "PUT",
        "/_emulator/faults",
        &json_header,
        slow.to_string().as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("latencyMs"));
    assert_eq!(
        request(addr, "GET", "/_emulator/faults", &[], b"")
            .await
            .json(),
        json!({"seed": 0, "actions": {}})
    );
}

#[tokio::test]
async fn characters_xml_forbids_do_not_reach_responses() {
    let emulator = cvpn_emulator::start("127.0.0.1:0", sample_state(), Options::default())
        .await
        .unwrap();
    let addr = emulator.addr();
    let added = request(
        addr,
        "POST",
        "/_emulator/endpoints/cvpn-endpoint-0123456789abcdef0/connections",
        &[("Content-Type", "application/json")],
        json!([{"connectionId": "cvpn-connection-0123456789abcdef1", "username": "eve\u{7}\u{1b}[0m\r\n",
                "connectionEstablishedTime": "2026-11-22T08:30:00Z"}])
        .to_string()
        .as_bytes(),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let forbidden = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');

    let describe = api(
        addr,
        "Action=DescribeClientVpnConnections&Version=2016-11-15&ClientVpnEndpointId=cvpn-endpoint-0123456789abcdef0",
    )
    .await;
    assert_eq!(describe.status, 200, "{}", describe.body);
    assert!(
        describe
            .body
            .contains("<username>eve\u{fffd}\u{fffd}[0m&#xD;\n</username>"),
        "{}",
        describe.body
    );
    assert!(!describe.body.contains(forbidden), "{:?}", describe.body);

    // Echoed client input in an error message.
    let terminate = api(
        addr,
        "Action=TerminateClientVpnConnections&Version=2016-11-15&ClientVpnEndpointId=cvpn-endpoint-0123456789abcdef0&Username=%01bob%1F%EF%BF%BF",
    )
    .await;
    assert_eq!(
        terminate.error_code(),
        "InvalidClientVpnConnection.UserNotFound"
    );
    assert!(
        terminate
            .body
            .contains("&apos;\u{fffd}bob\u{fffd}\u{fffd}&apos;"),
        "{}",
        terminate.body
    );
    assert!(!terminate.body.contains(forbidden), "{:?}", terminate.body);
}
