//! HTTP routes: the EC2 Query API at `/` and the admin API under `/_emulator/`.

use crate::accounts::Credential;
use crate::connect::ConnectAttempt;
use crate::faults::{ActionStats, Faults};
use crate::protocol::ApiError;
use crate::service::{ClockChange, ClockView, Reply, Service, TrafficChange};
use crate::state::{ConnectionState, StateFile};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// EC2 accepts requests far larger than these actions need; this only bounds memory.
const MAX_BODY: usize = 1 << 20;
/// A whole state of tens of thousands of connections is tens of megabytes of JSON.
const MAX_ADMIN_BODY: usize = 512 << 20;

pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", post(api).get(api))
        .route("/_emulator/state", get(get_state).put(put_state))
        .route(
            "/_emulator/endpoints/{endpoint_id}/connections",
            post(post_connections),
        )
        .route(
            "/_emulator/endpoints/{endpoint_id}/connect",
            post(post_connect),
        )
        .route("/_emulator/traffic", post(post_traffic))
        .route("/_emulator/clock", get(get_clock).post(post_clock))
        .route("/_emulator/faults", get(get_faults).put(put_faults))
        .route("/_emulator/stats", get(get_stats).delete(delete_stats))
        .fallback(|| async { admin_error(StatusCode::NOT_FOUND, "no such route".into()) })
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY))
        .with_state(service)
}

async fn api(
    State(service): State<Arc<Service>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let reply: Reply = match credential(&headers) {
        Err(error) => (
            error.status,
            error.to_xml("00000000-0000-4000-8000-000000000000"),
        ),
        Ok(credential) => {
            let params = if method == Method::GET {
                Ok(Bytes::from(uri.query().unwrap_or_default().to_owned()))
            } else {
                axum::body::to_bytes(body, MAX_BODY).await
            };
            match params {
                Ok(bytes) => service.call(&bytes, &credential).await,
                Err(_) => {
                    let e = ApiError::malformed(format!(
                        "The request body is larger than {MAX_BODY} bytes or unreadable"
                    ));
                    (e.status, e.to_xml("00000000-0000-4000-8000-000000000000"))
                }
            }
        }
    };
    let (status, xml) = reply;
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        xml,
    )
        .into_response()
}

/// The signature is not verified, but a request must carry a SigV4 `Authorization` header: its
/// credential scope says who calls (the access key) and where (the Region).
fn credential(headers: &HeaderMap) -> Result<Credential, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            401,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let sigv4 = value.starts_with("AWS4-HMAC-SHA256 ") && value.contains("Signature=");
    Credential::parse(value).filter(|_| sigv4).ok_or_else(|| {
        ApiError::new(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        )
    })
}

fn admin_error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Reads a JSON body and applies `change`; a body serde cannot read, or a change the service refuses,
/// is answered 400 with the reason (serde names the field and position).
fn apply<T: DeserializeOwned>(
    body: &Bytes,
    change: impl FnOnce(T) -> Result<Response, String>,
) -> Response {
    serde_json::from_slice(body)
        .map_err(|e| e.to_string())
        .and_then(change)
        .unwrap_or_else(|e| admin_error(StatusCode::BAD_REQUEST, e))
}

async fn get_state(State(service): State<Arc<Service>>) -> Json<StateFile> {
    Json(service.snapshot())
}

async fn put_state(State(service): State<Arc<Service>>, body: Bytes) -> Response {
    apply(&body, |state: StateFile| {
        service
            .replace_state(state)
            .map(|()| StatusCode::NO_CONTENT.into_response())
    })
}

async fn post_connections(
    State(service): State<Arc<Service>>,
    Path(endpoint_id): Path<String>,
    body: Bytes,
) -> Response {
    apply(&body, |connections: Vec<ConnectionState>| {
        service
            .upsert_connections(&endpoint_id, connections)
            .map(|n| Json(json!({ "upserted": n })).into_response())
    })
}

async fn post_connect(
    State(service): State<Arc<Service>>,
    Path(endpoint_id): Path<String>,
    body: Bytes,
) -> Response {
    let attempt: ConnectAttempt = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match service.attempt(&endpoint_id, attempt).await {
        Ok(result) => Json(result).into_response(),
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e),
    }
}

async fn post_traffic(State(service): State<Arc<Service>>, body: Bytes) -> Response {
    apply(&body, |changes: Vec<TrafficChange>| {
        service
            .change_traffic(&changes)
            .map(|n| Json(json!({ "changed": n })).into_response())
    })
}

async fn get_clock(State(service): State<Arc<Service>>) -> Json<ClockView> {
    Json(service.clock())
}

async fn post_clock(State(service): State<Arc<Service>>, body: Bytes) -> Response {
    apply(&body, |change: ClockChange| {
        service
            .set_clock(&change)
            .map(|view| Json(view).into_response())
    })
}

async fn get_faults(State(service): State<Arc<Service>>) -> Json<Faults> {
    Json(service.faults())
}

async fn put_faults(State(service): State<Arc<Service>>, body: Bytes) -> Response {
    apply(&body, |faults: Faults| {
        service
            .set_faults(faults)
            .map(|()| StatusCode::NO_CONTENT.into_response())
    })
}

async fn get_stats(State(service): State<Arc<Service>>) -> Json<BTreeMap<String, ActionStats>> {
    Json(service.stats())
}

async fn delete_stats(State(service): State<Arc<Service>>) -> StatusCode {
    service.reset_stats();
    StatusCode::NO_CONTENT
}
