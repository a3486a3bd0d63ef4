//! Voice, where the browser offers it and the config asks for it (`voice`): dictation into the
//! composer by the browser's speech recognition, and replies read aloud by its speech synthesis.
//!
//! Dictation fills the composer with what is heard, words that may still change included, after
//! what was typed before; it never sends. Typing, sending or Esc ends it, and nothing typed or heard
//! is lost. Reading aloud speaks a reply's plain text (its Markdown rendered, not its syntax) in
//! pieces, since Chrome stops a long utterance after about fifteen seconds.
//!
//! Chrome's recognition sends the audio to its speech service (the README says so); synthesis
//! stays in the browser or the system.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::leptos_dom::helpers::IntervalHandle;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    SpeechRecognition, SpeechRecognitionError, SpeechRecognitionErrorCode, SpeechRecognitionEvent,
    SpeechSynthesisErrorCode, SpeechSynthesisErrorEvent, SpeechSynthesisUtterance,
};

use crate::markdown::{render, Node};
use chat_widget_core::conversation::MessageId;

/// Why dictation stopped before it was asked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The person or the browser did not allow the microphone.
    Blocked,
    /// No microphone, no speech service, or not in this language.
    Unavailable,
}

/// One chat box's voice: whether it is listening, and which reply it is reading.
#[derive(Clone, Copy)]
pub struct Voice {
    /// The language to hear and speak in: the config's `locale`, else the page's `lang`; empty
    /// leaves it to the browser.
    language: StoredValue<String>,
    dictation: StoredValue<Option<Dictation>, LocalStorage>,
    listening: RwSignal<bool>,
    speech: StoredValue<Option<Speech>, LocalStorage>,
    reading: RwSignal<Option<MessageId>>,
    /// What this browser offers, asked once.
    can_dictate: bool,
    can_read_aloud: bool,
}

impl Voice {
    /// The voice of a chat box in `language` (a BCP 47 tag, or empty).
    pub fn new(language: String) -> Self {
        Voice {
            language: StoredValue::new(language),
            dictation: StoredValue::new_local(None),
            listening: RwSignal::new(false),
            speech: StoredValue::new_local(None),
            reading: RwSignal::new(None),
            can_dictate: recognizer().is_some(),
            can_read_aloud: synthesis().is_some(),
        }
    }

    /// Whether this browser can take dictation.
    pub fn can_dictate(&self) -> bool {
        self.can_dictate
    }

    /// Whether this browser can read aloud.
    pub fn can_read_aloud(&self) -> bool {
        self.can_read_aloud
    }

    /// Whether dictation is on.
    pub fn listening(&self) -> ReadSignal<bool> {
        self.listening.read_only()
    }

    /// Starts dictation into `draft`, after what it holds; `failed` hears why dictation stopped,
    /// when it stopped by itself for a reason the person should know.
    pub fn dictate(&self, draft: RwSignal<String>, failed: impl Fn(Failure) + 'static) {
        self.abandon();
        let typed = draft.get_untracked();
        let listening = self.listening;
        let failed = Rc::new(failed);
        // On first: a browser may end it at once, from within `start`.
        self.listening.set(true);
        let dictation = Dictation::start(
            &self.language.get_value(),
            move |heard| draft.set(after(&typed, &heard)),
            {
                let failed = failed.clone();
                move |failure| {
                    listening.set(false);
                    if let Some(failure) = failure {
                        failed(failure);
                    }
                }
            },
        );
        match dictation {
            Some(dictation) => self.dictation.set_value(Some(dictation)),
            None => {
                self.listening.set(false);
                failed(Failure::Unavailable);
            }
        }
    }

    /// Stops listening once what was said is final; the composer keeps it.
    pub fn stop_listening(&self) {
        self.dictation.with_value(|dictation| {
            if let Some(dictation) = dictation {
                dictation.recognition.stop();
            }
        });
    }

    /// Stops listening at once: the composer keeps what it shows, and nothing heard later comes.
    pub fn abandon(&self) {
        if let Some(Some(dictation)) = self.dictation.try_update_value(Option::take) {
            drop(dictation);
            self.listening.set(false);
        }
    }

    /// Which reply is being read aloud, if any.
    pub fn reading(&self) -> ReadSignal<Option<MessageId>> {
        self.reading.read_only()
    }

    /// Reads the reply `id` aloud (its `markdown` as plain text, each code block said as `code`),
    /// in place of anything being read.
    pub fn read(&self, id: MessageId, markdown: &str, code: &str) {
        self.stop_reading();
        let reading = self.reading;
        let done = move || {
            if reading.try_get_untracked() == Some(Some(id)) {
                reading.set(None);
            }
        };
        let text = spoken(&render(markdown), code);
        // Pressed first: a browser that refuses tells so at once, from within `speak`.
        self.reading.set(Some(id));
        match Speech::start(&text, &self.language.get_value(), done) {
            Some(speech) => self.speech.set_value(Some(speech)),
            None => self.reading.set(None),
        }
    }

    /// Stops reading aloud.
    pub fn stop_reading(&self) {
        if let Some(Some(speech)) = self.speech.try_update_value(Option::take) {
            drop(speech);
        }
        if self.reading.try_get_untracked().flatten().is_some() {
            self.reading.set(None);
        }
    }
}

/// The browser's speech recognition: the standard constructor, else the prefixed one (Chrome's,
/// Safari's).
fn recognizer() -> Option<js_sys::Function> {
    let window = web_sys::window()?;
    ["SpeechRecognition", "webkitSpeechRecognition"]
        .into_iter()
        .find_map(|name| {
            js_sys::Reflect::get(&window, &name.into())
                .ok()?
                .dyn_into()
                .ok()
        })
}

/// The browser's speech synthesis, if it has one.
fn synthesis() -> Option<web_sys::SpeechSynthesis> {
    let window = web_sys::window()?;
    let present = js_sys::Reflect::has(&window, &"speechSynthesis".into()).unwrap_or(false);
    present.then(|| window.speech_synthesis().ok()).flatten()
}

/// Recognition under way, with its handlers. Dropping it aborts it.
struct Dictation {
    recognition: SpeechRecognition,
    _on_result: Closure<dyn Fn(SpeechRecognitionEvent)>,
    _on_error: Closure<dyn Fn(SpeechRecognitionError)>,
    _on_end: Closure<dyn Fn()>,
}

impl Dictation {
    /// Starts listening in `language`: `heard` gets all that was heard so far each time it
    /// changes, and `ended` gets why it stopped, if not because it was asked to or heard silence.
    fn start(
        language: &str,
        heard: impl Fn(String) + 'static,
        ended: impl Fn(Option<Failure>) + 'static,
    ) -> Option<Self> {
        let recognition: SpeechRecognition =
            js_sys::Reflect::construct(&recognizer()?, &js_sys::Array::new())
                .ok()?
                .unchecked_into();
        recognition.set_continuous(true).ok()?;
        recognition.set_interim_results(true);
        if !language.is_empty() {
            recognition.set_lang(language);
        }
        let on_result = Closure::<dyn Fn(_)>::new(move |event: SpeechRecognitionEvent| {
            heard(transcript(&event));
        });
        let failure = Rc::new(Cell::new(None));
        let on_error = Closure::<dyn Fn(_)>::new({
            let failure = failure.clone();
            move |event: SpeechRecognitionError| failure.set(failure_of(event.error()))
        });
        let on_end = Closure::<dyn Fn()>::new(move || ended(failure.take()));
        recognition.set_onresult(Some(on_result.as_ref().unchecked_ref()));
        recognition.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        recognition.set_onend(Some(on_end.as_ref().unchecked_ref()));
        let dictation = Dictation {
            recognition,
            _on_result: on_result,
            _on_error: on_error,
            _on_end: on_end,
        };
        // A refusal to start drops it, handlers and all.
        dictation.recognition.start().ok()?;
        Some(dictation)
    }
}

impl Drop for Dictation {
    fn drop(&mut self) {
        self.recognition.set_onresult(None);
        self.recognition.set_onerror(None);
        self.recognition.set_onend(None);
        self.recognition.abort();
    }
}

/// Everything heard in a session: its final results, then those that may still change.
fn transcript(event: &SpeechRecognitionEvent) -> String {
    let Some(results) = event.results() else {
        return String::new();
    };
    (0..results.length())
        .filter_map(|index| results.get(index)?.get(0))
        .map(|best| best.transcript())
        .collect()
}

fn failure_of(code: SpeechRecognitionErrorCode) -> Option<Failure> {
    match code {
        SpeechRecognitionErrorCode::NotAllowed | SpeechRecognitionErrorCode::ServiceNotAllowed => {
            Some(Failure::Blocked)
        }
        SpeechRecognitionErrorCode::AudioCapture
        | SpeechRecognitionErrorCode::Network
        | SpeechRecognitionErrorCode::LanguageNotSupported => Some(Failure::Unavailable),
        // Silence, or stopped on purpose.
        _ => None,
    }
}

/// The composer's text: what was typed, then what was heard, a space between them.
pub fn after(typed: &str, heard: &str) -> String {
    let heard = heard.trim_start();
    let gap = !typed.is_empty() && !heard.is_empty() && !typed.ends_with(char::is_whitespace);
    format!("{typed}{}{heard}", if gap { " " } else { "" })
}

/// A reply being read aloud, piece by piece. Dropping it before the end stops it.
struct Speech {
    utterances: Vec<SpeechSynthesisUtterance>,
    over: Rc<Cell<bool>>,
    watch: Rc<Cell<Option<IntervalHandle>>>,
    _on_end: Closure<dyn Fn()>,
    _on_error: Closure<dyn Fn(SpeechSynthesisErrorEvent)>,
}

/// How often reading aloud checks that the browser is still speaking: where it has no voice (a
/// headless browser, a system without speech) an utterance neither starts nor ends nor fails.
const WATCH: Duration = Duration::from_secs(1);

impl Speech {
    /// Speaks `text` in `language`, after cancelling whatever the page's synthesis was saying;
    /// `done` is called once, when the last piece ends, reading fails or is cancelled, or the
    /// browser is found saying nothing.
    fn start(text: &str, language: &str, done: impl Fn() + 'static) -> Option<Self> {
        let synthesis = synthesis()?;
        synthesis.cancel();
        let over = Rc::new(Cell::new(false));
        let watch = Rc::new(Cell::new(None::<IntervalHandle>));
        let finish = Rc::new({
            let (over, watch) = (over.clone(), watch.clone());
            move || {
                if let Some(watch) = watch.take() {
                    watch.clear();
                }
                if !over.replace(true) {
                    done();
                }
            }
        });
        // `Fn`, not `FnMut`: cancelling from a handler may call the handlers again at once.
        let on_end = Closure::<dyn Fn()>::new({
            let finish = finish.clone();
            move || finish()
        });
        let on_error = Closure::<dyn Fn(_)>::new({
            let (finish, synthesis) = (finish.clone(), synthesis.clone());
            move |event: SpeechSynthesisErrorEvent| {
                // A piece that failed by itself: the pieces after it would go on speaking with
                // no Stop to press.
                let stopped = matches!(
                    event.error(),
                    SpeechSynthesisErrorCode::Interrupted | SpeechSynthesisErrorCode::Canceled
                );
                if !stopped {
                    synthesis.cancel();
                }
                finish();
            }
        });
        let utterances: Vec<_> = pieces(text, PIECE)
            .filter_map(|piece| SpeechSynthesisUtterance::new_with_text(piece).ok())
            .collect();
        let last = utterances.last()?;
        last.set_onend(Some(on_end.as_ref().unchecked_ref()));
        for utterance in &utterances {
            if !language.is_empty() {
                utterance.set_lang(language);
            }
            utterance.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            synthesis.speak(utterance);
        }
        let silent = move || !synthesis.speaking() && !synthesis.pending();
        watch.set(
            set_interval_with_handle(
                move || {
                    if silent() {
                        finish()
                    }
                },
                WATCH,
            )
            .ok(),
        );
        Some(Speech {
            utterances,
            over,
            watch,
            _on_end: on_end,
            _on_error: on_error,
        })
    }
}

impl Drop for Speech {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.clear();
        }
        for utterance in &self.utterances {
            utterance.set_onend(None);
            utterance.set_onerror(None);
        }
        // Another chat box may be reading by now: cancel only what is still ours.
        if !self.over.get() {
            if let Some(synthesis) = synthesis() {
                synthesis.cancel();
            }
        }
    }
}

/// The longest piece said as one utterance, in bytes.
const PIECE: usize = 200;

/// `text` in pieces of at most `most` bytes, each ending at a line or a sentence where it can,
/// else at a space, else wherever it must (a word longer than `most`).
pub fn pieces(text: &str, most: usize) -> impl Iterator<Item = &str> {
    let mut rest = text.trim();
    std::iter::from_fn(move || {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(most);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // A character longer than `most`: it is a piece of its own.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        if end < rest.len() {
            let head = &rest[..end];
            let line = head.rfind('\n');
            let sentence = head
                .rfind(['.', '!', '?', '。', '！', '？'])
                .map(|at| at + head[at..].chars().next().map_or(1, char::len_utf8));
            let space = head.rfind(char::is_whitespace);
            end = line
                .max(sentence)
                .or(space)
                .filter(|&at| at > 0)
                .unwrap_or(end);
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece.trim_end())
    })
    .filter(|piece| !piece.is_empty())
}

/// What a rendered reply says: its text, a line for each block, each code block as `code`.
pub fn spoken(nodes: &[Node], code: &str) -> String {
    let mut text = String::new();
    for node in nodes {
        speak(node, code, &mut text);
    }
    text.trim().to_owned()
}

fn speak(node: &Node, code: &str, text: &mut String) {
    match node {
        Node::Text(words) => text.push_str(words),
        Node::Image { alt, .. } => text.push_str(alt),
        // A formula is said as its words, without TeX's backslashes and braces.
        Node::Math { tex, .. } => text.extend(tex.chars().map(|c| match c {
            '\\' | '{' | '}' | '_' | '^' => ' ',
            c => c,
        })),
        Node::CodeBlock { .. } => {
            text.push_str(code);
            text.push_str(".\n");
        }
        Node::Element { tag, children, .. } => {
            for child in children {
                speak(child, code, text);
            }
            let block = matches!(
                *tag,
                "p" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr" | "blockquote"
            );
            if block {
                text.push('\n');
            } else if matches!(*tag, "td" | "th") {
                text.push_str(", ");
            } else if *tag == "br" {
                text.push(' ');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictation_follows_what_was_typed() {
        assert_eq!(after("", " hello"), "hello");
        assert_eq!(after("Dear Sir,", "hello"), "Dear Sir, hello");
        assert_eq!(after("line\n", "hello"), "line\nhello");
        assert_eq!(after("typed", ""), "typed");
    }

    #[test]
    fn pieces_end_at_sentences_and_cover_the_text() {
        let text = "First sentence here. Second one is a little longer than that! Third?";
        let all: Vec<_> = pieces(text, 40).collect();
        assert_eq!(
            all,
            [
                "First sentence here.",
                "Second one is a little longer than that!",
                "Third?"
            ]
        );
        let words = "word ".repeat(200);
        for piece in pieces(&words, 50) {
            assert!(piece.len() <= 50 && !piece.starts_with(' '), "{piece:?}");
        }
        let said: usize = pieces(&words, 50)
            .map(|piece| piece.split(' ').count())
            .sum();
        assert_eq!(said, 200, "no word lost");
    }

    #[test]
    fn pieces_cut_long_words_on_character_boundaries() {
        let text = "é".repeat(100);
        let all: Vec<_> = pieces(&text, 15).collect();
        assert_eq!(all.concat(), text);
        assert!(all.iter().all(|piece| piece.len() <= 15));
        assert_eq!(pieces("  ", 10).count(), 0);
        assert_eq!(pieces("éé", 1).collect::<Vec<_>>(), ["é", "é"]);
    }

    #[test]
    fn a_reply_is_spoken_without_its_markdown() {
        let reply = "# Title\n\nSome **bold** and `code` with [a link](https://example.com).\n\n\
                     - one\n- two\n\n```rust\nfn main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";
        let said = spoken(&render(reply), "code");
        assert_eq!(
            said,
            "Title\nSome bold and code with a link.\none\ntwo\ncode.\na, b, \n1, 2,"
        );
        for syntax in ["#", "**", "`", "](", "|", "fn main"] {
            assert!(!said.contains(syntax), "{syntax} in {said:?}");
        }
    }
}
