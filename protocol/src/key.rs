//! The API key, as both the widget (direct mode) and the relay hold it.

use std::fmt;

use serde::Deserialize;

/// An API key. It prints as `***` and cannot be serialized, so it never reaches a log or storage
/// by accident; [`ApiKey::expose`] is for the `Authorization` header and nothing else.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}
