//! An incident that lists the endpoints the inventory knows while their places are described
//! (`shell/inventory.rs`): how what was known and what the description found are reconciled.
//! The description decides; where it could not speak, the inventory's endpoints stand as named
//! ones, and an endpoint found at two places is acted on at neither. Pure.

use crate::domain::model::{Endpoint, Place};

/// What the incident does with each endpoint.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Known endpoints whose listing is put aside: gone from a place described in full, or at
    /// two places.
    pub aside: Vec<Endpoint>,
    /// Described endpoints the inventory did not know: listed now.
    pub new: Vec<Endpoint>,
    /// Known endpoints of places that could not be described: listed as named ones.
    pub undescribed: Vec<Endpoint>,
    /// Endpoints at two places that the description alone did not show: each with its places.
    pub ambiguous: Vec<(String, Vec<Place>)>,
}

/// `known`: the inventory's endpoints (listed already); `described`: what the description found
/// (without the endpoints it found at two places, `described_twice`); `failed`: the places it
/// could not describe.
pub fn reconcile(
    known: &[Endpoint],
    described: &[Endpoint],
    described_twice: &[String],
    failed: &[Place],
) -> Reconciled {
    let same = |a: &Endpoint, b: &Endpoint| a.id == b.id && a.place == b.place;
    let in_full = |place: &Place| !failed.contains(place);
    let unseen: Vec<&Endpoint> = known.iter().filter(|k| !in_full(&k.place)).collect();
    let places_of = |id: &str| {
        let mut places: Vec<Place> = described
            .iter()
            .chain(unseen.iter().copied())
            .filter(|e| e.id == id)
            .map(|e| e.place.clone())
            .collect();
        places.sort();
        places.dedup();
        places
    };
    let twice = |id: &String| described_twice.contains(id) || places_of(id).len() > 1;
    let mut ambiguous: Vec<(String, Vec<Place>)> = Vec::new();
    for e in described.iter().chain(unseen.iter().copied()) {
        let places = places_of(&e.id);
        if places.len() > 1 && !ambiguous.iter().any(|(id, _)| id == &e.id) {
            ambiguous.push((e.id.clone(), places));
        }
    }
    Reconciled {
        aside: known
            .iter()
            .filter(|k| {
                twice(&k.id) || (in_full(&k.place) && !described.iter().any(|d| same(d, k)))
            })
            .cloned()
            .collect(),
        new: described
            .iter()
            .filter(|d| !twice(&d.id) && !known.iter().any(|k| same(k, d)))
            .cloned()
            .collect(),
        undescribed: unseen
            .iter()
            .filter(|k| !twice(&k.id))
            .copied()
            .cloned()
            .collect(),
        ambiguous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(place: u8, id: u8) -> Endpoint {
        Endpoint {
            place: Place {
                account: Some(format!("{place:012}")),
                region: Some("eu-west-1".into()),
            },
            id: format!("cvpn-endpoint-{id:017x}"),
            client_cidr: None,
            connect_handler: None,
        }
    }

    #[test]
    fn the_description_decides_and_an_endpoint_at_two_places_is_at_neither() {
        let place = |p: u8| at(p, 0).place;
        // Known: 1 at place 1 (still there), 2 at place 1 (deleted since), 3 at place 2 (not
        // described), 4 at place 2 (not described) but found at place 1.
        let known = [at(1, 1), at(1, 2), at(2, 3), at(2, 4)];
        let described = [at(1, 1), at(1, 4), at(1, 5)];
        let r = reconcile(&known, &described, &[], &[place(2)]);
        assert_eq!(r.aside, [at(1, 2), at(2, 4)]);
        assert_eq!(r.new, [at(1, 5)]);
        assert_eq!(r.undescribed, [at(2, 3)]);
        let twice = [(at(1, 4).id, vec![place(1), place(2)])];
        assert_eq!(r.ambiguous, twice);
        // Known at a place described in full, found at another: the inventory was wrong there.
        let r = reconcile(&[at(2, 4)], &described, &[], &[]);
        assert_eq!((r.aside, r.ambiguous), (vec![at(2, 4)], vec![]));
        assert!(r.new.contains(&at(1, 4)));
    }

    fn endpoint() -> impl Strategy<Value = Endpoint> {
        (0u8..3, 0u8..5).prop_map(|(p, id)| at(p, id))
    }

    proptest! {
        /// Whatever the inventory knew and the description found: no endpoint is acted on at
        /// two places; every endpoint the description found at one place, and at no other, is
        /// listed (known and kept, or new); what is listed undescribed is in a place the
        /// description could not speak for.
        #[test]
        fn nothing_is_acted_on_twice_and_nothing_described_is_missed(
            known in proptest::collection::vec(endpoint(), 0..6),
            described in proptest::collection::vec(endpoint(), 0..6),
            failed in proptest::collection::vec(0u8..3, 0..2),
        ) {
            let failed: Vec<Place> = failed.iter().map(|p| at(*p, 0).place).collect();
            // The description never speaks for a place it could not describe.
            let mut described: Vec<Endpoint> =
                described.into_iter().filter(|d| !failed.contains(&d.place)).collect();
            described.sort_by(|a, b| (&a.id, &a.place).cmp(&(&b.id, &b.place)));
            described.dedup();
            let twice: Vec<String> = described.iter()
                .filter(|d| described.iter().any(|o| o.id == d.id && o.place != d.place))
                .map(|d| d.id.clone()).collect();
            let described: Vec<Endpoint> = described.into_iter().filter(|d| !twice.contains(&d.id)).collect();
            let mut known = known;
            known.sort_by(|a, b| (&a.id, &a.place).cmp(&(&b.id, &b.place)));
            known.dedup();
            let r = reconcile(&known, &described, &twice, &failed);
            let kept: Vec<&Endpoint> = known.iter().filter(|k| !r.aside.contains(k)).collect();
            let acted: Vec<&Endpoint> = kept.iter().copied().chain(r.new.iter()).collect();
            for e in &acted {
                prop_assert!(!acted.iter().any(|o| o.id == e.id && o.place != e.place), "{} twice", e.id);
                prop_assert!(!twice.contains(&e.id));
            }
            for d in &described {
                let elsewhere = known.iter().any(|k| k.id == d.id && k.place != d.place && failed.contains(&k.place));
                prop_assert_eq!(acted.contains(&d), !elsewhere, "{}", d.id);
            }
            for u in &r.undescribed {
                prop_assert!(failed.contains(&u.place) && kept.contains(&u));
            }
        }
    }
}
