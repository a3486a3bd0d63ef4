//! What some providers send beside the answer in shapes of their own, read from the JSON as it
//! came: the reasoning under another name ([`reasoning_in`]), and the sources a search-grounded
//! model cites: OpenAI's `annotations` of type `url_citation` on the
//! message (or its delta), and the top-level `citations` list (URLs) and `search_results` list
//! (URLs with titles) that Perplexity sends. All are read leniently, from whatever JSON came: an
//! entry of another shape is skipped, never an error. What a reply cites is bounded: at most
//! [`MAX_SOURCES`] sources, URLs of at most [`MAX_URL`] bytes, titles cut to [`MAX_TITLE`]
//! characters.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most sources one reply keeps.
pub const MAX_SOURCES: usize = 64;
/// The longest URL kept, in bytes.
pub const MAX_URL: usize = 2048;
/// The longest title kept, in characters.
pub const MAX_TITLE: usize = 200;

/// A source a reply cites. The `n`th source is what `[n]` in the reply's text refers to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Where it is, as the provider gave it (the widget links only http and https).
    pub url: String,
    /// Its title, when the provider gave one; else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
}

impl Source {
    /// A source of `url` (trimmed), if it is a non-empty URL within bounds, with `title` cut to
    /// its bound.
    pub fn new(url: &str, title: &str) -> Option<Self> {
        let url = url.trim();
        (!url.is_empty() && url.len() <= MAX_URL).then(|| Source {
            url: url.to_owned(),
            title: title
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(MAX_TITLE)
                .collect(),
        })
    }
}

/// The sources in a chunk or an answer: `citations` and `search_results` at its top level, and
/// `annotations` on its first choice's delta or message, in that order. `citations` keep their
/// places, since `[n]` in the text means the `n`th of them: an entry that is no URL stays as a
/// placeholder (an empty URL, linked to nothing). Every other source is added once per URL.
pub fn sources_in(body: &Value) -> Vec<Source> {
    let list = |value: Option<&Value>| value.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut found: Vec<Source> = list(body.get("citations"))
        .iter()
        .take(MAX_SOURCES)
        .map(|entry| {
            match entry {
                Value::String(url) => Source::new(url, ""),
                entry => titled(entry),
            }
            .unwrap_or_default()
        })
        .collect();
    let mut add = |source: Option<Source>| {
        if let Some(source) = source {
            merge_source(&mut found, source);
        }
    };
    for entry in list(body.get("search_results")) {
        add(titled(&entry));
    }
    let choice = body.get("choices").and_then(|choices| choices.get(0));
    let message = choice.and_then(|choice| choice.get("delta").or_else(|| choice.get("message")));
    for annotation in list(message.and_then(|message| message.get("annotations"))) {
        if annotation.get("type").and_then(Value::as_str) == Some("url_citation") {
            // OpenAI nests the citation; some providers put its fields on the annotation itself.
            add(titled(
                annotation.get("url_citation").unwrap_or(&annotation),
            ));
        }
    }
    found
}

/// Adds `more` (a chunk's sources) to `sources` (those a reply has so far): place by place when
/// they agree with it place by place (a provider that repeats its numbered list in every chunk,
/// titles filling in), else each by its URL.
pub fn merge_sources(sources: &mut Vec<Source>, more: Vec<Source>) {
    let agree = sources
        .iter()
        .zip(&more)
        .all(|(known, new)| known.url == new.url);
    if !agree {
        for source in more.into_iter().filter(|source| !source.url.is_empty()) {
            merge_source(sources, source);
        }
        return;
    }
    for (at, source) in more.into_iter().enumerate().take(MAX_SOURCES) {
        match sources.get_mut(at) {
            Some(known) if known.title.is_empty() => known.title = source.title,
            Some(_) => {}
            None => sources.push(source),
        }
    }
}

/// Adds `source` to `sources` unless its URL is there (a title fills one that had none), or
/// [`MAX_SOURCES`] are.
pub fn merge_source(sources: &mut Vec<Source>, source: Source) {
    let full = sources.len() >= MAX_SOURCES;
    match sources.iter_mut().find(|known| known.url == source.url) {
        Some(known) if known.title.is_empty() => known.title = source.title,
        Some(_) => {}
        None if !full => sources.push(source),
        None => {}
    }
}

/// Reasoning under the name some providers give it (`reasoning` beside `content`, in the first
/// choice's delta or message), when it is text; anything else there is not reasoning text.
pub fn reasoning_in(body: &Value) -> Option<String> {
    let choice = body.get("choices")?.get(0)?;
    let message = choice.get("delta").or_else(|| choice.get("message"))?;
    message.get("reasoning")?.as_str().map(str::to_owned)
}

/// A source from an object with a `url` and maybe a `title`.
fn titled(entry: &Value) -> Option<Source> {
    let text = |key| entry.get(key).and_then(Value::as_str);
    Source::new(text("url")?, text("title").unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_shape_and_skips_what_it_cannot() {
        let body = json!({
            "citations": ["https://a.example/", 7, "", {"url": "https://b.example/", "title": "B"}],
            "search_results": [{"url": "https://a.example/", "title": "A again"}, {"title": "no url"}],
            "choices": [{"delta": {"annotations": [
                {"type": "url_citation", "url_citation": {"url": "https://c.example/", "title": "  C \n page ", "start_index": 1}},
                {"type": "file_citation", "file_citation": {"file_id": "x"}},
                {"type": "url_citation", "url": "https://d.example/"},
                "nonsense"
            ]}}]
        });
        let found = sources_in(&body);
        let urls: Vec<_> = found.iter().map(|source| source.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://a.example/",
                "",
                "",
                "https://b.example/",
                "https://c.example/",
                "https://d.example/"
            ],
            "citations keep their places, what is no URL a placeholder"
        );
        assert_eq!(found[4].title, "C page");
        assert_eq!(found[0].title, "A again", "a title fills one that had none");
        assert!(sources_in(&json!({"citations": "not a list", "choices": []})).is_empty());
    }

    #[test]
    fn a_numbered_list_repeated_in_every_chunk_keeps_its_places() {
        let chunk = |citations: Value| sources_in(&json!({ "citations": citations }));
        let mut sources = Vec::new();
        merge_sources(&mut sources, chunk(json!(["https://a/", "", "https://c/"])));
        merge_sources(
            &mut sources,
            chunk(json!(["https://a/", "", {"url": "https://c/", "title": "C"}])),
        );
        let shown: Vec<_> = sources
            .iter()
            .map(|source| (source.url.as_str(), source.title.as_str()))
            .collect();
        assert_eq!(shown, [("https://a/", ""), ("", ""), ("https://c/", "C")]);
        // A list of another order joins by URL, and adds no placeholder.
        merge_sources(&mut sources, chunk(json!(["https://d/", "", "https://a/"])));
        assert_eq!(sources.len(), 4);
        assert_eq!(sources[3].url, "https://d/");
    }

    #[test]
    fn bounds_what_a_reply_may_cite() {
        let many: Vec<String> = (0..500).map(|n| format!("https://{n}.example/")).collect();
        assert_eq!(sources_in(&json!({ "citations": many })).len(), MAX_SOURCES);
        let long = format!("https://x.example/{}", "a".repeat(MAX_URL));
        assert_eq!(
            sources_in(&json!({ "citations": [long] })),
            [Source::default()],
            "a URL too long keeps its place, as no URL"
        );
        let title = "t".repeat(10_000);
        let source = Source::new("https://x.example/", &title).expect("kept");
        assert_eq!(source.title.chars().count(), MAX_TITLE);
    }
}
