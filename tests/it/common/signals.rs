//! Shared by the signal tests: an IdP's key set served on loopback (its fetches counted, its keys
//! swappable), signing keys made for the test, and Function URL requests.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const ISSUER: &str = "https://idp.example.com";
pub const AUDIENCE: &str = "https://vpn.example.com/signals";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A P-256 key the test signs with, and its public half as a JWK.
pub struct Signer {
    pub kid: String,
    pkcs8: Vec<u8>,
    pub jwk: Value,
}

impl Signer {
    pub fn new(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap()
                .as_ref()
                .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                         "x": b64(&point[1..33]), "y": b64(&point[33..65])});
        Self {
            kid: kid.into(),
            pkcs8,
            jwk,
        }
    }

    /// `claims` signed with ES256 under this key's `kid`, with header type `typ`.
    pub fn sign(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// A token with any header at all, "signed" with HMAC-SHA256 under `secret` (or unsigned, with
/// `None`): the forgeries.
pub fn forged(header: &Value, claims: &Value, secret: Option<&[u8]>) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match secret {
        None => String::new(),
        Some(secret) => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
            b64(aws_lc_rs::hmac::sign(&key, message.as_bytes()).as_ref())
        }
    };
    format!("{message}.{signature}")
}

/// A key set served over plain HTTP on loopback, as the IdP's JWKS endpoint; stopped with the
/// test's runtime.
pub struct Jwks {
    pub url: String,
    fetches: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<Value>>>,
    /// While set, the endpoint answers 500.
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Jwks {
    pub async fn serve(keys: Vec<Value>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/oauth2/v1/keys", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let keys = Arc::new(Mutex::new(keys));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (counted, served, failing) = (fetches.clone(), keys.clone(), down.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = json!({"keys": *served.lock().unwrap()}).to_string();
                let status = match failing.load(Ordering::SeqCst) {
                    true => "500 Internal Server Error",
                    false => "200 OK",
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Self {
            url,
            fetches,
            keys,
            down,
        }
    }

    /// The IdP's key endpoint fails (500) until it is back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The IdP rotates its keys: from now on it serves these.
    pub fn rotate(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }
}

/// The settings that take this IdP's tokens.
pub fn signal_settings(jwks: &Jwks) -> cvpn_terminator::shell::config::Idp {
    cvpn_terminator::shell::config::Idp {
        signal: Some(cvpn_terminator::shell::config::Signal {
            jwks_url: jwks.url.clone(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
        }),
        ..Default::default()
    }
}

/// A Function URL request (payload format 2.0).
pub fn request(path: &str, headers: Value, body: &str) -> Value {
    json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
           "headers": headers,
           "requestContext": {"accountId": "anonymous", "domainName": "abc.lambda-url.eu-west-1.on.aws",
               "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                        "sourceIp": "192.0.2.10", "userAgent": "idp"},
               "requestId": "r-1", "routeKey": "$default", "stage": "$default"},
           "body": body, "isBase64Encoded": false})
}

/// Global Token Revocation of `sub_id`, authenticated by `token`.
pub fn revocation(token: &str, sub_id: &Value) -> Value {
    request(
        "/global-token-revocation",
        json!({"authorization": format!("Bearer {token}"), "content-type": "application/json"}),
        &json!({"sub_id": sub_id}).to_string(),
    )
}

/// A Security Event Token pushed to the receiver.
pub fn pushed(set: &str) -> Value {
    request(
        "/ssf/events",
        json!({"content-type": "application/secevent+jwt"}),
        set,
    )
}

pub fn email(address: &str) -> Value {
    json!({"format": "email", "email": address})
}

/// A revocation request's bearer claims, issued now.
pub fn bearer_claims(jti: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "0oa-client", "iat": now, "nbf": now - 300,
           "exp": now + 300, "jti": jti})
}

/// A Security Event Token's claims: `event` (its URI's last segment) about `sub_id`, issued now.
pub fn set_claims(jti: &str, family: &str, event: &str, sub_id: &Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let uri = format!("https://schemas.openid.net/secevent/{family}/event-type/{event}");
    json!({"iss": ISSUER, "aud": [AUDIENCE], "iat": now, "jti": jti, "sub_id": sub_id,
           "events": {uri: {"event_timestamp": now}}})
}
