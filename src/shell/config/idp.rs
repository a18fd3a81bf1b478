//! Settings of the identity provider's word: which log streams speak (`CVPN_IDP_SOURCES`), which
//! IAM Identity Center stores (`CVPN_IDENTITY_STORE_IDS`), whether
//! its "back in" lifts its own holds (`CVPN_IDP_RELEASE_ON_REACTIVATE`), and the signed tokens the
//! Function URL takes (`CVPN_SIGNAL_JWKS_URL`, `CVPN_SIGNAL_ISSUER`, `CVPN_SIGNAL_AUDIENCE`).

use super::values::list;
use super::{parse_bool, ConfigError};
use crate::domain::signal::token::jwks_url;
use crate::domain::trigger::identity_center::plausible_id;
use crate::domain::trigger::idp::Trust;
use crate::domain::trigger::okta;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Idp {
    /// The identity provider's event sources whose word acts (patterns with `*`); none by
    /// default.
    pub sources: Vec<String>,
    /// The IAM Identity Center stores whose CloudTrail records act (exact IDs); none by default.
    pub identity_stores: Vec<String>,
    /// Whether the IdP's "back in" (reactivated, unsuspended, enabled) lifts the holds its own
    /// word alone placed on that user; off by default: holds stay until a person releases them.
    pub release_on_reactivate: bool,
    /// The Function URL's ways in; `None` until all three settings are given.
    pub signal: Option<Signal>,
}

/// Whose signed tokens the Function URL takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// Where the issuer's keys are (HTTPS; plain HTTP only on a loopback address).
    pub jwks_url: String,
    /// The token's `iss`, exactly.
    pub issuer: String,
    /// What the token's `aud` must contain.
    pub audience: String,
}

const SIGNAL: [&str; 3] = [
    "CVPN_SIGNAL_JWKS_URL",
    "CVPN_SIGNAL_ISSUER",
    "CVPN_SIGNAL_AUDIENCE",
];

impl Idp {
    /// Whose word is taken, as the domain asks.
    pub fn trust(&self) -> Trust<'_> {
        Trust {
            sources: &self.sources,
            identity_stores: &self.identity_stores,
        }
    }

    pub(super) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        state_table: bool,
    ) -> Result<Self, ConfigError> {
        let err = |variable: &'static str, message: String| ConfigError { variable, message };
        let sources = okta::source_patterns(list(get("CVPN_IDP_SOURCES")))
            .map_err(|m| err("CVPN_IDP_SOURCES", m))?;
        let identity_stores = list(get("CVPN_IDENTITY_STORE_IDS"));
        if let Some(bad) = identity_stores.iter().find(|s| !plausible_id(s)) {
            return Err(err(
                "CVPN_IDENTITY_STORE_IDS",
                format!(
                    "`{bad}` is not an identity store ID (d-1234567890): each is named exactly"
                ),
            ));
        }
        let release_on_reactivate = match get("CVPN_IDP_RELEASE_ON_REACTIVATE") {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| {
                err(
                    "CVPN_IDP_RELEASE_ON_REACTIVATE",
                    format!("`{v}` is not true or false"),
                )
            })?,
        };
        let given: Vec<Option<String>> = SIGNAL.iter().map(|v| get(v)).collect();
        let signal = match given.as_slice() {
            [None, None, None] => None,
            [Some(url), Some(issuer), Some(audience)] => {
                jwks_url(url).map_err(|m| err("CVPN_SIGNAL_JWKS_URL", m))?;
                if !state_table {
                    return Err(err(
                        "CVPN_SIGNAL_JWKS_URL",
                        "needs CVPN_STATE_TABLE: each token's jti is taken once, and the table \
                         remembers them"
                            .into(),
                    ));
                }
                Some(Signal {
                    jwks_url: url.clone(),
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                })
            }
            _ => {
                let missing = SIGNAL
                    .iter()
                    .zip(&given)
                    .find(|(_, v)| v.is_none())
                    .map(|(name, _)| *name)
                    .expect("not all given");
                return Err(err(
                    missing,
                    "is needed: the Function URL takes signed tokens only when \
                     CVPN_SIGNAL_JWKS_URL, CVPN_SIGNAL_ISSUER and CVPN_SIGNAL_AUDIENCE are all set"
                        .into(),
                ));
            }
        };
        Ok(Self {
            sources,
            identity_stores,
            release_on_reactivate,
            signal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Idp, ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Idp::from_lookup(&get, true)
    }

    #[test]
    fn identity_stores_are_named_exactly_or_refused() {
        assert!(read(&[]).unwrap().identity_stores.is_empty());
        let idp = read(&[("CVPN_IDENTITY_STORE_IDS", "d-1234567890, d-0987654321")]).unwrap();
        assert_eq!(idp.identity_stores, ["d-1234567890", "d-0987654321"]);
        for bad in ["*", "d-12345*", "d-1234567890/x", "d 1"] {
            let e = read(&[("CVPN_IDENTITY_STORE_IDS", bad)]).unwrap_err();
            assert_eq!(e.variable, "CVPN_IDENTITY_STORE_IDS");
            assert!(e.message.contains(bad.trim()), "{bad}: {}", e.message);
        }
    }
}
