//! Several conversations per widget, and their export.

#![cfg(not(target_arch = "wasm32"))]

use chat_widget_core::conversation::SavedMessage;
use chat_widget_core::library::{to_json, to_markdown, Library};

fn said(role: &str, text: &str) -> SavedMessage {
    SavedMessage {
        role: role.into(),
        text: text.into(),
        status: "done".into(),
        ..SavedMessage::default()
    }
}

#[test]
fn new_switch_rename_and_delete() {
    let mut library = Library::default();
    library.store_current(vec![
        said(
            "user",
            "How do otters sleep? Tell me everything you know about it",
        ),
        said("assistant", "Holding hands."),
    ]);
    assert_eq!(
        library.titles("New conversation"),
        ["How do otters sleep? Tell me everything…"]
    );
    library.start_new();
    library.start_new();
    assert_eq!(
        library.threads.len(),
        2,
        "an empty conversation in view is reused"
    );
    assert_eq!((library.active, library.current().messages.len()), (1, 0));
    library.store_current(vec![said("user", "Second")]);
    library.switch(0);
    assert_eq!(library.current().messages[1].text, "Holding hands.");
    library.rename(1, "  Renamed  ");
    library.rename(1, " ");
    assert_eq!(
        library.titles("New conversation"),
        ["How do otters sleep? Tell me everything…", "Renamed"]
    );
    library.delete(0);
    assert_eq!(
        (library.active, library.titles("New conversation")),
        (0, vec!["Renamed".to_owned()])
    );
    library.delete(0);
    assert_eq!(
        library,
        Library::default(),
        "the last one is emptied, never gone"
    );
}

#[test]
fn export_as_markdown_and_json() {
    let mut library = Library::default();
    library.store_current(vec![
        said("user", "Hi"),
        said("assistant", "**Hello** there"),
    ]);
    let thread = library.current();
    assert_eq!(
        to_markdown(thread),
        "# Hi\n\n## You\n\nHi\n\n## Assistant\n\n**Hello** there\n"
    );
    let json: serde_json::Value = serde_json::from_str(&to_json(thread)).expect("JSON");
    assert_eq!(json["title"], "Hi");
    assert_eq!(json["messages"][1]["text"], "**Hello** there");
}
