//! Voice: dictation into the composer and replies read aloud, against a scripted recognizer and a
//! scripted speech synthesis in place of the browser's (which would need a microphone and a
//! speech service).

use chat_widget::ChatConfig;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{EventTarget, KeyboardEvent, KeyboardEventInit};

use crate::support::{answer, settle, Fixture};

/// Puts the browser's own speech objects in place of the scripted ones when dropped, also when a
/// test fails.
struct Scripted;

impl Scripted {
    /// Speech recognition and synthesis that record what the widget asks of them.
    /// `window.__hear([[text, final], ...])` delivers results to the last recognizer;
    /// `window.__said` holds each utterance spoken; `window.__finish()` ends them;
    /// `window.__mute = true` makes it a browser without a voice, which says nothing and tells
    /// nothing; `window.__refuse = true`, one that refuses at once.
    fn install() -> Self {
        js_sys::eval(
            r#"
            window.__real = {
              recognition: window.SpeechRecognition,
              webkit: window.webkitSpeechRecognition,
              synthesis: Object.getOwnPropertyDescriptor(window, "speechSynthesis"),
            };
            window.__recognizers = [];
            window.__deny = false;
            window.SpeechRecognition = class {
              constructor() { this.calls = []; window.__recognizers.push(this); }
              start() {
                this.calls.push("start");
                if (window.__deny) setTimeout(() => { this.onerror?.({ error: "not-allowed" }); this.onend?.(); });
              }
              stop() { this.calls.push("stop"); setTimeout(() => this.onend?.()); }
              abort() { this.calls.push("abort"); }
            };
            window.__recognizer = () => window.__recognizers.at(-1);
            window.__hear = (results) => window.__recognizer().onresult?.({
              resultIndex: 0,
              results: results.map(([transcript, isFinal]) => Object.assign([{ transcript }], { isFinal })),
            });
            window.__said = [];
            window.__mute = false;
            window.__refuse = false;
            const synthesis = {
              get speaking() { return !window.__mute && window.__said.some((said) => !said.over); },
              pending: false,
              speak(utterance) {
                window.__said.push({ utterance, text: utterance.text, lang: utterance.lang });
                // Chrome refuses to speak without the person's gesture, from within speak().
                if (window.__refuse) { window.__said.at(-1).over = true; utterance.onerror?.({ error: "not-allowed" }); }
              },
              cancel() {
                for (const said of window.__said.filter((said) => !said.over)) {
                  said.over = true;
                  said.utterance.onerror?.({ error: "canceled" });
                }
              },
            };
            Object.defineProperty(window, "speechSynthesis", { value: synthesis, configurable: true });
            window.__fail = () => {
              const said = window.__said.find((said) => !said.over);
              said.over = true;
              said.utterance.onerror?.({ error: "synthesis-failed" });
            };
            window.__finish = () => {
              for (const said of window.__said.filter((said) => !said.over)) {
                said.over = true;
                said.utterance.onend?.({});
              }
            };
            "#,
        )
        .expect("installed");
        Scripted
    }

    /// What each call to the last recognizer was, and its language.
    fn recognizer() -> (Vec<String>, String) {
        let calls = js_sys::eval("window.__recognizer().calls.join(' ')")
            .ok()
            .and_then(|calls| calls.as_string())
            .unwrap_or_default();
        let lang = js_sys::eval("window.__recognizer().lang ?? ''")
            .ok()
            .and_then(|lang| lang.as_string())
            .unwrap_or_default();
        (calls.split_whitespace().map(str::to_owned).collect(), lang)
    }

    fn hear(results: &str) {
        js_sys::eval(&format!("window.__hear({results})")).expect("heard");
    }

    /// The text and language of each utterance spoken.
    fn said() -> Vec<(String, String)> {
        let said =
            js_sys::eval("JSON.stringify(window.__said.map((said) => [said.text, said.lang]))")
                .expect("said")
                .as_string()
                .expect("a string");
        serde_json::from_str(&said).expect("pairs")
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = js_sys::eval(
            r#"
            for (const [name, value] of [["SpeechRecognition", window.__real.recognition], ["webkitSpeechRecognition", window.__real.webkit]]) {
              if (value === undefined) delete window[name]; else window[name] = value;
            }
            if (window.__real.synthesis) Object.defineProperty(window, "speechSynthesis", window.__real.synthesis);
            else delete window.speechSynthesis;
            "#,
        );
    }
}

fn voiced(extra: &str) -> Fixture {
    let json = format!(r#"{{"voice": true, "locale": "en-GB"{extra}}}"#);
    Fixture::with_config(ChatConfig::from_json(&json).expect("valid"))
}

fn escape(target: &EventTarget) {
    let init = KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event");
    target.dispatch_event(&event).expect("dispatched");
}

fn pressed(chat: &Fixture, name: &str) -> Option<String> {
    chat.button(name)
        .and_then(|button| button.get_attribute("aria-pressed"))
}

fn listening_status(chat: &Fixture) -> String {
    chat.query(".cw-composer__listening[role='status']")
        .and_then(|status| status.text_content())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn dictation_fills_the_composer_after_what_was_typed_and_never_sends() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    settle().await;
    chat.type_text("Please");
    chat.click("Dictate");
    settle().await;
    assert_eq!(pressed(&chat, "Dictate").as_deref(), Some("true"));
    assert_eq!(listening_status(&chat), "Listening… Esc stops.");
    let (calls, lang) = Scripted::recognizer();
    assert_eq!((calls, lang.as_str()), (vec!["start".to_owned()], "en-GB"));

    Scripted::hear(r#"[["find my", false]]"#);
    settle().await;
    assert_eq!(
        chat.textarea().value(),
        "Please find my",
        "words that may change show"
    );
    Scripted::hear(r#"[["find my order", true], [" today", false]]"#);
    settle().await;
    assert_eq!(chat.textarea().value(), "Please find my order today");
    assert!(
        chat.transport.requests.borrow().is_empty(),
        "nothing is sent"
    );

    // Esc stops listening, and the words stay.
    escape(&chat.textarea());
    super::support::sleep(20).await;
    assert_eq!(Scripted::recognizer().0, ["start", "stop"]);
    assert_eq!(pressed(&chat, "Dictate").as_deref(), Some("false"));
    assert_eq!(listening_status(&chat), "");
    assert_eq!(chat.textarea().value(), "Please find my order today");
    chat.press_enter(false, false);
    settle().await;
    assert_eq!(
        chat.transport.requests.borrow()[0].messages,
        [chat_protocol::Message::user("Please find my order today")]
    );
}

#[wasm_bindgen_test]
async fn typing_or_sending_ends_dictation_and_keeps_what_the_box_shows() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    settle().await;
    chat.click("Dictate");
    settle().await;
    Scripted::hear(r#"[["hello there", false]]"#);
    settle().await;
    chat.type_text("hello there, friend");
    settle().await;
    assert_eq!(Scripted::recognizer().0, ["start", "abort"]);
    assert_eq!(pressed(&chat, "Dictate").as_deref(), Some("false"));
    // Whatever the recognizer still says is not heard.
    Scripted::hear(r#"[["hello there", true]]"#);
    settle().await;
    assert_eq!(chat.textarea().value(), "hello there, friend");

    chat.click("Dictate");
    settle().await;
    Scripted::hear(r#"[["and more", false]]"#);
    settle().await;
    chat.press_enter(false, false);
    settle().await;
    assert_eq!(Scripted::recognizer().0, ["start", "abort"]);
    assert_eq!(
        chat.transport.requests.borrow()[0].messages,
        [chat_protocol::Message::user("hello there, friend and more")]
    );
    assert_eq!(chat.textarea().value(), "");
    Scripted::hear(r#"[["and more", true]]"#);
    settle().await;
    assert_eq!(
        chat.textarea().value(),
        "",
        "a late result does not come back"
    );
}

#[wasm_bindgen_test]
async fn esc_while_listening_stops_only_the_dictation() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    settle().await;
    let heard = js_sys::Array::new();
    let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new({
        let heard = heard.clone();
        move |event: web_sys::Event| {
            heard.push(&JsValue::from(event.type_()));
        }
    });
    chat.root
        .add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref())
        .expect("listening");
    chat.click("Dictate");
    settle().await;
    escape(&chat.textarea());
    assert_eq!(
        heard.length(),
        0,
        "the page (and a launcher's panel) does not see that Esc"
    );
    super::support::sleep(20).await;
    escape(&chat.textarea());
    assert_eq!(
        heard.length(),
        1,
        "once dictation is over, Esc goes on as before"
    );
}

#[wasm_bindgen_test]
async fn a_blocked_microphone_is_said_and_nothing_is_lost() {
    let _scripted = Scripted::install();
    js_sys::eval("window.__deny = true").expect("set");
    let chat = voiced("");
    settle().await;
    chat.type_text("Typed first");
    chat.click("Dictate");
    super::support::sleep(20).await;
    assert_eq!(pressed(&chat, "Dictate").as_deref(), Some("false"));
    assert_eq!(
        chat.alert().as_deref(),
        Some("Dictation needs the microphone: allow it for this site in the browser's settings.")
    );
    assert_eq!(chat.textarea().value(), "Typed first");
}

#[wasm_bindgen_test]
async fn voice_is_offered_only_when_asked_for_and_where_the_browser_has_it() {
    let _scripted = Scripted::install();
    let quiet = Fixture::new();
    quiet.send("Hi").await;
    answer(&quiet, "A reply.");
    settle().await;
    assert!(quiet.button("Dictate").is_none(), "voice is off by default");
    assert!(quiet.button("Read aloud").is_none());
    drop(quiet);

    js_sys::eval(
        "delete window.SpeechRecognition; delete window.webkitSpeechRecognition; \
         delete window.speechSynthesis;",
    )
    .expect("removed");
    let chat = voiced("");
    chat.send("Hi").await;
    answer(&chat, "A reply.");
    settle().await;
    assert!(
        chat.button("Dictate").is_none(),
        "no recognition, no microphone"
    );
    assert!(
        chat.button("Read aloud").is_none(),
        "no synthesis, no reading"
    );
    assert!(chat.button("Copy").is_some());
}

#[wasm_bindgen_test]
async fn a_reply_is_read_aloud_as_plain_text_and_pressing_again_stops() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    chat.send("When are you open?").await;
    answer(&chat, "# Opening hours\n\nWe are open **9 to 5**, see [the page](https://example.com).\n\n```sh\nopen --now\n```");
    settle().await;
    assert!(
        chat.query("[data-role='user'] [aria-label='Read aloud']")
            .is_none(),
        "only replies are read"
    );
    chat.click("Read aloud");
    settle().await;
    assert_eq!(
        Scripted::said(),
        [(
            "Opening hours\nWe are open 9 to 5, see the page.\ncode.".to_owned(),
            "en-GB".to_owned()
        )]
    );
    assert_eq!(pressed(&chat, "Read aloud").as_deref(), Some("true"));
    assert_eq!(
        chat.button("Read aloud")
            .map(|button| button.title())
            .as_deref(),
        Some("Stop reading")
    );
    chat.click("Read aloud");
    settle().await;
    assert_eq!(pressed(&chat, "Read aloud").as_deref(), Some("false"));
    assert_eq!(
        js_sys::eval("window.__said[0].over")
            .expect("read")
            .as_bool(),
        Some(true),
        "Stop cancels the speech"
    );

    chat.click("Read aloud");
    settle().await;
    assert_eq!(pressed(&chat, "Read aloud").as_deref(), Some("true"));
    js_sys::eval("window.__finish()").expect("finished");
    settle().await;
    assert_eq!(
        pressed(&chat, "Read aloud").as_deref(),
        Some("false"),
        "done at the end"
    );
}

#[wasm_bindgen_test]
async fn reading_one_reply_stops_another_and_a_long_one_is_read_in_pieces() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    chat.send("One").await;
    answer(&chat, "Short.");
    settle().await;
    let long = "This sentence is about forty characters. ".repeat(20);
    chat.send("Two").await;
    answer(&chat, &long);
    settle().await;
    let buttons = chat.query_all("[aria-label='Read aloud']");
    assert_eq!(buttons.len(), 2);
    buttons[0].click();
    settle().await;
    buttons[1].click();
    settle().await;
    let pressed: Vec<_> = chat
        .query_all("[aria-label='Read aloud']")
        .iter()
        .map(|button| button.get_attribute("aria-pressed").unwrap_or_default())
        .collect();
    assert_eq!(pressed, ["false", "true"]);
    let said = Scripted::said();
    assert_eq!(said[0].0, "Short.");
    let pieces = &said[1..];
    assert!(pieces.len() > 3, "{} pieces", pieces.len());
    assert!(pieces
        .iter()
        .all(|(piece, _)| piece.len() <= 200 && piece.ends_with('.')));
    assert_eq!(
        pieces
            .iter()
            .map(|(piece, _)| piece.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        long.trim()
    );
}

#[wasm_bindgen_test]
async fn reading_aloud_ends_where_the_browser_refuses_or_has_no_voice() {
    let _scripted = Scripted::install();
    js_sys::eval("window.__refuse = true").expect("set");
    let chat = voiced("");
    chat.send("Hi").await;
    answer(&chat, "Hello.");
    settle().await;
    chat.click("Read aloud");
    settle().await;
    assert_eq!(
        pressed(&chat, "Read aloud").as_deref(),
        Some("false"),
        "refused at once"
    );

    js_sys::eval("window.__refuse = false; window.__mute = true").expect("set");
    chat.click("Read aloud");
    settle().await;
    assert_eq!(pressed(&chat, "Read aloud").as_deref(), Some("true"));
    super::support::wait_until(3000, || {
        pressed(&chat, "Read aloud").as_deref() == Some("false")
    })
    .await;
    assert_eq!(
        pressed(&chat, "Read aloud").as_deref(),
        Some("false"),
        "no event ever comes: the button does not stay pressed"
    );
}

#[wasm_bindgen_test]
async fn a_piece_that_fails_stops_the_rest_of_the_reading() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    chat.send("Long").await;
    answer(&chat, &"A sentence of a long reply. ".repeat(30));
    settle().await;
    chat.click("Read aloud");
    settle().await;
    assert!(Scripted::said().len() > 2);
    js_sys::eval("window.__fail()").expect("failed");
    settle().await;
    assert_eq!(pressed(&chat, "Read aloud").as_deref(), Some("false"));
    assert_eq!(
        js_sys::eval("window.__said.every((said) => said.over)")
            .expect("read")
            .as_bool(),
        Some(true),
        "the pieces after it are cancelled, not left speaking"
    );
}

#[wasm_bindgen_test]
async fn enter_while_a_reply_arrives_keeps_dictation_going() {
    let _scripted = Scripted::install();
    let chat = voiced("");
    chat.send("First").await;
    chat.click("Dictate");
    settle().await;
    Scripted::hear(r#"[["next question", false]]"#);
    settle().await;
    chat.press_enter(false, false);
    settle().await;
    assert_eq!(Scripted::recognizer().0, ["start"], "still listening");
    assert_eq!(chat.textarea().value(), "next question");
    assert_eq!(
        chat.transport.request_count(),
        1,
        "nothing sent while the reply arrives"
    );
}
