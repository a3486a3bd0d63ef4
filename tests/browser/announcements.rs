//! What the live region says, and when.

use chat_protocol::{FinishReason, StreamEvent};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{answer, content, settle, Fixture};

#[wasm_bindgen_test]
async fn a_finished_reply_is_announced_once_not_while_it_streams() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(content("Part one, "));
    settle().await;
    let region = chat
        .query(".cw-chat > [aria-live='polite']")
        .expect("a live region");
    assert_eq!(
        region.text_content().as_deref(),
        Some(""),
        "nothing while streaming"
    );
    let log = chat.query("[role='log']").expect("the log");
    assert_eq!(log.get_attribute("aria-live").as_deref(), Some("off"));
    chat.transport.push(content("part two."));
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::Stop)));
    chat.transport.close();
    // The reply ends; the region speaks on the frame after.
    settle().await;
    settle().await;
    assert_eq!(
        region.text_content().as_deref(),
        Some("The assistant replied: Part one, part two.")
    );
}

#[wasm_bindgen_test]
async fn the_live_region_reads_a_markdown_reply_as_lines_without_the_code_chrome() {
    let chat = Fixture::new();
    chat.send("Show me").await;
    answer(
        &chat,
        "# Title\n\nFirst para.\n\n- one\n- two\n\n```rust\nfn x() {}\n```\n",
    );
    settle().await;
    settle().await;
    let said = chat
        .query(".cw-chat > [aria-live='polite']")
        .and_then(|region| region.text_content())
        .unwrap_or_default();
    assert_eq!(
        said,
        "The assistant replied: Title\nFirst para.\none\ntwo\nfn x() {}"
    );
}
