//! Richer replies: the reasoning shown apart from the answer, and the sources a reply cites.

use chat_protocol::{Message, Source, StreamEvent};
use chat_widget::ChatConfig;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{content, link_rich, local_storage, settle, sleep, Fixture};

fn thinking(chat: &Fixture) -> Option<web_sys::HtmlDetailsElement> {
    chat.query(".cw-thinking")
        .map(|details| details.unchecked_into())
}

fn summary(chat: &Fixture) -> String {
    chat.query(".cw-thinking__summary")
        .and_then(|summary| summary.text_content())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn reasoning_streams_open_then_folds_away_once_the_answer_begins() {
    let chat = Fixture::new();
    chat.send("Why is the sky blue?").await;
    assert!(
        thinking(&chat).is_none(),
        "nothing to show before any reasoning"
    );
    chat.transport
        .push(Ok(StreamEvent::Reasoning("Rayleigh scattering".into())));
    settle().await;
    chat.transport
        .push(Ok(StreamEvent::Reasoning(", mostly.".into())));
    settle().await;
    let details = thinking(&chat).expect("shown");
    assert!(details.open(), "open while it streams");
    assert_eq!(summary(&chat), "Thinking…");
    assert_eq!(
        chat.query(".cw-thinking__text")
            .and_then(|text| text.text_content())
            .as_deref(),
        Some("Rayleigh scattering, mostly.")
    );

    chat.transport
        .push(content("Short wavelengths scatter more."));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    let details = thinking(&chat).expect("still there");
    assert!(!details.open(), "folded once the answer began");
    assert!(
        summary(&chat).starts_with("Thought for "),
        "{}",
        summary(&chat)
    );
    assert_eq!(
        chat.messages()[1].2,
        "Short wavelengths scatter more.",
        "the answer's text is the answer alone"
    );
    // The person may open it again.
    chat.query(".cw-thinking__summary")
        .expect("a summary")
        .click();
    settle().await;
    assert!(thinking(&chat).expect("there").open());

    chat.send("And sunsets?").await;
    assert_eq!(
        chat.transport.requests.borrow()[1].messages,
        [
            Message::user("Why is the sky blue?"),
            Message::assistant("Short wavelengths scatter more."),
            Message::user("And sunsets?"),
        ],
        "the reasoning is never sent back"
    );
}

fn cited(chat: &Fixture) -> Vec<(String, String, String)> {
    chat.query_all("[data-role='assistant'] .cw-cite")
        .iter()
        .map(|link| {
            (
                link.text_content().unwrap_or_default(),
                link.get_attribute("href").unwrap_or_default(),
                link.get_attribute("aria-label").unwrap_or_default(),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
async fn sources_are_listed_under_the_reply_and_its_markers_link_to_them() {
    let config = ChatConfig::from_json(r#"{"id": "cited"}"#).expect("valid");
    let chat = Fixture::with_config(config.clone());
    chat.send("Cite something").await;
    chat.transport.push(content(
        "Fast[1], safe[2] and odd[3]; `code[1]` stays, [9] is no source.",
    ));
    chat.transport.push(Ok(StreamEvent::Sources(vec![
        Source::new("https://www.rust-lang.org/", "Rust").expect("a source"),
        Source::new("https://doc.rust-lang.org/book/", "").expect("a source"),
        Source::new("javascript:alert(1)", "Click me").expect("a source"),
    ])));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    let expected = vec![
        (
            "[1]".to_owned(),
            "https://www.rust-lang.org/".to_owned(),
            "Source 1: Rust".to_owned(),
        ),
        (
            "[2]".to_owned(),
            "https://doc.rust-lang.org/book/".to_owned(),
            "Source 2: doc.rust-lang.org".to_owned(),
        ),
    ];
    assert_eq!(
        cited(&chat),
        expected,
        "a source that is no web link stays text"
    );
    let list = chat.query(".cw-sources__list").expect("a list of sources");
    assert_eq!(list.get_attribute("aria-label").as_deref(), Some("Sources"));
    let items: Vec<_> = chat
        .query_all(".cw-sources__list li")
        .iter()
        .map(|item| {
            let link = item.query_selector("a").ok().flatten();
            (
                item.text_content().unwrap_or_default(),
                link.and_then(|link| link.get_attribute("href")),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                "Rust".to_owned(),
                Some("https://www.rust-lang.org/".to_owned())
            ),
            (
                "doc.rust-lang.org".to_owned(),
                Some("https://doc.rust-lang.org/book/".to_owned())
            ),
            ("javascript:alert(1)".to_owned(), None),
        ]
    );
    assert!(
        chat.query("code .cw-cite").is_none(),
        "a marker in code stays code"
    );
    let numbers: Vec<_> = chat
        .query_all(".cw-sources__list li")
        .iter()
        .map(|item| item.get_attribute("value").unwrap_or_default())
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert!(chat.query("a[href^='javascript']").is_none());

    // Kept with the conversation.
    drop(chat);
    let again = Fixture::with_config(config);
    settle().await;
    settle().await;
    assert_eq!(cited(&again), expected);
    assert_eq!(again.query_all(".cw-sources__list li").len(), 3);
    local_storage()
        .remove_item("chat-widget.conversations.cited")
        .expect("removed");
}

fn spans(chat: &Fixture, selector: &str) -> Vec<(String, String)> {
    chat.query_all(selector)
        .iter()
        .map(|span| (span.class_name(), span.text_content().unwrap_or_default()))
        .collect()
}

#[wasm_bindgen_test]
async fn code_is_highlighted_once_its_block_is_final_and_stays_the_same_text() {
    let chat = Fixture::new();
    chat.send("Code please").await;
    let code = "fn main() {\n    let x = \"hi\"; // greet\n}";
    chat.transport.push(content(&format!("```rust\n{code}\n")));
    settle().await;
    assert!(
        chat.query("code [class^='cw-tok']").is_none(),
        "not while the block may still grow"
    );
    chat.transport.push(content(
        "```\n\n```brainfuck\n++[>+<-]\n```\n\nAnd `inline` code.",
    ));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    assert_eq!(
        spans(&chat, "code[data-language='rust'] span"),
        [
            ("cw-tok-keyword".to_owned(), "fn".to_owned()),
            ("cw-tok-keyword".to_owned(), "let".to_owned()),
            ("cw-tok-string".to_owned(), "\"hi\"".to_owned()),
            ("cw-tok-comment".to_owned(), "// greet".to_owned()),
        ]
    );
    let rust = chat
        .query("code[data-language='rust']")
        .expect("the rust block");
    assert_eq!(
        rust.text_content().as_deref(),
        Some(format!("{code}\n").as_str())
    );
    assert!(
        spans(&chat, "code[data-language='brainfuck'] span").is_empty(),
        "an unknown language stays plain"
    );
    assert!(
        chat.query("p code span").is_none(),
        "inline code stays plain"
    );
}

#[wasm_bindgen_test]
async fn highlighted_markup_stays_text() {
    let chat = Fixture::new();
    chat.send("Markup").await;
    chat.transport.push(content(
        "```html\n<img src=x onerror=\"window.__lit=1\"><script>window.__lit=2</script>\n```",
    ));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    assert!(!spans(&chat, "code[data-language='html'] span").is_empty());
    assert!(chat
        .query(".cw-markdown img, .cw-markdown script")
        .is_none());
    assert!(js_sys::Reflect::get(&js_sys::global(), &"__lit".into())
        .expect("read")
        .is_undefined());
}

#[wasm_bindgen_test]
async fn math_is_mathml_with_its_source_and_prices_stay_text() {
    let chat = Fixture::new();
    chat.send("Math").await;
    let reply = "Inline $x^2$ and \\(\\alpha\\), prices $5 and $10.\n\n$$\\frac{a}{b}$$\n\nBroken: $\\frac{a}$ and $\\nosuch{x}$.";
    chat.transport.push(content(reply));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    let formulas = chat.query_all(".cw-markdown math");
    assert_eq!(formulas.len(), 3, "x^2, alpha and the fraction");
    for formula in &formulas {
        assert_eq!(
            formula.namespace_uri().as_deref(),
            Some("http://www.w3.org/1998/Math/MathML")
        );
    }
    let sources: Vec<_> = formulas
        .iter()
        .map(|formula| {
            formula
                .query_selector("annotation[encoding='application/x-tex']")
                .ok()
                .flatten()
                .and_then(|annotation| annotation.text_content())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(sources, ["x^2", "\\alpha", "\\frac{a}{b}"]);
    assert_eq!(
        formulas[2].get_attribute("display").as_deref(),
        Some("block")
    );
    assert!(formulas[0].query_selector("msup").ok().flatten().is_some());
    let text = chat.messages()[1].2.clone();
    assert!(text.contains("prices $5 and $10."), "{text}");
    let shown_as_code: Vec<_> = chat
        .query_all(".cw-math-source")
        .iter()
        .filter_map(|code| code.text_content())
        .collect();
    assert_eq!(shown_as_code, ["$\\frac{a}$", "$\\nosuch{x}$"]);
}

#[wasm_bindgen_test]
async fn what_was_built_before_the_module_arrived_is_upgraded_when_it_does() {
    let chat = Fixture::new();
    // As on a page where the module is still on its way.
    chat_widget::rich::hold();
    chat.send("Math and code").await;
    // The paragraph's first two lines are whole, so the code block before it is finished.
    let first = "```rust\nfn main() {}\n```\n\nInline $x^2$ and\nthen\n";
    chat.transport.push(content(first));
    settle().await;
    let pending = chat
        .query(".cw-math-source[data-tex]")
        .expect("the formula waits as its source");
    assert_eq!(pending.text_content().as_deref(), Some("$x^2$"));
    assert!(chat.query(".cw-markdown math").is_none());
    assert!(
        chat.query("code [class^='cw-tok']").is_none(),
        "plain for now"
    );

    link_rich();
    settle().await;
    assert_eq!(chat.query_all(".cw-markdown math").len(), 1, "upgraded");
    assert!(chat.query("[data-tex]").is_none());
    assert!(
        chat.query("code[data-language='rust'] .cw-tok-keyword")
            .is_some(),
        "the finished block is highlighted"
    );

    // The open paragraph goes on growing around its formula.
    let rest = "$$\\frac{a}{b}$$ too.";
    chat.transport.push(content(rest));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    let shown = chat
        .query("[data-role='assistant'] .cw-markdown")
        .expect("rendered");
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a document");
    let whole = document.create_element("div").expect("div");
    let text = format!("{first}{rest}");
    let nodes = chat_widget::markdown::render(&text);
    for node in chat_widget::markdown::dom::build(&document, &nodes, &Default::default()) {
        whole.append_child(&node).expect("appended");
    }
    chat_widget::markdown::dom::highlight_code(&whole);
    assert_eq!(
        shown.inner_html().replace("<!---->", ""),
        whole.inner_html(),
        "the same as a reply rendered with the module from the start"
    );
    assert_eq!(chat.query_all(".cw-markdown math").len(), 2);
}

#[wasm_bindgen_test]
async fn a_code_block_still_growing_when_the_module_arrives_is_highlighted_when_it_ends() {
    let chat = Fixture::new();
    chat_widget::rich::hold();
    chat.send("Code").await;
    chat.transport
        .push(content("Intro $x$.\n\n```rust\nfn a() {\n    let b"));
    settle().await;
    link_rich();
    settle().await;
    assert!(
        chat.query(".cw-markdown math").is_some(),
        "the formula is rendered"
    );
    assert!(
        chat.query("code [class^='cw-tok']").is_none(),
        "not while the block still grows"
    );
    chat.transport.push(content(" = 1;\n}\n```\n\nDone."));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    let code = chat.query("code[data-language='rust']").expect("the block");
    assert_eq!(
        code.text_content().as_deref(),
        Some("fn a() {\n    let b = 1;\n}\n"),
        "the code grew in order"
    );
    assert_eq!(
        spans(&chat, "code[data-language='rust'] span"),
        [
            ("cw-tok-keyword".to_owned(), "fn".to_owned()),
            ("cw-tok-keyword".to_owned(), "let".to_owned()),
            ("cw-tok-number".to_owned(), "1".to_owned()),
        ]
    );
}

/// A module that answers tokens that split a character.
struct Splitting;

impl chat_widget::rich::RichModule for Splitting {
    fn highlight(&self, _: &str, _: &str) -> Vec<u8> {
        // One keyword from byte 1 to byte 2: inside the two bytes of "é".
        [1u32.to_le_bytes(), 2u32.to_le_bytes()]
            .concat()
            .into_iter()
            .chain([0])
            .collect()
    }

    fn mathml(&self, _: &str, _: bool) -> Vec<u8> {
        Vec::new()
    }
}

#[wasm_bindgen_test]
async fn a_module_whose_tokens_split_a_character_leaves_the_code_plain_and_whole() {
    let chat = Fixture::new();
    chat_widget::rich::provide(std::rc::Rc::new(Splitting));
    chat.send("Accents").await;
    chat.transport.push(content("```rust\né\n```"));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    let code = chat.query("code[data-language='rust']").expect("the block");
    assert_eq!(code.text_content().as_deref(), Some("é\n"));
    assert!(chat.query("code span").is_none());
    link_rich();
}

#[wasm_bindgen_test]
async fn without_the_module_code_stays_plain_and_formulas_show_their_source() {
    let chat = Fixture::new();
    // The next reply that needs the module fetches it; the test server has none to give.
    chat_widget::rich::forget();
    chat.send("Math").await;
    let reply = "```rust\nfn main() {}\n```\n\nSee $x^2$.";
    chat.transport.push(content(reply));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    // The test server has no module: the attempt fails (`rich.rs` says so in the console).
    sleep(300).await;
    settle().await;
    assert_eq!(
        chat.query(".cw-math-source")
            .and_then(|code| code.text_content())
            .as_deref(),
        Some("$x^2$")
    );
    assert!(chat.query(".cw-markdown math, code span").is_none());
    assert_eq!(chat.alert(), None, "nothing for the person to worry about");
    assert!(
        chat.messages()[1].2.ends_with("fn main() {}\nSee $x^2$."),
        "the reply is whole"
    );

    // A module that comes later still upgrades it.
    link_rich();
    settle().await;
    assert_eq!(chat.query_all(".cw-markdown math").len(), 1);
    assert!(chat.query("code .cw-tok-keyword").is_some());
}

#[wasm_bindgen_test]
async fn a_numbered_source_that_was_no_address_keeps_the_others_numbers() {
    let chat = Fixture::new();
    chat.send("Cite").await;
    chat.transport.push(content("A[1], B[2] and C[3]."));
    chat.transport.push(Ok(StreamEvent::Sources(vec![
        Source::new("https://a.example/", "A").expect("a source"),
        Source::default(),
        Source::new("https://c.example/", "C").expect("a source"),
    ])));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    let linked: Vec<_> = cited(&chat)
        .into_iter()
        .map(|(marker, href, _)| (marker, href))
        .collect();
    assert_eq!(
        linked,
        [
            ("[1]".to_owned(), "https://a.example/".to_owned()),
            ("[3]".to_owned(), "https://c.example/".to_owned())
        ]
    );
    let items: Vec<_> = chat
        .query_all(".cw-sources__list li")
        .iter()
        .map(|item| {
            (
                item.get_attribute("value").unwrap_or_default(),
                item.text_content().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("1".to_owned(), "A".to_owned()),
            ("3".to_owned(), "C".to_owned())
        ]
    );
}
