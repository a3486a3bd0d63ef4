//! [`Node`]s to DOM nodes, element by element. Every URL is checked again with the browser's own
//! URL parser before it reaches an attribute.

use web_sys::{Document, Element, Url};

use super::tree::{Node, LINK_REL};

/// The class of a code block's copy button; the chat box handles its clicks.
pub const COPY_BUTTON_CLASS: &str = "cw-code__copy";

/// What the DOM may load, and the words of its copy buttons.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// Origins (`scheme://host[:port]`) whose images are shown. Images from elsewhere are links.
    pub image_origins: Vec<String>,
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
        }
    }
}

impl Policy {
    fn allows_image(&self, src: &str) -> bool {
        let Ok(url) = Url::new(src) else { return false };
        matches!(url.protocol().as_str(), "http:" | "https:")
            && self
                .image_origins
                .iter()
                .any(|origin| *origin == url.origin())
    }
}

/// Whether the browser reads `href` as an `http:`, `https:` or `mailto:` URL.
fn browser_allows_link(href: &str) -> bool {
    Url::new(href)
        .is_ok_and(|url| matches!(url.protocol().as_str(), "http:" | "https:" | "mailto:"))
}

/// Builds the DOM for `nodes`.
pub fn build(document: &Document, nodes: &[Node], policy: &Policy) -> Vec<web_sys::Node> {
    nodes
        .iter()
        .filter_map(|node| build_node(document, node, policy))
        .collect()
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
    if !language.is_empty() {
        code_element.set_attribute("data-language", language)?;
    }
    code_element.set_text_content(Some(code));
    pre.append_child(&code_element)?;
    block.append_child(&bar)?;
    block.append_child(&pre)?;
    Ok(block.into())
}

/// An allowed image, or a link to it labelled with its alt text, or just the alt text.
fn image(
    document: &Document,
    src: &str,
    alt: &str,
    policy: &Policy,
) -> Result<web_sys::Node, wasm_bindgen::JsValue> {
    let label = if alt.trim().is_empty() { "image" } else { alt };
    if policy.allows_image(src) {
        let img = element(document, "img", "cw-md-image")?;
        img.set_attribute("src", src)?;
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
