//! The relay's own refusals, answered in OpenAI's error shape so the widget shows them like any
//! provider error.

use axum::http::header::{RETRY_AFTER, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_protocol::{ApiError, ValidationError};

/// Why the relay refused or could not complete a request.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The body is not a chat-completions request.
    #[error("The request body is not a valid chat-completions request: {0}")]
    BadRequest(String),
    /// A parameter is out of its documented range.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// The model is not on the relay's allowlist.
    #[error("The model `{0}` is not available through this relay.")]
    ModelNotAllowed(String),
    /// The request breaks the operator's policy.
    #[error("{0}")]
    Policy(#[from] crate::policy::PolicyError),
    /// The client has made its requests for this minute (counted with every replica).
    #[error("Too many requests from this address. Try again in {retry_after} s.")]
    RateLimited {
        /// Seconds until the next minute.
        retry_after: u64,
    },
    /// A token budget has no room for the request.
    #[error("{}", .0.message())]
    Budget(crate::budget::Exhausted),
    /// No reply by that id can be resumed or stopped (never was, or no longer kept).
    #[error("That reply can no longer be resumed.")]
    UnknownStream,
    /// Another page or client started the reply.
    #[error("That reply is another page's.")]
    NotYourStream,
    /// The request does not say it is JSON.
    #[error("The request must be sent as `Content-Type: application/json`.")]
    NotJson,
    /// The relay is receiving as many bodies as it will hold at once.
    #[error("The relay is busy. Try again in a moment.")]
    Busy,
    /// The body did not arrive in time.
    #[error("The request body did not arrive in time.")]
    BodyTimeout,
    /// The body is larger than the limit.
    #[error("The request is too large: the limit is {limit} bytes.")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The page's origin may not use the relay.
    #[error("The origin {0} may not use this relay.")]
    ForbiddenOrigin(String),
    /// The upstream could not be reached.
    #[error("The relay could not reach the upstream API: {0}")]
    Upstream(String),
    /// The upstream did not begin its answer in time.
    #[error("The upstream API did not answer within {0} s. Try again in a moment.")]
    UpstreamTimeout(u64),
    /// The upstream answered with something the relay does not pass on.
    #[error("The upstream API's answer was not passed on: {0}")]
    UpstreamAnswer(String),
}

impl RelayError {
    fn status(&self) -> StatusCode {
        match self {
            RelayError::BadRequest(_)
            | RelayError::Invalid(_)
            | RelayError::ModelNotAllowed(_)
            | RelayError::Policy(_) => StatusCode::BAD_REQUEST,
            RelayError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::Budget(_) | RelayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            RelayError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RelayError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            RelayError::ForbiddenOrigin(_) | RelayError::NotYourStream => StatusCode::FORBIDDEN,
            RelayError::UnknownStream => StatusCode::NOT_FOUND,
            RelayError::Upstream(_) | RelayError::UpstreamAnswer(_) => StatusCode::BAD_GATEWAY,
            RelayError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The error as the API would describe it.
    pub fn to_api_error(&self) -> ApiError {
        let error = ApiError::new(self.to_string());
        match self {
            RelayError::BadRequest(_) => error.with_kind("invalid_request_error"),
            RelayError::Invalid(invalid) => error
                .with_kind("invalid_request_error")
                .with_param(invalid.field()),
            RelayError::ModelNotAllowed(_) => {
                error.with_kind("invalid_request_error").with_param("model")
            }
            RelayError::Policy(refused) => error
                .with_kind("policy_violation")
                .with_param(refused.param),
            RelayError::TooLarge { .. } => error.with_kind("request_too_large"),
            RelayError::RateLimited { .. } => error.with_kind("rate_limit_exceeded"),
            RelayError::Budget(exhausted) => error.with_kind("budget_exceeded").with_code(
                match (exhausted.own, exhausted.daily) {
                    (true, false) => "client_tokens_per_minute",
                    (true, true) => "client_tokens_per_day",
                    (false, false) => "tokens_per_minute",
                    (false, true) => "tokens_per_day",
                },
            ),
            RelayError::NotJson => error.with_kind("invalid_request_error"),
            RelayError::Busy => error.with_kind("server_busy"),
            RelayError::BodyTimeout => error.with_kind("request_timeout"),
            RelayError::ForbiddenOrigin(_) => error.with_kind("forbidden_origin"),
            RelayError::UnknownStream => error.with_kind("stream_not_found"),
            RelayError::NotYourStream => error.with_kind("stream_not_yours"),
            RelayError::Upstream(_) => error.with_kind("upstream_unreachable"),
            RelayError::UpstreamAnswer(_) => error.with_kind("upstream_error"),
            RelayError::UpstreamTimeout(_) => error.with_kind("upstream_timeout"),
        }
    }
}

impl From<crate::replay::Refusal> for RelayError {
    fn from(refusal: crate::replay::Refusal) -> Self {
        match refusal {
            crate::replay::Refusal::Unknown => RelayError::UnknownStream,
            crate::replay::Refusal::NotYours => RelayError::NotYourStream,
            crate::replay::Refusal::Busy => RelayError::Busy,
        }
    }
}

/// A refusal's reason (its error type), left on the response for the access log and the metrics.
#[derive(Clone, Copy, Debug)]
pub struct Refused(pub &'static str);

impl RelayError {
    /// The reason it is counted under.
    fn reason(&self) -> &'static str {
        match self {
            RelayError::BadRequest(_) | RelayError::Invalid(_) | RelayError::NotJson => {
                "invalid_request"
            }
            RelayError::ModelNotAllowed(_) => "model_not_allowed",
            RelayError::Policy(_) => "policy_violation",
            RelayError::Budget(_) => "budget_exceeded",
            RelayError::RateLimited { .. } => "rate_limited",
            RelayError::Busy => "busy",
            RelayError::BodyTimeout => "body_timeout",
            RelayError::TooLarge { .. } => "too_large",
            RelayError::ForbiddenOrigin(_) => "forbidden_origin",
            RelayError::UnknownStream => "stream_not_found",
            RelayError::NotYourStream => "stream_not_yours",
            RelayError::Upstream(_)
            | RelayError::UpstreamAnswer(_)
            | RelayError::UpstreamTimeout(_) => "upstream",
        }
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let reason = Refused(self.reason());
        let mut response = (
            self.status(),
            [(X_CONTENT_TYPE_OPTIONS, "nosniff")],
            Json(self.to_api_error().to_body()),
        )
            .into_response();
        let retry_after = match self {
            RelayError::Busy => Some(1),
            RelayError::Budget(exhausted) => Some(exhausted.retry_after.max(1)),
            RelayError::RateLimited { retry_after } => Some(retry_after.max(1)),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(reason);
        response
    }
}
