//! What the widget keeps in the browser's `localStorage`: the conversations and the settings panel's
//! values, per widget id, under versioned keys. Storage that is missing, refuses, is full or holds
//! something unreadable is never an error for the person: the widget keeps working in memory and
//! says once that history will not be kept. The API key is never part of what is stored.

use serde::{Deserialize, Serialize};

use chat_widget_core::library::Library;
use chat_widget_core::settings::Settings;

/// The layout of what is stored; a change of layout changes it.
pub const VERSION: u32 = 1;

/// Why history cannot be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// No `localStorage` (disabled, or a private window that refuses it).
    #[error("this browser does not let the page store anything")]
    Unavailable,
    /// Storage is full.
    #[error("the browser's storage for this site is full")]
    Full,
    /// What was stored cannot be read.
    #[error("what was stored before could not be read")]
    Corrupt,
    /// What was stored is from another version of the widget.
    #[error("what was stored is from another version of the widget")]
    OtherVersion,
}

impl StorageError {
    /// Why, in the table's words.
    pub fn describe(self, strings: &chat_widget_core::Strings) -> &str {
        match self {
            StorageError::Unavailable => strings.storage_unavailable(),
            StorageError::Full => strings.storage_full(),
            StorageError::Corrupt => strings.storage_corrupt(),
            StorageError::OtherVersion => strings.storage_other_version(),
        }
    }
}

fn settings_key(id: &str) -> String {
    format!("chat-widget.v{VERSION}.settings.{id}")
}

fn conversations_key(id: &str) -> String {
    format!("chat-widget.conversations.{id}")
}

/// Saved settings, with the config's settings they were changed from: when the site changes its
/// config, settings saved against the old one are dropped rather than mask the new one.
#[derive(Serialize, Deserialize)]
struct SavedSettings {
    base: Settings,
    settings: Settings,
}

/// The stored conversations; `version` says how to read the rest.
#[derive(Serialize, Deserialize)]
struct SavedLibrary {
    version: u32,
    #[serde(default)]
    library: Library,
}

fn local_storage() -> Result<web_sys::Storage, StorageError> {
    web_sys::window()
        .and_then(|window| window.local_storage().ok().flatten())
        .ok_or(StorageError::Unavailable)
}

/// The settings of widget `id` saved against `base`, if any.
pub fn load_settings(id: &str, base: &Settings) -> Option<Settings> {
    let json = local_storage()
        .ok()?
        .get_item(&settings_key(id))
        .ok()
        .flatten()?;
    let saved: SavedSettings = serde_json::from_str(&json).ok()?;
    (saved.base == *base).then_some(saved.settings)
}

/// Saves the settings of widget `id`, changed from `base` (settings equal to `base` are not kept).
/// Returns whether storage took them.
pub fn save_settings(id: &str, base: &Settings, settings: &Settings) -> bool {
    let Ok(storage) = local_storage() else {
        return false;
    };
    let key = settings_key(id);
    if settings == base {
        return storage.remove_item(&key).is_ok();
    }
    let saved = SavedSettings {
        base: base.clone(),
        settings: settings.clone(),
    };
    serde_json::to_string(&saved).is_ok_and(|json| storage.set_item(&key, &json).is_ok())
}

/// The conversations of widget `id`, if any were kept.
pub fn load_library(id: &str) -> Result<Option<Library>, StorageError> {
    let Some(json) = local_storage()?
        .get_item(&conversations_key(id))
        .map_err(|_| StorageError::Unavailable)?
    else {
        return Ok(None);
    };
    let unreadable = |error| {
        // It will never be read: it makes room for what is kept from now on.
        let _ = local_storage().map(|storage| storage.remove_item(&conversations_key(id)));
        error
    };
    let saved: SavedLibrary =
        serde_json::from_str(&json).map_err(|_| unreadable(StorageError::Corrupt))?;
    if saved.version != VERSION || saved.library.threads.is_empty() {
        return Err(unreadable(StorageError::OtherVersion));
    }
    Ok(Some(saved.library))
}

/// Keeps the conversations of widget `id`.
pub fn save_library(id: &str, library: &Library) -> Result<(), StorageError> {
    let storage = local_storage()?;
    let json = serde_json::to_string(&SavedLibrary {
        version: VERSION,
        library: library.clone(),
    })
    .map_err(|_| StorageError::Corrupt)?;
    // The one way `setItem` fails with storage present is a full quota. What was kept before is
    // dropped then, so that the next visit does not restore older conversations as current.
    storage
        .set_item(&conversations_key(id), &json)
        .map_err(|_| {
            let _ = storage.remove_item(&conversations_key(id));
            StorageError::Full
        })
}

fn greeted_key(id: &str) -> String {
    format!("chat-widget.v{VERSION}.greeted.{id}")
}

/// Whether this visitor has seen widget `id`'s greeting. Without storage, no: a greeting that
/// cannot be remembered may be shown on each visit.
pub fn greeted(id: &str) -> bool {
    local_storage()
        .ok()
        .and_then(|storage| storage.get_item(&greeted_key(id)).ok().flatten())
        .is_some()
}

/// Remembers that this visitor has seen widget `id`'s greeting.
pub fn mark_greeted(id: &str) {
    if let Ok(storage) = local_storage() {
        let _ = storage.set_item(&greeted_key(id), "1");
    }
}

fn reply_key(id: &str) -> String {
    format!("chat-widget.v{VERSION}.reply.{id}")
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|window| window.session_storage().ok().flatten())
}

/// Remembers, for this tab only (`sessionStorage`, which a reload keeps), the name the relay
/// keeps widget `id`'s reply in progress under, and the `uid` of the message it answers, so that
/// the reloaded page follows it again (in that conversation only).
pub fn keep_reply(id: &str, name: &str, to: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(&reply_key(id), &format!("{name} {to}"));
    }
}

/// Widget `id`'s reply that was in progress when the page was left, taken away: its name and
/// the `uid` of the message it answers.
pub fn take_reply(id: &str) -> Option<(String, String)> {
    let storage = session_storage()?;
    let kept = storage.get_item(&reply_key(id)).ok().flatten()?;
    let _ = storage.remove_item(&reply_key(id));
    let (name, to) = kept.split_once(' ')?;
    // A relay names replies with 32 hex digits; anything else was not written by the widget.
    (name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (name.to_owned(), to.to_owned()))
}

/// Forgets widget `id`'s reply `name`: it ended. A later reply kept since stays.
pub fn forget_reply(id: &str, name: &str) {
    let Some(storage) = session_storage() else {
        return;
    };
    let kept = storage.get_item(&reply_key(id)).ok().flatten();
    if kept.is_some_and(|kept| kept.split(' ').next() == Some(name)) {
        let _ = storage.remove_item(&reply_key(id));
    }
}
