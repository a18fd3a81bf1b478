//! Whether a finding may lead to terminations: it must be live, severe enough and of an allowed type.
//! A finding that fails a gate is reported as skipped with the reason, not as an error. Pure.

use crate::pattern::glob;
use crate::trigger::Finding;
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
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            min_severity: 7.0,
            allow_types: Vec::new(),
            deny_types: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Stable, for machines: `finding_closed`, `below_severity`, `type_not_allowed`, `type_denied`.
    pub reason: &'static str,
    pub detail: String,
}

impl Gates {
    pub fn check(&self, finding: &Finding, severity_gated: bool) -> Result<(), Skip> {
        if let Some(state) = &finding.closed {
            return Err(Skip {
                reason: "finding_closed",
                detail: format!("the finding is {state}"),
            });
        }
        if severity_gated && finding.severity < self.min_severity {
            return Err(Skip {
                reason: "below_severity",
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
                reason: "type_denied",
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
                reason: "type_not_allowed",
                detail: format!("no type of {:?} is in the allowed list", finding.types),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::Evidence;

    fn finding(severity: f64, types: &[&str], closed: Option<&str>) -> Finding {
        Finding {
            id: "f".into(),
            types: types.iter().map(|t| t.to_string()).collect(),
            severity,
            severity_label: "X".into(),
            closed: closed.map(str::to_owned),
            account: None,
            region: None,
            evidence: Evidence::default(),
        }
    }

    fn gates(allow: &[&str], deny: &[&str]) -> Gates {
        Gates {
            min_severity: 7.0,
            allow_types: allow.iter().map(|p| TypePattern::new(p).unwrap()).collect(),
            deny_types: deny.iter().map(|p| TypePattern::new(p).unwrap()).collect(),
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
        assert!(g.check(&finding(7.0, &[], None), true).is_ok());
        assert_eq!(
            g.check(&finding(6.9, &[], None), true).unwrap_err().reason,
            "below_severity"
        );
        assert!(
            g.check(&finding(6.9, &[], None), false).is_ok(),
            "not gated for custom actions"
        );
    }

    #[test]
    fn closed_findings_are_skipped_first() {
        let e = gates(&[], &[])
            .check(&finding(9.0, &[], Some("archived")), false)
            .unwrap_err();
        assert_eq!(
            (e.reason, e.detail.as_str()),
            ("finding_closed", "the finding is archived")
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
                true
            )
            .is_ok());
        assert_eq!(
            g.check(
                &finding(8.0, &["Recon:EC2/PortProbeUnprotectedPort"], None),
                true
            )
            .unwrap_err()
            .reason,
            "type_not_allowed"
        );
        assert_eq!(
            g.check(&finding(8.0, &[], None), true).unwrap_err().reason,
            "type_not_allowed"
        );
        assert_eq!(
            g.check(
                &finding(
                    8.0,
                    &["UnauthorizedAccess:IAMUser/TorIPCaller", "x.TorClient"],
                    None
                ),
                true
            )
            .unwrap_err()
            .reason,
            "type_denied"
        );
        assert!(gates(&[], &["*.Tor*"])
            .check(&finding(8.0, &[], None), true)
            .is_ok());
    }
}
