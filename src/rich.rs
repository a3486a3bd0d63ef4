//! Code highlighting and TeX as MathML, loaded when a reply first needs them.
//!
//! They are `chat-rich`'s, built into a wasm module of their own (`<widget>_rich.wasm`, beside the
//! widget's script and wasm; `scripts/post-build.mjs` builds it), which a page downloads only
//! once a reply has a formula or code in a language the highlighter knows. The first such reply
//! asks for it (`need`); until it is in, its code is plain and its formulas show as their source,
//! and when it arrives every chat box on the page upgrades what it shows (`track`). A module
//! that cannot be loaded leaves them so (after three tries), and nothing else changes.
//!
//! The module imports nothing and shares no memory with the widget: a question is written into its
//! memory, the answer read back as bytes and checked by `chat_rich::wire`'s readers like any other
//! input. A page or a test may also [`provide`] the module linked in.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use chat_rich::highlight::Token;
use chat_rich::markup::Markup;
use chat_rich::wire;
use leptos::prelude::*;

/// What answers for the module: each method returns the bytes `chat_rich::highlighted` and
/// `chat_rich::mathml` return. The fetched module is one; a page (or a test) that links
/// `chat-rich` whole may [`provide`] another that calls those two functions.
pub trait RichModule {
    /// The tokens of `code` in `language`, as `chat_rich::highlighted` writes them.
    fn highlight(&self, language: &str, code: &str) -> Vec<u8>;
    /// `tex` as MathML, as `chat_rich::mathml` writes it (empty when it is not math).
    fn mathml(&self, tex: &str, display: bool) -> Vec<u8>;

    /// Whether a call went wrong in a way that leaves the module unfit for more (a trap): it is
    /// then loaded afresh for the next question.
    fn broken(&self) -> bool {
        false
    }
}

/// Where the module is.
enum State {
    /// Not asked for yet.
    Idle,
    /// Being fetched (or, in tests, held back).
    Loading,
    Ready(Rc<dyn RichModule>),
    /// The last attempt failed; another may be made while `attempts` is below [`ATTEMPTS`].
    Failed {
        attempts: u32,
    },
}

/// How many times the module is fetched before the page gives up on it.
const ATTEMPTS: u32 = 3;

thread_local! {
    static STATE: RefCell<State> = const { RefCell::new(State::Idle) };
    /// Notified when the module arrives, so that views upgrade what they show.
    static ARRIVED: ArcTrigger = ArcTrigger::new();
}

/// Makes `module` the one that answers, now, and has the views upgrade what they show.
pub fn provide(module: Rc<dyn RichModule>) {
    set(State::Ready(module));
}

/// Forgets the module, as if none had been asked for: the next reply that needs it fetches it
/// again. For tests.
pub fn forget() {
    set(State::Idle);
}

/// Forgets the module and keeps it from being fetched, as if it were on its way, until
/// [`provide`]. For tests of what shows meanwhile.
pub fn hold() {
    set(State::Loading);
}

fn set(state: State) {
    let arrived = matches!(state, State::Ready(_));
    STATE.with_borrow_mut(|current| *current = state);
    if arrived {
        ARRIVED.with(|trigger| trigger.notify());
    }
}

/// Subscribes the running effect to the module's arrival.
pub(crate) fn track() {
    ARRIVED.with(|trigger| trigger.track());
}

/// The module, when it is in.
pub(crate) fn module() -> Option<Rc<dyn RichModule>> {
    STATE.with_borrow(|state| match state {
        State::Ready(module) => Some(module.clone()),
        _ => None,
    })
}

/// Asks for the module, unless it is in, on its way or given up on.
pub(crate) fn need() {
    let attempts = STATE.with_borrow_mut(|state| {
        let attempts = match state {
            State::Idle => 0,
            State::Failed { attempts } if *attempts < ATTEMPTS => *attempts,
            _ => return None,
        };
        *state = State::Loading;
        Some(attempts)
    });
    let Some(attempts) = attempts else {
        return;
    };
    leptos::task::spawn_local(async move {
        match fetched::load().await {
            Ok(module) => provide(Rc::new(module)),
            Err(error) => {
                web_sys::console::warn_2(
                    &"chat widget: code highlighting and math are off:".into(),
                    &error,
                );
                // A test may have provided one meanwhile.
                STATE.with_borrow_mut(|state| {
                    if matches!(state, State::Loading) {
                        *state = State::Failed {
                            attempts: attempts + 1,
                        };
                    }
                });
            }
        }
    });
}

/// The tokens of `code` in `language`: `None` while the module is not in (it is asked for); no
/// tokens when its answer does not read.
pub(crate) fn highlight(language: &str, code: &str) -> Option<Vec<(Range<usize>, Token)>> {
    let Some(module) = module() else {
        need();
        return None;
    };
    let answer = module.highlight(language, code);
    retire_if_broken(&*module);
    Some(wire::read_tokens(&answer, code.len()).unwrap_or_default())
}

/// `tex` as MathML: `None` while the module is not in (it is asked for); `Some(None)` when it is
/// not math the module knows, or its answer does not read.
pub(crate) fn mathml(tex: &str, display: bool) -> Option<Option<Markup>> {
    let Some(module) = module() else {
        need();
        return None;
    };
    let answer = module.mathml(tex, display);
    retire_if_broken(&*module);
    Some(wire::read_markup(&answer))
}

/// Forgets a module that trapped (its stack may not have been unwound), so that the next reply
/// that needs one loads it again (from the browser's cache).
fn retire_if_broken(module: &dyn RichModule) {
    if module.broken() {
        set(State::Idle);
    }
}

/// The module as the browser loads it: fetched from beside the widget's script and instantiated
/// with no imports.
mod fetched {
    use js_sys::{Function, Object, Reflect, Uint8Array, WebAssembly};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    #[wasm_bindgen]
    extern "C" {
        /// The address of the widget's script (wasm-bindgen's glue), which the module sits beside.
        #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
        static SCRIPT_URL: String;
    }

    pub(super) struct Fetched {
        /// Set when a call failed: the instance is not asked again.
        broken: std::cell::Cell<bool>,
        memory: WebAssembly::Memory,
        input: Function,
        output: Function,
        highlight: Function,
        mathml: Function,
    }

    /// The module's address: the widget's script's, with `_rich.wasm` for `.js`.
    fn address() -> Result<String, JsValue> {
        let url = web_sys::Url::new(&SCRIPT_URL.with(String::clone))?;
        let path = url.pathname();
        let stem = path
            .strip_suffix(".js")
            .ok_or_else(|| JsValue::from_str("the widget's script is not a .js file"))?;
        url.set_pathname(&format!("{stem}_rich.wasm"));
        url.set_search("");
        url.set_hash("");
        Ok(url.href())
    }

    pub(super) async fn load() -> Result<Fetched, JsValue> {
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let response = window.fetch_with_str(&address()?);
        let result = JsFuture::from(WebAssembly::instantiate_streaming(
            &response,
            &Object::new(),
        ))
        .await?;
        let instance: WebAssembly::Instance =
            Reflect::get(&result, &JsValue::from_str("instance"))?.dyn_into()?;
        let exports = instance.exports();
        let export = |name: &str| Reflect::get(&exports, &JsValue::from_str(name));
        Ok(Fetched {
            broken: std::cell::Cell::new(false),
            memory: export("memory")?.dyn_into()?,
            input: export("input")?.dyn_into()?,
            output: export("output")?.dyn_into()?,
            highlight: export("highlight")?.dyn_into()?,
            mathml: export("mathml")?.dyn_into()?,
        })
    }

    /// A number the module returned, as the unsigned 32-bit value it is.
    fn unsigned(value: &JsValue) -> Option<u32> {
        value.as_f64().map(|value| value as i32 as u32)
    }

    impl Fetched {
        /// Writes `parts` into the module as one question, calls `function` with `argument`, and
        /// reads the answer; empty when any step fails (a trap included).
        fn ask(&self, parts: &[&[u8]], function: &Function, argument: u32) -> Vec<u8> {
            if self.broken.get() {
                return Vec::new();
            }
            let answer = self.try_ask(parts, function, argument);
            self.broken.set(answer.is_none());
            answer.unwrap_or_default()
        }

        fn try_ask(&self, parts: &[&[u8]], function: &Function, argument: u32) -> Option<Vec<u8>> {
            let len: usize = parts.iter().map(|part| part.len()).sum();
            let len = u32::try_from(len).ok()?;
            let start = unsigned(&self.input.call1(&JsValue::NULL, &len.into()).ok()?)?;
            // The memory may have grown with each call: its buffer is read after it.
            let memory = Uint8Array::new(&self.memory.buffer());
            if start.checked_add(len)? > memory.length() {
                return None;
            }
            let mut at = start;
            for part in parts {
                let part_len = part.len() as u32;
                memory.subarray(at, at + part_len).copy_from(part);
                at += part_len;
            }
            let answer_len = unsigned(&function.call1(&JsValue::NULL, &argument.into()).ok()?)?;
            let answer_start = unsigned(&self.output.call0(&JsValue::NULL).ok()?)?;
            let memory = Uint8Array::new(&self.memory.buffer());
            let end = answer_start.checked_add(answer_len)?;
            (end <= memory.length()).then(|| memory.subarray(answer_start, end).to_vec())
        }
    }

    impl super::RichModule for Fetched {
        fn broken(&self) -> bool {
            self.broken.get()
        }

        fn highlight(&self, language: &str, code: &str) -> Vec<u8> {
            self.ask(
                &[language.as_bytes(), code.as_bytes()],
                &self.highlight,
                language.len() as u32,
            )
        }

        fn mathml(&self, tex: &str, display: bool) -> Vec<u8> {
            self.ask(&[tex.as_bytes()], &self.mathml, u32::from(display))
        }
    }
}
