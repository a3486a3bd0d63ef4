//! What the widget keeps in the browser's `localStorage`: for now the settings panel's values.
//! Storage that is missing or refuses (private mode, full, disabled) is not an error: the widget
//! keeps working in memory. The API key is never part of what is stored.

use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// The storage key for a widget's settings; the version lets a later layout ignore older ones.
fn settings_key(id: &str) -> String {
    format!("chat-widget.v1.settings.{id}")
}

/// Saved settings, with the config's settings they were changed from: when the site changes its
/// config, settings saved against the old one are dropped rather than mask the new one.
#[derive(Serialize, Deserialize)]
struct Saved {
    base: Settings,
    settings: Settings,
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The settings of widget `id` saved against `base`, if any.
pub fn load_settings(id: &str, base: &Settings) -> Option<Settings> {
    let json = local_storage()?
        .get_item(&settings_key(id))
        .ok()
        .flatten()?;
    let saved: Saved = serde_json::from_str(&json).ok()?;
    (saved.base == *base).then_some(saved.settings)
}

/// Saves the settings of widget `id`, changed from `base` (settings equal to `base` are not kept).
/// Returns whether storage took them.
pub fn save_settings(id: &str, base: &Settings, settings: &Settings) -> bool {
    let Some(storage) = local_storage() else {
        return false;
    };
    let key = settings_key(id);
    if settings == base {
        return storage.remove_item(&key).is_ok();
    }
    let saved = Saved {
        base: base.clone(),
        settings: settings.clone(),
    };
    serde_json::to_string(&saved).is_ok_and(|json| storage.set_item(&key, &json).is_ok())
}
