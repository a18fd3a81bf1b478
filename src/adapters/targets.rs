//! The places the function acts in, each with its own Client VPN API: the function's own account
//! and Region by default, or what `CVPN_TARGETS` names — other Regions of this account, and other
//! accounts reached by assuming a role (`assumed.rs`, which keeps the credentials and asks again
//! before they expire). The places share one EC2 client and one STS client.

use crate::adapters::aggregator::Aggregator;
use crate::adapters::assumed::AssumedRole;
use crate::adapters::ec2::Ec2;
use crate::adapters::lazy::Lazy;
use crate::adapters::organization::Organization;
use crate::domain::inventory::aggregator::Answer;
use crate::domain::inventory::Inventory;
use crate::domain::model::Place;
use crate::domain::targets::TargetSpec;
use aws_config::SdkConfig;
use aws_sdk_ec2::config::SharedCredentialsProvider;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session name every assumed role shows in the target account's CloudTrail.
pub const SESSION_NAME: &str = "cvpn-terminator";

pub struct Target<A> {
    pub place: Place,
    pub api: A,
}

/// At least one target, and where the function itself runs.
pub struct Targets<A> {
    list: Vec<Target<A>>,
    /// The function's own account and Region.
    home: Place,
    /// Where endpoints are, as last read from the state table.
    inventory: Kept<Option<Inventory>>,
    /// The organization whose accounts are the targets, when they are: sweeps list it again.
    organization: Option<Organization>,
    /// AWS Config's aggregator, which says where endpoints are when no sweep lately has, and
    /// its last answer (`Err`: it could not be had).
    aggregator: Option<Aggregator>,
    answer: Kept<Result<Answer, ()>>,
}

/// A value and when it was had, kept for the invocations a warm function serves.
struct Kept<T>(Mutex<Option<(Instant, T)>>);

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T: Clone> Kept<T> {
    /// The value, if had within what `fresh_for` allows for it.
    fn within(&self, fresh_for: impl Fn(&T) -> Duration) -> Option<T> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|(had, value)| had.elapsed() <= fresh_for(value))
            .map(|(_, value)| value.clone())
    }

    fn keep(&self, value: T) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), value));
    }
}

impl<A> Targets<A> {
    /// `list` must not be empty: there would be nowhere to act.
    pub fn new(list: Vec<Target<A>>, home: Place) -> Self {
        assert!(!list.is_empty(), "targets: at least one");
        Self {
            list,
            home,
            inventory: Kept::default(),
            organization: None,
            aggregator: None,
            answer: Kept::default(),
        }
    }

    /// Where endpoints are, when no sweep lately has said, asked of `aggregator`.
    pub fn set_aggregator(&mut self, aggregator: Aggregator) {
        self.aggregator = Some(aggregator);
    }

    pub fn aggregator(&self) -> Option<&Aggregator> {
        self.aggregator.as_ref()
    }

    /// The aggregator's answer as had within `within`, or its failure within `failed_within`.
    pub fn answer_within(
        &self,
        within: Duration,
        failed_within: Duration,
    ) -> Option<Result<Answer, ()>> {
        self.answer.within(|answer| {
            if answer.is_ok() {
                within
            } else {
                failed_within
            }
        })
    }

    /// Remembers the aggregator's answer just had, or that it could not be had.
    pub fn remember_answer(&self, answer: Result<Answer, ()>) {
        self.answer.keep(answer);
    }

    /// The targets as `organization`'s accounts: sweeps list it again.
    pub fn set_organization(&mut self, organization: Organization) {
        self.organization = Some(organization);
    }

    pub fn organization(&self) -> Option<&Organization> {
        self.organization.as_ref()
    }

    /// The inventory as read within `within`: `None` when it must be read again, `Some(None)`
    /// when the table had none.
    pub fn inventory_read_within(&self, within: Duration) -> Option<Option<Inventory>> {
        self.inventory.within(|_| within)
    }

    /// Remembers the inventory just read (or written).
    pub fn remember_inventory(&self, inventory: Option<Inventory>) {
        self.inventory.keep(inventory);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Target<A>> {
        self.list.iter()
    }

    /// Where each target is, in their order.
    pub fn places(&self) -> impl Iterator<Item = &Place> {
        self.list.iter().map(|t| &t.place)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The API of the target at `place`.
    pub fn at(&self, place: &Place) -> Option<&A> {
        self.list.iter().find(|t| t.place == *place).map(|t| &t.api)
    }

    pub fn first(&self) -> &Target<A> {
        &self.list[0]
    }

    pub fn home_place(&self) -> &Place {
        &self.home
    }

    /// The target where the function runs, when it acts there: where the connect handler asks.
    pub fn home(&self) -> Option<&A> {
        self.at(&self.home)
    }
}

/// The function's own account and Region, as before targets.
impl<A> From<A> for Targets<A> {
    fn from(api: A) -> Self {
        Self {
            list: vec![Target {
                place: Place::default(),
                api,
            }],
            home: Place::default(),
            inventory: Kept::default(),
            organization: None,
            aggregator: None,
            answer: Kept::default(),
        }
    }
}

/// The targets from the function's own configuration `sdk`: one EC2 client, built on its first
/// call, shared by every place; each place's calls sent to its Region, and for another account
/// with its role's credentials (session `cvpn-terminator`, with `external_id` when given) from one
/// STS client they share. Without targets, the function's own account and Region, its place
/// written with that Region so that every outcome names it.
pub fn ec2_targets(
    sdk: &SdkConfig,
    specs: &[TargetSpec],
    external_id: Option<&str>,
) -> Targets<Ec2> {
    let home = Place {
        account: None,
        region: sdk.region().map(|r| r.to_string()),
    };
    let own = sdk.clone();
    let client = Lazy::new(move || aws_sdk_ec2::Client::new(&own));
    if specs.is_empty() {
        let list = vec![Target {
            api: Ec2::built_on_use(client, home.clone()),
            place: home.clone(),
        }];
        return Targets::new(list, home);
    }
    let own = sdk.clone();
    let sts = Lazy::new(move || aws_sdk_sts::Client::new(&own));
    // One provider per role: an account's places in every Region share its credentials.
    let mut roles: HashMap<&str, SharedCredentialsProvider> = HashMap::new();
    let list = specs
        .iter()
        .map(|spec| {
            let mut api = Ec2::built_on_use(client.clone(), spec.place.clone());
            if let Some(region) = &spec.place.region {
                api = api.in_region(region);
            }
            if let Some(arn) = &spec.role_arn {
                let role = roles.entry(arn).or_insert_with(|| {
                    let role = AssumedRole::new(sts.clone(), arn, SESSION_NAME, external_id);
                    SharedCredentialsProvider::new(role)
                });
                api = api.assuming(arn, role.clone());
            }
            Target {
                api,
                place: spec.place.clone(),
            }
        })
        .collect();
    Targets::new(list, home)
}
