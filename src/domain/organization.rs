//! Targets from an AWS organization: every active account of the organization, or of the named
//! organizational units (and the units below them), in each of a list of Regions, through a role
//! of one name in each (`target.yaml`'s). `CVPN_TARGETS` cannot hold an organization (Lambda
//! allows 4 KB of environment in all); the accounts are listed through AWS Organizations and kept
//! in the state table, so an incident never waits for Organizations. Pure.

use crate::domain::model::Place;
use crate::domain::targets::TargetSpec;
use serde::{Deserialize, Serialize};

/// How old the kept list of accounts may be before a sweep lists the organization again.
pub const REFRESH_SECONDS: i64 = 60 * 60;

/// Where to act across the organization (`CVPN_ORGANIZATION_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    /// Each account's Regions (`CVPN_ORGANIZATION_REGIONS`).
    pub regions: Vec<String>,
    /// Organizational units (or the root) whose accounts, at any depth, are targets
    /// (`CVPN_ORGANIZATION_UNITS`); empty: the whole organization.
    pub units: Vec<String>,
    /// The role assumed in each account (`CVPN_TARGET_ROLE_NAME`).
    pub role_name: String,
    /// The role Organizations is read through, in the management or a delegated administrator
    /// account (`CVPN_ORGANIZATION_ROLE`); `None`: the function's own credentials.
    pub reader_role: Option<String>,
    /// The partition role ARNs are written in.
    pub partition: String,
    /// Accounts that are no targets (`CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS`): the management
    /// account, say, where a service-managed StackSet puts no role.
    pub excluded: Vec<String>,
}

/// An account as Organizations lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// `ACTIVE`; suspended and closing accounts are left out.
    pub active: bool,
}

/// The accounts as last listed, kept in the state table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// When they were listed (epoch seconds).
    pub at: i64,
    /// The active accounts' IDs, sorted.
    pub accounts: Vec<String>,
}

impl Known {
    /// The active accounts of `listed`, at `at`.
    pub fn listed(at: i64, listed: &[Account]) -> Self {
        let mut accounts: Vec<String> = listed
            .iter()
            .filter(|a| a.active)
            .map(|a| a.id.clone())
            .collect();
        accounts.sort();
        accounts.dedup();
        Known { at, accounts }
    }

    /// Whether a sweep at `now` lists the organization again.
    pub fn stale(&self, now: i64) -> bool {
        !(0..REFRESH_SECONDS).contains(&(now - self.at))
    }

    /// Why this list may not replace the kept one (`kept`), if it may not: a list with no account,
    /// or with fewer than half the kept ones, is more likely a fault (a changed field, a wrong
    /// unit) than an organization that shrank, and the kept list stands until a person looks.
    pub fn refused_over(&self, kept: Option<&Known>) -> Option<String> {
        let before = kept.map_or(0, |k| k.accounts.len());
        if self.accounts.is_empty() {
            return Some("Organizations listed no active account in scope".into());
        }
        (self.accounts.len() * 2 < before).then(|| {
            format!(
                "Organizations listed {} active accounts where {before} were kept",
                self.accounts.len()
            )
        })
    }
}

impl Reach {
    /// Every Region of every known account, through the role; the function's own account (`own`)
    /// with its own credentials, as a target without a role is.
    pub fn targets(&self, known: &Known, own: Option<&str>) -> Vec<TargetSpec> {
        let mut out = Vec::with_capacity(known.accounts.len() * self.regions.len());
        for account in known.accounts.iter().filter(|a| !self.excluded.contains(a)) {
            let mine = own == Some(account.as_str());
            for region in &self.regions {
                out.push(TargetSpec {
                    place: Place {
                        account: (!mine).then(|| account.clone()),
                        region: Some(region.clone()),
                    },
                    role_arn: (!mine).then(|| {
                        format!(
                            "arn:{}:iam::{account}:role/{}",
                            self.partition, self.role_name
                        )
                    }),
                });
            }
        }
        out
    }
}

/// Whether `id` is an organizational unit's ID or the root's, as Organizations writes them.
pub fn is_unit(id: &str) -> bool {
    let lower = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match id.split('-').collect::<Vec<_>>().as_slice() {
        ["r", root] => lower(root, 4, 32),
        ["ou", root, unit] => lower(root, 4, 32) && lower(unit, 8, 32),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach() -> Reach {
        Reach {
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            role_name: "cvpn-terminator-target".into(),
            partition: "aws".into(),
            ..Reach::default()
        }
    }

    #[test]
    fn active_accounts_in_every_region_and_the_own_account_without_a_role() {
        let known = Known::listed(
            7,
            &[
                Account {
                    id: "222233334444".into(),
                    active: true,
                },
                Account {
                    id: "333344445555".into(),
                    active: false,
                },
                Account {
                    id: "111122223333".into(),
                    active: true,
                },
            ],
        );
        assert_eq!(known.accounts, ["111122223333", "222233334444"]);
        let targets = reach().targets(&known, Some("111122223333"));
        let labels: Vec<(String, Option<String>)> = targets
            .iter()
            .map(|t| (t.place.label(), t.role_arn.clone()))
            .collect();
        let role = |r: &str| {
            Some(format!(
                "arn:aws:iam::222233334444:role/cvpn-terminator-target{r}"
            ))
        };
        assert_eq!(
            labels,
            [
                ("this account/eu-west-1".to_owned(), None),
                ("this account/us-east-1".to_owned(), None),
                ("222233334444/eu-west-1".to_owned(), role("")),
                ("222233334444/us-east-1".to_owned(), role("")),
            ]
        );
    }

    #[test]
    fn excluded_accounts_are_no_targets_and_a_list_that_collapsed_replaces_nothing() {
        let known = |n: usize| Known {
            at: 1,
            accounts: (0..n).map(|i| format!("{i:012}")).collect(),
        };
        let excluded = Reach {
            excluded: vec![format!("{:012}", 1)],
            ..reach()
        };
        assert_eq!(excluded.targets(&known(3), None).len(), 4);
        assert!(known(0).refused_over(None).is_some());
        assert!(known(4).refused_over(Some(&known(9))).is_some());
        assert_eq!(known(5).refused_over(Some(&known(9))), None);
        assert_eq!(known(1).refused_over(None), None);
    }

    #[test]
    fn the_list_is_listed_again_after_an_hour_or_from_a_wrong_clock() {
        let known = Known {
            at: 10_000,
            accounts: vec![],
        };
        assert!(!known.stale(10_000));
        assert!(!known.stale(10_000 + REFRESH_SECONDS - 1));
        assert!(known.stale(10_000 + REFRESH_SECONDS));
        assert!(known.stale(9_999));
    }

    #[test]
    fn unit_ids_are_organizations_own() {
        for ok in ["r-ab12", "ou-ab12-cd34ef56", "ou-abcd-0123456789"] {
            assert!(is_unit(ok), "{ok}");
        }
        for bad in [
            "",
            "r-",
            "ou-ab12",
            "OU-ab12-cd34ef56",
            "ou-ab12-cd34",
            "123456789012",
            "r-ab12/x",
        ] {
            assert!(!is_unit(bad), "{bad}");
        }
    }
}
