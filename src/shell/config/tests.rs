use super::*;
use crate::domain::mapping::CaseRule;
use crate::domain::policy::Limits;
use crate::domain::quarantine::OnStoreError;
use std::collections::HashMap;

fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_without_variables() {
    let c = from(&[]).unwrap();
    assert!(c.scope.endpoints.is_empty());
    assert!(!c.dry_run);
    assert_eq!(c.max_terminations, 10);
    assert_eq!(c.gates.min_severity, 7.0);
    assert_eq!(c.match_by, MatchBy::ALL);
}

#[test]
fn reads_every_variable() {
    let c = from(&[
        (
            "CVPN_ENDPOINT_IDS",
            " cvpn-endpoint-0123456789abcdef0 ,cvpn-endpoint-0123456789abcdef1,",
        ),
        ("CVPN_DRY_RUN", "TRUE"),
        ("CVPN_PROTECTED_USERS", "BreakGlass, admin"),
        ("CVPN_MAX_TERMINATIONS", "3"),
        ("CVPN_MIN_SEVERITY", "4.5"),
        ("CVPN_FINDING_TYPES_ALLOW", "UnauthorizedAccess:*"),
        ("CVPN_FINDING_TYPES_DENY", "*:Runtime/*"),
        ("CVPN_USERNAME_TEMPLATE", "{local}"),
        ("CVPN_USERNAME_CASE", "sensitive"),
        ("CVPN_MATCH_BY", "username,connection-id"),
        ("CVPN_CONCURRENCY", "4"),
        ("CVPN_PLACE_CONCURRENCY", "64"),
        ("CVPN_MAX_ATTEMPTS", "2"),
    ])
    .unwrap();
    assert_eq!(c.scope.endpoints.len(), 2);
    assert!(c.dry_run);
    assert!(c.is_protected("BreakGlass"));
    assert!(
        !c.is_protected("breakglass"),
        "case-sensitive when configured so"
    );
    assert_eq!((c.max_terminations, c.gates.min_severity), (3, 4.5));
    assert_eq!(
        (c.gates.allow_types.len(), c.gates.deny_types.len()),
        (1, 1)
    );
    assert!(!c.match_by.client_ip && c.match_by.connection_id);
    assert_eq!(
        (c.concurrency, c.place_concurrency, c.max_attempts),
        (4, 64, 2)
    );
}

#[test]
fn protected_users_fold_case_by_default() {
    let c = from(&[("CVPN_PROTECTED_USERS", "BreakGlass")]).unwrap();
    assert!(c.is_protected("breakglass"));
    assert!(!c.is_protected("breakglass2"));
}

#[test]
fn user_lists_share_one_pattern_syntax_and_case_rule() {
    let c = from(&[
        ("CVPN_PROTECTED_USERS", "break*"),
        ("CVPN_EXTENDED_USERS", "SVC-*"),
        ("CVPN_MAX_SESSION_MINUTES", "60"),
    ])
    .unwrap();
    assert!(c.is_protected("BreakGlass") && c.is_protected("break"));
    assert!(!c.is_protected("\u{212A}ate") && !c.is_protected("outbreak"));
    assert!(c.sweep.limits_for(Some("svc-backup"), None).1);
    let sensitive = from(&[
        ("CVPN_PROTECTED_USERS", "break*"),
        ("CVPN_USERNAME_CASE", "sensitive"),
    ])
    .unwrap();
    assert!(sensitive.is_protected("breakglass") && !sensitive.is_protected("Breakglass"));
}

#[test]
fn identity_accounts() {
    use crate::domain::naming::Accounts;
    let c = from(&[("CVPN_IDENTITY_ACCOUNTS", "111122223333, 444455556666")]).unwrap();
    assert_eq!(
        c.naming.accounts,
        Accounts::Listed(vec!["111122223333".into(), "444455556666".into()])
    );
    assert_eq!(from(&[]).unwrap().naming.accounts, Accounts::OwnAndTargets);
    let any = from(&[("CVPN_IDENTITY_ACCOUNTS", " * ")]).unwrap();
    assert_eq!(any.naming.accounts, Accounts::Any);
    for bad in ["*, 111122223333", "11112222333"] {
        let e = from(&[("CVPN_IDENTITY_ACCOUNTS", bad)]).unwrap_err();
        assert_eq!(e.variable, "CVPN_IDENTITY_ACCOUNTS", "{bad}");
    }
    let roles = from(&[("CVPN_TRUSTED_SESSION_ROLES", "okta-*")]).unwrap();
    assert!(roles.naming.trusts_role("okta-eng") && roles.naming.trusts_role("AWSReservedSSO_A"));
    assert!(!roles.naming.trusts_role("deploy"));
    assert_eq!(
        from(&[("CVPN_TRUSTED_SESSION_ROLES", "*")])
            .unwrap_err()
            .variable,
        "CVPN_TRUSTED_SESSION_ROLES"
    );
}

#[test]
fn directory_domains_make_one_person_of_every_form() {
    let c = from(&[
        ("CVPN_DIRECTORY_DOMAINS", "CORP=corp.example.com"),
        ("CVPN_PROTECTED_USERS", "CORP\\breakglass"),
    ])
    .unwrap();
    assert!(c.people.same("CORP\\alice", "alice@corp.example.com"));
    assert!(c.is_protected("breakglass@corp.example.com") && c.is_protected("breakglass"));
    let e = from(&[("CVPN_DIRECTORY_DOMAINS", "corp.example.com")]).unwrap_err();
    assert_eq!(e.variable, "CVPN_DIRECTORY_DOMAINS");
}

#[test]
fn word_settings_are_read_without_regard_to_case() {
    let c = from(&[
        ("CVPN_CONNECT_ON_ERROR", "Deny"),
        ("CVPN_USERNAME_CASE", "SENSITIVE"),
        ("CVPN_HOLD_COMMON_NAMES", "Never"),
        ("CVPN_DRY_RUN", "TRUE"),
        ("CVPN_MATCH_BY", "Username"),
    ])
    .unwrap();
    assert_eq!(
        c.quarantine.on_error,
        crate::domain::quarantine::OnStoreError::Deny
    );
    assert_eq!(c.people.case, CaseRule::Sensitive);
    assert!(!c.quarantine.hold_common_names && c.dry_run && c.match_by.username);
}

#[cfg(unix)]
#[test]
fn settings_that_are_not_utf8_are_errors_not_unset() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let garbled = |name: &str| {
        vec![(
            OsString::from(name),
            OsString::from_vec(vec![b't', 0xff, b'e']),
        )]
    };
    for name in ["CVPN_DRY_RUN", "CVPN_PROTECTED_USERS"] {
        let e = Config::from_vars(garbled(name)).unwrap_err();
        assert_eq!(e.variable, name);
        assert!(e.message.contains("UTF-8"), "{e}");
    }
    // Another program's variable is not ours to judge.
    assert!(Config::from_vars(garbled("LANG")).is_ok());
}

#[test]
fn the_connect_handler_reads_only_what_it_needs() {
    use std::ffi::OsString;
    let vars = |pairs: &[(&str, &str)]| -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    };
    // A bad setting the handler does not use changes nothing it reads.
    let c = Config::for_connect(vars(&[
        ("CVPN_MIN_SEVERITY", "eleven"),
        ("CVPN_STATE_TABLE", "quarantine"),
        ("CVPN_CONNECT_ON_ERROR", "deny"),
        ("CVPN_PROTECTED_USERS", "breakglass"),
    ]));
    assert!(c.unreadable.is_empty(), "{:?}", c.unreadable);
    assert_eq!(c.state_table.as_deref(), Some("quarantine"));
    assert_eq!(
        c.quarantine.on_error,
        crate::domain::quarantine::OnStoreError::Deny
    );
    assert!(c.is_protected("breakglass"));
    // One it needs falls back to its default and is listed; the others still count.
    let c = Config::for_connect(vars(&[
        ("CVPN_CONNECT_ON_ERROR", "sometimes"),
        ("CVPN_CONNECT_TIMEOUT_MS", "fast"),
        ("CVPN_STATE_TABLE", "quarantine"),
    ]));
    let mut named: Vec<&str> = c.unreadable.iter().map(|e| e.variable).collect();
    named.sort();
    assert_eq!(named, ["CVPN_CONNECT_ON_ERROR", "CVPN_CONNECT_TIMEOUT_MS"]);
    assert_eq!(
        c.quarantine.on_error,
        crate::domain::quarantine::OnStoreError::Allow
    );
    assert_eq!(c.state_table.as_deref(), Some("quarantine"));
}

#[test]
fn errors_name_the_variable() {
    let cases = [
        ("CVPN_ENDPOINT_IDS", "vpn-1"),
        ("CVPN_DRY_RUN", "perhaps"),
        ("CVPN_MAX_TERMINATIONS", "0"),
        ("CVPN_MAX_TERMINATIONS", "-1"),
        ("CVPN_MIN_SEVERITY", "11"),
        ("CVPN_MIN_SEVERITY", "high"),
        ("CVPN_USERNAME_TEMPLATE", "{nickname}"),
        ("CVPN_USERNAME_CASE", "lower"),
        ("CVPN_MATCH_BY", "email"),
        ("CVPN_PROTECTED_USERS", "*"),
        ("CVPN_PROTECTED_USERS", "admin, **"),
        ("CVPN_EXTENDED_USERS", "svc-**"),
        ("CVPN_IDENTITY_ACCOUNTS", "1111-2222-3333"),
        ("CVPN_CONCURRENCY", "0"),
        ("CVPN_PLACE_CONCURRENCY", "0"),
        ("CVPN_TAKES", "answers"),
        ("CVPN_TAKES", "signed-answers"),
        ("CVPN_MAX_ATTEMPTS", "100"),
        ("CVPN_FINDING_TYPES_ALLOW", "a**b"),
        ("CVPN_IDLE_MINUTES", "0"),
        ("CVPN_IDLE_MINUTES", "-30"),
        ("CVPN_IDLE_MINUTES", "30"),
        ("CVPN_EXTENDED_IDLE_MINUTES", "60"),
        ("CVPN_MAX_SESSION_MINUTES", "0"),
        ("CVPN_MAX_SESSION_MINUTES", "soon"),
        ("CVPN_IDLE_BYTES", "0"),
        ("CVPN_IDLE_BYTES", "-1"),
        ("CVPN_MAX_SWEEP_TERMINATIONS", "0"),
        ("CVPN_DEADLINE_MARGIN_SECONDS", "-2"),
    ];
    for (variable, value) in cases {
        let e = from(&[(variable, value)]).unwrap_err();
        // The idle policy's own value is fine: what is missing is the table.
        let expected = if ["30", "60"].contains(&value) {
            "CVPN_STATE_TABLE"
        } else {
            variable
        };
        assert_eq!(e.variable, expected, "{variable}={value}");
        assert!(e.to_string().starts_with(expected));
    }
}

#[test]
fn sweep_settings() {
    let c = from(&[
        ("CVPN_STATE_TABLE", "cvpn-state"),
        ("CVPN_IDLE_MINUTES", "45"),
        ("CVPN_IDLE_BYTES", "20000"),
        ("CVPN_MAX_SESSION_MINUTES", "720"),
        ("CVPN_EXTENDED_USERS", "svc-*,*.build.example.com"),
        ("CVPN_EXTENDED_MAX_SESSION_MINUTES", "2880"),
        ("CVPN_MAX_TERMINATIONS", "4"),
    ])
    .unwrap();
    assert_eq!(
        c.sweep.limits,
        Limits {
            idle_minutes: Some(45),
            max_session_minutes: Some(720)
        }
    );
    assert_eq!(
        c.sweep.extended,
        Limits {
            idle_minutes: None,
            max_session_minutes: Some(2880)
        }
    );
    assert_eq!(
        (c.sweep.idle_bytes, c.sweep.extended_users.len()),
        (20000, 2)
    );
    assert_eq!(
        c.max_sweep_terminations, 4,
        "defaults to CVPN_MAX_TERMINATIONS"
    );
    // The age policy alone needs no table.
    assert!(from(&[("CVPN_MAX_SESSION_MINUTES", "600")]).is_ok());
    let shorter = from(&[
        ("CVPN_STATE_TABLE", "t"),
        ("CVPN_IDLE_MINUTES", "45"),
        ("CVPN_EXTENDED_IDLE_MINUTES", "30"),
    ]);
    assert_eq!(shorter.unwrap_err().variable, "CVPN_EXTENDED_IDLE_MINUTES");
}

#[test]
fn quarantine_settings() {
    let c = from(&[]).unwrap();
    assert_eq!(c.quarantine, Quarantine::default());
    assert_eq!(c.quarantine_minutes(), None, "no table, no quarantine");
    let c = from(&[("CVPN_STATE_TABLE", "t")]).unwrap();
    assert_eq!(c.quarantine_minutes(), Some(1440));
    let long = "é".repeat(300);
    let c = from(&[
        ("CVPN_STATE_TABLE", "t"),
        ("CVPN_QUARANTINE_MINUTES", "0"),
        ("CVPN_DENY_MESSAGE", &long),
        ("CVPN_CONNECT_TIMEOUT_MS", "750"),
        ("CVPN_CONNECT_ON_ERROR", "deny"),
        ("CVPN_MAX_CONNECTIONS_PER_USER", "1"),
        (
            "CVPN_CONNECT_HANDLER_ARN",
            "arn:aws:lambda:eu-west-1:111122223333:function:AWSClientVPN-cvpn:live",
        ),
    ])
    .unwrap();
    assert_eq!(c.quarantine_minutes(), None, "0 turns it off");
    // 127 two-byte characters: 254 bytes, and the next would pass 255.
    assert_eq!(c.quarantine.deny_message.chars().count(), 127);
    assert!(c.quarantine.deny_message.len() <= MAX_DENY_MESSAGE);
    assert_eq!(c.quarantine.connect_timeout, Duration::from_millis(750));
    assert_eq!(c.quarantine.on_error, OnStoreError::Deny);
    assert_eq!(c.quarantine.max_connections_per_user, Some(1));
    assert!(c.quarantine.hold_common_names);
    let never = from(&[("CVPN_HOLD_COMMON_NAMES", "never")]).unwrap();
    assert!(!never.quarantine.hold_common_names);
    for (variable, value) in [
        ("CVPN_QUARANTINE_MINUTES", "525601"),
        ("CVPN_QUARANTINE_MINUTES", "-1"),
        ("CVPN_DENY_MESSAGE", "line one\nline two"),
        ("CVPN_CONNECT_TIMEOUT_MS", "30000"),
        ("CVPN_CONNECT_ON_ERROR", "maybe"),
        ("CVPN_MAX_CONNECTIONS_PER_USER", "0"),
        (
            "CVPN_CONNECT_HANDLER_ARN",
            "arn:aws:lambda:eu-west-1:111122223333:function:cvpn-terminator",
        ),
        ("CVPN_CONNECT_HANDLER_ARN", "AWSClientVPN-cvpn"),
        ("CVPN_HOLD_COMMON_NAMES", "sometimes"),
    ] {
        assert_eq!(
            from(&[(variable, value)]).unwrap_err().variable,
            variable,
            "{value}"
        );
    }
}

#[test]
fn outcome_events_go_to_the_default_bus_unless_set_or_emptied() {
    assert_eq!(from(&[]).unwrap().notify, Notify::default());
    assert_eq!(
        from(&[]).unwrap().notify.outcome_bus.as_deref(),
        Some("default")
    );
    assert_eq!(
        from(&[("CVPN_OUTCOME_BUS", "")])
            .unwrap()
            .notify
            .outcome_bus,
        None
    );
    assert_eq!(
        from(&[("CVPN_OUTCOME_BUS", "  ")])
            .unwrap()
            .notify
            .outcome_bus,
        None
    );
    let arn = "arn:aws:events:eu-west-1:111122223333:event-bus/security";
    assert_eq!(
        from(&[("CVPN_OUTCOME_BUS", arn)])
            .unwrap()
            .notify
            .outcome_bus
            .as_deref(),
        Some(arn)
    );
    for bad in [
        "my bus",
        "arn:aws:sqs:eu-west-1:111122223333:queue",
        "a\u{e9}",
    ] {
        let e = from(&[("CVPN_OUTCOME_BUS", bad)]).unwrap_err();
        assert_eq!(e.variable, "CVPN_OUTCOME_BUS", "{bad}");
    }
}

#[test]
fn finding_notes_and_their_workflow() {
    let c = from(&[
        ("CVPN_FINDING_NOTES", "false"),
        ("CVPN_FINDING_WORKFLOW", "RESOLVED"),
        ("CVPN_SECURITYHUB_NOTES", "true"),
    ])
    .unwrap();
    assert!(!c.notify.finding_notes && c.notify.guardduty_notes);
    assert_eq!(c.notify.workflow, Some(Workflow::Resolved));
    assert_eq!(
        from(&[("CVPN_FINDING_WORKFLOW", "none")])
            .unwrap()
            .notify
            .workflow,
        None
    );
    for (variable, value) in [
        ("CVPN_FINDING_WORKFLOW", "SUPPRESSED"),
        ("CVPN_FINDING_NOTES", "maybe"),
        ("CVPN_SECURITYHUB_NOTES", "2"),
    ] {
        assert_eq!(from(&[(variable, value)]).unwrap_err().variable, variable);
    }
}

#[test]
fn terminate_rate_and_answer_size() {
    let c = from(&[
        ("CVPN_TERMINATE_RATE", "12.5"),
        ("CVPN_RESPONSE_MAX_ITEMS", "0"),
    ])
    .unwrap();
    assert_eq!(c.terminate_rate, Some(12.5));
    assert_eq!(c.notify.response_max_items, 0);
    assert_eq!(from(&[]).unwrap().terminate_rate, None);
    assert_eq!(from(&[]).unwrap().notify.response_max_items, 100);
    for (variable, value) in [
        ("CVPN_TERMINATE_RATE", "0"),
        ("CVPN_TERMINATE_RATE", "0.01"),
        ("CVPN_TERMINATE_RATE", "NaN"),
        ("CVPN_TERMINATE_RATE", "1e9"),
        ("CVPN_RESPONSE_MAX_ITEMS", "-1"),
        ("CVPN_RESPONSE_MAX_ITEMS", "100001"),
    ] {
        assert_eq!(
            from(&[(variable, value)]).unwrap_err().variable,
            variable,
            "{value}"
        );
    }
}

#[test]
fn reads_targets_and_refuses_an_external_id_without_a_role() {
    let c = from(&[
        (
            "CVPN_TARGETS",
            " eu-west-1 , arn:aws:iam::222233334444:role/cvpn-terminator-target@us-east-1",
        ),
        ("CVPN_EXTERNAL_ID", "s3cret"),
    ])
    .unwrap();
    assert_eq!(c.targets.len(), 2);
    assert_eq!(c.external_id.as_deref(), Some("s3cret"));
    assert!(from(&[]).unwrap().targets.is_empty());
    let e = from(&[("CVPN_TARGETS", "eu-west-1"), ("CVPN_EXTERNAL_ID", "x")]).unwrap_err();
    assert_eq!(e.variable, "CVPN_EXTERNAL_ID");
    let e = from(&[("CVPN_TARGETS", "eu-west-1,nowhere")]).unwrap_err();
    assert!(
        e.variable == "CVPN_TARGETS" && e.message.contains("`nowhere`"),
        "{e}"
    );
}

#[test]
fn a_state_table_by_arn_is_read_in_its_region() {
    let c = from(&[(
        "CVPN_STATE_TABLE",
        "arn:aws:dynamodb:eu-central-1:111122223333:table/cvpn-state",
    )])
    .unwrap();
    assert_eq!(c.state_table_region.as_deref(), Some("eu-central-1"));
    assert_eq!(
        from(&[("CVPN_STATE_TABLE", "cvpn-state")])
            .unwrap()
            .state_table_region,
        None
    );
    for bad in [
        "arn:aws:dynamodb:eu-central-1:111122223333:table/",
        "arn:aws:dynamodb:nowhere:111122223333:table/t",
        "arn:aws:s3:eu-central-1:111122223333:table/t",
        "arn:aws:dynamodb:eu-central-1:1111:table/t",
    ] {
        let e = from(&[("CVPN_STATE_TABLE", bad)]).unwrap_err();
        assert_eq!(e.variable, "CVPN_STATE_TABLE", "{bad}");
    }
}
