//! What set an invocation off, as responses, log lines, outcome events and stored approval
//! requests name it: a fixed set the compiler checks, with one spelling each. Pure.

use serde::{Deserialize, Serialize};

/// The product a finding came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSource {
    GuardDuty,
    SecurityHubImported,
    SecurityHubCustomAction,
    SecurityHubOcsf,
}

impl FindingSource {
    /// The name responses, logs and outcome events give it.
    pub fn as_str(self) -> &'static str {
        TriggerSource::from(self).as_str()
    }

    /// A person chose to act on a custom action's findings, so severity does not gate them.
    pub fn severity_gated(self) -> bool {
        self != Self::SecurityHubCustomAction
    }

    /// Findings imported into Security Hub may come from any product allowed to import, including
    /// an account's own `BatchImportFindings`; GuardDuty's own events and a person's custom action
    /// do not.
    pub fn product_gated(self) -> bool {
        matches!(self, Self::SecurityHubImported | Self::SecurityHubOcsf)
    }
}

/// What set an invocation off. Its serde form is its name ([`Self::as_str`]): approval requests
/// keep it in the state table, so a name, once given, stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerSource {
    GuardDuty,
    SecurityHubImported,
    SecurityHubCustomAction,
    SecurityHubOcsf,
    /// A direct request (`{"Terminate": …}`), from the command line or an analyst's tooling.
    Direct,
    /// An EventBridge schedule's tick: the idle and over-age sweep.
    Schedule,
    /// A delivery of an event handled already: nothing was called.
    Duplicate,
    /// A person's request to hold someone out.
    Quarantine,
    /// A person's request to let someone back in.
    Release,
    /// A person's approval of a request.
    Approve,
    /// A person's denial of a request.
    Deny,
    /// Okta's System Log through EventBridge.
    Okta,
    /// A signed token over the Function URL (Global Token Revocation, Shared Signals).
    IdpSignal,
    /// IAM Identity Center's CloudTrail records.
    IdentityCenter,
}

impl TriggerSource {
    /// The name responses, log lines (`trigger_source`) and outcome events give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GuardDuty => "guard_duty",
            Self::SecurityHubImported => "security_hub_imported",
            Self::SecurityHubCustomAction => "security_hub_custom_action",
            Self::SecurityHubOcsf => "security_hub_ocsf",
            Self::Direct => "direct",
            Self::Schedule => "schedule",
            Self::Duplicate => "duplicate",
            Self::Quarantine => "quarantine",
            Self::Release => "release",
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Okta => "okta",
            Self::IdpSignal => "idp_signal",
            Self::IdentityCenter => "identity_center",
        }
    }
}

impl From<FindingSource> for TriggerSource {
    fn from(source: FindingSource) -> Self {
        match source {
            FindingSource::GuardDuty => Self::GuardDuty,
            FindingSource::SecurityHubImported => Self::SecurityHubImported,
            FindingSource::SecurityHubCustomAction => Self::SecurityHubCustomAction,
            FindingSource::SecurityHubOcsf => Self::SecurityHubOcsf,
        }
    }
}

impl std::fmt::Display for TriggerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TriggerSource; 14] = [
        TriggerSource::GuardDuty,
        TriggerSource::SecurityHubImported,
        TriggerSource::SecurityHubCustomAction,
        TriggerSource::SecurityHubOcsf,
        TriggerSource::Direct,
        TriggerSource::Schedule,
        TriggerSource::Duplicate,
        TriggerSource::Quarantine,
        TriggerSource::Release,
        TriggerSource::Approve,
        TriggerSource::Deny,
        TriggerSource::Okta,
        TriggerSource::IdpSignal,
        TriggerSource::IdentityCenter,
    ];

    #[test]
    fn the_serde_form_is_the_name_and_reads_back() {
        for source in ALL {
            let json = serde_json::to_value(source).unwrap();
            assert_eq!(json, source.as_str());
            assert_eq!(
                serde_json::from_value::<TriggerSource>(json).unwrap(),
                source
            );
        }
    }

    #[test]
    fn names_stored_by_earlier_versions_still_read() {
        // Approval requests in the state table carry these names as strings.
        for name in [
            "guard_duty",
            "security_hub_custom_action",
            "okta",
            "idp_signal",
            "direct",
        ] {
            let source: TriggerSource = serde_json::from_value(name.into()).unwrap();
            assert_eq!(source.as_str(), name);
        }
        assert!(serde_json::from_value::<TriggerSource>("guardduty".into()).is_err());
    }

    #[test]
    fn a_finding_source_keeps_its_name() {
        for f in [
            FindingSource::GuardDuty,
            FindingSource::SecurityHubImported,
            FindingSource::SecurityHubCustomAction,
            FindingSource::SecurityHubOcsf,
        ] {
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
    }
}
