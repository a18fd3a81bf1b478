use super::*;

fn state() -> StateFile {
    serde_json::from_value(serde_json::json!({"endpoints": [{
        "clientVpnEndpointId": "cvpn-endpoint-1",
        "connections": [
            {"connectionId": "c-1", "connectionEstablishedTime": "2026-11-22T08:00:00Z", "ingressBytes": 10},
            {"connectionId": "c-2", "connectionEstablishedTime": "2026-11-22T08:00:00Z", "egressPackets": 5}
        ]
    }]}))
    .unwrap()
}

#[test]
fn terminate_delay_longer_than_a_year_is_refused() {
    let options = |terminate_delay| Options {
        terminate_delay,
        ..Options::default()
    };
    assert!(Service::new(state(), options(MAX_TERMINATE_DELAY)).is_ok());
    for too_long in [
        MAX_TERMINATE_DELAY + Duration::from_nanos(1),
        // Accepted by `TimeDelta::from_std`, but adding it to the clock overflowed.
        Duration::from_secs(9_000_000_000_000_000),
        Duration::MAX,
    ] {
        let err = Service::new(state(), options(too_long)).err().unwrap();
        assert!(err.starts_with("terminate delay"), "{err}");
    }
}

#[test]
fn traffic_batches_apply_all_or_nothing() {
    let service = Service::new(state(), Options::default()).unwrap();
    let change = |id: &str| TrafficChange {
        connection_id: id.into(),
        ..Default::default()
    };
    let before = service.snapshot();
    let overflowing = [
        TrafficChange {
            add_ingress_bytes: 1,
            ..change("c-1")
        },
        TrafficChange {
            add_egress_packets: u64::MAX - 4,
            ..change("c-2")
        },
    ];
    let err = service.change_traffic(&overflowing).unwrap_err();
    assert!(err.starts_with("traffic[1].addEgressPackets:"), "{err}");
    assert_eq!(service.snapshot(), before);
    // Each change fits alone; together they overflow.
    let cumulative = [
        TrafficChange {
            egress_bytes: Some(u64::MAX - 1),
            ..change("c-1")
        },
        TrafficChange {
            add_egress_bytes: 2,
            ..change("c-1")
        },
    ];
    let err = service.change_traffic(&cumulative).unwrap_err();
    assert!(err.starts_with("traffic[1].addEgressBytes:"), "{err}");
    assert_eq!(service.snapshot(), before);

    let summed = [
        TrafficChange {
            add_ingress_bytes: 1,
            ..change("c-1")
        },
        TrafficChange {
            add_ingress_bytes: 2,
            add_ingress_packets: 7,
            ..change("c-1")
        },
    ];
    assert_eq!(service.change_traffic(&summed), Ok(2));
    let c = &service.snapshot().endpoints[0].connections[0];
    assert_eq!((c.ingress_bytes, c.ingress_packets), (13, 7));
}

#[test]
fn clock_moves_out_of_range_are_refused() {
    let service = Service::new(state(), Options::default()).unwrap();
    let set = |change: ClockChange| service.set_clock(&change);
    let start = set(ClockChange {
        now: Some("2026-11-22T09:00:00Z".into()),
        ..Default::default()
    })
    .unwrap();
    for seconds in [
        9_000_000_000_000_000,
        -9_000_000_000_000_000,
        300_000_000_000,
        i64::MAX,
    ] {
        let err = set(ClockChange {
            advance_seconds: Some(seconds),
            frozen: Some(false),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.starts_with("advanceSeconds:"), "{err}");
        assert_eq!(service.clock(), start);
    }
    let err = set(ClockChange {
        now: Some("0000-01-01T00:00:00+01:00".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.starts_with("now:"), "{err}");
    assert_eq!(service.clock(), start);
    let latest = set(ClockChange {
        now: Some("9999-12-31T23:00:00Z".into()),
        advance_seconds: Some(3599),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(latest.now, "9999-12-31T23:59:59Z");
}
