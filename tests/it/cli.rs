//! The `cvpn-terminator` binary as a person or a script runs it: configured only by environment,
//! pointed at the emulator with AWS_ENDPOINT_URL_EC2, JSON response on stdout, JSON logs on stderr.

use crate::common::binary::*;
use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn invoke_prints_the_response_and_logs_each_status_as_json() {
    let h = harness(sample_state(), Default::default()).await;
    let r = run(
        &h.emulator.url(),
        &[
            "invoke",
            "--event",
            "events/guardduty-iam-assumed-role.json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let response: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(response["terminated"].as_array().unwrap().len(), 3);
    assert_eq!(
        h.ended(),
        set(&[cid("a11ce", 1), cid("a11ce", 2), cid("a11ce", 3)])
    );

    assert!(
        r.stderr
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "every log line is JSON:\n{}",
        r.stderr
    );
    let statuses: Vec<&Value> = r
        .logs
        .iter()
        .filter(|l| l["event"] == "connection_status")
        .collect();
    assert_eq!(statuses.len(), 3);
    for line in statuses {
        for field in [
            "timestamp",
            "level",
            "endpoint_id",
            "connection_id",
            "username",
            "previous_status",
            "current_status",
            "trigger_source",
            "finding_id",
            "finding_type",
            "severity",
            "why",
            "dry_run",
        ] {
            assert!(!line[field].is_null(), "{field} missing in {line}");
        }
        assert_eq!(
            (
                line["previous_status"].as_str(),
                line["current_status"].as_str()
            ),
            (Some("active"), Some("terminating"))
        );
        assert_eq!(line["trigger_source"], "guard_duty");
        assert_eq!(line["finding_id"], "6ec9f4b2d2a0f2a7b3e8c1d5f0a9e8b7");
    }
    let summary: Vec<&Value> = r.logs.iter().filter(|l| l["event"] == "summary").collect();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["terminated"], 3);
    assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
}

#[tokio::test]
async fn every_status_is_logged_even_when_only_warnings_are() {
    let h = harness(sample_state(), Default::default()).await;
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "events/direct-username.json"],
        &[("AWS_LAMBDA_LOG_LEVEL", "WARN")],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let logged: Vec<&str> = r
        .logs
        .iter()
        .filter(|l| l["event"] == "connection_status")
        .filter_map(|l| l["connection_id"].as_str())
        .collect();
    assert_eq!(logged.len(), 2, "{}", r.stderr);
    assert!(r.logs.iter().any(|l| l["event"] == "summary"));
}

#[tokio::test]
async fn invoke_reads_stdin_and_fails_on_bad_events_without_calls() {
    let h = harness(sample_state(), Default::default()).await;
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "-"],
        &[],
        Some(r#"{"Username": "frank"}"#),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(h.ended(), set(&[cid("f4a4c", 1), cid("f4a4c", 2)]));

    let h = harness(sample_state(), Default::default()).await;
    let bad = r#"{"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "detail": {"id": "x", "type": "t", "severity": "high"}}"#;
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "-"],
        &[],
        Some(bad),
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("event.detail.severity"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(h.api_calls(), 0);
}

#[tokio::test]
async fn invoke_refuses_a_key_named_twice_and_an_event_over_lambdas_limit() {
    let h = harness(sample_state(), Default::default()).await;
    let twice = r#"{"Username": "frank", "Reason": "r", "Username": "bob"}"#;
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "-"],
        &[],
        Some(twice),
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("event.Username: named twice"),
        "{}",
        r.stderr
    );
    let bad = r.logs.iter().find(|l| l["event"] == "bad_event").unwrap();
    assert_eq!(bad["path"], "event.Username");
    // Nested anywhere, too.
    let nested = r#"{"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "id": "e",
        "detail": {"resource": {"accessKeyDetails": {"userName": "a", "userName": "b"}}}}"#;
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "-"],
        &[],
        Some(nested),
    )
    .await;
    assert!(
        r.stderr
            .contains("event.detail.resource.accessKeyDetails.userName: named twice"),
        "{}",
        r.stderr
    );
    // /dev/zero never ends: refused once past 6 MB, without reading on.
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "/dev/zero"],
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("over 6291456 bytes"), "{}", r.stderr);
    assert_eq!(h.api_calls(), 0);
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn failures_exit_non_zero_with_the_response() {
    let h = harness(sample_state(), Default::default()).await;
    let r = run(
        &h.emulator.url(),
        &[
            "invoke",
            "--event",
            "events/guardduty-iam-assumed-role.json",
        ],
        &[("CVPN_MAX_TERMINATIONS", "2")],
        None,
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("CVPN_MAX_TERMINATIONS"));
    let response: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(response["terminated"].as_array().unwrap().len(), 0);
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn bad_settings_stop_it_at_start_naming_the_variable() {
    let h = harness(sample_state(), Default::default()).await;
    let r = run(
        &h.emulator.url(),
        &["invoke", "--event", "events/direct-username.json"],
        &[("CVPN_MIN_SEVERITY", "eleven")],
        None,
    )
    .await;
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("CVPN_MIN_SEVERITY"), "{}", r.stderr);
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn commands_for_people() {
    let h = harness(sample_state(), Default::default()).await;
    let url = h.emulator.url();
    let r = run(&url, &["connections", "--endpoint", EP_B], &[], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|c| c["endpoint_id"] == EP_B));

    let r = run(
        &url,
        &["terminate", "--username", "ivan", "--dry-run"],
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(h.ended().is_empty());
    let r = run(
        &url,
        &["terminate", "--username", "ivan", "--reason", "offboarded"],
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(h.ended(), set(&[cid("1fa4", 1)]));

    let r = run(&url, &["terminate", "--user", "ivan"], &[], None).await;
    assert_eq!(r.code, 2);
}

#[tokio::test]
async fn quarantine_commands_record_who_asked_and_check_says_what_is_unwired() {
    let h = harness(sample_state(), Default::default()).await;
    let moto = Moto::start();
    moto.table("cli-quarantine").await;
    // moto answers STS GetCallerIdentity as its default user.
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.url.as_str()),
        ("AWS_ENDPOINT_URL_STS", moto.url.as_str()),
        ("CVPN_STATE_TABLE", "cli-quarantine"),
    ];
    let url = h.emulator.url();
    let add = run(
        &url,
        &[
            "quarantine",
            "add",
            "--username",
            "Mallory",
            "--minutes",
            "30",
            "--reason",
            "INC-7",
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(add.code, 0, "{}", add.stderr);
    let changed: Vec<&Value> = add
        .logs
        .iter()
        .filter(|l| l["event"] == "quarantine_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{}", add.stderr);
    assert_eq!(changed[0]["outcome"], "placed");
    assert_eq!(changed[0]["name"], "mallory");
    let who = changed[0]["requested_by"].as_str().unwrap().to_owned();
    assert!(who.starts_with("arn:aws:"), "{who}");

    let list = run(&url, &["quarantine", "list"], &env, None).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let holds: Vec<Value> = list
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (
            holds[0]["subject"]["name"].as_str(),
            holds[0]["reason"].as_str()
        ),
        (Some("mallory"), Some("INC-7"))
    );

    let release = run(
        &url,
        &["quarantine", "release", "--username", "MALLORY"],
        &env,
        None,
    )
    .await;
    assert_eq!(release.code, 0, "{}", release.stderr);
    let released = release
        .logs
        .iter()
        .find(|l| l["event"] == "quarantine_changed")
        .unwrap();
    assert_eq!(
        (
            released["outcome"].as_str(),
            released["requested_by"].as_str()
        ),
        (Some("released"), Some(who.as_str()))
    );
    let list = run(&url, &["quarantine", "list"], &env, None).await;
    assert_eq!(list.stdout, "");

    // No endpoint calls a handler: check lists both and fails.
    let check = run(&url, &["check"], &env, None).await;
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert_eq!(
        check
            .stdout
            .matches("\"enforces_quarantine\":false")
            .count(),
        2
    );
    // Without a table, quarantine commands are a usage error naming the variable.
    let bare = run(&url, &["quarantine", "list"], &[], None).await;
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("CVPN_STATE_TABLE"), "{}", bare.stderr);
}

#[tokio::test]
async fn a_state_table_named_by_arn_is_reached_in_its_own_region() {
    let h = harness(sample_state(), Default::default()).await;
    let moto = Moto::start();
    // The central table is in eu-west-1 (moto's default account); this function runs in
    // eu-central-1, as a network account's connect handler in another Region would.
    moto.table("central").await;
    let env = [
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.url.as_str()),
        ("AWS_ENDPOINT_URL_STS", moto.url.as_str()),
        (
            "CVPN_STATE_TABLE",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/central",
        ),
    ];
    let url = h.emulator.url();
    let add = run(
        &url,
        &[
            "quarantine",
            "add",
            "--username",
            "mallory",
            "--minutes",
            "30",
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(add.code, 0, "{}", add.stderr);
    let list = run(&url, &["quarantine", "list"], &env, None).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("\"mallory\""), "{}", list.stdout);
}

#[tokio::test]
async fn approve_answers_a_request_as_the_callers_verified_identity() {
    let h = harness(sample_state(), Default::default()).await;
    let moto = Moto::start();
    moto.table("cli-approve").await;
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.url.as_str()),
        ("AWS_ENDPOINT_URL_STS", moto.url.as_str()),
        ("CVPN_STATE_TABLE", "cli-approve"),
        ("CVPN_IDENTITY_ACCOUNTS", "111122223333"),
        ("CVPN_ASK_BELOW_SEVERITY", "9"),
        ("CVPN_APPROVALS_REQUIRED", "2"),
    ];
    let url = h.emulator.url();
    let event = [
        "invoke",
        "--event",
        "events/guardduty-iam-assumed-role.json",
    ];
    let asked = run(&url, &event, &env, None).await;
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    let response: Value = serde_json::from_str(&asked.stdout).unwrap();
    let id = response["approval_requests"][0]["id"].as_str().unwrap();
    assert!(h.ended().is_empty());
    // One verified approval of the two needed: counted, nothing ended yet.
    let approve = run(&url, &["approve", id, "--reason", "INC-7"], &env, None).await;
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let answered: Value = serde_json::from_str(&approve.stdout).unwrap();
    assert_eq!(answered["approval"]["outcome"], "counted");
    assert_eq!(answered["approval"]["verified"], true);
    assert!(answered["approval"]["by"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:"));
    assert!(h.ended().is_empty());
    // The same identity again is refused, and so is a request ID that is none.
    let again = run(&url, &["approve", id], &env, None).await;
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    let bad = run(&url, &["deny", "apr-nope"], &env, None).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn usage_is_checked_before_anything_is_loaded_or_ended() {
    let h = harness(sample_state(), Default::default()).await;
    let url = h.emulator.url();
    // With settings that would stop it at start: usage comes first, and says only usage.
    let bad_settings = [("CVPN_MIN_SEVERITY", "eleven")];
    for args in [
        &[][..],
        &["terminate"],
        &["terminate", "--username", "frank", "--reason", "--dry-run"],
        &["terminate", "--username", "frank", "--username", "bob"],
        &["terminate", "--user", "frank"],
        &[
            "quarantine",
            "add",
            "--username",
            "frank",
            "--minutes",
            "soon",
        ],
    ] {
        let r = run(&url, args, &bad_settings, None).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.logs.is_empty(),
            "{args:?}: no log line before usage is right: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("CVPN_MIN_SEVERITY"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    let r = run(&url, &["terminate", "--user", "frank"], &[], None).await;
    assert!(
        r.stderr.contains("--username"),
        "a suggestion: {}",
        r.stderr
    );
    assert_eq!(h.api_calls(), 0);
    assert!(h.ended().is_empty());

    let version = run(&url, &["--version"], &bad_settings, None).await;
    assert_eq!(version.code, 0);
    assert_eq!(
        version.stdout.trim(),
        format!("cvpn-terminator {}", env!("CARGO_PKG_VERSION"))
    );
    let help = run(&url, &["quarantine", "add", "--help"], &[], None).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--common-name"), "{}", help.stdout);
    for shell in ["bash", "zsh", "fish"] {
        let c = run(&url, &["completions", shell], &bad_settings, None).await;
        assert_eq!(c.code, 0, "{shell}: {}", c.stderr);
        assert!(
            c.stdout.contains("quarantine") && c.stdout.contains("dry-run"),
            "{shell}"
        );
    }
}

#[tokio::test]
async fn a_person_reads_tables_and_sentences_a_script_json() {
    let h = harness(sample_state(), Default::default()).await;
    let url = h.emulator.url();
    let r = run(
        &url,
        &["--output", "text", "connections", "--endpoint", EP_B],
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("USER") && lines[0].contains("CLIENT IP"),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines.len(),
        5,
        "a header and four connections:\n{}",
        r.stdout
    );
    assert!(!r.stdout.contains('{'), "{}", r.stdout);

    // Not a terminal: nothing is asked, and the sentences say what was done.
    let r = run(
        &url,
        &["terminate", "--username", "ivan", "--output", "text"],
        &[],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(h.ended(), set(&[cid("1fa4", 1)]));
    assert!(
        r.stdout.starts_with("Ended ivan's connection"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains('{'), "{}", r.stdout);
    // Text mode keeps the audit lines off a person's screen; errors still show.
    assert!(!r.stderr.contains("connection_status"), "{}", r.stderr);

    // JSON is the default off a terminal, and the same as before.
    let r = run(
        &url,
        &["terminate", "--username", "ivan", "--dry-run"],
        &[],
        None,
    )
    .await;
    let response: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(response["dry_run"], true);
}

#[tokio::test]
async fn at_a_terminal_ending_sessions_is_confirmed_first() {
    let h = harness(sample_state(), Default::default()).await;
    let url = h.emulator.url();
    let no = run_at_terminal(&url, &["terminate", "--username", "ivan"], &[], "n").await;
    assert_eq!(no.code, 1, "{}", no.stdout);
    assert!(
        no.stdout.contains("End every session of ivan? [y/N]"),
        "{}",
        no.stdout
    );
    assert!(no.stdout.contains("nothing was done"), "{}", no.stdout);
    assert_eq!(h.api_calls(), 0);
    assert!(h.ended().is_empty());

    let yes = run_at_terminal(&url, &["terminate", "--username", "ivan"], &[], "y").await;
    assert_eq!(yes.code, 0, "{}", yes.stdout);
    assert!(
        yes.stdout.contains("Ended ivan's connection"),
        "a sentence: {}",
        yes.stdout
    );
    assert_eq!(h.ended(), set(&[cid("1fa4", 1)]));

    // --yes, and a dry run, are not asked about.
    let h = harness(sample_state(), Default::default()).await;
    let url = h.emulator.url();
    let dry = run_at_terminal(
        &url,
        &["terminate", "--username", "ivan", "--dry-run"],
        &[],
        "n",
    )
    .await;
    assert_eq!(dry.code, 0, "{}", dry.stdout);
    assert!(!dry.stdout.contains("[y/N]"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("Would end ivan's connection"),
        "{}",
        dry.stdout
    );
    let sure = run_at_terminal(
        &url,
        &["terminate", "--username", "ivan", "--yes"],
        &[],
        "n",
    )
    .await;
    assert_eq!(sure.code, 0, "{}", sure.stdout);
    assert_eq!(h.ended(), set(&[cid("1fa4", 1)]));
}

#[tokio::test]
async fn region_is_where_terminate_acts_among_several_targets() {
    let mut state = sample_state();
    state.accounts.push(
        serde_json::from_value(serde_json::json!({
            "accountId": "222233334444",
            "roles": [{"roleName": "cvpn-terminator-target"}],
            "regions": {"us-east-1": {"endpoints": [{
                "clientVpnEndpointId": "cvpn-endpoint-00000000000000bbb",
                "connections": [{"connectionId": cid("bbb", 1), "username": "ivan",
                                 "connectionEstablishedTime": "2026-11-22T08:00:00Z"}]}]}}
        }))
        .unwrap(),
    );
    let h = harness(state, Default::default()).await;
    let url = h.emulator.url();
    let env = [
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        (
            "CVPN_TARGETS",
            "eu-west-1,arn:aws:iam::222233334444:role/cvpn-terminator-target@us-east-1",
        ),
    ];
    let args = ["--region", "us-east-1", "terminate", "--username", "ivan"];
    // Asked, the question says where.
    let no = run_at_terminal(&url, &args, &env, "n").await;
    assert!(
        no.stdout
            .contains("End every session of ivan in us-east-1 (of 2 target places)?"),
        "{}",
        no.stdout
    );
    assert!(h.ended().is_empty());
    let r = run(&url, &args, &env, None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let response: Value = serde_json::from_str(&r.stdout).unwrap();
    let ended: Vec<(&str, &str)> = response["terminated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["account"].as_str().unwrap(),
                e["connection_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ended, [("222233334444", cid("bbb", 1).as_str())]);
    assert!(h.ended().is_empty(), "ivan's eu-west-1 session stays");
}

#[tokio::test]
async fn a_failed_call_is_said_plainly_without_the_sdks_dumps() {
    let dead = |verbose: &'static [&'static str]| async move {
        let args = [
            verbose,
            &[
                "--output",
                "text",
                "terminate",
                "--username",
                "x",
                "--dry-run",
            ],
        ];
        let env = [("CVPN_MAX_ATTEMPTS", "1")];
        run("http://127.0.0.1:9", &args.concat(), &env, None).await
    };
    let r = dead(&[]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    let said = "DescribeClientVpnEndpoints failed in this account/eu-west-1: DispatchFailure";
    assert!(r.stdout.contains(said), "{}", r.stdout);
    for dump in ["ConnectorError", "DispatchFailure {", "Os {"] {
        let shown = format!("{}{}", r.stdout, r.stderr);
        assert!(!shown.contains(dump), "{dump}:\n{shown}");
    }
    // The SDK's own warnings (the missing configuration files) only with -v.
    assert!(!r.stderr.contains("config file"), "{}", r.stderr);
    let loud = dead(&["-v"]).await;
    assert!(loud.stderr.contains("config file"), "{}", loud.stderr);
}

#[tokio::test]
async fn check_goes_where_the_last_sweep_saw_endpoints_and_counts_coverage() {
    let mut state = sample_state();
    state.accounts.push(
        serde_json::from_value(serde_json::json!({
            "accountId": "222233334444",
            "roles": [{"roleName": "cvpn-terminator-target"}],
            "regions": {"us-east-1": {"endpoints": []}}
        }))
        .unwrap(),
    );
    let h = harness(state, Default::default()).await;
    let moto = Moto::start();
    moto.table("cli-inventory").await;
    let url = h.emulator.url();
    let env = [
        ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.url.as_str()),
        ("CVPN_STATE_TABLE", "cli-inventory"),
        ("CVPN_MAX_SESSION_MINUTES", "100000"),
        (
            "CVPN_TARGETS",
            "eu-west-1,arn:aws:iam::222233334444:role/cvpn-terminator-target@us-east-1",
        ),
    ];
    // Before any sweep: every place is listed.
    let first = run(&url, &["check"], &env, None).await;
    assert!(!first.stderr.contains("listed 1 of 2"), "{}", first.stderr);
    let sweep = run(
        &url,
        &["invoke", "--event", "events/scheduled-event.json"],
        &env,
        None,
    )
    .await;
    assert!(
        sweep
            .logs
            .iter()
            .any(|l| l["event"] == "inventory_recorded"),
        "{}",
        sweep.stderr
    );
    let described = h.emulator.service().stats()["DescribeClientVpnEndpoints"].calls;
    let check = run(&url, &["check"], &env, None).await;
    assert!(
        check.stderr.contains("listed 1 of 2 target places"),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains("0 of 2 endpoints in 1 places keep held people out"),
        "{}",
        check.stderr
    );
    let after = h.emulator.service().stats()["DescribeClientVpnEndpoints"].calls;
    assert_eq!(
        after - described,
        1,
        "only the place with endpoints is described"
    );
}
