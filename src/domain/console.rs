//! Links into the AWS console for the people an outcome is sent to: a finding where its detector
//! shows it, and the Client VPN endpoints page. The console's host depends on the partition, which
//! the Region tells.

use crate::domain::trigger::FindingSource;
// A finding's own Region field must not turn a link into one to somewhere else.
use crate::domain::targets::is_region;

fn host(region: &str) -> String {
    if region.starts_with("cn-") {
        "console.amazonaws.cn".into()
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com".into()
    } else {
        format!("{region}.console.aws.amazon.com")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Security Hub's longest finding ID (ASFF `Id`); longer ones are not linked.
const MAX_ID: usize = 512;

/// Where `id` is shown: GuardDuty's findings page for GuardDuty's own events, Security Hub's
/// findings list filtered to that ID otherwise (the console reads the filter encoded twice).
pub fn finding_link(source: FindingSource, id: &str, region: &str) -> Option<String> {
    if !is_region(region) || id.len() > MAX_ID {
        return None;
    }
    let host = host(region);
    let twice = encode(&encode(id));
    Some(match source {
        FindingSource::GuardDuty => format!(
            "https://{host}/guardduty/home?region={region}#/findings?macros=current&fId={}",
            encode(id)
        ),
        FindingSource::SecurityHubImported | FindingSource::SecurityHubCustomAction => format!(
            "https://{host}/securityhub/home?region={region}#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A{twice}"
        ),
        FindingSource::SecurityHubOcsf => format!(
            "https://{host}/securityhub/v2/home?region={region}#/findings?search=finding_info.uid%3D%255Coperator%255C%253AEQUALS%255C%253A{twice}"
        ),
    })
}

/// The Client VPN endpoints page, for outcomes no finding caused.
pub fn client_vpn_link(region: &str) -> Option<String> {
    is_region(region).then(|| {
        format!(
            "https://{}/vpcconsole/home?region={region}#ClientVPNEndpoints:",
            host(region)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardduty_findings_link_to_guardduty() {
        assert_eq!(
            finding_link(FindingSource::GuardDuty, "46ba0ac2845071e23ccdeb2ae03bfdea", "us-east-1").unwrap(),
            "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId=46ba0ac2845071e23ccdeb2ae03bfdea"
        );
    }

    #[test]
    fn security_hub_filters_on_the_id_encoded_twice() {
        let id = "arn:aws:securityhub:eu-west-1:111122223333:subscription/x/finding/a b";
        let link = finding_link(FindingSource::SecurityHubCustomAction, id, "eu-west-1").unwrap();
        assert!(link.starts_with(
            "https://eu-west-1.console.aws.amazon.com/securityhub/home?region=eu-west-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub"
        ));
        assert!(link.ends_with("subscription%252Fx%252Ffinding%252Fa%2520b"));
        assert!(
            finding_link(FindingSource::SecurityHubOcsf, "u-1", "eu-west-1")
                .unwrap()
                .contains(
                    "/securityhub/v2/home?region=eu-west-1#/findings?search=finding_info.uid"
                )
        );
    }

    #[test]
    fn partitions_have_their_own_hosts() {
        assert!(client_vpn_link("cn-north-1")
            .unwrap()
            .starts_with("https://console.amazonaws.cn/vpcconsole/home?region=cn-north-1"));
        assert!(finding_link(FindingSource::GuardDuty, "f", "us-gov-west-1")
            .unwrap()
            .starts_with("https://console.amazonaws-us-gov.com/guardduty/"));
    }

    #[test]
    fn an_id_too_long_for_a_link_gives_none() {
        let id = "x".repeat(MAX_ID + 1);
        assert_eq!(
            finding_link(FindingSource::SecurityHubImported, &id, "eu-west-1"),
            None
        );
        assert!(finding_link(FindingSource::SecurityHubImported, &id[1..], "eu-west-1").is_some());
    }

    #[test]
    fn a_region_that_is_not_one_gives_no_link() {
        for region in ["", "evil.example.com/x", "us-east-1#", "EU-WEST-1"] {
            assert_eq!(finding_link(FindingSource::GuardDuty, "f", region), None);
            assert_eq!(client_vpn_link(region), None);
        }
    }
}
