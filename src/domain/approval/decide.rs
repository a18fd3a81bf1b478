//! Whether a person's answer to a request counts: a request is answered once, before it expires,
//! never by a person it would cut off, and with `CVPN_APPROVALS_REQUIRED` of two or more only by
//! distinct verified identities that name a person.

use crate::domain::mapping::UsernameMapping;
use crate::domain::naming::Naming;
use crate::domain::person::People;
use serde::{Deserialize, Serialize};

/// How long after it stopped asking an approved request that was cut short may still be carried
/// out (Lambda's retries of the answer come within minutes).
pub const REDO_SECONDS: i64 = 60 * 60;

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its answer.
    Pending,
    /// Approved: being carried out (again, when a carrying out was cut short).
    Approved,
    /// Carried out.
    Done,
    Denied,
    /// Nobody answered in time: nothing was done.
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Done => "done",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Done,
            Self::Denied,
            Self::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Who answered: an identity, and whether it was verified (the command line's AWS identity), or
/// only said (`RequestedBy` of an event anyone allowed to invoke the function can write).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub identity: String,
    pub verified: bool,
}

/// Who an answering identity is, as far as can be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    /// The names it could be a person by (and their VPN usernames): the person cut off never
    /// answers under any of them, chosen or not.
    pub names: Vec<String>,
    /// What makes two answers one answerer's: the person, when the identity names one; else the
    /// identity less what its caller chose (a role's session name, a federated user's name).
    pub key: String,
    /// Whether the identity names a person: an IAM user, or a session of a role whose session
    /// names are people (`naming`); a chosen name or a said one does not.
    pub person: bool,
    pub verified: bool,
}

/// Who `approver` is: an ARN by its kind (`user/NAME`, `assumed-role/ROLE/SESSION`,
/// `federated-user/NAME`), anything else a name as said.
pub fn who(
    approver: &Approver,
    naming: &Naming,
    mapping: &UsernameMapping,
    people: &People,
) -> Who {
    let id = approver.identity.as_str();
    let parts: Vec<&str> = id.splitn(6, ':').collect();
    let (person, name, key) = match parts.as_slice() {
        ["arn", _, _, _, account, resource] => {
            let path: Vec<&str> = resource.split('/').collect();
            match path.as_slice() {
                ["assumed-role", role, session] if naming.trusts_role(role) => {
                    (true, *session, people.key(session))
                }
                ["assumed-role", role, session] => (
                    false,
                    *session,
                    format!("{account}:role/{}", role.to_ascii_lowercase()),
                ),
                ["user", .., user] => (true, *user, people.key(user)),
                [kind, .., last] => (false, *last, format!("{account}:{kind}")),
                _ => (false, id, id.to_owned()),
            }
        }
        _ => (false, id, people.key(id)),
    };
    let mut names = vec![name.to_owned()];
    names.extend(mapping.map(name).filter(|m| m != name));
    Who {
        names,
        key,
        person,
        verified: approver.verified,
    }
}

/// What an answer does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Counted; `have` of `need` approvals so far.
    Counted { have: usize, need: usize },
    /// Enough approvals: carry the request out now.
    CarryOut,
    /// Denied: nothing will be done.
    Deny,
}

/// Why an answer changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub String);

/// A request as an answer meets it.
#[derive(Clone, Copy, Debug)]
pub struct Asked<'a> {
    pub state: State,
    pub asks_until: i64,
    pub required: u32,
    /// The people it would cut off.
    pub affected: &'a [String],
    /// Who answered before, in order.
    pub prior: &'a [Who],
}

/// What `who`'s answer (`approve`: yes or no) to `asked` does at `now`.
pub fn decide(
    asked: &Asked,
    who: &Who,
    identity: &str,
    approve: bool,
    now: i64,
    people: &People,
) -> Result<Decision, Refused> {
    let until = match asked.state {
        State::Done => return Err(Refused("the request was carried out already".into())),
        State::Denied => return Err(Refused("the request was denied".into())),
        State::Expired => {
            return Err(Refused(
                "the request expired unanswered; nothing was done".into(),
            ))
        }
        State::Approved if !approve => {
            return Err(Refused(
                "the request was approved and is being carried out".into(),
            ))
        }
        State::Approved => asked.asks_until + REDO_SECONDS,
        State::Pending => asked.asks_until,
    };
    if now >= until {
        return Err(Refused(format!(
            "the request stopped asking at {} (epoch seconds); nothing was done",
            asked.asks_until
        )));
    }
    let own = asked.affected.iter().find(|p| {
        who.names
            .iter()
            .any(|n| people.key(p) == people.key(n) || people.same(p, n))
    });
    if let Some(person) = own {
        return Err(Refused(format!(
            "{identity} would be cut off by this request ({person}): a person never answers their own"
        )));
    }
    let need = asked.required.max(1) as usize;
    if need > 1 && !(who.verified && who.person) {
        return Err(Refused(format!(
            "CVPN_APPROVALS_REQUIRED is {need}: only a verified identity that names a person (the \
             command line's AWS identity: an IAM user, or a session of an Identity Center or \
             CVPN_TRUSTED_SESSION_ROLES role) answers; {identity} is not one"
        )));
    }
    if asked.state == State::Approved {
        // Cut short: carried out again, by one who could have approved it.
        return Ok(Decision::CarryOut);
    }
    if !approve {
        return Ok(Decision::Deny);
    }
    let counts = |w: &&Who| need == 1 || (w.verified && w.person);
    if asked.prior.iter().filter(counts).any(|w| w.key == who.key) {
        return Err(Refused(format!(
            "{identity} approved this request already: approvals count from distinct identities"
        )));
    }
    let have = asked.prior.iter().filter(counts).count() + 1;
    if have >= need {
        Ok(Decision::CarryOut)
    } else {
        Ok(Decision::Counted { have, need })
    }
}
