//! What one finding asks to end, by the deployment's rules: its gates (live, severe enough, of an
//! allowed type, from a trusted product), its scope (the endpoints it names among those acted on),
//! who may name a person (`naming.rs`) and how a name maps to a VPN username. Pure: the shell
//! reports what it says and acts on the selector.

use crate::domain::gates::Gates;
use crate::domain::mapping::UsernameMapping;
use crate::domain::model::Reason;
use crate::domain::naming::{Allowed, Naming};
use crate::domain::plan::{MatchBy, Origin, Selector};
use crate::domain::scope::Scope;
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::{Finding, FindingEvent};

/// The deployment's rules a finding is read by.
pub struct FindingRules<'a> {
    pub gates: &'a Gates,
    /// The deployment's (`CVPN_ENDPOINT_IDS`).
    pub scope: &'a Scope,
    pub naming: &'a Naming,
    /// Whose principals may name a person here.
    pub allowed: &'a Allowed<'a>,
    pub mapping: &'a UsernameMapping,
    pub match_by: &'a MatchBy,
}

/// What a finding gives: the selector it acts through, if any, and why each part of it does not.
#[derive(Debug, PartialEq)]
pub struct Chosen {
    pub origin: Origin,
    pub selector: Option<Selector>,
    /// Each reason the finding, or one of its principals, names nobody.
    pub skipped: Vec<(Reason, String)>,
    /// A principal could not be judged because the function's own account is not known.
    pub own_account_unknown: bool,
}

/// What `f`, of `event`, asks to end under `rules`. A finding a gate stops, or whose endpoints
/// are all out of scope, gives no selector; nor does one whose every principal was refused (it
/// said why).
pub fn finding_selector(rules: &FindingRules, event: &FindingEvent, f: &Finding) -> Chosen {
    let origin = Origin {
        source: event.source.into(),
        finding_id: Some(f.id.clone()),
        finding_type: f.types.first().cloned(),
        severity: Some(f.severity),
        reason: event.action_name.clone(),
        idp: None,
    };
    let mut chosen = Chosen {
        origin,
        selector: None,
        skipped: Vec::new(),
        own_account_unknown: false,
    };
    if let Err(gate) = rules.gates.check(f, event.source) {
        chosen.skipped.push((gate.reason, gate.detail));
        return chosen;
    }
    let evidence = &f.evidence;
    let named = &evidence.endpoint_ids;
    let endpoint_ids: Vec<String> = named
        .iter()
        .filter(|e| rules.scope.has_endpoint(e))
        .cloned()
        .collect();
    if !named.is_empty() && endpoint_ids.is_empty() {
        let detail =
            format!("the finding names endpoints {named:?}, none of them in CVPN_ENDPOINT_IDS");
        chosen.skipped.push((Reason::OutOfScope, detail));
        return chosen;
    }
    for n in &evidence.no_identity {
        let detail = format!("{}: {}", n.field, n.detail);
        chosen.skipped.push((Reason::NoIdentity, detail));
    }
    let mut usernames = Vec::new();
    for identity in &evidence.identities {
        let name = &identity.name;
        if let Err(refused) = rules
            .naming
            .judge(identity, f.account.as_deref(), rules.allowed)
        {
            chosen.own_account_unknown |= refused.own_account_unknown;
            chosen.skipped.push((refused.reason, refused.detail));
            continue;
        }
        let Some(vpn) = rules.mapping.map(&name.value) else {
            continue;
        };
        let origin = if vpn == name.value {
            name.origin.clone()
        } else {
            format!("mapped from {} at {}", name.value, name.origin)
        };
        usernames.push(Named { value: vpn, origin });
    }
    let selector = Selector {
        origin: chosen.origin.clone(),
        match_by: rules.match_by.clone(),
        usernames,
        ips: evidence.ips.clone(),
        connection_ids: evidence.connection_ids.clone(),
        endpoint_ids,
        seen_from: evidence.first_seen,
        seen_at: evidence.seen_at,
        since: event.time.or(evidence.seen_at),
    };
    // A finding whose every principal was refused has said why already.
    let names_something = !selector.usernames.is_empty()
        || !selector.ips.is_empty()
        || !selector.connection_ids.is_empty();
    if names_something || chosen.skipped.is_empty() {
        chosen.selector = Some(selector);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::naming::Accounts;
    use crate::domain::trigger::evidence::{Evidence, Identity, NamedBy};
    use crate::domain::trigger::FindingSource;

    fn finding(severity: f64, endpoints: &[&str], names: &[(&str, NamedBy)]) -> Finding {
        Finding {
            id: "f-1".into(),
            types: vec!["UnauthorizedAccess:IAMUser/Test".into()],
            severity,
            severity_label: "X".into(),
            closed: None,
            product: None,
            account: Some("111122223333".into()),
            region: None,
            evidence: Evidence {
                identities: names
                    .iter()
                    .map(|(n, by)| Identity {
                        name: Named {
                            value: (*n).to_owned(),
                            origin: "detail.x".into(),
                        },
                        account: Some("111122223333".into()),
                        by: by.clone(),
                    })
                    .collect(),
                endpoint_ids: endpoints.iter().map(|e| (*e).to_owned()).collect(),
                ..Evidence::default()
            },
            securityhub: None,
            own_note: None,
            note_key: None,
            shown_note: None,
            posture: None,
        }
    }

    fn event() -> FindingEvent {
        FindingEvent {
            source: FindingSource::GuardDuty,
            action_name: None,
            findings: vec![],
            bad: vec![],
            time: None,
        }
    }

    #[test]
    fn a_finding_gives_a_selector_only_within_its_gates_scope_and_who_may_name() {
        let gates = Gates::default();
        let scope = Scope::endpoints(vec!["cvpn-endpoint-0000000000000000a".to_owned()]);
        let naming = Naming::new(Accounts::Any, &[]).unwrap();
        let allowed = Allowed::Any;
        let mapping = UsernameMapping::new("{local}").unwrap();
        let rules = FindingRules {
            gates: &gates,
            scope: &scope,
            naming: &naming,
            allowed: &allowed,
            mapping: &mapping,
            match_by: &MatchBy::ALL,
        };
        let role = NamedBy::Session {
            role: Some("Ops".into()),
        };
        let at = |f: Finding| finding_selector(&rules, &event(), &f);
        // Mapped, in scope, above the bar: a selector naming the VPN user.
        let ok = at(finding(
            8.0,
            &[],
            &[("alice@example.com", NamedBy::IamUser)],
        ));
        let s = ok.selector.unwrap();
        assert_eq!(s.usernames[0].value, "alice");
        assert!(s.usernames[0]
            .origin
            .starts_with("mapped from alice@example.com"));
        assert!(ok.skipped.is_empty());
        // Below the bar, or naming only endpoints not acted on: nothing, and why.
        let low = at(finding(3.0, &[], &[("alice", NamedBy::IamUser)]));
        assert!(low.selector.is_none() && low.skipped[0].0 == Reason::BelowSeverity);
        let out = at(finding(
            8.0,
            &["cvpn-endpoint-0000000000000000b"],
            &[("alice", NamedBy::IamUser)],
        ));
        assert!(out.selector.is_none() && out.skipped[0].0 == Reason::OutOfScope);
        // A name its caller chose names nobody: no selector, and it says so.
        let chosen = at(finding(8.0, &[], &[("alice", role.clone())]));
        assert!(chosen.selector.is_none());
        assert_eq!(chosen.skipped[0].0, Reason::UntrustedSessionName);
        // Beside a name that may, the refused one is said and the other acts.
        let mixed = at(finding(
            8.0,
            &[],
            &[("mallory", role), ("bob", NamedBy::IamUser)],
        ));
        let names: Vec<&str> = mixed
            .selector
            .as_ref()
            .unwrap()
            .usernames
            .iter()
            .map(|u| u.value.as_str())
            .collect();
        assert_eq!(names, ["bob"]);
        assert_eq!(mixed.skipped.len(), 1);
    }
}
