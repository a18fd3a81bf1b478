//! Accounts and Regions. A call acts where its caller is: in the account whose credentials signed
//! it (credentials this emulator issued map back to the account whose role it assumed; any other
//! key is the state's default account) and in the Region of its SigV4 credential scope. STS
//! `AssumeRole` (Query protocol, like EC2) checks that the role exists in the state, and its
//! external ID when the role has one, and issues those credentials.

use crate::protocol::{escape, ApiError, Params, STS_NAMESPACE};
use crate::state::RoleState;
use chrono::{TimeDelta, Utc};
use std::collections::BTreeMap;

/// The account of a flat state file and of callers whose credentials the emulator did not issue.
pub const DEFAULT_ACCOUNT: &str = "111122223333";
pub const STS_VERSION: &str = "2011-06-15";

/// Where endpoints live and calls act. `region: None` holds the state file's flat `endpoints`:
/// they answer in every Region the account does not name in `regions`, so a state file written
/// for one account and one Region keeps working whatever Region a client is configured with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub account: String,
    pub region: Option<String>,
}

/// What a request's SigV4 `Authorization` header says of its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub region: String,
}

impl Credential {
    /// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…`.
    pub fn parse(authorization: &str) -> Option<Self> {
        let scope = authorization
            .split("Credential=")
            .nth(1)?
            .split([',', ' '])
            .next()?;
        let mut parts = scope.split('/');
        let access_key = parts.next().filter(|k| !k.is_empty())?;
        let region = parts.nth(1).filter(|r| !r.is_empty())?;
        Some(Self {
            access_key: access_key.to_owned(),
            region: region.to_owned(),
        })
    }
}

/// Checks an account ID as AWS writes them: twelve digits.
pub fn check_account(id: &str, field: &str) -> Result<(), String> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "{field}: `{id}` is not an account ID (twelve digits)"
        ))
    }
}

/// The credentials the emulator issued, by access key ID: whose account they act in.
#[derive(Default)]
pub struct Issued {
    accounts: BTreeMap<String, String>,
}

impl Issued {
    pub fn account_of(&self, access_key: &str) -> Option<&str> {
        self.accounts.get(access_key).map(String::as_str)
    }
}

fn denied(message: String) -> ApiError {
    ApiError::new(403, "AccessDenied", message).sts()
}

/// `AssumeRole`: `roles` are the state's, by account. The credentials last `DurationSeconds`
/// (900 to 43200, default 3600) of real time, since the SDKs compare their expiry with the
/// system clock, not the emulated one.
pub fn assume_role(
    p: &Params,
    roles: &BTreeMap<String, Vec<RoleState>>,
    issued: &mut Issued,
    request_id: &str,
) -> Result<String, ApiError> {
    let sts = |e: ApiError| e.sts();
    p.only(&[
        "RoleArn",
        "RoleSessionName",
        "ExternalId",
        "DurationSeconds",
    ])
    .map_err(sts)?;
    let arn = p.required("RoleArn").map_err(sts)?;
    let session = p.required("RoleSessionName").map_err(sts)?;
    let valid_session = (2..=64).contains(&session.len())
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !valid_session {
        return Err(ApiError::new(
            400,
            "ValidationError",
            format!("RoleSessionName `{session}`: 2 to 64 of [A-Za-z0-9+=,.@_-]"),
        )
        .sts());
    }
    let seconds = p
        .int_in("DurationSeconds", 900..=43_200)
        .map_err(|e| ApiError::new(400, "ValidationError", e.message).sts())?
        .unwrap_or(3600);
    let (partition, account, name) = role_arn(arn)?;
    let not_authorized = || {
        denied(format!(
            "Not authorized to perform sts:AssumeRole on resource: {arn}"
        ))
    };
    let role = roles
        .get(account)
        .and_then(|rs| rs.iter().find(|r| r.role_name == name))
        .ok_or_else(not_authorized)?;
    if role.external_id.is_some() && role.external_id.as_deref() != p.get("ExternalId") {
        return Err(not_authorized());
    }
    let access_key = format!("ASIA{:016X}", fastrand::u64(..));
    issued
        .accounts
        .insert(access_key.clone(), account.to_owned());
    let expires = (Utc::now() + TimeDelta::seconds(i64::from(seconds)))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let role_id = format!("AROA{:016X}", fastrand::u64(..));
    Ok(format!(
        "<AssumeRoleResponse xmlns=\"{STS_NAMESPACE}\"><AssumeRoleResult><Credentials>\
         <AccessKeyId>{access_key}</AccessKeyId><SecretAccessKey>{secret:032x}</SecretAccessKey>\
         <SessionToken>emulated-{token:032x}</SessionToken><Expiration>{expires}</Expiration>\
         </Credentials><AssumedRoleUser><AssumedRoleId>{role_id}:{session}</AssumedRoleId>\
         <Arn>arn:{partition}:sts::{account}:assumed-role/{name}/{session}</Arn></AssumedRoleUser>\
         </AssumeRoleResult><ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></AssumeRoleResponse>",
        secret = fastrand::u128(..),
        token = fastrand::u128(..),
        session = escape(session),
        name = escape(name),
        partition = escape(partition),
    ))
}

/// The partition, account and name of a role ARN (`arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`).
fn role_arn(arn: &str) -> Result<(&str, &str, &str), ApiError> {
    match arn.splitn(6, ':').collect::<Vec<&str>>().as_slice() {
        ["arn", partition, "iam", "", account, resource] if resource.starts_with("role/") => Ok((
            partition,
            account,
            resource.rsplit('/').next().unwrap_or_default(),
        )),
        _ => Err(ApiError::new(
            400,
            "ValidationError",
            format!("RoleArn `{arn}` is not a role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"),
        )
        .sts()),
    }
}

/// `GetCallerIdentity`: the account the credentials act in (an issued key's, else the default
/// account), as an IAM user of the emulator's for keys it did not issue.
pub fn caller_identity(
    p: &Params,
    account: &str,
    access_key: &str,
    request_id: &str,
) -> Result<String, ApiError> {
    p.only(&[]).map_err(|e| e.sts())?;
    Ok(format!(
        "<GetCallerIdentityResponse xmlns=\"{STS_NAMESPACE}\"><GetCallerIdentityResult>\
         <Arn>arn:aws:iam::{account}:user/emulator</Arn><UserId>{user}</UserId>\
         <Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata>\
         <RequestId>{request_id}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        account = escape(account),
        user = escape(access_key),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credential_scope() {
        let header =
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261123/eu-west-1/ec2/aws4_request, \
                      SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            Credential::parse(header),
            Some(Credential {
                access_key: "ASIAEXAMPLE".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(Credential::parse("AWS4-HMAC-SHA256 Credential=/x"), None);
        assert_eq!(Credential::parse("Bearer x"), None);
    }

    fn params(body: &str) -> Params {
        Params::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn assumes_only_roles_in_the_state_with_their_external_id() {
        let roles = BTreeMap::from([(
            "222233334444".to_owned(),
            vec![
                RoleState {
                    role_name: "open".into(),
                    external_id: None,
                },
                RoleState {
                    role_name: "guarded".into(),
                    external_id: Some("xyz".into()),
                },
            ],
        )]);
        let mut issued = Issued::default();
        let call = |issued: &mut Issued, body: &str| {
            assume_role(&params(body), &roles, issued, "req-1").map_err(|e| (e.code, e.sts))
        };
        let ok = call(
            &mut issued,
            "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fteam%2Fopen&RoleSessionName=cvpn-terminator",
        )
        .unwrap();
        let key = ok
            .split("<AccessKeyId>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        assert_eq!(issued.account_of(key), Some("222233334444"));
        assert!(ok.contains("assumed-role/open/cvpn-terminator"));
        for body in [
            "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fmissing&RoleSessionName=s1",
            "RoleArn=arn%3Aaws%3Aiam%3A%3A999999999999%3Arole%2Fopen&RoleSessionName=s1",
            "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fguarded&RoleSessionName=s1",
            "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fguarded&RoleSessionName=s1&ExternalId=no",
        ] {
            assert_eq!(call(&mut issued, body), Err(("AccessDenied", true)), "{body}");
        }
        assert!(call(
            &mut issued,
            "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fguarded&RoleSessionName=s1&ExternalId=xyz"
        )
        .is_ok());
        assert_eq!(
            call(&mut issued, "RoleArn=nope&RoleSessionName=s1")
                .unwrap_err()
                .0,
            "ValidationError"
        );
        assert_eq!(
            call(
                &mut issued,
                "RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2Fopen&RoleSessionName=a"
            )
            .unwrap_err()
            .0,
            "ValidationError"
        );
    }
}
