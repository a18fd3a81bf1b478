use super::*;
use crate::domain::quarantine::SubjectKind;
use crate::domain::text::tests::{breaks_lines, hostile};
use crate::domain::trigger::TriggerSource;
use crate::shell::report::HoldOutcome;
use proptest::prelude::*;

fn entry(n: usize, user: &str) -> Entry {
    Entry {
        endpoint_id: Some("cvpn-endpoint-0a1b2c3d4e5f60718".into()),
        connection_id: Some(format!("cvpn-connection-{n:017x}")),
        username: Some(user.into()),
        client_ip: Some("10.0.0.1".into()),
        finding_id: Some("f-1".into()),
        detail: Some("x".repeat(200)),
        ..Entry::default()
    }
}

fn hold(name: &str, outcome: HoldOutcome) -> HoldEntry {
    HoldEntry {
        kind: SubjectKind::Username,
        name: name.into(),
        outcome,
        until: Some("2026-11-24T16:00:00Z".into()),
        finding_id: Some("f-1".into()),
        reason: None,
        requested_by: None,
    }
}

fn finding(id: &str) -> FindingInfo {
    FindingInfo {
        id: id.into(),
        types: vec!["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom".into()],
        severity: 8.0,
        severity_label: "HIGH".into(),
        account: None,
        region: None,
        link: Some(format!("https://example/{id}")),
    }
}

fn incident(ended: usize) -> Response {
    let mut r = Response::of(TriggerSource::GuardDuty);
    r.trigger.source = TriggerSource::GuardDuty;
    r.trigger.findings = vec![finding("f-1")];
    r.terminated = (0..ended)
        .map(|n| entry(n, &format!("user{}", n % 7)))
        .collect();
    r
}

#[test]
fn only_work_worth_telling_has_an_event() {
    let nothing = Response::of(TriggerSource::GuardDuty);
    assert_eq!(detail_type(Work::Incident, &nothing, false), None);
    assert_eq!(detail_type(Work::Sweep, &nothing, false), None);
    assert_eq!(detail_type(Work::QuarantineChange, &nothing, false), None);
    assert_eq!(
        detail_type(Work::Incident, &nothing, true),
        Some(DetailType::TerminationFailed)
    );
    assert_eq!(
        detail_type(Work::Incident, &incident(1), false),
        Some(DetailType::SessionsTerminated)
    );
    assert_eq!(
        detail_type(Work::Sweep, &incident(1), false),
        Some(DetailType::SweepCompleted)
    );
    let mut held = Response {
        quarantine: vec![hold("alice", HoldOutcome::Placed)],
        ..Response::of(TriggerSource::GuardDuty)
    };
    assert_eq!(
        detail_type(Work::Incident, &held, false),
        Some(DetailType::QuarantineChanged)
    );
    held.quarantine = vec![hold("alice", HoldOutcome::NotHeld)];
    assert_eq!(detail_type(Work::QuarantineChange, &held, false), None);
    // A hold only kept changed nothing: nothing to tell.
    held.quarantine = vec![hold("alice", HoldOutcome::Kept)];
    assert_eq!(detail_type(Work::Incident, &held, false), None);
    assert_eq!(detail_type(Work::QuarantineChange, &held, false), None);
    let deferred = Response {
        deferred: vec![entry(1, "a")],
        ..Response::of(TriggerSource::GuardDuty)
    };
    assert_eq!(
        detail_type(Work::Sweep, &deferred, false),
        Some(DetailType::SweepCompleted)
    );
}

#[test]
fn a_huge_outcome_stays_under_eventbridges_limit_and_counts_the_rest() {
    let mut r = incident(15_000);
    r.quarantine = (0..5_000)
        .map(|n| {
            hold(
                &format!("user-with-a-long-name-{n:05}"),
                HoldOutcome::Placed,
            )
        })
        .collect();
    r.failed = (0..3_000).map(|n| entry(n, "z")).collect();
    let failure = Failure {
        kind: "Incomplete".into(),
        message: "y".repeat(100_000),
    };
    let (kind, d) = build(Work::Incident, &r, Some(&failure), Context::default()).unwrap();
    assert_eq!(kind, DetailType::TerminationFailed);
    assert!(size(&d) <= MAX_DETAIL_BYTES, "{}", size(&d));
    assert_eq!(d.counts.terminated, 15_000);
    assert_eq!(d.counts.quarantine, 5_000);
    assert!(d.ended.len() <= MAX_LISTED && !d.ended.is_empty());
    let listed = d.findings.len()
        + d.finding_ids.len()
        + d.users.len()
        + d.ended.len()
        + d.failed.len()
        + d.quarantine.len();
    let all = 1 + 1 + names(&r).len() + 15_000 + 3_000 + 5_000;
    assert_eq!(listed + d.not_listed, all);
    assert!(d.error.unwrap().message.len() <= MAX_LINE);
}

#[test]
fn the_summary_says_what_was_done_to_whom() {
    let mut r = incident(3);
    r.terminated
        .iter_mut()
        .for_each(|e| e.username = Some("alice".into()));
    r.quarantine = vec![hold("alice", HoldOutcome::Placed)];
    let (_, d) = build(Work::Incident, &r, None, Context::default()).unwrap();
    assert_eq!(
        d.summary,
        "ended 3 sessions of alice; quarantined alice until 2026-11-24T16:00:00Z"
    );
    assert_eq!(
        d.reason,
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom (HIGH)"
    );
    assert_eq!(d.link, "https://example/f-1");
    // Only those whose sessions ended are named as ended.
    let mut mixed = incident(1);
    mixed.terminated[0].username = Some("bob".into());
    mixed.failed = vec![entry(9, "alice")];
    let (_, d) = build(Work::Incident, &mixed, None, Context::default()).unwrap();
    assert_eq!(
        d.summary,
        "ended 1 session of bob; 1 session of alice could not be ended"
    );
    let many = incident(30);
    let (_, d) = build(Work::Incident, &many, None, Context::default()).unwrap();
    assert_eq!(
        d.summary,
        "ended 30 sessions of user0, user1, user2, user3, user4 and 2 more"
    );
}

proptest! {
    /// Whatever the lists hold, the event fits, and everything is either listed or counted.
    #[test]
    fn every_outcome_fits_and_loses_nothing(
        ended in 0usize..3_000,
        holds in 0usize..600,
        name_len in 1usize..300,
    ) {
        let mut r = incident(ended);
        let name = "n".repeat(name_len);
        r.quarantine = (0..holds)
            .map(|n| hold(&format!("{name}{n}"), HoldOutcome::Extended))
            .collect();
        if let Some((_, d)) = build(Work::Incident, &r, None, Context::default()) {
            prop_assert!(size(&d) <= MAX_DETAIL_BYTES);
            prop_assert_eq!(d.counts.terminated, ended);
            prop_assert_eq!(d.ended.len() + d.quarantine.len() + d.users.len() + d.findings.len()
                + d.finding_ids.len() + d.failed.len() + d.not_listed,
                ended + holds + names(&r).len() + 2);
        } else {
            prop_assert!(ended == 0 && holds == 0);
        }
    }
}

/// Every string of the sent event, with the field it is in.
fn strings<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    match v {
        Value::String(s) => out.push((key, s)),
        Value::Array(items) => items.iter().for_each(|i| strings(i, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| strings(v, k, out)),
        _ => {}
    }
}

proptest! {
    /// Hostile text in every field a finding, a request or a VPN client writes reaches people as
    /// neither a link, a mention, markup nor a second line: not in the one-line summary and
    /// reason, and not in any text field of the outcome event.
    #[test]
    fn no_hostile_text_reaches_people(
        texts in prop::collection::vec(hostile(), 12),
        failed in any::<bool>(),
    ) {
        let t = |i: usize| texts[i].0.clone();
        let mut r = incident(2);
        r.trigger.action_name = Some(t(0));
        r.trigger.reason = Some(t(1));
        r.trigger.findings[0].types = vec![t(2)];
        r.trigger.findings[0].severity_label = t(3);
        r.trigger.findings[0].account = Some(t(4));
        r.trigger.findings[0].region = Some(t(5));
        r.trigger.findings[0].id = t(6);
        r.terminated[0].username = Some(t(7));
        r.terminated[1].common_name = Some(t(8));
        r.terminated[1].person = Some(t(9));
        r.terminated[0].message = Some(t(10));
        r.quarantine = vec![HoldEntry {
            reason: Some(t(11)),
            requested_by: Some(t(11)),
            ..hold(&t(7), HoldOutcome::Placed)
        }];
        let failure = failed.then(|| Failure { kind: "Incomplete".into(), message: t(1) });
        let work = Work::Incident;
        for source in [TriggerSource::GuardDuty, TriggerSource::Direct] {
            r.trigger.source = source;
            let (_, d) = build(work, &r, failure.as_ref(), Context::default()).unwrap();
            let sent = sent(&d);
            let mut all = vec![("summary line", summary(&r, failure.as_ref())), ("reason line", reason(&r))];
            let mut fields = Vec::new();
            strings(&sent, "detail", &mut fields);
            all.extend(
                fields
                    .into_iter()
                    .filter(|(k, _)| *k != "link")
                    .map(|(k, s)| (k, s.to_owned())),
            );
            for (field, text) in all {
                for (_, host) in &texts {
                    let label = host.split('.').next().unwrap();
                    prop_assert!(!text.contains(label), "{}: {:?}", field, text);
                }
                prop_assert!(!breaks_lines(&text), "{}: {:?}", field, text);
            }
        }
    }
}
