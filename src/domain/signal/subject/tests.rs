use super::*;
use serde_json::json;

const ISS: &str = "https://idp.example.com";

fn checked() -> Checked {
    Checked {
        jti: "j-1".into(),
        issued_at: 1_800_000_000,
        remember_until: 1_800_000_600,
    }
}

fn who(id: Value) -> Result<String, Why> {
    login(&id, ISS, "sub_id").map(|(l, _)| l).map_err(|r| r.why)
}

#[test]
fn subjects_that_name_a_user_are_taken_and_others_refused() {
    assert_eq!(
        who(json!({"format": "email", "email": "dave@example.com"})),
        Ok("dave@example.com".into())
    );
    assert_eq!(
        who(json!({"format": "iss_sub", "iss": ISS, "sub": "00udave"})),
        Ok("00udave".into())
    );
    assert_eq!(
        who(json!({"format": "opaque", "id": "dave"})),
        Ok("dave".into())
    );
    assert_eq!(
        who(
            json!({"format": "complex", "user": {"format": "email", "email": "dave@example.com"},
                   "session": {"format": "opaque", "id": "s-1"}})
        ),
        Ok("dave@example.com".into())
    );
    assert_eq!(
        who(json!({"format": "aliases", "identifiers": [
            {"format": "phone_number", "phone_number": "+1"},
            {"format": "email", "email": "dave@example.com"}]})),
        Ok("dave@example.com".into())
    );
    for bad in [
        json!({"format": "email", "email": "dave"}),
        json!({"format": "email", "email": ""}),
        json!({"format": "email"}),
        json!({"format": "email", "email": "a\n@b"}),
        // Another issuer's subject is not this token's word.
        json!({"format": "iss_sub", "iss": "https://evil.example", "sub": "00udave"}),
        json!({"format": "phone_number", "phone_number": "+15555550100"}),
        json!({"format": "complex", "session": {"format": "opaque", "id": "s-1"}}),
        json!({"email": "dave@example.com"}),
        json!("dave@example.com"),
    ] {
        assert_eq!(who(bad.clone()), Err(Why::Subject), "{bad}");
    }
}

#[test]
fn a_revocation_names_its_subject() {
    let body = br#"{"sub_id": {"format": "email", "email": "dave@example.com"}}"#;
    let e = revocation(body, ISS, &checked()).unwrap();
    assert_eq!(e.says, Says::Out(REVOKED));
    assert_eq!(e.user.as_ref().unwrap().0, "dave@example.com");
    assert_eq!(e.idp, ISS);
    assert_eq!(e.finding_id(), format!("{ISS}#j-1"));
    // The draft's `subject`, alone or naming the same user as `sub_id`.
    let subject = br#"{"subject": {"format": "email", "email": "dave@example.com"}}"#;
    let e = revocation(subject, ISS, &checked()).unwrap();
    assert_eq!(e.user.as_ref().unwrap().0, "dave@example.com");
    let both = br#"{"sub_id": {"format": "email", "email": "dave@example.com"},
                    "subject": {"format": "email", "email": "dave@example.com"}}"#;
    assert!(revocation(both, ISS, &checked()).is_ok());
    for bad in [
        &b"not json"[..],
        b"{}",
        br#"{"sub_id": "dave"}"#,
        br#"{"subject": "dave"}"#,
        br#"{"sub_id": {"format": "email", "email": "x", "email": "y"}}"#,
        br#"{"sub_id": {"format": "email", "email": "dave@example.com"},
             "subject": {"format": "email", "email": "erin@example.com"}}"#,
    ] {
        assert_eq!(
            revocation(bad, ISS, &checked()).unwrap_err().why,
            Why::Subject
        );
    }
}

#[test]
fn a_security_event_says_out_or_back_of_its_one_subject() {
    let set = |events: Value, sub: Option<Value>| {
        let mut c = json!({"events": events});
        if let Some(s) = sub {
            c["sub_id"] = s;
        }
        security_event(&c, ISS, &checked())
    };
    let dave = json!({"format": "email", "email": "dave@example.com"});
    for (base, name, _) in OUT {
        let e = set(json!({format!("{base}{name}"): {}}), Some(dave.clone())).unwrap();
        assert!(matches!(e.says, Says::Out(_)), "{name}");
        assert_eq!(e.user.as_ref().unwrap().0, "dave@example.com");
    }
    let enabled = format!("{}{}", BACK_IN.0, BACK_IN.1);
    assert_eq!(
        set(json!({&enabled: {}}), Some(dave.clone())).unwrap().says,
        Says::BackIn
    );
    // Older drafts put the subject in the event.
    let e = set(
        json!({"https://schemas.openid.net/secevent/risc/event-type/account-disabled":
               {"subject": dave.clone(), "reason": "hijacking"}}),
        None,
    )
    .unwrap();
    assert_eq!(e.user.unwrap().0, "dave@example.com");
    // Out wins when both are said.
    let both = set(
        json!({&enabled: {}, "https://schemas.openid.net/secevent/risc/event-type/account-purged": {}}),
        Some(dave.clone()),
    )
    .unwrap();
    assert!(matches!(both.says, Says::Out(_)));
    // An event type nobody acts on says nothing, and is no error.
    let other = set(
        json!({"https://schemas.openid.net/secevent/caep/event-type/token-claims-change": {}}),
        Some(dave.clone()),
    )
    .unwrap();
    assert_eq!(other.says, Says::Nothing);
    // A look-alike URI is not the event type.
    let near = set(
        json!({"https://schemas.openid.net/secevent/risc/event-type/account-disabled-x": {}}),
        Some(dave.clone()),
    )
    .unwrap();
    assert_eq!(near.says, Says::Nothing);
    // No events, no subject, two subjects: refused.
    assert_eq!(
        set(json!({}), Some(dave.clone())).unwrap_err().why,
        Why::Malformed
    );
    assert_eq!(
        set(
            json!({"https://schemas.openid.net/secevent/risc/event-type/account-disabled": {}}),
            None
        )
        .unwrap_err()
        .why,
        Why::Subject
    );
    let erin = json!({"format": "email", "email": "erin@example.com"});
    assert_eq!(
        set(json!({"https://schemas.openid.net/secevent/risc/event-type/account-disabled": {"subject": erin}}), Some(dave)).unwrap_err().why,
        Why::Subject
    );
}
