//! The standards' ways in over the Function URL, through the SDKs against the emulator and moto's
//! DynamoDB, with the IdP's key set served on loopback: a verified Global Token Revocation or
//! Security Event Token ends the person's sessions and keeps them out; every forgery, replay and
//! malformed request changes nothing; the IdP's "back in" lifts only its own holds.

// The handler's future nests the AWS SDK's deep async stacks (see src/bin/cvpn-terminator/main.rs).

use crate::common::quarantine::*;
use crate::common::signals::*;
use crate::common::*;
use cvpn_terminator::{App, Dynamo, Ec2};
use serde_json::{json, Value};

async fn post(app: &App<Ec2, Dynamo>, request: &Value) -> Value {
    app.answer(request, Default::default()).await.unwrap()
}

fn status(answer: &Value) -> u64 {
    answer["statusCode"].as_u64().unwrap()
}

/// RFC 8935's error code in a `400` answer.
fn err(answer: &Value) -> String {
    assert_eq!(status(answer), 400, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    body["err"].as_str().unwrap().to_owned()
}

struct Idp {
    h: Harness,
    jwks: Jwks,
    key: Signer,
}

async fn start(moto: &Moto, table: &str, release_on_reactivate: bool) -> Idp {
    let key = Signer::new("key-1");
    let jwks = Jwks::serve(vec![key.jwk.clone()]).await;
    let config = cvpn_terminator::Config {
        idp: cvpn_terminator::shell::config::Idp {
            release_on_reactivate,
            ..signal_settings(&jwks)
        },
        ..config()
    };
    let h = with_table(config, moto, table).await;
    wire_endpoint_a(&h).await;
    Idp { h, jwks, key }
}

#[tokio::test]
async fn a_revocation_ends_the_persons_sessions_holds_them_and_their_enabling_lets_them_back() {
    let moto = Moto::start();
    let idp = start(&moto, "gtr", true).await;
    let app = &idp.h.app;
    assert!(idp.h.active_of("dave") > 0);
    let token = idp
        .key
        .sign(Some("global-token-revocation+jwt"), &bearer_claims("gtr-1"));
    let answer = post(app, &revocation(&token, &email("dave@example.com"))).await;
    // `dave@example.com` is not a VPN username here: nothing ended, but held (they may connect).
    assert_eq!(status(&answer), 404, "{answer}");
    let mapped = cvpn_terminator::Config {
        mapping: cvpn_terminator::domain::mapping::UsernameMapping::new("{local}").unwrap(),
        ..app.config.clone()
    };
    let app = &app_with(&idp.h, mapped);
    let token = idp.key.sign(None, &bearer_claims("gtr-2"));
    let answer = post(app, &revocation(&token, &email("dave@example.com"))).await;
    assert_eq!(status(&answer), 204, "{answer}");
    assert_eq!(answer["body"], "");
    assert_eq!(idp.h.active_of("dave"), 0);
    assert!(!allowed(&connect(app, Some("dave"), "dave").await));
    assert!(holds(&idp.h).await.iter().any(|h| h.subject.name == "dave"));
    // The IdP enables the account again: its own holds are lifted, and dave connects.
    let set = set_claims(
        "set-1",
        "risc",
        "account-enabled",
        &email("dave@example.com"),
    );
    let answer = post(app, &pushed(&idp.key.sign(Some("secevent+jwt"), &set))).await;
    assert_eq!(status(&answer), 202, "{answer}");
    assert!(allowed(&connect(app, Some("dave"), "dave").await));
    assert!(!holds(&idp.h).await.iter().any(|h| h.subject.name == "dave"));
}

#[tokio::test]
async fn each_security_event_that_says_out_ends_and_holds_once() {
    let moto = Moto::start();
    let idp = start(&moto, "ssf", false).await;
    let app = &idp.h.app;
    for (n, (family, event)) in [
        ("caep", "session-revoked"),
        ("risc", "account-disabled"),
        ("risc", "account-purged"),
        ("risc", "credential-compromise"),
    ]
    .into_iter()
    .enumerate()
    {
        let user = ["dave", "erin", "heidi", "ivan"][n];
        let claims = set_claims(
            &format!("set-{n}"),
            family,
            event,
            &json!({"format": "opaque", "id": user}),
        );
        let set = idp.key.sign(Some("secevent+jwt"), &claims);
        let answer = post(app, &pushed(&set)).await;
        assert_eq!(status(&answer), 202, "{event}: {answer}");
        assert!(!allowed(&connect(app, Some(user), user).await), "{event}");
        // Delivered again (RFC 8935: answered as the first time), it is not acted on again.
        let before = idp.h.api_calls();
        assert_eq!(status(&post(app, &pushed(&set)).await), 202);
        assert_eq!(idp.h.api_calls(), before, "{event}");
    }
    assert_eq!(idp.h.active_of("dave"), 0);
    // Enabled again without CVPN_IDP_RELEASE_ON_REACTIVATE: the hold stays.
    let enabled = set_claims(
        "set-back",
        "risc",
        "account-enabled",
        &json!({"format": "opaque", "id": "dave"}),
    );
    let answer = post(app, &pushed(&idp.key.sign(Some("secevent+jwt"), &enabled))).await;
    assert_eq!(status(&answer), 202);
    assert!(!allowed(&connect(app, Some("dave"), "dave").await));
    // An event type nobody acts on is accepted and does nothing.
    let other = set_claims(
        "set-other",
        "caep",
        "token-claims-change",
        &json!({"format": "opaque", "id": "bob"}),
    );
    assert_eq!(
        status(&post(app, &pushed(&idp.key.sign(Some("secevent+jwt"), &other))).await),
        202
    );
    assert!(allowed(&connect(app, Some("bob"), "bob").await));
}

#[tokio::test]
async fn forged_wrong_and_replayed_tokens_change_nothing() {
    let moto = Moto::start();
    let idp = start(&moto, "forged", false).await;
    let app = &idp.h.app;
    let dave = json!({"format": "opaque", "id": "dave"});
    let good = bearer_claims("good");
    let with = |key: &str, value: Value| {
        let mut c = bearer_claims(&format!("c-{key}"));
        c[key] = value;
        c
    };
    let now = chrono::Utc::now().timestamp();
    let public = idp.key.jwk.to_string();
    let tokens = [
        (
            "alg none",
            forged(&json!({"alg": "none", "kid": "key-1"}), &good, None),
        ),
        (
            "HS256 with the public key",
            forged(
                &json!({"alg": "HS256", "kid": "key-1", "typ": "JWT"}),
                &good,
                Some(public.as_bytes()),
            ),
        ),
        (
            "another key",
            Signer::new("key-1").sign(None, &bearer_claims("other-key")),
        ),
        (
            "wrong iss",
            idp.key
                .sign(None, &with("iss", json!("https://evil.example"))),
        ),
        (
            "wrong aud",
            idp.key
                .sign(None, &with("aud", json!("https://other.example"))),
        ),
        (
            "expired",
            idp.key.sign(None, &with("exp", json!(now - 3600))),
        ),
        (
            "issued in the future",
            idp.key.sign(None, &with("iat", json!(now + 3600))),
        ),
        (
            "not yet valid",
            idp.key.sign(None, &with("nbf", json!(now + 3600))),
        ),
        (
            "an ID token",
            idp.key.sign(Some("JWT"), &bearer_claims("id-token")),
        ),
        ("not a JWT", "garbage".to_owned()),
    ];
    for (what, token) in tokens {
        let answer = post(app, &revocation(&token, &dave)).await;
        assert_eq!(status(&answer), 401, "{what}: {answer}");
        assert!(answer["headers"]["www-authenticate"].is_string(), "{what}");
    }
    // The same forgeries as Security Event Tokens, with RFC 8935's codes.
    let set = |c: Value| idp.key.sign(Some("secevent+jwt"), &c);
    let out = |jti: &str| set_claims(jti, "risc", "account-disabled", &dave);
    let mut wrong_iss = out("s-iss");
    wrong_iss["iss"] = json!("https://evil.example");
    let mut wrong_aud = out("s-aud");
    wrong_aud["aud"] = json!(["https://other.example"]);
    let cases = [
        (
            "alg none",
            forged(
                &json!({"alg": "none", "typ": "secevent+jwt"}),
                &out("s-none"),
                None,
            ),
            "authentication_failed",
        ),
        (
            "another key",
            Signer::new("key-1").sign(Some("secevent+jwt"), &out("s-key")),
            "authentication_failed",
        ),
        ("wrong iss", set(wrong_iss), "invalid_issuer"),
        ("wrong aud", set(wrong_aud), "invalid_audience"),
        (
            "untyped",
            idp.key.sign(None, &out("s-typ")),
            "invalid_request",
        ),
    ];
    for (what, token, code) in cases {
        assert_eq!(err(&post(app, &pushed(&token)).await), code, "{what}");
    }
    let wrong_type = request(
        "/ssf/events",
        json!({"content-type": "application/json"}),
        &set(out("s-ct")),
    );
    assert_eq!(err(&post(app, &wrong_type).await), "invalid_request");
    assert!(idp.h.ended().is_empty());
    assert!(holds(&idp.h).await.is_empty());
    // A bearer token is good for one request: replayed, it is refused.
    let once = idp.key.sign(None, &bearer_claims("once"));
    assert_eq!(
        status(
            &post(
                app,
                &revocation(&once, &json!({"format": "opaque", "id": "night-owl"}))
            )
            .await
        ),
        204
    );
    let ended = idp.h.ended();
    let replay = post(app, &revocation(&once, &dave)).await;
    assert_eq!(status(&replay), 401, "{replay}");
    assert_eq!(idp.h.ended(), ended);
    assert_eq!(idp.h.active_of("dave"), 1);
}

#[tokio::test]
async fn an_unknown_key_fetches_the_set_once_and_a_rotated_key_is_found() {
    let moto = Moto::start();
    let idp = start(&moto, "keys", false).await;
    let app = &idp.h.app;
    let nobody = json!({"format": "opaque", "id": "nobody"});
    let first = idp.key.sign(None, &bearer_claims("k-1"));
    assert_eq!(status(&post(app, &revocation(&first, &nobody)).await), 404);
    assert_eq!(idp.jwks.fetches(), 1, "fetched once, then cached");
    let second = idp.key.sign(None, &bearer_claims("k-2"));
    post(app, &revocation(&second, &nobody)).await;
    assert_eq!(idp.jwks.fetches(), 1);
    // Invented key IDs: one fetch to look, then refused without asking the IdP again.
    for n in 0..5 {
        let invented = Signer::new(&format!("invented-{n}"));
        let answer = post(
            app,
            &pushed(&invented.sign(
                Some("secevent+jwt"),
                &set_claims(&format!("u-{n}"), "risc", "account-disabled", &nobody),
            )),
        )
        .await;
        assert_eq!(err(&answer), "invalid_key");
    }
    assert_eq!(idp.jwks.fetches(), 2);
    // Another IdP's set, whose keys rotate: the new key's first token fetches the set again.
    let rotating = start(&moto, "keys-rotated", false).await;
    let app = &rotating.h.app;
    let dave = json!({"format": "opaque", "id": "dave"});
    let before = rotating.key.sign(None, &bearer_claims("r-0"));
    assert_eq!(status(&post(app, &revocation(&before, &nobody)).await), 404);
    let rotated = Signer::new("key-2");
    rotating.jwks.rotate(vec![rotated.jwk.clone()]);
    let token = rotated.sign(None, &bearer_claims("r-1"));
    let answer = post(app, &revocation(&token, &dave)).await;
    assert_eq!(status(&answer), 204, "{answer}");
    assert_eq!(rotating.jwks.fetches(), 2);
    assert_eq!(rotating.h.active_of("dave"), 0);
}

#[tokio::test]
async fn an_idp_whose_keys_cannot_be_fetched_is_asked_at_most_once_a_minute() {
    let moto = Moto::start();
    let nobody = json!({"format": "opaque", "id": "nobody"});
    // Never fetched, and the IdP is down: 503, and not asked again for each token.
    let cold = start(&moto, "keys-down", false).await;
    cold.jwks.set_down(true);
    for n in 0..4 {
        let token = cold.key.sign(None, &bearer_claims(&format!("d-{n}")));
        let answer = post(&cold.h.app, &revocation(&token, &nobody)).await;
        assert_eq!(status(&answer), 503, "{answer}");
        assert!(answer["headers"]["retry-after"].is_string());
    }
    assert_eq!(cold.jwks.fetches(), 1);
    // Fetched once, then down: an unknown key's fetch fails and counts against the minute, and
    // the keys held still check their tokens.
    let warm = start(&moto, "keys-warm-down", false).await;
    let app = &warm.h.app;
    let first = warm.key.sign(None, &bearer_claims("w-0"));
    assert_eq!(status(&post(app, &revocation(&first, &nobody)).await), 404);
    warm.jwks.set_down(true);
    for n in 0..4 {
        let invented = Signer::new(&format!("rotated-{n}"));
        let token = invented.sign(None, &bearer_claims(&format!("w-x{n}")));
        assert_eq!(status(&post(app, &revocation(&token, &nobody)).await), 503);
    }
    assert_eq!(warm.jwks.fetches(), 2);
    let known = warm.key.sign(None, &bearer_claims("w-1"));
    assert_eq!(status(&post(app, &revocation(&known, &nobody)).await), 404);
    assert_eq!(warm.jwks.fetches(), 2);
}

#[tokio::test]
async fn malformed_requests_and_protected_people_change_nothing() {
    let moto = Moto::start();
    let idp = start(&moto, "malformed", false).await;
    let app = &idp.h.app;
    let token = |jti: &str| idp.key.sign(None, &bearer_claims(jti));
    // A megabyte is refused before any key is fetched.
    let huge = request(
        "/ssf/events",
        json!({"content-type": "application/secevent+jwt"}),
        &"a".repeat(1 << 20),
    );
    assert_eq!(status(&post(app, &huge).await), 413);
    let huge = request(
        "/global-token-revocation",
        json!({"authorization": format!("Bearer {}", token("big"))}),
        &"a".repeat(1 << 20),
    );
    assert_eq!(status(&post(app, &huge).await), 413);
    assert_eq!(idp.jwks.fetches(), 0);
    // Malformed and unsupported subjects: 400.
    for (n, sub_id) in [
        json!({"format": "email", "email": "dave"}),
        json!({"format": "phone_number", "phone_number": "+15555550100"}),
        json!({"format": "iss_sub", "iss": "https://evil.example", "sub": "dave"}),
        json!("dave"),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = post(app, &revocation(&token(&format!("bad-{n}")), &sub_id)).await;
        assert_eq!(status(&answer), 400, "{sub_id}: {answer}");
    }
    // No token, another path, another method.
    let bare = request(
        "/global-token-revocation",
        json!({}),
        r#"{"sub_id": {"format": "opaque", "id": "dave"}}"#,
    );
    assert_eq!(status(&post(app, &bare).await), 401);
    assert_eq!(
        status(&post(app, &request("/admin", json!({}), "")).await),
        404
    );
    let mut get = pushed("x");
    get["requestContext"]["http"]["method"] = json!("GET");
    assert_eq!(status(&post(app, &get).await), 405);
    // A protected user: refused (the draft's 422), neither ended nor held.
    let answer = post(
        app,
        &revocation(
            &token("bg"),
            &json!({"format": "opaque", "id": "BreakGlass"}),
        ),
    )
    .await;
    assert_eq!(status(&answer), 422, "{answer}");
    assert!(idp.h.ended().is_empty());
    assert!(holds(&idp.h).await.is_empty());
    // With the ways in off, the paths are not there.
    let off = app_with(&idp.h, config());
    assert_eq!(
        status(
            &post(
                &off,
                &revocation(&token("off"), &json!({"format": "opaque", "id": "dave"}))
            )
            .await
        ),
        404
    );
    assert!(idp.h.ended().is_empty());
}

#[tokio::test]
async fn a_token_another_invocation_is_acting_on_is_answered_503_and_one_it_died_on_acts_again() {
    use cvpn_terminator::adapters::state::tokens::{Take, TokenStore, PENDING_SECONDS};
    let moto = Moto::start();
    let idp = start(&moto, "pending", false).await;
    let app = &idp.h.app;
    let store = app.store.as_ref().unwrap();
    let now = chrono::Utc::now().timestamp();
    let dave = json!({"format": "opaque", "id": "dave"});
    // Taken a moment ago by an invocation still running: the retry waits.
    assert_eq!(
        store.take(ISSUER, "busy", now, now + 600).await.unwrap(),
        Take::First
    );
    let busy = post(
        app,
        &revocation(&idp.key.sign(None, &bearer_claims("busy")), &dave),
    )
    .await;
    assert_eq!(status(&busy), 503, "{busy}");
    assert!(busy["headers"]["retry-after"].is_string());
    assert!(idp.h.ended().is_empty());
    // Taken long ago by one that died before it finished: the word is not lost.
    let then = now - PENDING_SECONDS - 1;
    assert_eq!(
        store.take(ISSUER, "died", then, now + 600).await.unwrap(),
        Take::First
    );
    let set = idp.key.sign(
        Some("secevent+jwt"),
        &set_claims("died", "risc", "account-disabled", &dave),
    );
    assert_eq!(status(&post(app, &pushed(&set)).await), 202);
    assert_eq!(idp.h.active_of("dave"), 0);
    // Done, it is answered as done and not acted on again.
    assert_eq!(
        store.take(ISSUER, "died", now, now + 600).await.unwrap(),
        Take::Done
    );
}
