//! What a streamed answer's response carries, whichever way it is answered: the demo model and the
//! upstream proxy both use these, so neither reaches into the other for them.

use axum::http::header::{HeaderValue, CACHE_CONTROL};
use axum::http::response::Builder;

/// Headers that keep proxies and browsers from holding back a stream.
pub(crate) fn no_buffering(response: Builder) -> Builder {
    response
        .header(
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        )
        .header("x-accel-buffering", HeaderValue::from_static("no"))
}
