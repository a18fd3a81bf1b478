//! The identity provider's word on a person (Okta's System Log through EventBridge): an event
//! that says a person is out, from a source a person named (`CVPN_IDP_SOURCES`), ends the person's
//! sessions and holds them, through the incident path (mapping, the identity model, protected
//! users, cap, dry run, quarantine, telling, once per delivery). What it may say is the domain's
//! (`domain/trigger/okta.rs`).

use crate::adapters::ec2::ClientVpnApi;
use crate::adapters::state::quarantine::QuarantineStore;
use crate::adapters::state::StateStore;
use crate::domain::model::Reason;
use crate::domain::plan::{Origin, Selector};
use crate::domain::trigger::evidence::Named;
use crate::domain::trigger::okta::{refusal, IdpEvent, Says};
use crate::shell::invocation::Invocation;
use crate::shell::report::{self, Entry, TriggerInfo};

/// The name responses, logs and outcome events give Okta's events.
pub const SOURCE: &str = "okta";

impl<A: ClientVpnApi, S: StateStore + QuarantineStore> Invocation<'_, A, S> {
    /// The selector the event gives: its one `User` target's login, or none (with a `skipped`
    /// entry saying why).
    pub(crate) fn idp_selectors(&mut self, event: &IdpEvent) -> Vec<Selector> {
        let why = match event.says {
            Says::Out(why) => why,
            Says::BackIn | Says::Nothing => "",
        };
        let login = event.user.as_ref().map(|(login, _)| login.as_str());
        let reason = match login {
            Some(login) if !why.is_empty() => format!("{login} {why} ({})", event.event_type),
            _ => event.event_type.clone(),
        };
        let origin = Origin {
            source: SOURCE.into(),
            finding_id: Some(format!("okta:{}", event.uuid)),
            finding_type: Some(event.event_type.clone()),
            severity: None,
            reason: Some(reason.clone()),
        };
        self.response.trigger = TriggerInfo {
            source: SOURCE.into(),
            reason: Some(reason),
            time: event.published.map(|t| t.to_rfc3339()),
            ..TriggerInfo::default()
        };
        if let Some((reason, detail)) = refusal(event, &self.app.config.idp_sources) {
            let entry = Entry::finding_skipped(&origin, reason, detail);
            report::log_skipped(&entry, &origin);
            self.response.skipped.push(entry);
            return Vec::new();
        }
        let Some((login, path)) = event.user.clone() else {
            return Vec::new();
        };
        // The login as VPN usernames are written, as every other name is mapped.
        let config = &self.app.config;
        let Some(vpn) = config.mapping.map(&login) else {
            let entry = Entry::finding_skipped(
                &origin,
                Reason::NoIdentity,
                format!("{login} maps to no VPN username (CVPN_USERNAME_TEMPLATE)"),
            );
            report::log_skipped(&entry, &origin);
            self.response.skipped.push(entry);
            return Vec::new();
        };
        let named = if vpn == login {
            path
        } else {
            format!("mapped from {login} at {path}")
        };
        vec![Selector {
            origin,
            match_by: config.match_by.clone(),
            usernames: vec![Named {
                value: vpn,
                origin: named,
            }],
            ips: Vec::new(),
            connection_ids: Vec::new(),
            endpoint_ids: Vec::new(),
            seen_from: None,
            seen_at: event.published,
            // What earlier attempts at this event ended counts against the cap.
            since: event.time,
        }]
    }
}
