//! The relay's routes and the layers around them: origin check, CORS, rate limit, body limit and
//! the access log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::header::{ORIGIN, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_protocol::ChatRequest;
use serde_json::json;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::budget::{self, Meter};
use crate::client::{self, client_network, Client};
use crate::config::{Config, LogFormat, Mode};
use crate::error::Refused;
use crate::error::RelayError;
use crate::files::StaticFiles;
use crate::replay::{Asker, Owner, Page, Refusal};
use crate::shared::Count;
use crate::state::{AppState, Stats};
use crate::streaming::no_buffering;
use crate::{demo, proxy};

/// The relay's routes with every layer, ready to serve, and the built widget read from
/// `config.static_dir`. Needs the peer address
/// (`into_make_service_with_connect_info::<SocketAddr>`) for the per-client rate limit. Fails when
/// the static folder cannot be read or is far larger than a built widget.
pub fn router(config: Config) -> std::io::Result<(Router, Arc<Stats>)> {
    let files =
        Arc::new(StaticFiles::load(&config.static_dir)?.with_security(&config.frame_ancestors));
    let state = AppState::new(config);
    let stats = state.stats.clone();
    let config = &state.config;

    let period = Duration::from_millis(60_000 / u64::from(config.rate_per_minute))
        .max(Duration::from_millis(1));
    let chat = per_client_rate(
        Router::new().route("/v1/chat/completions", post(chat_completions)),
        period,
        config.rate_burst,
    );
    // Resuming and stopping kept replies have a rate of their own, per client: a widget resumes
    // a reply at most a few times, and an unknown id must not cost the relay (or Redis) without
    // bound.
    let streams = per_client_rate(
        Router::new().route("/v1/streams/{id}", get(resume_stream).delete(stop_stream)),
        STREAM_REQUEST_EVERY,
        STREAM_REQUEST_BURST,
    );

    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(
            config
                .allowed_origins
                .iter()
                .filter_map(|origin| origin.parse().ok()),
        ))
        .allow_methods([Method::POST, Method::GET, Method::DELETE])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::ACCEPT,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([RETRY_AFTER, STREAM_ID])
        .max_age(Duration::from_secs(600));

    let router = Router::new()
        .merge(chat)
        .merge(streams)
        .route("/healthz", get(health))
        .route("/v1/policy", get(policy))
        .route("/metrics", get(metrics_with_token))
        .fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
            let files = files.clone();
            async move { files.respond(&method, &uri, &headers) }
        })
        .layer(cors)
        .layer(middleware::from_fn_with_state(state.clone(), check_origin))
        .layer(middleware::from_fn_with_state(state.clone(), access_log))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client::resolve,
        ))
        .with_state(state);
    Ok((router, stats))
}

async fn chat_completions(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, RelayError> {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let client = parts
        .extensions
        .get::<Client>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |client| client.0);
    if let Some(shared) = &state.shared {
        // The request rate, shared by every replica (each also limits its own bursts).
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let left = 60 - seconds % 60;
        let count = Count {
            key: format!(
                "chat-relay:requests:{}:{}",
                client_network(client),
                seconds / 60
            ),
            limit: u64::from(state.config.rate_per_minute.max(state.config.rate_burst)),
            ttl: left + 5,
        };
        if let Ok(Err(_)) = shared.reserve(&[count], 1, 1).await {
            return Err(RelayError::RateLimited { retry_after: left });
        }
    }
    let json = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(RelayError::NotJson);
    }
    let body = receive(&state, &parts.headers, body).await?;
    let mut request = if body.len() > LARGE_BODY {
        // Reading and checking a large body takes a few milliseconds of CPU or more: on a thread
        // for blocking work, so the async workers keep answering everyone else.
        tokio::task::spawn_blocking(move || read_request(&body))
            .await
            .map_err(|error| RelayError::BadRequest(error.to_string()))??
    } else {
        read_request(&body)?
    };
    let config = &state.config;
    if let Some(policy) = &config.policy {
        policy.apply(&mut request)?;
    }
    if !config.allows_model(&request.model) {
        return Err(RelayError::ModelNotAllowed(request.model));
    }
    request.max_tokens = capped_max_tokens(request.max_tokens, config.max_tokens);
    let prompt = budget::estimate_prompt(&request);
    let reservation = match &state.budgets {
        Some(budgets) => {
            let reply = u64::from(request.max_tokens.unwrap_or(config.max_tokens));
            let reservation = budgets
                .reserve(
                    client_network(client),
                    prompt,
                    reply,
                    std::time::SystemTime::now(),
                )
                .await
                .map_err(RelayError::Budget)?;
            // A budget with less room than the reply asked for lowers its `max_tokens`.
            request.max_tokens =
                Some(u32::try_from(reservation.reply_tokens()).unwrap_or(u32::MAX));
            Some(reservation)
        }
        None => None,
    };
    let meter = Meter::new(
        reservation,
        state.stats.metrics.clone(),
        prompt,
        request.is_streaming(),
    );
    let response = match &config.mode {
        Mode::Upstream { base_url, key } => {
            proxy::forward(&state, &request, base_url, key, meter, arrived).await?
        }
        Mode::Demo { pace } => demo::respond(&state, &request, *pace, meter, arrived),
    };
    let owner = owner_of(&parts.headers, parts.extensions.get::<Client>());
    Ok(resumable(&state, response, owner))
}

/// A streamed reply, kept so that it can be resumed (`X-Stream-Id` names it), when resuming is on
/// and there is room; any other answer as it is.
fn resumable(state: &AppState, response: Response, owner: Owner) -> Response {
    let streamed = response.status() == StatusCode::OK
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    let Some(replays) = state.replays.as_ref().filter(|_| streamed) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let source = futures_util::StreamExt::boxed(body.into_data_stream());
    match replays.start(owner, source) {
        Ok((id, events)) => {
            if let Ok(value) = HeaderValue::from_str(&id) {
                parts.headers.insert(STREAM_ID, value);
            }
            Response::from_parts(parts, axum::body::Body::from_stream(events))
        }
        Err(source) => Response::from_parts(parts, axum::body::Body::from_stream(source)),
    }
}

/// `routes`, each client (network) allowed one request every `every` with a burst of `burst`, a
/// 429 past them.
fn per_client_rate(routes: Router<AppState>, every: Duration, burst: u32) -> Router<AppState> {
    let Some(governor) = GovernorConfigBuilder::default()
        .period(every)
        .burst_size(burst)
        .key_extractor(ClientNetwork)
        .finish()
        .map(Arc::new)
    else {
        return routes;
    };
    let limiter = governor.limiter().clone();
    // Forget clients that have not been seen for a while, so the table stays small.
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            limiter.retain_recent();
        }
    });
    routes.layer(GovernorLayer::new(governor).error_handler(rate_limited))
}

/// Each client's rate of resumes and stops of kept replies: one every half second (120 a minute),
/// with a burst of 40.
const STREAM_REQUEST_EVERY: Duration = Duration::from_millis(500);
const STREAM_REQUEST_BURST: u32 = 40;

/// The header that names a resumable reply.
const STREAM_ID: HeaderName = HeaderName::from_static("x-stream-id");

/// The page's origin, as its `Origin` header says.
fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Who starts or asks about a reply: its page's origin and its client's network.
fn owner_of(headers: &HeaderMap, client: Option<&Client>) -> Owner {
    Owner {
        origin: origin_of(headers),
        client: client_network(
            client.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |client| client.0),
        ),
    }
}

/// Who asks to resume or stop a reply: the page's origin, or, for a request without one, a page of
/// the relay's own origin when the browser says so (`Sec-Fetch-Site: same-origin`: browsers send
/// a `GET` there without `Origin`), or else a script. A request without `Origin` that the browser
/// says comes from elsewhere (a link or an image on another site) is refused.
fn asker_of(headers: &HeaderMap, client: Option<&Client>) -> Result<Asker, RelayError> {
    let Owner { origin, client } = owner_of(headers, client);
    let page = match (origin, headers.get("sec-fetch-site")) {
        (Some(origin), _) => Page::Origin(origin),
        (None, Some(site)) if site == "same-origin" => Page::SameOrigin,
        (None, Some(_)) => return Err(RelayError::NotYourStream),
        (None, None) => Page::Unknown,
    };
    Ok(Asker { page, client })
}

/// `GET /v1/streams/{id}`: what the reply sent after `Last-Event-ID` (all of it without), then
/// the rest as it comes.
async fn resume_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    client: Option<axum::Extension<Client>>,
) -> Result<Response, RelayError> {
    let replays = state.replays.as_ref().ok_or(RelayError::UnknownStream)?;
    let last = match headers.get("last-event-id").map(|value| value.to_str()) {
        None => None,
        // No reply has as many events as it has bytes.
        Some(Ok(value)) => Some(
            value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|last| *last < crate::replay::MAX_STREAM_BYTES)
                .ok_or_else(|| {
                    RelayError::BadRequest(
                        "`Last-Event-ID` must be the number of an event".to_owned(),
                    )
                })?,
        ),
        Some(Err(_)) => {
            return Err(RelayError::BadRequest(
                "`Last-Event-ID` must be the number of an event".to_owned(),
            ))
        }
    };
    let owner = asker_of(&headers, client.as_deref())?;
    let events = match replays.resume(&id, &owner, last) {
        Ok(events) => futures_util::StreamExt::boxed(events),
        // Perhaps another process runs it.
        Err(Refusal::Unknown) => replays.resume_elsewhere(&id, &owner, last).await?,
        Err(refusal) => return Err(refusal.into()),
    };
    let mut response = no_buffering(Response::builder())
        .header(axum::http::header::CONTENT_TYPE, "text/event-stream")
        .body(axum::body::Body::from_stream(events))
        .map_err(|error| RelayError::BadRequest(error.to_string()))?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(STREAM_ID, value);
    }
    Ok(response)
}

/// `DELETE /v1/streams/{id}`: stops the reply, its upstream request included.
async fn stop_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    client: Option<axum::Extension<Client>>,
) -> Result<StatusCode, RelayError> {
    let replays = state.replays.as_ref().ok_or(RelayError::UnknownStream)?;
    let owner = asker_of(&headers, client.as_deref())?;
    match replays.stop(&id, &owner) {
        Err(Refusal::Unknown) => replays.stop_elsewhere(&id, &owner).await?,
        done => done?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Receives a request body: within the body limit (413), within the body timeout (408), and only
/// while the bytes of all bodies being received stay within their bound (503 at once otherwise,
/// so slow senders cannot hold the relay's memory).
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Bytes, RelayError> {
    let limit = state.config.body_limit;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(RelayError::TooLarge { limit });
    }
    // A body of unknown length may be as large as the limit.
    let reserve = declared.map_or(limit, |length| length as usize).max(1);
    let _permit = u32::try_from(reserve)
        .ok()
        .and_then(|bytes| state.reserve_body_bytes(bytes))
        .ok_or(RelayError::Busy)?;
    match tokio::time::timeout(
        state.config.limits.body_timeout,
        // Never more than was reserved: a body that says it is short is held to it.
        axum::body::to_bytes(body, reserve),
    )
    .await
    {
        Err(_) => Err(RelayError::BodyTimeout),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            let error = error.into_inner();
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(RelayError::TooLarge { limit })
            } else {
                Err(RelayError::BadRequest(error.to_string()))
            }
        }
    }
}

/// Bodies larger than this are read and checked off the async workers.
const LARGE_BODY: usize = 64 * 1024;

/// The request in `body`, checked against the API's documented ranges and the protocol's caps
/// (tools, messages, schema sizes); linear in the body.
fn read_request(body: &[u8]) -> Result<ChatRequest, RelayError> {
    // serde would also read a struct from an array, field by field.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(RelayError::BadRequest(
            "the body must be a JSON object".to_owned(),
        ));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let request: ChatRequest = serde_path_to_error::deserialize(&mut reader)
        .map_err(|error| {
            let path = error.path().to_string();
            let error = error.into_inner();
            RelayError::BadRequest(if path == "." {
                error.to_string()
            } else {
                format!("at `{path}`: {error}")
            })
        })
        .and_then(|request| {
            reader
                .end()
                .map(|()| request)
                .map_err(|error| RelayError::BadRequest(error.to_string()))
        })?;
    request.validate()?;
    Ok(request)
}

/// The rate limit's key: the client's network ([`client_network`]), the client as
/// [`crate::client::resolve`] found it (the peer, or who a trusted proxy forwarded for).
#[derive(Clone, Copy, Debug)]
struct ClientNetwork;

impl KeyExtractor for ClientNetwork {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        let client = match request.extensions().get::<Client>() {
            Some(Client(client)) => *client,
            None => request
                .extensions()
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
                .ok_or(GovernorError::UnableToExtractKey)?,
        };
        Ok(client_network(client))
    }
}

/// Lowers `max_tokens` to the ceiling, and sets it to the ceiling when the request leaves it out
/// (an upstream's own default may be the model's maximum).
fn capped_max_tokens(requested: Option<u32>, ceiling: u32) -> Option<u32> {
    Some(requested.unwrap_or(ceiling).min(ceiling))
}

async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    let mode = match state.config.mode {
        Mode::Upstream { .. } => "upstream",
        Mode::Demo { .. } => "demo",
    };
    Json(json!({
        "status": "ok",
        "mode": mode,
        "active_streams": state.stats.active_streams(),
        "demo_tokens": state.stats.demo_tokens(),
    }))
}

/// What the policy pins, for the widget (`{}` without one). Cached for a minute.
async fn policy(State(state): State<AppState>) -> Response {
    let summary = state
        .config
        .policy
        .as_ref()
        .map(crate::policy::Policy::summary)
        .unwrap_or_default();
    (
        [(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        )],
        Json(summary),
    )
        .into_response()
}

/// Refuses requests from pages of other origins than the relay's own and the allowed ones.
/// Requests without an `Origin` (same-origin navigation, curl) pass.
async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(ORIGIN) else {
        return next.run(request).await;
    };
    let origin = origin.to_str().unwrap_or_default();
    let config = &state.config;
    if config
        .public_origins
        .iter()
        .chain(&config.allowed_origins)
        .any(|allowed| allowed == origin)
    {
        return next.run(request).await;
    }
    RelayError::ForbiddenOrigin(origin.to_owned()).into_response()
}

/// `GET /metrics` on the main address: only with `CHAT_RELAY_METRICS_TOKEN` set, and only to a
/// request that bears it (`Authorization: Bearer <token>`); 404 otherwise, as if there were none.
async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let borne = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let opens = match (&state.config.metrics_token, borne) {
        (Some(token), Some(borne)) => same_secret(token.expose().as_bytes(), borne.as_bytes()),
        _ => false,
    };
    if !opens {
        return (StatusCode::NOT_FOUND, "Not found\n").into_response();
    }
    metrics_text(&state.stats)
}

/// The metrics, in Prometheus' text format.
pub(crate) fn metrics_text(stats: &Stats) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        stats
            .metrics
            .render(stats.active_streams(), stats.redis_up()),
    )
        .into_response()
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Numbers the requests; with the start time, an id unique to this process's life.
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One line per request on stderr (text or JSON): a request id (also sent as `X-Request-Id`),
/// method, path, status, time to the response head, the client and, for a refusal, its reason.
/// Never headers or bodies, so never the key. Counts the request (and a refusal) in the metrics.
async fn access_log(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let mut path = request.uri().path().to_owned();
    // A kept reply's id is what lets its owner resume it: logs name only its first characters.
    if let Some(id) = path.strip_prefix("/v1/streams/") {
        let shown: String = id.chars().take(6).collect();
        path = format!("/v1/streams/{shown}…");
    }
    let client = request.extensions().get::<Client>().map(|client| client.0);
    let id = format!(
        "{:x}-{:x}",
        *STARTED,
        REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let started = Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let route = crate::metrics::route(&path);
    let metrics = &state.stats.metrics;
    metrics.request(route, status);
    let refused = response
        .extensions()
        .get::<Refused>()
        .map(|refused| refused.0);
    if let (Some(reason), "chat") = (refused, route) {
        metrics.refusal(reason);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let ms = started.elapsed().as_millis();
    let client = client.map(|client| client.to_string()).unwrap_or_default();
    match state.config.log_format {
        LogFormat::Text => {
            let refused = refused
                .map(|reason| format!(" refused={reason}"))
                .unwrap_or_default();
            eprintln!("{method} {path} {status} {ms} ms id={id} client={client}{refused}");
        }
        LogFormat::Json => eprintln!(
            "{}",
            json!({
                "time": std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis() as u64),
                "id": id,
                "method": method.as_str(),
                "path": path,
                "route": route,
                "status": status,
                "ms": ms as u64,
                "client": client,
                "refused": refused,
            })
        ),
    }
    response
}

/// When the process started (seconds since the epoch), the first part of every request id.
static STARTED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
});

fn rate_limited(error: GovernorError) -> Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let body = chat_protocol::ApiError::new(format!(
                "Too many requests from this address. Try again in {wait_time} s."
            ))
            .with_kind("rate_limit_exceeded")
            .to_body();
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
            response.extensions_mut().insert(Refused("rate_limited"));
            response
        }
        other => {
            let body = chat_protocol::ApiError::new(other.to_string())
                .with_kind("server_error")
                .to_body();
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::capped_max_tokens;

    #[test]
    fn max_tokens_is_capped() {
        assert_eq!(capped_max_tokens(Some(10_000), 4096), Some(4096));
        assert_eq!(capped_max_tokens(Some(100), 4096), Some(100));
        assert_eq!(capped_max_tokens(None, 4096), Some(4096));
    }
}
