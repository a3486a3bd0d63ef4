//! The offline demo model: a deterministic answer built from the person's words, spoken as real
//! OpenAI-format SSE at a steady pace, honouring `max_tokens`, `stop` and `stream: false`.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_protocol::{
    AssistantMessage, ChatChunk, ChatCompletion, ChatRequest, Choice, ChunkChoice, Content,
    ContentPart, Delta, FinishReason, FunctionCall, FunctionCallDelta, Message, Source, SseFrame,
    ToolCall, ToolCallDelta, ToolChoice, Usage,
};
use futures_util::{stream, StreamExt};

use crate::budget::Meter;
use crate::state::{AppState, StreamGuard};
use crate::streaming::no_buffering;

/// How many sections a "long" answer has.
const LONG_SECTIONS: usize = 24;

/// The demo model's answer to one request, cut by `stop` and `max_tokens` as a real model's would be.
#[derive(Debug, PartialEq)]
pub struct DemoReply {
    /// The answer, one token per piece.
    pub tokens: Vec<String>,
    /// Why the answer ends.
    pub finish_reason: FinishReason,
    /// Estimated prompt tokens.
    pub prompt_tokens: u32,
    /// The tool the demo model calls instead of answering, when the request offers one that the
    /// person's words name.
    pub tool_call: Option<ToolCall>,
    /// What it "thinks" before answering, one token per piece, when asked to think.
    pub reasoning: Vec<String>,
    /// The sources it cites (`[1]`, `[2]` in the answer), when asked for sources.
    pub sources: Vec<Source>,
}

impl DemoReply {
    /// The answer to `request`.
    pub fn new(request: &ChatRequest) -> Self {
        let prompt = last_user_text(request);
        let prompt_tokens = estimate_prompt_tokens(request);
        if let Some(call) = tool_to_call(request, &prompt) {
            return DemoReply {
                tokens: Vec::new(),
                finish_reason: FinishReason::ToolCalls,
                prompt_tokens,
                tool_call: Some(call),
                reasoning: Vec::new(),
                sources: Vec::new(),
            };
        }
        let lower = prompt.to_lowercase();
        let reasoning = if lower.contains("think") || lower.contains("reason") {
            tokenize(&think(&prompt))
        } else {
            Vec::new()
        };
        let cites = lower.contains("source") || lower.contains("cite");
        let mut text = match tool_outputs(request) {
            outputs if !outputs.is_empty() => answer_with_tools(&outputs),
            _ => match crate::images::describe(&last_user_images(request)) {
                Some(images) => format!("{images}\n\n{}", compose(&prompt)),
                None => compose(&prompt),
            },
        };
        if cites {
            text.push_str(CITED);
        }
        if lower.contains("code") {
            text.push_str(MORE_CODE);
        }
        if lower.contains("math") || lower.contains("formula") {
            text.push_str(MATH);
        }
        let mut finish_reason = FinishReason::Stop;
        let cut = request
            .stop
            .sequences()
            .iter()
            .filter_map(|stop| text.find(stop.as_str()))
            .min();
        if let Some(cut) = cut {
            text.truncate(cut);
        }
        let mut tokens = tokenize(&text);
        let limit = request
            .max_tokens
            .map_or(usize::MAX, |max| usize::try_from(max).unwrap_or(usize::MAX));
        if tokens.len() > limit {
            tokens.truncate(limit);
            finish_reason = FinishReason::Length;
        }
        DemoReply {
            tokens,
            finish_reason,
            prompt_tokens,
            tool_call: None,
            reasoning,
            sources: if cites { sources() } else { Vec::new() },
        }
    }

    /// The answer's whole text.
    pub fn text(&self) -> String {
        self.tokens.concat()
    }

    fn usage(&self) -> Usage {
        // A tool call costs about a token per four characters of its name and arguments.
        let call = self.tool_call.as_ref().map_or(0, |call| {
            (call.function.name.len() + call.function.arguments.len()) / 4 + 1
        });
        let completion_tokens =
            u32::try_from(self.reasoning.len() + self.tokens.len() + call).unwrap_or(u32::MAX);
        Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens,
            total_tokens: self.prompt_tokens.saturating_add(completion_tokens),
        }
    }
}

/// Answers `request` with the demo model: a stream paced at `pace` per token, or one JSON body.
pub fn respond(
    state: &AppState,
    request: &ChatRequest,
    pace: Duration,
    meter: Meter,
    arrived: Instant,
) -> Response {
    let reply = DemoReply::new(request);
    let id = format!("demo-{:x}", seconds_now());
    if !request.is_streaming() {
        let completion = ChatCompletion {
            id,
            object: "chat.completion".into(),
            created: seconds_now(),
            model: request.model.clone(),
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    content: reply.tool_call.is_none().then(|| reply.text()),
                    reasoning_content: (!reply.reasoning.is_empty())
                        .then(|| reply.reasoning.concat()),
                    tool_calls: reply.tool_call.iter().cloned().collect(),
                },
                finish_reason: Some(reply.finish_reason.clone()),
            }],
            usage: Some(reply.usage()),
        };
        let mut body = serde_json::to_value(completion).unwrap_or_default();
        if !reply.sources.is_empty() {
            body["choices"][0]["message"]["annotations"] = annotations(&reply.sources);
        }
        let mut meter = meter;
        meter.feed(body.to_string().as_bytes());
        state.stats.metrics.first_byte(arrived.elapsed());
        return Json(body).into_response();
    }
    let frames = frames(&reply, &id, &request.model);
    let stats = state.stats.clone();
    // The guard and the meter go with the stream, and are dropped with it.
    let watched = std::sync::Arc::new(std::sync::Mutex::new((
        StreamGuard::new(stats.clone(), arrived),
        meter,
    )));
    // The stream is produced lazily, one frame per `pace`: when the browser goes away, axum drops it
    // and generation stops there.
    let body = stream::iter(frames.into_iter().enumerate()).then(move |(index, frame)| {
        let stats = stats.clone();
        let watched = watched.clone();
        async move {
            if index > 0 && !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            {
                let mut watched = watched
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let (guard, meter) = &mut *watched;
                guard.sent();
                meter.feed(&frame);
            }
            stats.count_demo_token();
            Ok::<_, Infallible>(frame)
        }
    });
    no_buffering(Response::builder())
        .header(CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The SSE frames of a streamed reply: the role, one frame per token, the finish reason, the
/// usage (with no choices, as OpenAI sends it) and `[DONE]`.
fn frames(reply: &DemoReply, id: &str, model: &str) -> Vec<Bytes> {
    let chunk = |delta: Delta, finish_reason: Option<FinishReason>| ChatChunk {
        id: id.to_owned(),
        object: "chat.completion.chunk".into(),
        created: seconds_now(),
        model: model.to_owned(),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason,
        }],
        usage: None,
    };
    let mut chunks = vec![chunk(
        Delta {
            role: Some("assistant".into()),
            ..Default::default()
        },
        None,
    )];
    chunks.extend(reply.reasoning.iter().map(|token| {
        chunk(
            Delta {
                reasoning_content: Some(token.clone()),
                ..Default::default()
            },
            None,
        )
    }));
    chunks.extend(reply.tokens.iter().map(|token| {
        chunk(
            Delta {
                content: Some(token.clone()),
                ..Default::default()
            },
            None,
        )
    }));
    if let Some(call) = &reply.tool_call {
        // The call's name first, then its arguments in two pieces, as providers stream them.
        let arguments = &call.function.arguments;
        let middle = (0..=arguments.len() / 2)
            .rev()
            .find(|&at| arguments.is_char_boundary(at))
            .unwrap_or(0);
        let pieces = [
            (
                Some(call.id.clone()),
                Some(call.function.name.clone()),
                String::new(),
            ),
            (None, None, arguments[..middle].to_owned()),
            (None, None, arguments[middle..].to_owned()),
        ];
        chunks.extend(pieces.into_iter().map(|(id, name, arguments)| {
            chunk(
                Delta {
                    tool_calls: vec![ToolCallDelta {
                        index: Some(0),
                        id,
                        function: Some(FunctionCallDelta {
                            name,
                            arguments: Some(arguments),
                        }),
                    }],
                    ..Default::default()
                },
                None,
            )
        }));
    }
    chunks.push(chunk(Delta::default(), Some(reply.finish_reason.clone())));
    chunks.push(ChatChunk {
        choices: Vec::new(),
        usage: Some(reply.usage()),
        ..chunk(Delta::default(), None)
    });
    let mut values: Vec<serde_json::Value> = chunks
        .iter()
        .map(|chunk| serde_json::to_value(chunk).unwrap_or_default())
        .collect();
    if !reply.sources.is_empty() {
        // As OpenAI sends them: on the delta of the chunk that finishes the choice.
        if let Some(last) = values.len().checked_sub(2) {
            values[last]["choices"][0]["delta"]["annotations"] = annotations(&reply.sources);
        }
    }
    let mut frames: Vec<Bytes> = values
        .iter()
        .map(|value| Bytes::from(SseFrame::new(&value.to_string()).encode()))
        .collect();
    frames.push(Bytes::from(SseFrame::done().encode()));
    frames
}

/// What the demo model says it thinks: a few plain sentences about the question.
fn think(prompt: &str) -> String {
    let words = prompt.split_whitespace().count();
    format!(
        "The person wrote {words} words and asked me to think first.\n\
         I am the demo model, so my answer is always the same shape: a list of their words, \
         a table and a code block.\n\
         Nothing to look up here; I will answer now."
    )
}

/// The same idea in other languages, for a message that asks for code.
const MORE_CODE: &str = "\n\nThe same in Python, with its test data as JSON and a shell line to run it:\n\n\
```python\n@lru_cache\ndef longest(words: list[str]) -> str | None:\n    \"\"\"The longest word, if any.\"\"\"\n    return max(words, key=len, default=None)  # ties: the first\n```\n\n\
```json\n{\"words\": [\"Show\", \"me\", \"code\"], \"expected\": \"Show\", \"strict\": true}\n```\n\n\
```bash\npython3 -c 'import longest' && echo \"ok: $?\" # prints ok: 0\n```";

/// Formulas, inline and displayed, for a message that asks for math.
const MATH: &str = "\n\nSome math: the roots of $ax^2 + bx + c = 0$ are\n\n\
$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$\n\n\
and Euler's sum is \\(\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\); a rotation by $\\theta$ is\n\n\
\\[R(\\theta) = \\begin{pmatrix} \\cos\\theta & -\\sin\\theta \\\\ \\sin\\theta & \\cos\\theta \\end{pmatrix}\\]\n\n\
Prices such as $5 and $10 stay text.";

/// The paragraph that cites the demo model's sources.
const CITED: &str =
    "\n\nAbout the format: the widget speaks the OpenAI-compatible chat completions \
    API[1], and renders replies as CommonMark[2].";

/// The sources the demo model cites.
fn sources() -> Vec<Source> {
    [
        (
            "https://platform.openai.com/docs/api-reference/chat",
            "Chat Completions API reference",
        ),
        ("https://commonmark.org/", "CommonMark"),
    ]
    .into_iter()
    .filter_map(|(url, title)| Source::new(url, title))
    .collect()
}

/// `sources` as OpenAI's `url_citation` annotations.
fn annotations(sources: &[Source]) -> serde_json::Value {
    sources
        .iter()
        .map(|source| {
            serde_json::json!({
                "type": "url_citation",
                "url_citation": {"url": source.url, "title": source.title}
            })
        })
        .collect()
}

fn estimate_prompt_tokens(request: &ChatRequest) -> u32 {
    let chars: usize = request
        .messages
        .iter()
        .map(|message| text_of(message).len())
        .sum();
    u32::try_from(chars / 4 + 1).unwrap_or(u32::MAX)
}

/// The tool the person's words name, among those offered, with plausible arguments; `None` when
/// the request offers none, forbids calling, or already carries tool outputs for this turn.
fn tool_to_call(request: &ChatRequest, prompt: &str) -> Option<ToolCall> {
    if request.tools.is_empty()
        || request.tool_choice == Some(ToolChoice::None)
        || matches!(request.messages.last(), Some(Message::Tool { .. }))
    {
        return None;
    }
    let words: Vec<String> = prompt
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| word.len() >= 4)
        .map(str::to_lowercase)
        .collect();
    let named = |tool: &&chat_protocol::Tool| {
        tool.function
            .name
            .split(['_', '-'])
            .filter(|part| part.len() >= 4)
            .any(|part| words.iter().any(|word| *word == part.to_lowercase()))
    };
    let tool = match &request.tool_choice {
        Some(ToolChoice::Function(name)) => request
            .tools
            .iter()
            .find(|tool| tool.function.name == *name),
        Some(ToolChoice::Required) => request.tools.iter().find(named).or(request.tools.first()),
        _ => request.tools.iter().find(named),
    }?;
    let mut arguments = serde_json::Map::new();
    let properties = tool
        .function
        .parameters
        .as_ref()
        .and_then(|schema| schema.get("properties"));
    for (name, schema) in properties
        .and_then(|properties| properties.as_object())
        .into_iter()
        .flatten()
    {
        let value = match schema.get("type").and_then(|kind| kind.as_str()) {
            _ if name.contains("tz") || name.contains("zone") => time_zone(prompt).into(),
            Some("number" | "integer") => 1.into(),
            Some("boolean") => true.into(),
            _ => prompt.chars().take(80).collect::<String>().into(),
        };
        arguments.insert(name.clone(), value);
    }
    Some(ToolCall {
        id: format!("call_demo_{}", request.messages.len()),
        kind: "function".into(),
        function: FunctionCall {
            name: tool.function.name.clone(),
            arguments: serde_json::Value::Object(arguments).to_string(),
        },
    })
}

/// A time zone for the place the person names, or UTC.
fn time_zone(prompt: &str) -> String {
    const PLACES: [(&str, &str); 8] = [
        ("tokyo", "Asia/Tokyo"),
        ("paris", "Europe/Paris"),
        ("london", "Europe/London"),
        ("berlin", "Europe/Berlin"),
        ("york", "America/New_York"),
        ("angeles", "America/Los_Angeles"),
        ("sydney", "Australia/Sydney"),
        ("delhi", "Asia/Kolkata"),
    ];
    // An IANA name written out, such as Europe/Paris or America/New_York.
    let iana = |word: &&str| {
        let mut parts = word.split('/');
        let (Some(area), Some(place)) = (parts.next(), parts.next()) else {
            return false;
        };
        parts.next().is_none()
            && [area, place].iter().all(|part| {
                part.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && part.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
            })
    };
    let words: Vec<&str> = prompt
        .split_whitespace()
        .map(|word| word.trim_matches(|c: char| c.is_ascii_punctuation() && c != '_'))
        .collect();
    if let Some(zone) = words.into_iter().find(|word| iana(word)) {
        return zone.to_owned();
    }
    let lower = prompt.to_lowercase();
    PLACES
        .iter()
        .find(|(place, _)| lower.contains(place))
        .map_or("UTC", |(_, zone)| zone)
        .to_owned()
}

/// The outputs of the tools called in this turn: `(tool name, output)`.
fn tool_outputs(request: &ChatRequest) -> Vec<(String, String)> {
    request
        .messages
        .iter()
        .rev()
        .take_while(|message| matches!(message, Message::Tool { .. }))
        .filter_map(|message| match message {
            Message::Tool {
                content,
                name,
                tool_call_id,
            } => Some((
                name.clone().unwrap_or_else(|| tool_call_id.clone()),
                text_of(&Message::Tool {
                    content: content.clone(),
                    tool_call_id: tool_call_id.clone(),
                    name: None,
                }),
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn answer_with_tools(outputs: &[(String, String)]) -> String {
    let mut text =
        String::from("I am the **demo model**. I called the page's tools, and they answered:\n\n");
    for (name, output) in outputs {
        let output = serde_json::from_str::<serde_json::Value>(output)
            .ok()
            .and_then(|value| serde_json::to_string_pretty(&value).ok())
            .unwrap_or_else(|| output.clone());
        let _ = write!(
            text,
            "- `{name}`:\n\n  ```json\n  {}\n  ```\n",
            output.replace('\n', "\n  ")
        );
    }
    text.push_str(
        "\nA real model would now answer in its own words; I only show that the tool loop works.",
    );
    text
}

fn seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn text_of(message: &Message) -> String {
    let content = match message {
        Message::System { content, .. }
        | Message::User { content, .. }
        | Message::Tool { content, .. } => Some(content),
        Message::Assistant { content, .. } => content.as_ref(),
    };
    match content {
        Some(Content::Text(text)) => text.clone(),
        Some(Content::Parts(parts)) => parts
            .iter()
            .filter_map(|part| match part {
                ContentPart::Text { text } => Some(text.as_str()),
                ContentPart::ImageUrl { .. } => None,
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => String::new(),
    }
}

/// The URLs of the images in the person's last message.
fn last_user_images(request: &ChatRequest) -> Vec<&str> {
    let last = request
        .messages
        .iter()
        .rev()
        .find(|message| matches!(message, Message::User { .. }));
    match last {
        Some(Message::User {
            content: Content::Parts(parts),
            ..
        }) => parts
            .iter()
            .filter_map(|part| match part {
                ContentPart::ImageUrl { image_url } => Some(image_url.url.as_str()),
                ContentPart::Text { .. } => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn last_user_text(request: &ChatRequest) -> String {
    request
        .messages
        .iter()
        .rev()
        .find(|message| matches!(message, Message::User { .. }))
        .map(text_of)
        .unwrap_or_default()
}

/// Splits text into tokens: each run of non-space characters with the spaces after it.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for character in text.chars() {
        let space = character.is_whitespace();
        if in_space && !space {
            tokens.push(std::mem::take(&mut current));
        }
        in_space = space;
        current.push(character);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// The answer: the person's words (letters and digits only, so nothing they type becomes markup)
/// worked into paragraphs, a list, a table and a code block.
fn compose(prompt: &str) -> String {
    let words: Vec<String> = prompt
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(8)
        .map(str::to_owned)
        .collect();
    let words = if words.is_empty() {
        vec!["hello".to_owned()]
    } else {
        words
    };
    let long = words.iter().any(|word| word.eq_ignore_ascii_case("long"));
    let quoted = words.join(" ");
    let mut text = String::new();
    let _ = write!(
        text,
        "Hello! I am the **demo model** built into the relay. No API key is set, so I answer offline, \
         and the same words always get the same answer.\n\n\
         You wrote about *{quoted}*. Here are your {} words as a list:\n\n",
        words.len()
    );
    for word in &words {
        let _ = writeln!(text, "- **{word}**, {} letters", word.chars().count());
    }
    text.push_str(
        "\nThe same words in a table:\n\n| # | Word | Letters | Reversed |\n|---|---|---|---|\n",
    );
    for (index, word) in words.iter().enumerate() {
        let reversed: String = word.chars().rev().collect();
        let _ = writeln!(
            text,
            "| {} | {word} | {} | {reversed} |",
            index + 1,
            word.chars().count()
        );
    }
    let list = words
        .iter()
        .map(|word| format!("\"{word}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        text,
        "\nAnd in a code block:\n\n```rust\nlet words = [{list}];\nlet longest = words.iter().max_by_key(|word| word.len());\nprintln!(\"{{longest:?}}\");\n```\n\n"
    );
    if long {
        for section in 1..=LONG_SECTIONS {
            let word = &words[section % words.len()];
            let _ = write!(
                text,
                "Part {section}. You asked for a long answer, so here is more about *{word}*: it has {} letters, \
                 it reads {} backwards, and it is word {} of the {} you wrote. A real model would say \
                 something wiser; this one only shows how a long reply streams.\n\n",
                word.chars().count(),
                word.chars().rev().collect::<String>(),
                section % words.len() + 1,
                words.len()
            );
        }
    }
    text.push_str("Set `CHAT_RELAY_API_KEY` and restart the relay to talk to the real model.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::Stop;

    fn ask(text: &str) -> ChatRequest {
        ChatRequest::new("gemini-1.5-pro", vec![Message::user(text)])
    }

    #[test]
    fn tokens_join_back_into_the_text() {
        assert_eq!(tokenize("a bb  c\n\nd"), ["a ", "bb  ", "c\n\n", "d"]);
    }

    #[test]
    fn the_answer_is_deterministic_and_uses_the_words_safely() {
        let reply = DemoReply::new(&ask("Tell me about <script>otters</script>"));
        assert_eq!(
            reply,
            DemoReply::new(&ask("Tell me about <script>otters</script>"))
        );
        let text = reply.text();
        assert!(
            text.contains("demo model")
                && text.contains("otters")
                && text.contains("| 4 | script |")
        );
        assert!(!text.contains('<'), "no markup from the prompt: {text}");
        assert_eq!(reply.finish_reason, FinishReason::Stop);
    }

    #[test]
    fn max_tokens_cuts_with_length() {
        let mut request = ask("hi");
        request.max_tokens = Some(5);
        let reply = DemoReply::new(&request);
        assert_eq!(reply.tokens.len(), 5);
        assert_eq!(reply.finish_reason, FinishReason::Length);
    }

    #[test]
    fn stop_cuts_before_the_sequence() {
        let mut request = ask("hi");
        request.stop = Stop::Many(vec!["table".into(), "list".into()]);
        let text = DemoReply::new(&request).text();
        assert!(text.ends_with("as a "), "{text}");
    }

    fn with_tools(text: &str) -> ChatRequest {
        let mut request = ask(text);
        request.tools = vec![
            chat_protocol::Tool::function(
                "get_time",
                "The time",
                serde_json::json!({"type": "object", "properties": {"tz": {"type": "string"}}}),
            ),
            chat_protocol::Tool::function(
                "read_page",
                "The page",
                serde_json::json!({"type": "object"}),
            ),
        ];
        request
    }

    #[test]
    fn a_tool_the_words_name_is_called_with_plausible_arguments() {
        let reply = DemoReply::new(&with_tools("What time is it in Tokyo?"));
        let call = reply.tool_call.expect("a call");
        assert_eq!(call.function.name, "get_time");
        assert_eq!(call.function.arguments, r#"{"tz":"Asia/Tokyo"}"#);
        assert_eq!(reply.finish_reason, FinishReason::ToolCalls);
        assert!(DemoReply::new(&with_tools("Tell me a story"))
            .tool_call
            .is_none());
        let mut forbidden = with_tools("What time is it?");
        forbidden.tool_choice = Some(ToolChoice::None);
        assert!(DemoReply::new(&forbidden).tool_call.is_none());
    }

    #[test]
    fn after_the_tools_answered_the_reply_uses_their_output() {
        let mut request = with_tools("What page is this?");
        request.messages.push(Message::Assistant {
            content: None,
            name: None,
            tool_calls: vec![ToolCall {
                id: "c".into(),
                kind: "function".into(),
                function: FunctionCall {
                    name: "read_page".into(),
                    arguments: "{}".into(),
                },
            }],
        });
        request.messages.push(Message::Tool {
            content: Content::Text(r#"{"title":"Demo"}"#.into()),
            tool_call_id: "c".into(),
            name: Some("read_page".into()),
        });
        let reply = DemoReply::new(&request);
        assert!(reply.tool_call.is_none());
        let text = reply.text();
        assert!(
            text.contains("`read_page`") && text.contains("\"title\": \"Demo\""),
            "{text}"
        );
    }

    #[test]
    fn streamed_tool_call_frames_decode_to_the_same_call() {
        let reply = DemoReply::new(&with_tools("What time is it in Paris?"));
        let mut decoder = chat_protocol::StreamDecoder::new();
        let mut builder = chat_protocol::ToolCallBuilder::new();
        let mut finish = None;
        for frame in frames(&reply, "id", "m") {
            for event in decoder.push(&frame) {
                match event {
                    chat_protocol::StreamEvent::ToolCall(delta) => builder.push(delta),
                    chat_protocol::StreamEvent::Finish(reason) => finish = Some(reason),
                    _ => {}
                }
            }
        }
        assert_eq!(
            builder.finish(),
            vec![reply.tool_call.clone().expect("a call")]
        );
        assert_eq!(finish, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn asked_to_think_and_cite_it_streams_reasoning_then_an_answer_with_sources() {
        let reply = DemoReply::new(&ask("Think, then cite your sources"));
        let mut decoder = chat_protocol::StreamDecoder::new();
        let (mut reasoning, mut text, mut sources) = (String::new(), String::new(), Vec::new());
        let mut order = Vec::new();
        for frame in frames(&reply, "id", "m") {
            for event in decoder.push(&frame) {
                match event {
                    chat_protocol::StreamEvent::Reasoning(piece) => {
                        reasoning.push_str(&piece);
                        order.push('r');
                    }
                    chat_protocol::StreamEvent::Content(piece) => {
                        text.push_str(&piece);
                        order.push('c');
                    }
                    chat_protocol::StreamEvent::Sources(more) => sources.extend(more),
                    _ => {}
                }
            }
        }
        assert!(reasoning.contains("think first"), "{reasoning}");
        assert_eq!(
            order.iter().position(|&kind| kind == 'c'),
            Some(reply.reasoning.len())
        );
        assert!(
            text.contains("API[1]") && text.contains("CommonMark[2]"),
            "{text}"
        );
        assert_eq!(sources, super::sources());
        assert!(DemoReply::new(&ask("Hello")).sources.is_empty());
        assert!(DemoReply::new(&ask("Hello")).reasoning.is_empty());
    }

    #[test]
    fn long_answers_are_long() {
        assert!(DemoReply::new(&ask("a long story")).tokens.len() > 800);
    }
}
