//! Scheduled cleanup end to end: the emulator for EC2 and moto's server for DynamoDB, both through
//! the real SDKs, over ticks with the emulated clock and traffic moved between them.

use crate::common::office::*;
use crate::common::*;
use cvpn_emulator::{ActionFaults, Faults, StateFile, Throttle};
use cvpn_terminator::domain::model::Reason;
use cvpn_terminator::domain::policy::{Limits, SweepPolicy};
use cvpn_terminator::domain::scope::Scope;
use cvpn_terminator::shell::config::Config;
use cvpn_terminator::{App, Ec2, HandlerError};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn ticks_end_exactly_the_idle_and_over_age_connections() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "ticks").await;

    let r = tick_at(&h, "2026-11-22T09:00:00Z").await;
    assert_eq!(
        ended_ids(&r),
        named(&["marathon"]),
        "over age: 780 minutes > 720"
    );
    let marathon = &r.terminated[0];
    assert_eq!(marathon.age_minutes, Some(780));
    assert!(marathon
        .detail
        .as_deref()
        .unwrap()
        .contains("connected 780 min (limit 720)"));
    assert_eq!(r.trigger.time.as_deref(), Some("2026-11-22T09:00:00Z"));

    // busy keeps moving data; quiet and breakglass only trickle keepalives.
    traffic(
        &h,
        &[
            ("busy", 50_000),
            ("quiet", 500),
            ("breakglass", 500),
            ("svc-backup", 500),
        ],
    );
    let r = tick_at(&h, "2026-11-22T09:15:00Z").await;
    assert!(r.terminated.is_empty(), "{r:?}");

    traffic(
        &h,
        &[
            ("busy", 50_000),
            ("quiet", 500),
            ("breakglass", 500),
            ("svc-backup", 500),
        ],
    );
    let r = tick_at(&h, "2026-11-22T09:30:00Z").await;
    assert_eq!(ended_ids(&r), named(&["quiet", "newbie"]));
    let newbie = r
        .terminated
        .iter()
        .find(|e| e.username.as_deref() == Some("newbie"))
        .unwrap();
    assert_eq!(
        (newbie.idle_minutes, newbie.bytes_since_active),
        (Some(35), Some(500)),
        "idle since it connected at 08:55"
    );
    let quiet = r
        .terminated
        .iter()
        .find(|e| e.username.as_deref() == Some("quiet"))
        .unwrap();
    assert_eq!(
        (quiet.idle_minutes, quiet.bytes_since_active),
        (Some(30), Some(1000))
    );
    assert_eq!(quiet.reason, None);
    let protected: Vec<_> = r
        .skipped
        .iter()
        .filter(|s| s.reason.map(Reason::as_str) == Some("protected"))
        .collect();
    assert_eq!(protected.len(), 1);
    assert_eq!(protected[0].username.as_deref(), Some("breakglass"));

    traffic(&h, &[("busy", 50_000)]);
    let r = tick_at(&h, "2026-11-22T09:45:00Z").await;
    assert!(r.terminated.is_empty(), "{r:?}");
    assert_eq!(h.ended(), named(&["marathon", "quiet", "newbie"]));
}

#[tokio::test]
async fn a_burst_between_ticks_keeps_a_connection() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "burst").await;
    tick_at(&h, "2026-11-22T09:00:00Z").await;
    traffic(&h, &[("quiet", 500)]);
    tick_at(&h, "2026-11-22T09:15:00Z").await;
    traffic(&h, &[("quiet", 20_000)]);
    let r = tick_at(&h, "2026-11-22T09:30:00Z").await;
    assert!(
        !ended_ids(&r).contains(&cid(name_tag("quiet"), 1)),
        "the burst at 09:30 counts as activity"
    );
    let r = tick_at(&h, "2026-11-22T10:00:00Z").await;
    assert!(
        ended_ids(&r).contains(&cid(name_tag("quiet"), 1)),
        "idle 30 minutes after the burst"
    );
}

#[tokio::test]
async fn two_sweeps_at_once_agree_and_end_each_connection_once() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "overlap").await;
    // Two ticks at once with their own event IDs (say, a rule and a Scheduler schedule); the same
    // event delivered twice is answered once (deliveries.rs).
    let second = App {
        config: h.app.config.clone(),
        api: Ec2::new(ec2_client(&h.emulator.url(), 8)).into(),
        store: h.app.store.clone(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    for (time, expected) in [
        ("2026-11-22T09:00:00Z", named(&["marathon"])),
        ("2026-11-22T09:30:00Z", named(&["quiet", "newbie", "busy"])),
    ] {
        set_clock(&h, time);
        let event = tick(time);
        let other = anew(&event, "other-schedule");
        let (a, b) = tokio::join!(h.app.handle(&event), second.handle(&other));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            ended_ids(&a).is_disjoint(&ended_ids(&b)),
            "a connection ended twice at {time}"
        );
        let both: BTreeSet<String> = ended_ids(&a).union(&ended_ids(&b)).cloned().collect();
        assert_eq!(both, expected, "at {time}");
    }
    assert_eq!(h.ended(), named(&["marathon", "quiet", "newbie", "busy"]));
}

#[tokio::test]
async fn a_sweep_of_10000_connections_under_throttling_loses_none() {
    let moto = Moto::start();
    let endpoints = [
        "cvpn-endpoint-0000000000000000a",
        "cvpn-endpoint-0000000000000000b",
        "cvpn-endpoint-0000000000000000c",
        "cvpn-endpoint-0000000000000000d",
    ];
    let mut idle = BTreeSet::new();
    let state = StateFile {
        endpoints: endpoints
            .iter()
            .enumerate()
            .map(|(e, id)| {
                let connections = (0..2500u32)
                    .map(|i| {
                        let n = e as u32 * 2500 + i;
                        // 30% connected two hours ago and silent since; the rest connected minutes ago.
                        let old = n % 10 < 3;
                        let mut c = connection(
                            format!("cvpn-connection-{n:017x}"),
                            Some(&format!("user{n}")),
                            "10.100.0.1",
                        );
                        c.connection_established_time = if old {
                            "2026-11-22T07:00:00Z"
                        } else {
                            "2026-11-22T08:50:00Z"
                        }
                        .parse()
                        .unwrap();
                        c.ingress_bytes = 100;
                        c.egress_bytes = 100;
                        if old {
                            idle.insert(c.connection_id.clone());
                        }
                        c
                    })
                    .collect();
                endpoint(id, connections)
            })
            .collect(),
        ..StateFile::default()
    };
    let config = Config {
        scope: Scope::endpoints(vec![]),
        sweep: SweepPolicy {
            limits: Limits {
                idle_minutes: Some(60),
                max_session_minutes: None,
            },
            idle_bytes: 10_000,
            ..SweepPolicy::default()
        },
        ..sweep_config()
    };
    let h = with_store(state, config, &moto, "big").await;
    let throttle = |bucket: f64, refill: f64| ActionFaults {
        throttle: Some(Throttle {
            bucket,
            refill_per_second: refill,
        }),
        ..Default::default()
    };
    h.emulator
        .service()
        .set_faults(Faults {
            seed: 11,
            actions: [
                (
                    "TerminateClientVpnConnections".to_owned(),
                    // A refill below what this machine sends even in a debug build, so the bucket does throttle.
                    throttle(50.0, 150.0),
                ),
                (
                    "DescribeClientVpnConnections".to_owned(),
                    throttle(100.0, 20.0),
                ),
            ]
            .into(),
        })
        .unwrap();
    let r = tick_at(&h, "2026-11-22T09:00:00Z").await;
    let ended = ended_ids(&r);
    let deferred: BTreeSet<String> = r
        .deferred
        .iter()
        .filter_map(|e| e.connection_id.clone())
        .collect();
    assert!(
        r.failed.is_empty(),
        "{} failed, e.g. {:?}",
        r.failed.len(),
        r.failed.first()
    );
    assert_eq!(
        ended.union(&deferred).cloned().collect::<BTreeSet<_>>(),
        idle,
        "every idle connection terminated or deferred"
    );
    assert_eq!(h.ended(), ended, "nothing else ended");
    let stats = h.emulator.service().stats();
    assert!(
        stats["TerminateClientVpnConnections"].throttled > 0,
        "the bucket did throttle"
    );
    // Terminate is paced and retried by the function itself (`shell/pace.rs`), so each throttled
    // try is one of its calls.
    let throttled = stats["TerminateClientVpnConnections"].throttled as usize;
    assert_eq!(
        r.api_calls,
        1 + 4 * 3 + 4 * 3 + 1 + ended.len() + throttled,
        "endpoints, 3 pages each, one state read per page (judged as it arrives), the tick's share of the ceiling, one Terminate per connection and per throttled try"
    );
}

#[tokio::test]
async fn the_ceiling_ends_the_most_idle_first_and_the_deadline_defers_the_rest() {
    let moto = Moto::start();
    let config = Config {
        max_sweep_terminations: 1,
        ..sweep_config()
    };
    let h = with_store(office(), config, &moto, "ceiling").await;
    let r = tick_at(&h, "2026-11-22T09:40:00Z").await;
    // newbie (idle 45 min) and marathon (over age, idle 40) are targets; newbie is the more idle.
    assert_eq!(ended_ids(&r), named(&["newbie"]));
    assert_eq!(r.deferred.len(), 1);
    assert_eq!(r.deferred[0].reason.map(Reason::as_str), Some("ceiling"));
    assert_eq!(r.deferred[0].username.as_deref(), Some("marathon"));

    // EC2 whose Terminate never answers: only the deadline ends the wait. One call at a time, no
    // margin: the first call is cut off at the deadline, the second never starts.
    let mut h = with_store(office(), sweep_config(), &moto, "deadline").await;
    set_clock(&h, "2026-11-22T09:40:00Z");
    let app = App {
        config: Config {
            concurrency: 1,
            deadline_margin: Duration::ZERO,
            ..sweep_config()
        },
        api: Faulty {
            unanswered: true,
            ..Faulty::new(h.app.api.first().api.clone())
        }
        .into(),
        store: h.app.store.take(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    // A sweep answers normally: what it could not do is in the answer, and the next tick's work.
    // The deadline leaves the listing and the state read (moto, a debug build, a busy machine)
    // ample time, so that it falls on the first Terminate.
    let r = app
        .handle_until(
            &tick("2026-11-22T09:40:00Z"),
            Some(Instant::now() + Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert!(r.terminated.is_empty());
    assert_eq!(
        (r.failed.len(), r.failed[0].reason.map(Reason::as_str)),
        (1, Some("deadline"))
    );
    assert_eq!(
        (r.deferred.len(), r.deferred[0].reason.map(Reason::as_str)),
        (1, Some("deadline"))
    );
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn a_listing_that_runs_into_the_deadline_still_ends_what_it_judged() {
    // Endpoint B's listing never answers; A's over-age connection was judged long before.
    let mut state = office();
    state.endpoints.push(endpoint(
        EP_B,
        vec![conn("marathon", 2, "2026-11-21T20:00:00Z", 900_000)],
    ));
    let mut h = harness(state, Config::default()).await;
    set_clock(&h, "2026-11-22T09:00:00Z");
    let config = Config {
        scope: Scope::endpoints(vec![EP_A.into(), EP_B.into()]),
        deadline_margin: Duration::ZERO,
        sweep: SweepPolicy {
            limits: Limits {
                idle_minutes: None,
                max_session_minutes: Some(720),
            },
            ..sweep_config().sweep
        },
        state_table: None,
        ..sweep_config()
    };
    let app = App {
        config,
        api: Faulty {
            hanging: Some(EP_B),
            ..Faulty::new(h.app.api.first().api.clone())
        }
        .into(),
        store: h.app.store.take(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    let r = app
        .handle_until(
            &tick("2026-11-22T09:00:00Z"),
            Some(Instant::now() + Duration::from_secs(4)),
        )
        .await
        .expect("a tick always answers");
    assert_eq!(ended_ids(&r), named(&["marathon"]), "{r:?}");
    assert!(r.deferred.is_empty(), "{:?}", r.deferred);
    // What it could not list is recorded.
    let unlisted = r
        .errors
        .iter()
        .find(|e| e.endpoint_id.as_deref() == Some(EP_B))
        .expect("endpoint B's listing is recorded as cut off");
    assert_eq!(unlisted.code, "Deadline");
    assert_eq!(h.ended(), named(&["marathon"]));
}

#[tokio::test]
async fn schedule_input_overrides_the_policy_for_its_run() {
    let moto = Moto::start();
    let h = with_store(office(), sweep_config(), &moto, "overrides").await;
    set_clock(&h, "2026-11-22T09:00:00Z");
    let dry =
        json!({"Sweep": {"Time": "2026-11-22T09:00:00Z", "MaxSessionMinutes": 60, "DryRun": true}});
    let r = h.app.handle(&dry).await.unwrap();
    assert!(r.dry_run);
    let would: BTreeSet<String> = r
        .would_terminate
        .iter()
        .filter_map(|e| e.connection_id.clone())
        .collect();
    // Connected since 07:00 (120 min) or the evening before: over a 60-minute limit. svc-backup's
    // extended limit still applies, and breakglass is protected.
    assert_eq!(would, named(&["busy", "quiet", "marathon"]));
    assert!(h.ended().is_empty());

    // Without a policy, and without a table for the idle policy, a sweep is refused.
    let bare = App {
        config: Config::default(),
        api: Ec2::new(ec2_client(&h.emulator.url(), 2)).into(),
        store: h.app.store.clone(),
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    assert!(matches!(
        bare.handle(&tick("2026-11-22T09:00:00Z")).await,
        Err(HandlerError::BadEvent(_))
    ));
    let tableless = App {
        config: Config::default(),
        api: Ec2::new(ec2_client(&h.emulator.url(), 2)).into(),
        store: None::<cvpn_terminator::Dynamo>,
        notifiers: h.app.notifiers.clone(),
        directory: None,
    };
    let err = tableless
        .handle(&json!({"Sweep": {"IdleMinutes": 30}}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CVPN_STATE_TABLE"), "{err}");
    assert!(h.ended().is_empty());
}

#[tokio::test]
async fn the_schedule_samples_do_what_the_readme_says() {
    // The age policy alone needs no table.
    let config =
        Config::from_lookup(|name| (name == "CVPN_MAX_SESSION_MINUTES").then(|| "720".to_owned()))
            .unwrap();
    let h = harness(sample_state(), config).await;
    let night_owl = cid("19a7", 1);
    let r = h.app.handle(&event("scheduled-event.json")).await.unwrap();
    assert_eq!(
        ended_ids(&r),
        BTreeSet::from([night_owl.clone()]),
        "connected since 18:00 the day before"
    );
    let r = h
        .app
        .handle(&event("scheduler-sweep-override.json"))
        .await
        .unwrap();
    assert!(r.dry_run && r.terminated.is_empty());
    let would: Vec<_> = r
        .would_terminate
        .iter()
        .filter_map(|e| e.username.as_deref().or(e.common_name.as_deref()))
        .collect();
    assert_eq!(
        would.len(),
        3,
        "everything still active on the Transit Gateway endpoint is over 100 minutes: {would:?}"
    );
    assert!(r
        .would_terminate
        .iter()
        .all(|e| e.endpoint_id.as_deref() == Some(EP_B)));
    assert_eq!(h.ended(), BTreeSet::from([night_owl]));
}
