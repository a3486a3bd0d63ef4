use leptos::ev::MouseEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

use super::clipboard;
use crate::markdown::dom::{
    highlight_code, link_citations, patch, show_image, upgrade_math, CopyLabels, Policy,
    COPY_BUTTON_CLASS, IMAGE_BUTTON_CLASS,
};
use crate::markdown::{IncrementalMarkdown, Node};
use chat_protocol::Source;

/// A Markdown text that may still be growing, rendered into DOM nodes. Finished blocks are built
/// once; the open last block is patched (only what changed in it) at most once per animation
/// frame, however fast the text grows. Code blocks get a working copy button.
#[component]
pub fn MarkdownView(
    /// The text so far. It only ever grows (see `Conversation`).
    #[prop(into)]
    text: Signal<String>,
    /// Whether the text is complete (the last block is then final too).
    #[prop(into)]
    complete: Signal<bool>,
    /// What the rendered Markdown may load.
    policy: Policy,
    /// The sources the text's `[n]` markers refer to, and the accessible name of a marker
    /// (`{}` the number, `{}` the source's title or host). The markers are linked once the text
    /// is complete.
    #[prop(optional)]
    sources: Option<(RwSignal<Vec<Source>>, String)>,
) -> impl IntoView {
    let root = NodeRef::<html::Div>::new();
    let labels = policy.labels.clone();
    let renderer = StoredValue::new_local(Renderer {
        policy,
        ..Renderer::default()
    });
    let queued = StoredValue::new(false);
    let sources = sources.map(|(sources, name)| (sources, StoredValue::new(name)));
    let render = move || {
        let (Some(Some(root)), Some(complete)) =
            (root.try_get_untracked(), complete.try_get_untracked())
        else {
            return;
        };
        text.try_with_untracked(|text| {
            renderer.try_update_value(|renderer| renderer.render(&root, text, complete))
        });
        let Some((sources, name)) = sources.filter(|_| complete) else {
            return;
        };
        let first =
            renderer.try_update_value(|renderer| !std::mem::replace(&mut renderer.cited, true));
        if first == Some(true) {
            name.with_value(|name| {
                sources.try_with_untracked(|sources| link_citations(&root, sources, name))
            });
        }
    };
    Effect::new(move |_| {
        text.track();
        root.track();
        if complete.get() {
            render();
        } else if !queued.get_value() {
            queued.set_value(true);
            request_animation_frame(move || {
                queued.try_set_value(false);
                render();
            });
        }
    });
    // When the highlighter and the math arrive (see `crate::rich`), what was built without them
    // is built again with them.
    Effect::new(move |_| {
        crate::rich::track();
        if let Some(Some(root)) = root.try_get_untracked() {
            renderer.try_with_value(|renderer| renderer.upgrade(&root));
        }
    });
    view! { <div class="cw-markdown" node_ref=root on:click=move |event| on_click(event, &labels)></div> }
}

#[derive(Default)]
struct Renderer {
    markdown: IncrementalMarkdown,
    policy: Policy,
    /// The open last block, as last rendered, and its DOM nodes (one per node).
    open_nodes: Vec<Node>,
    open: Vec<web_sys::Node>,
    rendered: Option<(usize, bool)>,
    /// Whether the complete text's citation markers were linked.
    cited: bool,
}

impl Renderer {
    fn render(&mut self, root: &Element, text: &str, complete: bool) {
        if self.rendered == Some((text.len(), complete)) {
            return;
        }
        let Some(document) = root.owner_document() else {
            return;
        };
        let update = self.markdown.update(text, complete);
        // A first render starts from an empty root: the view may have been built again in place
        // (another welcome, say), on an element that still holds what was there.
        if update.restart || self.rendered.is_none() {
            root.set_text_content(None);
            self.open_nodes.clear();
            self.open.clear();
            self.cited = false;
        }
        // The blocks that were open are now the first finished ones, or still open: patched,
        // not built again.
        let finished = update.finished.len();
        let mut nodes = update.finished;
        nodes.extend(update.open);
        let mut dom = patch(
            &document,
            root,
            &self.open_nodes,
            std::mem::take(&mut self.open),
            &nodes,
            &self.policy,
        );
        self.open = dom.split_off(finished);
        // Blocks are final once finished: their code is highlighted then, once.
        for node in &dom {
            if let Some(element) = node.dyn_ref::<Element>() {
                highlight_code(element);
            }
        }
        self.open_nodes = nodes.split_off(finished);
        self.rendered = Some((text.len(), complete));
    }
}

impl Renderer {
    /// Highlights the finished blocks' code and renders the formulas that were built before the
    /// module was in. The open block's code stays as it is (it is still growing); its formulas,
    /// which are whole, are rendered.
    fn upgrade(&self, root: &Element) {
        if crate::rich::module().is_none() {
            return;
        }
        upgrade_math(root);
        let blocks = root.child_nodes();
        for index in 0..blocks.length() {
            let Some(block) = blocks.item(index) else {
                continue;
            };
            let open = self.open.iter().any(|open| open.is_same_node(Some(&block)));
            if let (false, Some(element)) = (open, block.dyn_ref::<Element>()) {
                highlight_code(element);
            }
        }
    }
}

/// Clicks on a code block's copy button or an image's button (one listener for the whole reply).
fn on_click(event: MouseEvent, labels: &CopyLabels) {
    let target = event
        .target()
        .and_then(|target| target.dyn_into::<Element>().ok());
    let closest = |class: &str| {
        target
            .as_ref()
            .and_then(|target| target.closest(&format!(".{class}")).ok().flatten())
    };
    if let Some(button) = closest(IMAGE_BUTTON_CLASS) {
        show_image(&button);
        return;
    }
    let Some(button) = closest(COPY_BUTTON_CLASS) else {
        return;
    };
    let Some(code) = button
        .closest(".cw-code")
        .ok()
        .flatten()
        .and_then(|block| block.query_selector("code").ok().flatten())
    else {
        return;
    };
    clipboard::copy(
        button,
        code.text_content().unwrap_or_default(),
        labels.clone(),
        move || clipboard::select_and_copy(&code),
    );
}
