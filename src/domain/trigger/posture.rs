//! Posture and compliance findings say how something is set up (an IAM user without MFA, a bucket
//! open to the world), not that anyone acted: they never end a session or hold anyone. Pure.
//!
//! What marks one:
//! - ASFF: a `Types` entry in the `Software and Configuration Checks` namespace; a `Compliance`
//!   object (Security Hub's controls write `Compliance.Status` and `Compliance.SecurityControlId`);
//!   or a control in `ProductFields` (`ControlId`, `StandardsControlArn`, `StandardsArn`, written
//!   by Security Hub's standards before consolidated control findings).
//! - OCSF: the Compliance Finding class (`class_uid` 2003), or a `compliance` object.

use crate::domain::json::At;

/// ASFF's namespace of posture checks.
pub const CONFIGURATION_CHECKS: &str = "Software and Configuration Checks";
/// OCSF's Compliance Finding class.
pub const OCSF_COMPLIANCE_CLASS: u64 = 2003;

/// Why an ASFF finding is a posture finding, naming the field that says so.
pub fn asff(at: &At, types: &[String]) -> Option<String> {
    if let Some(t) = types
        .iter()
        .find(|t| t.split('/').next().map(str::trim) == Some(CONFIGURATION_CHECKS))
    {
        return Some(format!("its type {t} is a configuration check"));
    }
    if at.get("Compliance").is_some() {
        return Some("it carries Compliance (a Security Hub control's result)".into());
    }
    let fields = at.get("ProductFields")?;
    ["ControlId", "StandardsControlArn", "StandardsArn"]
        .into_iter()
        .find(|k| fields.get(k).is_some())
        .map(|k| format!("it carries ProductFields.{k} (a Security Hub control)"))
}

/// Why an OCSF finding is a posture finding.
pub fn ocsf(at: &At) -> Option<String> {
    if at.get("class_uid").and_then(|c| c.value.as_u64()) == Some(OCSF_COMPLIANCE_CLASS) {
        return Some(format!(
            "its class_uid {OCSF_COMPLIANCE_CLASS} is a Compliance Finding"
        ));
    }
    at.get("compliance")
        .map(|_| "it carries compliance (a control's result)".into())
}
