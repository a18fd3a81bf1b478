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

/// The account of `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub fn role_account(arn: &str) -> Option<&str> {
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

/// The partitions' prefixes: `aws` (an area code of two letters), and the partitions whose
/// Region names carry their own: `us-gov-`, `cn-`, `us-iso-`, `us-isob-`, `eu-isoe-`, `us-isof-`,
/// `eusc-de-`.
const QUALIFIED: [&str; 5] = ["gov", "iso", "isob", "isoe", "isof"];
/// The compass words Region names are made of.
const DIRECTIONS: [&str; 9] = [
    "north",
    "south",
    "east",
    "west",
    "central",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
];

/// Whether `text` is a Region name by AWS's grammar: `AREA[-QUALIFIER]-DIRECTION-N`, AREA two
/// lowercase letters (or `eusc-de`), N from 1 to 99 without a sign or a leading zero. So
/// `us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `eu-isoe-west-1`; not `us-east-+1`,
/// `us-east-01` (which would name a second place beside `us-east-1`) or `US-EAST-1`.
pub fn is_region(text: &str) -> bool {
    let Some((rest, number)) = text.rsplit_once('-') else {
        return false;
    };
    let Some((place, direction)) = rest.rsplit_once('-') else {
        return false;
    };
    let number_ok = matches!(
        number.as_bytes(),
        [b'1'..=b'9'] | [b'1'..=b'9', b'0'..=b'9']
    );
    let place_ok = place == "eusc-de"
        || match place.split_once('-') {
            None => area_ok(place),
            Some((area, qualifier)) => area_ok(area) && QUALIFIED.contains(&qualifier),
        };
    number_ok && DIRECTIONS.contains(&direction) && place_ok
}

fn area_ok(area: &str) -> bool {
    area.len() == 2 && area.bytes().all(|b| b.is_ascii_lowercase())
}

/// `region` of the entry `entry`, checked by [`is_region`].
fn region_of(entry: &str, region: &str) -> Result<String, String> {
    if is_region(region) {
        Ok(region.to_owned())
    } else {
        Err(format!(
            "`{entry}`: `{region}` is not a Region name (AREA[-PARTITION]-DIRECTION-N, such as \
             eu-west-1, us-gov-west-1, cn-north-1)"
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
            ("us-east-+1", "is not a Region"),
            ("us-east-01", "is not a Region"),
            (
                "arn:aws:iam::222233334444:role/x@us-gov-west-01",
                "is not a Region",
            ),
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
        // One place, one name: `us-east-01` beside `us-east-1` is refused, not a second place.
        assert!(parse(&entries(&["us-east-1", "us-east-01"])).is_err());
        assert!(parse(&entries(&["us-gov-west-1", "cn-north-1", "eu-isoe-west-1"])).is_ok());
    }

    #[test]
    fn region_names() {
        assert!(is_region("ap-southeast-2") && !is_region("ap-southeast"));
        for region in [
            "us-east-1",
            "eu-central-2",
            "me-south-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "us-isof-south-1",
            "eusc-de-east-1",
            "ap-southeast-12",
        ] {
            assert!(is_region(region), "{region}");
        }
        for not in [
            "us-east-+1",
            "us-east-01",
            "us-east-0",
            "us-east-100",
            "US-EAST-1",
            "us-east",
            "east-1",
            "use-east-1",
            "us-xyz-east-1",
            "us-gov-up-1",
            "us-east-1 ",
            "us--east-1",
            "us-east-1x",
            "us-east-١",
        ] {
            assert!(!is_region(not), "{not}");
        }
    }
}
