//! Whether a person's answer to a request counts: a request is answered once, before it expires,
//! never by a person it would cut off, and with `CVPN_APPROVALS_REQUIRED` of two or more only by
//! distinct verified identities.

use crate::domain::person::People;
use serde::{Deserialize, Serialize};

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
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Done => "done",
            Self::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Done, Self::Denied]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Who answered: an identity, and whether it was verified (the command line's STS identity), or
/// only said (`RequestedBy` of an event anyone allowed to invoke the function can write).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub identity: String,
    pub verified: bool,
}

impl Approver {
    /// The name the identity is a person by: an ARN's last part (an assumed role's session name,
    /// an IAM user's name), or the identity as given.
    pub fn name(&self) -> &str {
        match self.identity.strip_prefix("arn:") {
            Some(arn) => arn.rsplit(['/', ':']).next().unwrap_or(arn),
            None => self.identity.as_str(),
        }
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

/// What `approver`'s answer (`approve`: yes or no) to a request in `state`, asking until
/// `asks_until`, with `approvals` so far and affecting `affected`, does at `now`.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    state: State,
    asks_until: i64,
    now: i64,
    approvals: &[Approver],
    approver: &Approver,
    approve: bool,
    required: u32,
    affected: &[String],
    people: &People,
) -> Result<Decision, Refused> {
    match state {
        State::Done => return Err(Refused("the request was carried out already".into())),
        State::Denied => return Err(Refused("the request was denied".into())),
        State::Approved if approve => return Ok(Decision::CarryOut),
        State::Approved => {
            return Err(Refused(
                "the request was approved and is being carried out".into(),
            ))
        }
        State::Pending if now >= asks_until => {
            return Err(Refused(format!(
                "the request expired at {asks_until} (epoch seconds); nothing was done"
            )))
        }
        State::Pending => {}
    }
    let who = approver.name();
    if let Some(person) = affected
        .iter()
        .find(|p| people.key(p) == people.key(who) || people.same(p, who))
    {
        return Err(Refused(format!(
            "{} would be cut off by this request ({person}): a person never answers their own",
            approver.identity
        )));
    }
    let need = required.max(1) as usize;
    if need > 1 && !approver.verified {
        return Err(Refused(format!(
            "CVPN_APPROVALS_REQUIRED is {need}: only a verified identity (the command line's AWS \
             identity) answers; {} was only said",
            approver.identity
        )));
    }
    if !approve {
        return Ok(Decision::Deny);
    }
    let counted = |a: &&Approver| need == 1 || a.verified;
    let same =
        |a: &Approver| people.key(a.name()) == people.key(who) || a.identity == approver.identity;
    if approvals.iter().filter(counted).any(same) {
        return Err(Refused(format!(
            "{} approved this request already: approvals count from distinct identities",
            approver.identity
        )));
    }
    let have = approvals.iter().filter(counted).count() + 1;
    if have >= need {
        Ok(Decision::CarryOut)
    } else {
        Ok(Decision::Counted { have, need })
    }
}
