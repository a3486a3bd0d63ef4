//! [`Node`]s to DOM nodes, element by element. Every URL is checked again with the browser's own
//! URL parser before it reaches an attribute.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Text, Url};

use super::node::{Node, LINK_REL};
use chat_protocol::Source;
use chat_rich::markup::Markup;
use chat_widget_core::strings::fill;

/// The class of a code block's copy button; the chat box handles its clicks.
pub const COPY_BUTTON_CLASS: &str = "cw-code__copy";

/// The class of the button that stands for an image until it is clicked; the chat box handles
/// its clicks (see [`show_image`]).
pub const IMAGE_BUTTON_CLASS: &str = "cw-md-image-button";

/// Puts the image a [`IMAGE_BUTTON_CLASS`] button stands for in its place.
pub fn show_image(button: &Element) {
    let (Some(src), Some(document)) = (button.get_attribute("data-src"), button.owner_document())
    else {
        return;
    };
    // The address was checked against the policy when the button was made.
    let Ok(img) = element(&document, "img", "cw-md-image") else {
        return;
    };
    let _ = img.set_attribute("src", &src);
    let _ = img.set_attribute("alt", &button.get_attribute("data-alt").unwrap_or_default());
    let _ = img.set_attribute("referrerpolicy", "no-referrer");
    let _ = button.replace_with_with_node_1(&img);
}

/// What the DOM may load, and the words of its copy buttons.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// Origins (`scheme://host[:port]`), or origins with a path prefix
    /// (`https://cdn.example/images/`), whose images are shown, without their query strings.
    /// Images from elsewhere are links.
    pub image_origins: Vec<String>,
    /// Whether allowed images wait for a click before they load (replies from storage).
    pub images_on_click: bool,
    /// The copy buttons' words.
    pub labels: CopyLabels,
}

/// What a copy button says: before, on success, and when copying was refused.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyLabels {
    /// The button's text.
    pub copy: String,
    /// The accessible name of a code block's copy button.
    pub copy_code: String,
    /// Its text for a moment after copying.
    pub copied: String,
    /// Its text when the browser refused to copy (the text is selected instead).
    pub refused: String,
    /// A code block's label when its language is not given.
    pub code: String,
    /// The button that loads an image on a click (`{}`: its description).
    pub show_image: String,
}

impl Default for CopyLabels {
    fn default() -> Self {
        let strings = crate::strings::Strings::default();
        CopyLabels::from(&strings)
    }
}

impl From<&crate::strings::Strings> for CopyLabels {
    fn from(strings: &crate::strings::Strings) -> Self {
        CopyLabels {
            copy: strings.copy().to_owned(),
            copy_code: strings.copy_code().to_owned(),
            copied: strings.copied().to_owned(),
            refused: strings.press_to_copy().to_owned(),
            code: strings.code().to_owned(),
            show_image: strings.show_image().to_owned(),
        }
    }
}

impl Policy {
    /// The address an image may be loaded from: an `http:` or `https:` URL under one of
    /// `image_origins` (an origin, or an origin and a path prefix), without its query string,
    /// fragment, user name or password, so a reply cannot smuggle what it read out in one.
    fn image_source(&self, src: &str) -> Option<String> {
        let url = Url::new(src).ok()?;
        if !matches!(url.protocol().as_str(), "http:" | "https:") {
            return None;
        }
        let (origin, path) = (url.origin(), url.pathname());
        // An encoded slash could lead a server that decodes it out of the allowed path.
        let lower = path.to_ascii_lowercase();
        if lower.contains("%2f") || lower.contains("%5c") {
            return None;
        }
        let allowed = self.image_origins.iter().any(|allowed| {
            let allowed = allowed.trim_end_matches('/');
            match allowed.strip_prefix(&origin) {
                Some("") => true,
                Some(prefix) => prefix.starts_with('/') && path.starts_with(&format!("{prefix}/")),
                None => false,
            }
        });
        allowed.then(|| {
            url.set_search("");
            url.set_hash("");
            url.set_username("");
            url.set_password("");
            url.href()
        })
    }
}

/// Whether the browser reads `href` as an `http:`, `https:` or `mailto:` URL.
fn browser_allows_link(href: &str) -> bool {
    Url::new(href)
        .is_ok_and(|url| matches!(url.protocol().as_str(), "http:" | "https:" | "mailto:"))
}

/// Links the citation markers (`[1]`, `[2]`...) in the text under `root` to `sources`, each
/// named by `name` (filled with its number and its title, else its host). A marker whose source
/// is no web (http or https) address stays text, as does text in links, code and buttons.
pub fn link_citations(root: &Element, sources: &[Source], name: &str) {
    let Some(document) = root.owner_document() else {
        return;
    };
    let mut texts = Vec::new();
    collect_texts(root, &mut texts);
    for text in texts {
        let mut node = text;
        let mut done = 0;
        let data = node.data();
        for (range, n) in super::cite::markers(&data, sources.len()) {
            let source = &sources[n - 1];
            let Some(label) = super::cite::label(source) else {
                continue;
            };
            let name = fill(name, &[&n, &label]);
            let utf16 = |bytes: &str| bytes.encode_utf16().count() as u32;
            let (Ok(marker), Ok(link)) = (
                node.split_text(utf16(&data[done..range.start])),
                document.create_element("a"),
            ) else {
                return;
            };
            let Ok(rest) = marker.split_text(utf16(&data[range.clone()])) else {
                return;
            };
            link.set_class_name("cw-cite");
            for (attribute, value) in [
                ("href", source.url.as_str()),
                ("target", "_blank"),
                ("rel", LINK_REL),
                ("aria-label", &name),
                ("title", &name),
            ] {
                let _ = link.set_attribute(attribute, value);
            }
            link.set_text_content(Some(&data[range.clone()]));
            if let Some(parent) = marker.parent_node() {
                let _ = parent.replace_child(&link, &marker);
            }
            node = rest;
            done = range.end;
        }
    }
}

/// Highlights the code blocks under `root` whose language is known and that are not yet
/// highlighted: each one's text becomes text nodes and spans of its tokens' classes (no markup
/// is parsed). A block is highlighted once, when it is final, so a reply's code costs time linear
/// in its length. While the highlighter is not loaded (see [`crate::rich`]) the blocks stay plain
/// and unmarked, for a later call.
pub fn highlight_code(root: &Element) {
    let Some(document) = root.owner_document() else {
        return;
    };
    let Ok(blocks) = root.query_selector_all("code[data-language]:not([data-lit])") else {
        return;
    };
    for index in 0..blocks.length() {
        let Some(code) = blocks
            .item(index)
            .and_then(|node| node.dyn_into::<Element>().ok())
        else {
            continue;
        };
        let language = code.get_attribute("data-language").unwrap_or_default();
        if !chat_rich::highlight::knows(&language) {
            let _ = code.set_attribute("data-lit", "");
            continue;
        }
        let text = code.text_content().unwrap_or_default();
        let Some(tokens) = crate::rich::highlight(&language, &text) else {
            return;
        };
        let _ = code.set_attribute("data-lit", "");
        if tokens.is_empty() {
            continue;
        }
        code.set_text_content(None);
        let mut shown = 0;
        for (range, token) in tokens {
            // The reader checked the ranges against the code's length and their order; a range
            // that does not fall on characters is left plain, in the text around it.
            let (Some(before), Some(piece)) =
                (text.get(shown..range.start), text.get(range.clone()))
            else {
                continue;
            };
            if !before.is_empty() {
                let _ = code.append_child(&document.create_text_node(before));
            }
            if let Ok(span) = element(&document, "span", token.class()) {
                span.set_text_content(Some(piece));
                let _ = code.append_child(&span);
            }
            shown = range.end;
        }
        if shown < text.len() {
            let _ = code.append_child(&document.create_text_node(&text[shown..]));
        }
    }
}

/// Renders the formulas under `root` that show as their source because the module was not in
/// when they were built (see [`crate::rich`]), now that it is.
pub fn upgrade_math(root: &Element) {
    let Some(document) = root.owner_document() else {
        return;
    };
    let Ok(pending) = root.query_selector_all(&format!("code.{MATH_SOURCE_CLASS}[data-tex]"))
    else {
        return;
    };
    for index in 0..pending.length() {
        let Some(code) = pending
            .item(index)
            .and_then(|node| node.dyn_into::<Element>().ok())
        else {
            continue;
        };
        let tex = code.get_attribute("data-tex").unwrap_or_default();
        let display = code.has_attribute("data-display");
        let raw = code.text_content().unwrap_or_default();
        let _ = code.replace_with_with_node_1(&math(&document, &tex, display, &raw));
    }
}

/// The text nodes under `node`, in order, outside links, code and buttons.
fn collect_texts(node: &web_sys::Node, texts: &mut Vec<Text>) {
    for child in children(node) {
        if let Some(text) = child.dyn_ref::<Text>() {
            texts.push(text.clone());
        } else if let Some(element) = child.dyn_ref::<Element>() {
            if !matches!(
                element.tag_name().as_str(),
                "A" | "CODE" | "PRE" | "BUTTON" | "math"
            ) {
                collect_texts(element, texts);
            }
        }
    }
}

/// Builds the DOM for `nodes`.
pub fn build(document: &Document, nodes: &[Node], policy: &Policy) -> Vec<web_sys::Node> {
    nodes
        .iter()
        .filter_map(|node| build_node(document, node, policy))
        .collect()
}

/// Brings `dom`, the children of `parent` built from `old`, in line with `new`, touching only what
/// changed: a node equal to the old one keeps its DOM, the same element keeps its node and has its
/// children patched, a text or a code block that grew gets only its new end, and anything else is
/// built again. Returns the DOM nodes that stand for `new`, one per node. A growing block so costs
/// the DOM its new part on each frame, not all of it.
pub fn patch(
    document: &Document,
    parent: &web_sys::Node,
    old: &[Node],
    dom: Vec<web_sys::Node>,
    new: &[Node],
    policy: &Policy,
) -> Vec<web_sys::Node> {
    let mut dom = dom.into_iter();
    let mut out = Vec::with_capacity(new.len());
    for (index, node) in new.iter().enumerate() {
        let current = match (old.get(index), dom.next()) {
            (Some(before), Some(current)) => {
                if before == node || patch_in_place(document, before, &current, node, policy) {
                    current
                } else {
                    let built = build_or_empty(document, node, policy);
                    let _ = parent.replace_child(&built, &current);
                    built
                }
            }
            (_, leftover) => {
                if let Some(leftover) = leftover {
                    let _ = parent.remove_child(&leftover);
                }
                let built = build_or_empty(document, node, policy);
                let _ = parent.append_child(&built);
                built
            }
        };
        out.push(current);
    }
    for leftover in dom {
        let _ = parent.remove_child(&leftover);
    }
    out
}

/// Whether `current`, built from `old`, could be brought in line with `new` where it stands.
fn patch_in_place(
    document: &Document,
    old: &Node,
    current: &web_sys::Node,
    new: &Node,
    policy: &Policy,
) -> bool {
    match (old, new) {
        (Node::Text(before), Node::Text(after)) => {
            let Some(text) = current.dyn_ref::<Text>() else {
                return false;
            };
            match after.strip_prefix(before.as_str()) {
                Some(rest) => {
                    let _ = text.append_data(rest);
                }
                None => text.set_data(after),
            }
            true
        }
        (
            Node::Element {
                tag,
                attrs,
                children: before,
            },
            Node::Element {
                tag: new_tag,
                attrs: new_attrs,
                children: after,
            },
        ) if tag == new_tag && attrs == new_attrs => {
            let dom = children(current);
            if dom.len() != before.len() {
                return false;
            }
            patch(document, current, before, dom, after, policy);
            true
        }
        (
            Node::CodeBlock { language, code },
            Node::CodeBlock {
                language: new_language,
                code: new_code,
            },
        ) if language == new_language => {
            let Some(rest) = new_code.strip_prefix(code.as_str()) else {
                return false;
            };
            let text = current
                .dyn_ref::<Element>()
                .and_then(|block| block.query_selector("code").ok().flatten())
                .and_then(|code| code.first_child())
                .and_then(|text| text.dyn_into::<Text>().ok());
            match text {
                Some(text) => text.append_data(rest).is_ok(),
                None => false,
            }
        }
        _ => false,
    }
}

/// The child nodes of `node`, in order.
fn children(node: &web_sys::Node) -> Vec<web_sys::Node> {
    let list = node.child_nodes();
    (0..list.length())
        .filter_map(|index| list.item(index))
        .collect()
}

/// The DOM for `node`, or an empty text in its place when the browser refused to build it (so
/// that nodes and DOM nodes stay one for one).
fn build_or_empty(document: &Document, node: &Node, policy: &Policy) -> web_sys::Node {
    build_node(document, node, policy).unwrap_or_else(|| document.create_text_node("").into())
}

fn build_node(document: &Document, node: &Node, policy: &Policy) -> Option<web_sys::Node> {
    match node {
        Node::Text(text) => Some(document.create_text_node(text).into()),
        Node::Element {
            tag,
            attrs,
            children,
        } => {
            let element = document.create_element(tag).ok()?;
            for (name, value) in attrs {
                if *name == "href" && !browser_allows_link(value) {
                    // The tree allowed it but the browser reads it otherwise: keep only the text.
                    let span = document.create_element("span").ok()?;
                    append_all(document, &span, children, policy);
                    return Some(span.into());
                }
                let _ = element.set_attribute(name, value);
            }
            append_all(document, &element, children, policy);
            Some(element.into())
        }
        Node::CodeBlock { language, code } => {
            code_block(document, language, code, &policy.labels).ok()
        }
        Node::Image { src, alt } => image(document, src, alt, policy).ok(),
        Node::Math { tex, display, raw } => Some(math(document, tex, *display, raw)),
    }
}

fn append_all(document: &Document, parent: &Element, children: &[Node], policy: &Policy) {
    for child in children {
        if let Some(node) = build_node(document, child, policy) {
            let _ = parent.append_child(&node);
        }
    }
}

fn element(document: &Document, tag: &str, class: &str) -> Result<Element, wasm_bindgen::JsValue> {
    let element = document.create_element(tag)?;
    element.set_class_name(class);
    Ok(element)
}

/// `<div class="cw-code"><div class="cw-code__bar">[language] [Copy]</div><pre><code>…`
fn code_block(
    document: &Document,
    language: &str,
    code: &str,
    labels: &CopyLabels,
) -> Result<web_sys::Node, wasm_bindgen::JsValue> {
    let block = element(document, "div", "cw-code")?;
    let bar = element(document, "div", "cw-code__bar")?;
    let label = element(document, "span", "cw-code__language")?;
    label.set_text_content(Some(if language.is_empty() {
        &labels.code
    } else {
        language
    }));
    let copy = element(document, "button", COPY_BUTTON_CLASS)?;
    copy.set_attribute("type", "button")?;
    copy.set_attribute("aria-label", &labels.copy_code)?;
    copy.set_text_content(Some(&labels.copy));
    bar.append_child(&label)?;
    bar.append_child(&copy)?;
    let pre = element(document, "pre", "cw-code__pre")?;
    pre.set_attribute("tabindex", "0")?;
    let code_element = document.create_element("code")?;
    if chat_rich::highlight::knows(language) {
        // Asked for as the block begins, so that it is in by the time the block ends.
        crate::rich::need();
    }
    if !language.is_empty() {
        code_element.set_attribute("data-language", language)?;
    }
    code_element.set_text_content(Some(code));
    pre.append_child(&code_element)?;
    block.append_child(&bar)?;
    block.append_child(&pre)?;
    Ok(block.into())
}

/// MathML's namespace.
const MATHML: &str = "http://www.w3.org/1998/Math/MathML";

/// The class of a formula shown as its source.
const MATH_SOURCE_CLASS: &str = "cw-math-source";

/// A formula as MathML, or its source as code: for good when the module does not know it, for
/// now (marked with its TeX for [`upgrade_math`]) while the module is not in.
fn math(document: &Document, tex: &str, display: bool, raw: &str) -> web_sys::Node {
    let answer = crate::rich::mathml(tex, display);
    if let Some(built) = answer
        .as_ref()
        .and_then(Option::as_ref)
        .and_then(|tree| mathml(document, tree))
    {
        return built;
    }
    let Ok(code) = element(document, "code", MATH_SOURCE_CLASS) else {
        return document.create_text_node(raw).into();
    };
    code.set_text_content(Some(raw));
    if answer.is_none() {
        let _ = code.set_attribute("data-tex", tex);
        if display {
            let _ = code.set_attribute("data-display", "");
        }
    }
    code.into()
}

/// The DOM of a MathML tree, in MathML's namespace.
fn mathml(document: &Document, node: &Markup) -> Option<web_sys::Node> {
    match node {
        Markup::Text(text) => Some(document.create_text_node(text).into()),
        Markup::Element {
            tag,
            attrs,
            children,
        } => {
            let element = document.create_element_ns(Some(MATHML), tag).ok()?;
            for (name, value) in attrs {
                element.set_attribute(name, value).ok()?;
            }
            for child in children {
                element.append_child(&mathml(document, child)?).ok()?;
            }
            Some(element.into())
        }
    }
}

/// An allowed image, or a link to it labelled with its alt text, or just the alt text.
fn image(
    document: &Document,
    src: &str,
    alt: &str,
    policy: &Policy,
) -> Result<web_sys::Node, wasm_bindgen::JsValue> {
    let label = if alt.trim().is_empty() { "image" } else { alt };
    if let Some(source) = policy.image_source(src) {
        if policy.images_on_click {
            let button = element(document, "button", IMAGE_BUTTON_CLASS)?;
            button.set_attribute("type", "button")?;
            button.set_attribute("data-src", &source)?;
            button.set_attribute("data-alt", alt)?;
            button.set_text_content(Some(&crate::strings::fill(
                &policy.labels.show_image,
                &[&label],
            )));
            return Ok(button.into());
        }
        let img = element(document, "img", "cw-md-image")?;
        img.set_attribute("src", &source)?;
        img.set_attribute("alt", alt)?;
        img.set_attribute("loading", "lazy")?;
        img.set_attribute("referrerpolicy", "no-referrer")?;
        return Ok(img.into());
    }
    let web = matches!(super::scheme(src).as_deref(), Some("http" | "https"));
    if web && browser_allows_link(src) {
        let link = element(document, "a", "cw-md-image-link")?;
        link.set_attribute("href", src)?;
        link.set_attribute("target", "_blank")?;
        link.set_attribute("rel", LINK_REL)?;
        link.set_text_content(Some(&format!("🖼 {label}")));
        return Ok(link.into());
    }
    Ok(document.create_text_node(label).into())
}
