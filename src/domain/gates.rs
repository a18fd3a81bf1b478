//! Whether a finding may lead to terminations: it must be live, severe enough and of an allowed type.
//! A finding that fails a gate is reported as skipped with the reason, not as an error. Pure.

use crate::domain::model::Reason;
use crate::domain::pattern::glob;
use crate::domain::trigger::{Finding, FindingSource};
use serde::Serialize;

/// A finding type pattern; `*` stands for any run of characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePattern(String);

impl TypePattern {
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.contains("**") {
            return Err(format!("`{pattern}`: use a single `*`"));
        }
        Ok(Self(pattern.to_owned()))
    }

    pub fn matches(&self, text: &str) -> bool {
        glob(self.0.as_bytes(), text.as_bytes())
    }
}

impl std::fmt::Display for TypePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gates {
    /// On GuardDuty's 0–10 scale.
    pub min_severity: f64,
    /// When not empty, one of a finding's types must match one of these.
    pub allow_types: Vec<TypePattern>,
    /// A finding with a type matching one of these is skipped.
    pub deny_types: Vec<TypePattern>,
    /// Security Hub products whose imported findings are trusted (their `ProductArn`).
    pub products: Vec<TypePattern>,
}

/// AWS's own integrations (GuardDuty, Inspector, Macie, Security Hub's controls, …), ASFF and OCSF.
pub const AWS_PRODUCTS: [&str; 2] = [
    "arn:aws*:securityhub:*::product/aws/*",
    "arn:aws*:securityhub:*::productv2/aws/*",
];

impl Default for Gates {
    fn default() -> Self {
        Self {
            min_severity: 7.0,
            allow_types: Vec::new(),
            deny_types: Vec::new(),
            products: AWS_PRODUCTS
                .iter()
                .map(|p| TypePattern::new(p).expect("the default products are valid"))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub reason: Reason,
    pub detail: String,
}

impl Gates {
    pub fn check(&self, finding: &Finding, source: FindingSource) -> Result<(), Skip> {
        // Security Hub sends an Imported event for each note this function adds: acting on it
        // would hold the user again and note again, for ever. A person's custom action still acts.
        if let (Some(at), FindingSource::SecurityHubImported) = (&finding.own_note, source) {
            return Err(Skip {
                reason: Reason::OwnNote,
                detail: format!(
                    "the latest change to the finding is cvpn-terminator's own note ({at}): \
                     nothing new was found"
                ),
            });
        }
        // How something is set up is not evidence that anyone acted, whoever chose the finding.
        if let Some(why) = &finding.posture {
            return Err(Skip {
                reason: Reason::PostureFinding,
                detail: format!("a posture or compliance finding: {why}"),
            });
        }
        if let Some(state) = &finding.closed {
            return Err(Skip {
                reason: Reason::FindingClosed,
                detail: format!("the finding is {state}"),
            });
        }
        // Any account may import findings into Security Hub; only trusted products name targets.
        if source.product_gated()
            && !finding
                .product
                .as_deref()
                .is_some_and(|p| self.products.iter().any(|t| t.matches(p)))
        {
            return Err(Skip {
                reason: Reason::UntrustedProduct,
                detail: format!(
                    "product {} is not among CVPN_FINDING_PRODUCTS",
                    finding.product.as_deref().unwrap_or("(none)")
                ),
            });
        }
        if source.severity_gated() && finding.severity < self.min_severity {
            return Err(Skip {
                reason: Reason::BelowSeverity,
                detail: format!(
                    "severity {} ({}) is below the minimum {}",
                    finding.severity, finding.severity_label, self.min_severity
                ),
            });
        }
        if let Some((t, p)) = finding.types.iter().find_map(|t| {
            self.deny_types
                .iter()
                .find(|p| p.matches(t))
                .map(|p| (t, p))
        }) {
            return Err(Skip {
                reason: Reason::TypeDenied,
                detail: format!("type {t} matches denied {p}"),
            });
        }
        if !self.allow_types.is_empty()
            && !finding
                .types
                .iter()
                .any(|t| self.allow_types.iter().any(|p| p.matches(t)))
        {
            return Err(Skip {
                reason: Reason::TypeNotAllowed,
                detail: format!("no type of {:?} is in the allowed list", finding.types),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::Evidence;

    fn finding(severity: f64, types: &[&str], closed: Option<&str>) -> Finding {
        Finding {
            id: "f".into(),
            types: types.iter().map(|t| t.to_string()).collect(),
            severity,
            severity_label: "X".into(),
            closed: closed.map(str::to_owned),
            product: Some("arn:aws:securityhub:eu-west-1::product/aws/guardduty".into()),
            account: None,
            region: None,
            evidence: Evidence::default(),
            securityhub: None,
            own_note: None,
            note_key: None,
            shown_note: None,
            posture: None,
        }
    }

    fn gates(allow: &[&str], deny: &[&str]) -> Gates {
        Gates {
            min_severity: 7.0,
            allow_types: allow.iter().map(|p| TypePattern::new(p).unwrap()).collect(),
            deny_types: deny.iter().map(|p| TypePattern::new(p).unwrap()).collect(),
            ..Gates::default()
        }
    }

    #[test]
    fn security_hubs_echo_of_our_own_note_is_not_acted_on_but_a_persons_action_is() {
        let mut f = finding(8.0, &["t"], None);
        f.own_note = Some("2026-11-22T09:15:05Z".into());
        let g = gates(&[], &[]);
        assert_eq!(
            g.check(&f, FindingSource::SecurityHubImported)
                .unwrap_err()
                .reason,
            Reason::OwnNote
        );
        assert!(g.check(&f, FindingSource::SecurityHubCustomAction).is_ok());
    }

    #[test]
    fn posture_findings_never_act_even_when_a_person_chose_them() {
        let mut f = finding(9.0, &["t"], None);
        f.posture = Some("it carries Compliance".into());
        let g = gates(&[], &[]);
        for source in [
            FindingSource::SecurityHubImported,
            FindingSource::SecurityHubCustomAction,
            FindingSource::GuardDuty,
        ] {
            assert_eq!(
                g.check(&f, source).unwrap_err().reason,
                Reason::PostureFinding
            );
        }
    }

    #[test]
    fn glob_patterns() {
        let p = TypePattern::new("UnauthorizedAccess:IAMUser/*").unwrap();
        assert!(p.matches("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"));
        assert!(!p.matches("Recon:IAMUser/MaliciousIPCaller"));
        assert!(TypePattern::new("*Exfiltration*")
            .unwrap()
            .matches("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"));
        assert!(TypePattern::new("a*b*c").unwrap().matches("aXbYbZc"));
        assert!(!TypePattern::new("a*b*c").unwrap().matches("aXbYbZ"));
        assert!(TypePattern::new("exact").unwrap().matches("exact"));
        assert!(!TypePattern::new("exact").unwrap().matches("exactly"));
    }

    #[test]
    fn severity_boundary_is_inclusive() {
        let g = gates(&[], &[]);
        assert!(g
            .check(&finding(7.0, &[], None), FindingSource::GuardDuty)
            .is_ok());
        assert_eq!(
            g.check(&finding(6.9, &[], None), FindingSource::GuardDuty)
                .unwrap_err()
                .reason,
            Reason::BelowSeverity
        );
        assert!(
            g.check(
                &finding(6.9, &[], None),
                FindingSource::SecurityHubCustomAction
            )
            .is_ok(),
            "not gated for custom actions"
        );
    }

    #[test]
    fn imported_findings_only_from_trusted_products() {
        let g = gates(&[], &[]);
        let mut f = finding(9.0, &[], None);
        assert!(g.check(&f, FindingSource::SecurityHubImported).is_ok());
        f.product =
            Some("arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default".into());
        for source in [
            FindingSource::SecurityHubImported,
            FindingSource::SecurityHubOcsf,
        ] {
            assert_eq!(
                g.check(&f, source).unwrap_err().reason,
                Reason::UntrustedProduct
            );
        }
        // A person chose a custom action's finding; GuardDuty's own events name no product.
        assert!(g.check(&f, FindingSource::SecurityHubCustomAction).is_ok());
        f.product = None;
        assert!(g.check(&f, FindingSource::GuardDuty).is_ok());
        assert!(g.check(&f, FindingSource::SecurityHubImported).is_err());
        f.product =
            Some("arn:aws-us-gov:securityhub:us-gov-west-1::productv2/aws/inspector".into());
        assert!(g.check(&f, FindingSource::SecurityHubOcsf).is_ok());
    }

    #[test]
    fn closed_findings_are_skipped_first() {
        let e = gates(&[], &[])
            .check(
                &finding(9.0, &[], Some("archived")),
                FindingSource::SecurityHubCustomAction,
            )
            .unwrap_err();
        assert_eq!(
            (e.reason, e.detail.as_str()),
            (Reason::FindingClosed, "the finding is archived")
        );
    }

    #[test]
    fn allow_and_deny_lists() {
        let g = gates(&["UnauthorizedAccess:*", "CredentialAccess:*"], &["*.Tor*"]);
        assert!(g
            .check(
                &finding(
                    8.0,
                    &["UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B"],
                    None
                ),
                FindingSource::GuardDuty
            )
            .is_ok());
        assert_eq!(
            g.check(
                &finding(8.0, &["Recon:EC2/PortProbeUnprotectedPort"], None),
                FindingSource::GuardDuty
            )
            .unwrap_err()
            .reason,
            Reason::TypeNotAllowed
        );
        assert_eq!(
            g.check(&finding(8.0, &[], None), FindingSource::GuardDuty)
                .unwrap_err()
                .reason,
            Reason::TypeNotAllowed
        );
        assert_eq!(
            g.check(
                &finding(
                    8.0,
                    &["UnauthorizedAccess:IAMUser/TorIPCaller", "x.TorClient"],
                    None
                ),
                FindingSource::GuardDuty
            )
            .unwrap_err()
            .reason,
            Reason::TypeDenied
        );
        assert!(gates(&[], &["*.Tor*"])
            .check(&finding(8.0, &[], None), FindingSource::GuardDuty)
            .is_ok());
    }
}
