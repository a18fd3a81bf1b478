//! Reading a principal's ARN and ID: which kinds are a person, the person an IAM user or STS
//! session ARN names, and a role's name however a field writes it. Pure; what may name whom is
//! `evidence.rs`'s.

use crate::domain::model::is_account_id;

/// The kinds of principal that are a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Person {
    IamUser,
    AssumedRole,
    FederatedUser,
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub(super) struct Arn<'a> {
    pub service: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub(super) fn arn(text: &str) -> Option<Arn<'_>> {
    let mut parts = text.strip_prefix("arn:")?.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some(Arn {
        service,
        account,
        resource,
    })
}

impl Arn<'_> {
    /// The role of an `assumed-role/ROLE/SESSION` ARN, or the name of an IAM `role/PATH/NAME`.
    pub(super) fn role(&self) -> Option<&str> {
        let role = match self.service {
            "sts" => self
                .resource
                .strip_prefix("assumed-role/")?
                .split('/')
                .next(),
            "iam" => self.resource.strip_prefix("role/")?.rsplit('/').next(),
            _ => None,
        }?;
        (!role.is_empty()).then_some(role)
    }

    /// The person an IAM user or STS session ARN names.
    pub(super) fn person(&self) -> Option<(Person, &str)> {
        match self.service {
            "iam" => {
                let path = self.resource.strip_prefix("user/")?;
                let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
                Some((Person::IamUser, name))
            }
            "sts" => {
                let (kind, name) = match self.resource.strip_prefix("assumed-role/") {
                    Some(rest) => (Person::AssumedRole, rest.split_once('/')?.1),
                    None => (
                        Person::FederatedUser,
                        self.resource.strip_prefix("federated-user/")?,
                    ),
                };
                (!name.is_empty()).then_some((kind, name))
            }
            _ => None,
        }
    }
}

pub(super) fn person_kind(kind: &str) -> Option<Person> {
    match kind.to_ascii_lowercase().as_str() {
        "iamuser" => Some(Person::IamUser),
        "assumedrole" => Some(Person::AssumedRole),
        "federateduser" => Some(Person::FederatedUser),
        _ => None,
    }
}

/// The session of `AROA…:session` (an assumed role), or the name of `123456789012:name` (a
/// federated user).
pub(super) fn session_of(principal_id: &str, kind: Person) -> Option<&str> {
    let (id, session) = principal_id.split_once(':')?;
    let well_formed = match kind {
        Person::AssumedRole => id.strip_prefix("AROA").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }),
        Person::FederatedUser => is_account_id(id),
        Person::IamUser => false,
    };
    (well_formed && !session.trim_ascii().is_empty()).then_some(session)
}

/// A role as a field writes it: its name, or an ARN that names it.
pub(super) fn role_name(text: &str) -> Option<String> {
    let text = text.trim_ascii();
    match arn(text) {
        Some(a) => a.role().map(str::to_owned),
        None => (!text.is_empty() && !text.contains(['/', ':'])).then(|| text.to_owned()),
    }
}
