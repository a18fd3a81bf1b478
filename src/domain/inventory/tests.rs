use super::*;
use proptest::prelude::*;

fn place(account: u32) -> Place {
    Place {
        account: Some(format!("{account:012}")),
        region: Some("eu-west-1".into()),
    }
}

fn endpoint(account: u32, id: &str, handler: bool) -> Endpoint {
    Endpoint {
        place: place(account),
        id: id.into(),
        client_cidr: None,
        connect_handler: handler.then(|| "arn:aws:lambda:eu-west-1:1:function:h".into()),
    }
}

#[test]
fn an_incident_skips_only_the_places_seen_empty() {
    // Listed: 1 (an endpoint), 2 (none); 3 could not be listed; 4 was not a target then.
    let inv = Inventory::seen(
        1_000,
        [place(1), place(2)].iter(),
        &[endpoint(1, "cvpn-endpoint-1", true)],
    );
    let places: Vec<Place> = (1..=4).map(place).collect();
    let listed = Inventory::to_list(Some(&inv), &places, None, 1_100).unwrap();
    assert_eq!(listed, [place(1), place(3), place(4)]);
    assert_eq!(inv.coverage(), (1, 1));
}

#[test]
fn named_endpoints_go_straight_to_their_places_when_all_are_known() {
    let inv = Inventory::seen(
        1_000,
        [place(1), place(2), place(3)].iter(),
        &[endpoint(1, "e-1", false), endpoint(3, "e-3", true)],
    );
    let places: Vec<Place> = (1..=3).map(place).collect();
    let named = ["e-3".to_owned()];
    assert_eq!(
        Inventory::to_list(Some(&inv), &places, Some(&named), 1_000),
        Some(vec![place(3)])
    );
    // One it does not know (created since?), or one in a place that is no target now:
    // every place, as without an inventory.
    let named = ["e-3".to_owned(), "e-9".to_owned()];
    assert_eq!(
        Inventory::to_list(Some(&inv), &places, Some(&named), 1_000),
        None
    );
    let named = ["e-3".to_owned()];
    assert_eq!(
        Inventory::to_list(Some(&inv), &places[..2], Some(&named), 1_000),
        None
    );
}

#[test]
fn a_stale_or_future_or_absent_inventory_lists_everything() {
    let inv = Inventory::seen(1_000, [place(2)].iter(), &[]);
    let places = [place(2)];
    assert_eq!(Inventory::to_list(None, &places, None, 1_000), None);
    assert_eq!(
        Inventory::to_list(Some(&inv), &places, None, 1_000 + MAX_AGE_SECONDS + 1),
        None
    );
    assert_eq!(Inventory::to_list(Some(&inv), &places, None, 999), None);
    assert_eq!(
        Inventory::to_list(Some(&inv), &places, None, 1_000 + MAX_AGE_SECONDS),
        Some(vec![])
    );
}

#[test]
fn a_place_is_skipped_only_when_every_recent_word_saw_it_empty() {
    // The whole sweep (at 1,000) saw 1 with an endpoint, 2 and 3 empty.
    let mut inv = Inventory::seen(
        1_000,
        [place(1), place(2), place(3)].iter(),
        &[endpoint(1, "e-1", false)],
    );
    let seen = |at: i64, ids: &[&str]| Seen {
        at,
        endpoints: ids
            .iter()
            .map(|id| Listed {
                id: (*id).into(),
                connect_handler: true,
            })
            .collect(),
    };
    // A child since saw 2 with a new endpoint, and 1 empty: the endpoint the whole sweep saw
    // there an hour ago or less still counts.
    inv.recent.insert(place(2).label(), seen(2_000, &["e-2"]));
    inv.recent.insert(place(1).label(), seen(1_500, &[]));
    let places: Vec<Place> = (1..=4).map(place).collect();
    let listed = Inventory::to_list(Some(&inv), &places, None, 2_100).unwrap();
    assert_eq!(listed, [place(1), place(2), place(4)]);
    let named = ["e-2".to_owned()];
    let straight = Inventory::to_list(Some(&inv), &places, Some(&named), 2_100);
    assert_eq!(straight, Some(vec![place(2)]));
    // The newest word on each: e-2 alone.
    assert_eq!(inv.coverage(), (1, 1));
    // Over an hour after the whole sweep, only the children's words count: 1 is seen empty,
    // 3 not seen lately; e-1 is no longer known.
    let later = 1_000 + MAX_AGE_SECONDS + 1;
    let listed = Inventory::to_list(Some(&inv), &places, None, later).unwrap();
    assert_eq!(listed, [place(2), place(3), place(4)]);
    let named = ["e-1".to_owned()];
    assert_eq!(
        Inventory::to_list(Some(&inv), &places, Some(&named), later),
        None
    );
    // The children's words alone (no sweep of every place ever).
    let split = Inventory {
        recent: inv.recent.clone(),
        ..Inventory::default()
    };
    let listed = Inventory::to_list(Some(&split), &places, None, 2_100).unwrap();
    assert_eq!(listed, [place(2), place(3), place(4)]);
}

#[test]
fn a_childs_sighting_is_dated_so_an_endpoint_seen_outlasts_an_emptiness_seen_before() {
    let inv = Inventory::seen(
        1_000,
        [place(1), place(2)].iter(),
        &[endpoint(1, "e-1", false)],
    );
    let by_place = inv.by_place(1_090);
    // Seen empty: when the listing began; seen with an endpoint: when it ended.
    assert_eq!(by_place[&place(2).label()].at, 1_000);
    assert_eq!(by_place[&place(1).label()].at, 1_090);
}

proptest! {
    /// Whatever the sweep of every place and the children saw, an incident skips a place only
    /// when every recent word on it saw it empty.
    #[test]
    fn no_place_that_may_have_an_endpoint_is_skipped_whoever_saw_it(
        child in proptest::collection::btree_map(0u32..20, (any::<bool>(), 0i64..8_000), 0..10),
        now in 5_000i64..=5_000 + MAX_AGE_SECONDS,
        listed in proptest::collection::btree_set(0u32..20, 0..20),
        with in proptest::collection::btree_set(0u32..20, 0..8),
    ) {
        let endpoints: Vec<Endpoint> = with.iter().filter(|a| listed.contains(a))
            .map(|a| endpoint(*a, &format!("e-{a}"), false)).collect();
        let listed_places: Vec<Place> = listed.iter().map(|a| place(*a)).collect();
        let mut inv = Inventory::seen(5_000, &listed_places, &endpoints);
        for (a, (has, at)) in &child {
            let endpoints = if *has {
                vec![Listed { id: format!("c-{a}"), connect_handler: false }]
            } else {
                vec![]
            };
            inv.recent.insert(place(*a).label(), Seen { at: *at, endpoints });
        }
        let places: Vec<Place> = (0..20).map(place).collect();
        // None: every place.
        let kept = Inventory::to_list(Some(&inv), &places, None, now).unwrap_or(places.clone());
        for a in 0..20u32 {
            // The recent words on the place: the whole sweep's and the child's.
            let whole = listed.contains(&a).then(|| (5_000, with.contains(&a)));
            let child = child.get(&a).map(|(has, at)| (*at, *has));
            let lately: Vec<bool> = [whole, child]
                .into_iter()
                .flatten()
                .filter(|(at, _)| (0..=MAX_AGE_SECONDS).contains(&(now - at)))
                .map(|(_, has)| has)
                .collect();
            let may_have = lately.is_empty() || lately.contains(&true);
            prop_assert_eq!(kept.contains(&place(a)), may_have, "account {}", a);
        }
    }
}
