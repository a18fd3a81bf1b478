//! Who may name a person. A name someone could choose is not a person: an assumed role's session
//! name is the caller's choice unless the role is one whose session names the caller cannot set
//! (IAM Identity Center's `AWSReservedSSO_*`, or `CVPN_TRUSTED_SESSION_ROLES`); a federated user's
//! name is chosen by whoever calls `GetFederationToken`; an IAM user is a person of the accounts
//! in `CVPN_IDENTITY_ACCOUNTS` only. Pure.

use crate::domain::gates::TypePattern;
use crate::domain::model::Reason;
use crate::domain::trigger::evidence::{Identity, NamedBy};

/// IAM Identity Center's roles: their session name is the person's sign-in name.
pub const IDENTITY_CENTER_ROLES: &str = "AWSReservedSSO_*";

/// Whose principals may name a person (`CVPN_IDENTITY_ACCOUNTS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Accounts {
    /// Unset: the function's own account and the accounts of `CVPN_TARGETS`.
    #[default]
    OwnAndTargets,
    /// `*`: any account.
    Any,
    Listed(Vec<String>),
}

/// The accounts in force for one invocation, with the function's own account once known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed<'a> {
    Any,
    /// `own` is `None` when it could not be learned: a principal of another account than the
    /// targets' then cannot be judged.
    Accounts {
        own: Option<&'a str>,
        listed: Vec<&'a str>,
    },
}

impl Accounts {
    /// `targets`: the accounts of `CVPN_TARGETS`' roles.
    pub fn allowed<'a>(&'a self, own: Option<&'a str>, targets: &'a [String]) -> Allowed<'a> {
        match self {
            Self::Any => Allowed::Any,
            Self::Listed(list) => Allowed::Accounts {
                own: None,
                listed: list.iter().map(String::as_str).collect(),
            },
            Self::OwnAndTargets => Allowed::Accounts {
                own,
                listed: targets.iter().map(String::as_str).collect(),
            },
        }
    }

    fn needs_own(&self) -> bool {
        matches!(self, Self::OwnAndTargets)
    }
}

/// Why a principal names nobody.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub reason: Reason,
    pub detail: String,
    /// The function's own account was needed and not known: the picture is incomplete.
    pub own_account_unknown: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    pub accounts: Accounts,
    /// Role-name patterns whose session names are people, [`IDENTITY_CENTER_ROLES`] first,
    /// ASCII-lowercased: IAM role names are unique without regard to case.
    trusted_roles: Vec<TypePattern>,
}

impl Default for Naming {
    fn default() -> Self {
        Self::new(Accounts::default(), &[]).expect("the default role pattern is valid")
    }
}

impl Naming {
    /// `roles`: `CVPN_TRUSTED_SESSION_ROLES`' patterns.
    pub fn new(accounts: Accounts, roles: &[String]) -> Result<Self, String> {
        let trusted_roles = std::iter::once(IDENTITY_CENTER_ROLES)
            .chain(roles.iter().map(String::as_str))
            .map(|r| {
                if r.chars().all(|c| c == '*') {
                    return Err(format!(
                        "`{r}` trusts every role's session names, which any caller chooses"
                    ));
                }
                TypePattern::new(&r.to_ascii_lowercase())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            accounts,
            trusted_roles,
        })
    }

    /// Whether `role`'s session names are people.
    pub fn trusts_role(&self, role: &str) -> bool {
        let role = role.to_ascii_lowercase();
        self.trusted_roles.iter().any(|p| p.matches(&role))
    }

    /// Whether `identity`, found in a finding of `finding_account`, names a person.
    pub fn judge(
        &self,
        identity: &Identity,
        finding_account: Option<&str>,
        allowed: &Allowed,
    ) -> Result<(), Refused> {
        let name = &identity.name;
        let refuse = |reason, detail: String| Refused {
            reason,
            detail: format!("{} ({}) {detail}", name.value, name.origin),
            own_account_unknown: false,
        };
        match &identity.by {
            NamedBy::IamUser => {}
            NamedBy::Session { role: Some(role) } if self.trusts_role(role) => {}
            NamedBy::Session { role } => {
                return Err(refuse(
                    Reason::UntrustedSessionName,
                    match role {
                        Some(role) => format!(
                            "is a session name of role {role}, which whoever assumes it chooses; \
                             only {IDENTITY_CENTER_ROLES} and CVPN_TRUSTED_SESSION_ROLES name people"
                        ),
                        None => "is a session name of a role the finding does not name, so \
                                 whether its caller chose it cannot be told"
                            .into(),
                    },
                ))
            }
            NamedBy::FederatedUser => {
                return Err(refuse(
                    Reason::UntrustedSessionName,
                    "is a federated user's name, which whoever calls GetFederationToken chooses"
                        .into(),
                ))
            }
        }
        // The finding's account and the principal's own (an ARN may name another).
        for account in [finding_account, identity.account.as_deref()] {
            let Allowed::Accounts { own, listed } = allowed else {
                continue;
            };
            let ok = account.is_some_and(|a| listed.contains(&a) || *own == Some(a));
            if ok {
                continue;
            }
            let unknown = own.is_none() && self.accounts.needs_own();
            return Err(Refused {
                own_account_unknown: unknown,
                ..refuse(
                    Reason::ForeignAccount,
                    if unknown {
                        format!(
                            "is a principal of account {}, and the function's own account could \
                             not be learned to tell whether it is one of CVPN_IDENTITY_ACCOUNTS' \
                             (by default the own account and CVPN_TARGETS'); set \
                             CVPN_IDENTITY_ACCOUNTS",
                            account.unwrap_or("(unknown)")
                        )
                    } else {
                        format!(
                            "is a principal of account {}, not one of CVPN_IDENTITY_ACCOUNTS{}",
                            account.unwrap_or("(unknown)"),
                            if self.accounts.needs_own() {
                                " (by default the function's own and CVPN_TARGETS')"
                            } else {
                                ""
                            }
                        )
                    },
                )
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::evidence::Named;

    fn identity(by: NamedBy, account: Option<&str>) -> Identity {
        Identity {
            name: Named {
                value: "alice@example.com".into(),
                origin: "f".into(),
            },
            account: account.map(str::to_owned),
            by,
        }
    }

    fn session(role: Option<&str>) -> NamedBy {
        NamedBy::Session {
            role: role.map(str::to_owned),
        }
    }

    const OWN: &str = "111111111111";

    #[test]
    fn only_sessions_of_trusted_roles_name_people() {
        let n = Naming::default();
        let allowed = Allowed::Any;
        let judge = |by| n.judge(&identity(by, Some(OWN)), Some(OWN), &allowed);
        assert!(judge(session(Some("AWSReservedSSO_Admin_0123abcd"))).is_ok());
        assert!(judge(session(Some("awsreservedsso_admin"))).is_ok());
        for untrusted in [
            session(Some("Deploy")),
            session(Some("xAWSReservedSSO_Admin")),
            session(None),
            NamedBy::FederatedUser,
        ] {
            let e = judge(untrusted.clone()).unwrap_err();
            assert_eq!(e.reason, Reason::UntrustedSessionName, "{untrusted:?}");
        }
        let custom = Naming::new(Accounts::Any, &["okta-*".to_owned()]).unwrap();
        assert!(Naming::new(Accounts::Any, &["*".to_owned()]).is_err());
        assert!(custom
            .judge(
                &identity(session(Some("okta-engineers")), None),
                None,
                &allowed
            )
            .is_ok());
    }

    #[test]
    fn iam_users_name_people_of_the_allowed_accounts_only() {
        let n = Naming::default();
        let targets = vec!["222222222222".to_owned()];
        let allowed = n.accounts.allowed(Some(OWN), &targets);
        let judge = |account: Option<&str>| {
            n.judge(&identity(NamedBy::IamUser, account), account, &allowed)
        };
        assert!(judge(Some(OWN)).is_ok());
        assert!(judge(Some("222222222222")).is_ok());
        assert_eq!(
            judge(Some("333333333333")).unwrap_err().reason,
            Reason::ForeignAccount
        );
        assert_eq!(judge(None).unwrap_err().reason, Reason::ForeignAccount);
        // The principal's own account counts as well as the finding's.
        let e = n
            .judge(
                &identity(NamedBy::IamUser, Some("333333333333")),
                Some(OWN),
                &allowed,
            )
            .unwrap_err();
        assert!(!e.own_account_unknown && e.detail.contains("333333333333"));
        // Not knowing the own account is said, not silently read as foreign.
        let unknown = n.accounts.allowed(None, &targets);
        let e = n
            .judge(&identity(NamedBy::IamUser, Some(OWN)), Some(OWN), &unknown)
            .unwrap_err();
        assert!(e.own_account_unknown, "{e:?}");
        let any = Naming::new(Accounts::Any, &[]).unwrap();
        assert!(any
            .judge(
                &identity(NamedBy::IamUser, Some("333333333333")),
                None,
                &Allowed::Any
            )
            .is_ok());
    }
}
