//! Where the function acts (`CVPN_TARGETS`): `REGION` (this account, that Region) and
//! `ROLE_ARN@REGION` (another account, reached by assuming the role), read strictly — a target
//! written wrong would leave sessions running where people expect them ended.

use crate::domain::model::{is_account_id, Place};

/// One target: its place, and the role to assume when it is another account's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    pub place: Place,
    pub role_arn: Option<String>,
}

/// Reads the entries of `CVPN_TARGETS`; an error names the entry and what is wrong with it.
pub fn parse(entries: &[String]) -> Result<Vec<TargetSpec>, String> {
    let mut specs: Vec<TargetSpec> = Vec::with_capacity(entries.len());
    for entry in entries {
        let spec = match entry.rsplit_once('@') {
            Some((arn, region)) => {
                let account = role_account(arn).ok_or_else(|| {
                    format!(
                        "`{entry}`: `{arn}` is not a role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"
                    )
                })?;
                TargetSpec {
                    place: Place {
                        account: Some(account.to_owned()),
                        region: Some(region_of(entry, region)?),
                    },
                    role_arn: Some(arn.to_owned()),
                }
            }
            None => TargetSpec {
                place: Place {
                    account: None,
                    region: Some(region_of(entry, entry)?),
                },
                role_arn: None,
            },
        };
        if specs.iter().any(|s| s.place == spec.place) {
            return Err(format!("`{entry}`: {} is named twice", spec.place.label()));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// What a direct request narrows an incident to: the targets in `account` (another account's,
/// reached by a role) and in `region`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Within {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Within {
    pub fn holds(&self, place: &Place) -> bool {
        let named = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        named(&self.account, &place.account) && named(&self.region, &place.region)
    }
}

/// Whether `text` is written as AWS names Regions.
pub fn is_region(text: &str) -> bool {
    region_of(text, text).is_ok()
}

/// The account of `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
fn role_account(arn: &str) -> Option<&str> {
    match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && is_account_id(account)
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|n| !n.is_empty() && !n.ends_with('/')) =>
        {
            Some(account)
        }
        _ => None,
    }
}

/// A Region as AWS names them: `eu-west-1`, `us-gov-west-1`, `ap-southeast-2`.
fn region_of(entry: &str, region: &str) -> Result<String, String> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    if well_formed {
        Ok(region.to_owned())
    } else {
        Err(format!(
            "`{entry}`: `{region}` is not a Region (such as eu-west-1)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_regions_and_roles() {
        let specs = parse(&entries(&[
            "eu-west-1",
            "arn:aws:iam::222233334444:role/ops/cvpn-terminator-target@us-gov-west-1",
        ]))
        .unwrap();
        assert_eq!(specs[0].place.label(), "this account/eu-west-1");
        assert_eq!(specs[0].role_arn, None);
        assert_eq!(specs[1].place.label(), "222233334444/us-gov-west-1");
        assert_eq!(
            specs[1].role_arn.as_deref(),
            Some("arn:aws:iam::222233334444:role/ops/cvpn-terminator-target")
        );
        assert_eq!(parse(&[]).unwrap(), vec![]);
    }

    #[test]
    fn refuses_what_it_cannot_read_naming_the_entry() {
        for (entry, says) in [
            ("eu-west", "is not a Region"),
            ("EU-WEST-1", "is not a Region"),
            ("arn:aws:iam::222233334444:role/x@", "is not a Region"),
            ("arn:aws:iam::2222:role/x@eu-west-1", "is not a role ARN"),
            (
                "arn:aws:iam::222233334444:user/x@eu-west-1",
                "is not a role ARN",
            ),
            (
                "arn:aws:sts::222233334444:role/x@eu-west-1",
                "is not a role ARN",
            ),
            (
                "arn:aws:iam::222233334444:role/@eu-west-1",
                "is not a role ARN",
            ),
            ("222233334444@eu-west-1", "is not a role ARN"),
        ] {
            let e = parse(&entries(&[entry])).unwrap_err();
            assert!(e.contains(entry) && e.contains(says), "{entry}: {e}");
        }
        let e = parse(&entries(&[
            "arn:aws:iam::222233334444:role/a@eu-west-1",
            "arn:aws:iam::222233334444:role/b@eu-west-1",
        ]))
        .unwrap_err();
        assert!(e.contains("222233334444/eu-west-1 is named twice"), "{e}");
        assert!(parse(&entries(&["eu-west-1", "eu-west-1"])).is_err());
    }

    #[test]
    fn narrows_to_an_account_and_a_region() {
        let at = |account: Option<&str>, region: &str| Place {
            account: account.map(str::to_owned),
            region: Some(region.to_owned()),
        };
        let within = |account: Option<&str>, region: Option<&str>| Within {
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
        };
        let network = at(Some("222233334444"), "eu-west-1");
        let home = at(None, "us-east-1");
        assert!(within(None, None).holds(&network) && within(None, None).holds(&home));
        assert!(within(Some("222233334444"), None).holds(&network));
        assert!(!within(Some("222233334444"), None).holds(&home));
        assert!(within(None, Some("us-east-1")).holds(&home));
        assert!(!within(Some("222233334444"), Some("us-east-1")).holds(&network));
        assert!(is_region("ap-southeast-2") && !is_region("ap-southeast"));
    }
}
