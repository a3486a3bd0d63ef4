//! The locale packs (`locales/*.json`, which `embed.js` loads for visitors in those languages):
//! every key of the table, no other, the same `{}` placeholders as the English, nothing empty
//! and no markup.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::Path;

use chat_widget_core::Strings;

const LOCALES: [&str; 16] = [
    "ar", "de", "es", "fr", "he", "hi", "it", "ja", "ko", "nl", "pl", "pt", "ru", "tr", "uk", "zh",
];

fn packs() -> BTreeMap<String, String> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../locales");
    std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("an entry").path())
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("a name")
                .to_owned();
            let text = std::fs::read_to_string(&path).expect("readable");
            (name, text)
        })
        .collect()
}

#[test]
fn there_is_a_pack_for_each_language_offered() {
    let found: Vec<String> = packs().into_keys().collect();
    assert_eq!(found, LOCALES);
}

#[test]
fn every_pack_has_every_key_and_the_same_placeholders_as_english() {
    let placeholders = |text: &str| text.matches("{}").count();
    for (locale, text) in packs() {
        let pack: BTreeMap<String, String> = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{locale}: not a flat object of strings: {error}"));
        let missing: Vec<&str> = Strings::keys()
            .iter()
            .copied()
            .filter(|key| !pack.contains_key(*key))
            .collect();
        assert!(missing.is_empty(), "{locale} lacks {missing:?}");
        let unknown: Vec<&String> = pack
            .keys()
            .filter(|key| !Strings::keys().contains(&key.as_str()))
            .collect();
        assert!(unknown.is_empty(), "{locale} has unknown keys {unknown:?}");
        for (key, value) in &pack {
            let english = Strings::english(key).expect("a known key");
            assert_eq!(
                placeholders(value),
                placeholders(english),
                "{locale}.{key}: {value:?} against {english:?}"
            );
            assert!(!value.trim().is_empty(), "{locale}.{key} is empty");
            assert!(
                !value.contains(['<', '>']),
                "{locale}.{key} holds markup: {value:?}"
            );
        }
        // And the widget takes it as its table.
        serde_json::from_str::<Strings>(&text)
            .unwrap_or_else(|error| panic!("{locale}: the widget refuses it: {error}"));
    }
}
