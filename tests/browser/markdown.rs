//! Replies as Markdown: elements built while the reply streams, plain user messages, and which
//! images a reply may load.

use chat_protocol::{FinishReason, StreamEvent};
use chat_widget::markdown::dom::{build, highlight_code, Policy};
use chat_widget::markdown::render;
use chat_widget::ChatConfig;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;

use crate::support::{content, settle, Fixture};

#[wasm_bindgen_test]
async fn a_markdown_reply_becomes_elements_with_a_working_copy_button() {
    let chat = Fixture::new();
    chat.send("Show me").await;
    let reply = "# Title\n\n- **one**\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n\nSee [docs](https://example.com).";
    // Frame by frame, so finished blocks are kept and the open block patched as the reply grows.
    let mut heading = None;
    let mut sent = 0;
    for piece in reply.as_bytes().chunks(4) {
        chat.transport
            .push(content(std::str::from_utf8(piece).expect("ASCII")));
        sent += piece.len();
        settle().await;
        if heading.is_none() && sent > reply.find("| 1 |").expect("a table") {
            heading = chat.query("[data-role='assistant'] h1");
        }
    }
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::Stop)));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    let markdown = chat
        .query("[data-role='assistant'] .cw-markdown")
        .expect("rendered Markdown");
    let one = |selector: &str| markdown.query_selector(selector).expect("valid selector");
    assert_eq!(
        one("h1").and_then(|h| h.text_content()).as_deref(),
        Some("Title")
    );
    let heading = heading.expect("the heading was on screen while the reply streamed");
    assert!(heading.is_connected(), "a finished block is never rebuilt");
    assert_eq!(
        markdown
            .query_selector_all("ul > li")
            .expect("valid")
            .length(),
        2
    );
    assert_eq!(
        one("li strong").and_then(|s| s.text_content()).as_deref(),
        Some("one")
    );
    assert_eq!(
        markdown
            .query_selector_all("table th")
            .expect("valid")
            .length(),
        2
    );
    assert_eq!(
        one(".cw-code__language")
            .and_then(|l| l.text_content())
            .as_deref(),
        Some("rust")
    );
    assert_eq!(
        one("pre code").and_then(|c| c.text_content()).as_deref(),
        Some("fn main() {}\n")
    );
    let link = one("a").expect("a link");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://example.com")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer nofollow")
    );
    assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));

    let copy: HtmlElement = one("button.cw-code__copy")
        .expect("a copy button")
        .unchecked_into();
    copy.click();
    // The Clipboard API may be refused in a headless browser; either way the button says so.
    for _ in 0..20 {
        if copy.has_attribute("data-copied") {
            break;
        }
        settle().await;
    }
    let state = copy
        .get_attribute("data-copied")
        .expect("the button shows the outcome");
    let label = copy.text_content().unwrap_or_default();
    if state == "true" {
        assert_eq!(label, "Copied");
    } else {
        assert_eq!(label, "Press Ctrl+C to copy");
        let selection = web_sys::window()
            .and_then(|w| w.get_selection().ok().flatten())
            .expect("a selection");
        let selected = String::from(selection.to_string());
        assert_eq!(
            selected.trim_end(),
            "fn main() {}",
            "the code is selected for copying"
        );
    }
}

#[wasm_bindgen_test]
async fn a_reply_patched_frame_by_frame_ends_as_the_dom_built_whole() {
    // Growing text, a growing list and code block, a paragraph that becomes a heading and one
    // that becomes a table, emphasis that closes later. (No link reference definitions: with one,
    // the whole reply is built again at its end, and patching would go untested.)
    let reply = "Intro with *emphasis that closes later* and `code`.\n\n- one\n- two **bold**\n  - nested\n- three\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\nA heading\n---\n\nResults:\n| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 | 4 |\n\nSee [the docs](https://example.com/docs).";
    let chat = Fixture::new();
    chat.send("Show me").await;
    for piece in reply.as_bytes().chunks(3) {
        chat.transport
            .push(content(std::str::from_utf8(piece).expect("ASCII")));
        settle().await;
    }
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::Stop)));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    let shown = chat
        .query("[data-role='assistant'] .cw-markdown")
        .expect("rendered Markdown");
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a document");
    let whole = document.create_element("div").expect("div");
    for node in build(&document, &render(reply), &Policy::default()) {
        whole.append_child(&node).expect("appended");
    }
    // Finished, the code is highlighted, as the view highlights it.
    crate::support::link_rich();
    highlight_code(&whole);
    // Leptos leaves an empty comment in the element as its placeholder child.
    let shown = shown.inner_html().replace("<!---->", "");
    assert_eq!(shown, whole.inner_html());
    assert!(shown.contains("href=\"https://example.com/docs\""));
}

#[wasm_bindgen_test]
async fn while_streaming_an_unclosed_code_fence_shows_as_code() {
    let chat = Fixture::new();
    chat.send("Code please").await;
    chat.transport
        .push(content("Here:\n\n```python\nprint('hi')\n"));
    settle().await;
    let code = chat
        .query("[data-role='assistant'] pre code")
        .expect("code while streaming");
    assert_eq!(code.text_content().as_deref(), Some("print('hi')\n"));
}

#[wasm_bindgen_test]
async fn images_load_only_from_configured_origins() {
    let config =
        ChatConfig::from_json(r#"{"image_origins": ["https://img.example"]}"#).expect("valid");
    let chat = Fixture::with_config(config);
    chat.send("Pictures").await;
    chat.transport.push(content(
        "![a cat](https://img.example/cat.png) and ![a dog](https://other.example/dog.png)",
    ));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    let images = chat.query_all("[data-role='assistant'] img");
    assert_eq!(images.len(), 1);
    assert_eq!(
        images[0].get_attribute("src").as_deref(),
        Some("https://img.example/cat.png")
    );
    assert_eq!(images[0].get_attribute("alt").as_deref(), Some("a cat"));
    assert_eq!(
        images[0].get_attribute("referrerpolicy").as_deref(),
        Some("no-referrer")
    );
    let link = chat
        .query("[data-role='assistant'] a.cw-md-image-link")
        .expect("the other image is a link");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://other.example/dog.png")
    );
    assert!(link.text_content().unwrap_or_default().contains("a dog"));
}

#[wasm_bindgen_test]
async fn user_messages_stay_plain_text_with_their_line_breaks() {
    let chat = Fixture::new();
    chat.send("# not a heading\n**not bold**").await;
    let user = chat
        .query("[data-role='user'] .cw-message__text")
        .expect("the message");
    assert_eq!(
        user.text_content().as_deref(),
        Some("# not a heading\n**not bold**")
    );
    assert_eq!(user.child_element_count(), 0, "no elements, only text");
}

#[wasm_bindgen_test]
async fn images_load_under_a_path_prefix_and_never_with_a_query_string() {
    let config = ChatConfig::from_json(
        r#"{"image_origins": ["https://img.example", "https://cdn.example/pictures/"]}"#,
    )
    .expect("valid");
    let chat = Fixture::with_config(config);
    chat.send("Pictures").await;
    chat.transport.push(content(
        "![leak](https://img.example/p.png?d=SECRET#x) ![ok](https://cdn.example/pictures/cat.png) \
         ![outside](https://cdn.example/private/cat.png) ![sibling](https://cdn.example/pictures-x/cat.png) \
         ![encoded](https://cdn.example/pictures/..%2Fprivate/cat.png) ![who](https://DATA:x@img.example/u.png)",
    ));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    let sources: Vec<_> = chat
        .query_all("[data-role='assistant'] img")
        .iter()
        .filter_map(|image| image.get_attribute("src"))
        .collect();
    assert_eq!(
        sources,
        [
            "https://img.example/p.png",
            "https://cdn.example/pictures/cat.png",
            "https://img.example/u.png"
        ],
        "no query string or user name is sent, and only the listed path is loaded"
    );
    assert_eq!(
        chat.query_all("[data-role='assistant'] a.cw-md-image-link")
            .len(),
        3,
        "the others (an encoded slash among them) are links"
    );
}

#[wasm_bindgen_test]
async fn images_of_a_stored_reply_load_only_when_the_person_asks() {
    let config = ChatConfig::from_json(
        r#"{"id": "stored-images", "image_origins": ["https://img.example"]}"#,
    )
    .expect("valid");
    let chat = Fixture::with_config(config.clone());
    chat.send("A picture").await;
    chat.transport
        .push(content("![a cat](https://img.example/cat.png)"));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    assert_eq!(
        chat.query_all("[data-role='assistant'] img").len(),
        1,
        "shown as it arrives"
    );
    chat.widget.unmount();

    // The next visit: the reply comes back from storage, its image waits for a click.
    let again = Fixture::with_config(config);
    settle().await;
    assert!(again.query_all("[data-role='assistant'] img").is_empty());
    let button = again
        .query("[data-role='assistant'] .cw-md-image-button")
        .expect("a button in the image's place");
    assert_eq!(
        button.text_content().as_deref(),
        Some("🖼 Show image: a cat")
    );
    button.click();
    settle().await;
    let images = again.query_all("[data-role='assistant'] img");
    assert_eq!(images.len(), 1);
    assert_eq!(
        images[0].get_attribute("src").as_deref(),
        Some("https://img.example/cat.png")
    );
    again.widget.unmount();
}
