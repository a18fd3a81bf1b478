//! Where an invocation may act, and the one rule every place and endpoint filter asks. Pure.

use crate::domain::model::Place;

/// The places (narrowed to an account and a Region, or listed; none named is every one) and the
/// endpoints (none named is every one). The deployment's scope is `CVPN_ENDPOINT_IDS`'s endpoints
/// anywhere; a direct request narrows it to the targets of one account and Region, a sweep's
/// `Targets` to those places.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Each narrowing to an account and a Region (none named: any): a place must be in every one,
    /// so narrowing again never widens.
    pub within: Vec<(Option<String>, Option<String>)>,
    /// Only these places (a sweep's `Targets`); none: every one.
    pub places: Vec<Place>,
    pub endpoints: Vec<String>,
}

impl Scope {
    /// These endpoints (none: every one), in every place.
    pub fn endpoints(ids: Vec<String>) -> Self {
        Self {
            endpoints: ids,
            ..Self::default()
        }
    }

    /// The same, further narrowed to `account` and `region` (none named: any).
    pub fn within(&self, account: Option<String>, region: Option<String>) -> Self {
        let mut narrowed = self.clone();
        narrowed.within.push((account, region));
        narrowed
    }

    /// Whether the targets at `place` are in scope.
    pub fn holds(&self, place: &Place) -> bool {
        let named = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        let in_each = self.within.iter().all(|(account, region)| {
            named(account, &place.account) && named(region, &place.region)
        });
        in_each && (self.places.is_empty() || self.places.contains(place))
    }

    /// Whether endpoint `id` is in scope.
    pub fn has_endpoint(&self, id: &str) -> bool {
        among(&self.endpoints, id)
    }

    /// The endpoints named, when some are.
    pub fn named_endpoints(&self) -> Option<Vec<String>> {
        (!self.endpoints.is_empty()).then(|| self.endpoints.clone())
    }
}

/// Whether endpoint `id` is among `named` (as `CVPN_ENDPOINT_IDS` or a finding's evidence names
/// them): none named is every endpoint.
pub fn among(named: &[String], id: &str) -> bool {
    named.is_empty() || named.iter().any(|e| e == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small world: two accounts (one the function's own), two Regions, two endpoints.
    fn account() -> impl Strategy<Value = Option<String>> {
        prop_oneof![Just(None), Just(Some("222233334444".to_owned()))]
    }

    fn region() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some("eu-west-1".to_owned())),
            Just(Some("us-east-1".to_owned()))
        ]
    }

    fn place() -> impl Strategy<Value = Place> {
        (account(), region()).prop_map(|(account, region)| Place { account, region })
    }

    fn scope() -> impl Strategy<Value = Scope> {
        let ids = proptest::sample::subsequence(vec!["e-1".to_owned(), "e-2".to_owned()], 0..=2);
        let within = proptest::collection::vec((account(), region()), 0..3);
        let places = proptest::collection::vec(place(), 0..3);
        (within, places, ids).prop_map(|(within, places, endpoints)| Scope {
            within,
            places,
            endpoints,
        })
    }

    proptest! {
        /// A request narrows what the deployment reaches, never widens it: whatever it names,
        /// a place or endpoint outside the deployment's scope stays outside.
        #[test]
        fn narrowing_never_widens(
            s in scope(), account in account(), region in region(), p in place(),
            id in prop_oneof![Just("e-1"), Just("e-2"), Just("e-3")],
        ) {
            let narrowed = s.within(account, region);
            prop_assert!(!narrowed.holds(&p) || s.holds(&p));
            prop_assert_eq!(narrowed.has_endpoint(id), s.has_endpoint(id));
        }
    }

    fn at(account: Option<&str>, region: &str) -> Place {
        Place {
            account: account.map(str::to_owned),
            region: Some(region.to_owned()),
        }
    }

    #[test]
    fn narrows_to_an_account_and_a_region() {
        let all = Scope::default();
        let within = |account: Option<&str>, region: Option<&str>| {
            all.within(account.map(str::to_owned), region.map(str::to_owned))
        };
        let network = at(Some("222233334444"), "eu-west-1");
        let home = at(None, "us-east-1");
        assert!(within(None, None).holds(&network) && within(None, None).holds(&home));
        assert!(within(Some("222233334444"), None).holds(&network));
        assert!(!within(Some("222233334444"), None).holds(&home));
        assert!(within(None, Some("us-east-1")).holds(&home));
        assert!(!within(Some("222233334444"), Some("us-east-1")).holds(&network));
        let listed = Scope {
            places: vec![home.clone()],
            ..Scope::default()
        };
        assert!(listed.holds(&home) && !listed.holds(&network));
        assert!(!listed.within(None, Some("eu-west-1".into())).holds(&home));
    }

    #[test]
    fn no_endpoint_named_is_every_endpoint_and_narrowing_keeps_them() {
        let a = "cvpn-endpoint-0a1b2c3d4e5f60718";
        let b = "cvpn-endpoint-0b1c2d3e4f5a60719";
        assert!(Scope::default().has_endpoint(a));
        assert_eq!(Scope::default().named_endpoints(), None);
        let only_a = Scope::endpoints(vec![a.into()]);
        assert!(only_a.has_endpoint(a) && !only_a.has_endpoint(b));
        let narrowed = only_a.within(Some("222233334444".into()), None);
        assert!(narrowed.has_endpoint(a) && !narrowed.has_endpoint(b));
        assert_eq!(narrowed.named_endpoints(), Some(vec![a.to_owned()]));
    }
}
