//! From SSE events to chat events: what a streamed (or whole) answer means for the conversation.

use crate::error::ApiError;
use crate::response::{
    ChatChunk, ChatCompletion, FinishReason, FunctionCall, ToolCall, ToolCallDelta, Usage,
};
use crate::sources::{reasoning_in, sources_in, Source};
use crate::sse::{SseDecoder, SseEvent, DONE};

/// One thing that happened in an answer, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More answer text.
    Content(String),
    /// More reasoning text, from providers that send it beside the answer.
    Reasoning(String),
    /// A piece of a tool call; join them with [`ToolCallBuilder`].
    ToolCall(ToolCallDelta),
    /// The answer is complete for this reason.
    Finish(FinishReason),
    /// Token counts.
    Usage(Usage),
    /// Sources the answer cites (more of them; each URL once).
    Sources(Vec<Source>),
    /// The provider reported an error inside the stream.
    Error(ApiError),
    /// The `[DONE]` sentinel: nothing more will come.
    Done,
    /// Never read from a body: a transport says this when the connection dropped in the middle
    /// of the answer and it is resuming it. The next event means it is back.
    Reconnecting,
}

impl StreamEvent {
    /// The events of a whole (non-streaming) answer, in the order a stream would give them, so both
    /// kinds of answer take the same path through the conversation.
    pub fn from_completion(completion: ChatCompletion) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        if let Some(choice) = completion.choices.into_iter().next() {
            let message = choice.message;
            events.extend(
                message
                    .reasoning_content
                    .filter(|text| !text.is_empty())
                    .map(StreamEvent::Reasoning),
            );
            events.extend(
                message
                    .content
                    .filter(|text| !text.is_empty())
                    .map(StreamEvent::Content),
            );
            for (index, call) in message.tool_calls.into_iter().enumerate() {
                events.push(StreamEvent::ToolCall(ToolCallDelta {
                    index: u32::try_from(index).ok(),
                    id: Some(call.id),
                    function: Some(crate::response::FunctionCallDelta {
                        name: Some(call.function.name),
                        arguments: Some(call.function.arguments),
                    }),
                }));
            }
            events.extend(choice.finish_reason.map(StreamEvent::Finish));
        }
        events.extend(completion.usage.map(StreamEvent::Usage));
        events.push(StreamEvent::Done);
        events
    }
}

impl StreamEvent {
    /// The events of a whole JSON answer body. A body that carries an error (some providers send
    /// one with status 200) or does not parse gives one [`StreamEvent::Error`].
    pub fn from_body(body: &str) -> Vec<StreamEvent> {
        let value: serde_json::Value = match serde_json::from_str(body) {
            Ok(value) => value,
            Err(error) => {
                return vec![StreamEvent::Error(
                    ApiError::new(format!("The answer is not JSON ({error})."))
                        .with_kind("invalid_response"),
                )]
            }
        };
        if value.get("error").is_some() || value.is_array() {
            if let Some(error) = ApiError::from_json(&value) {
                return vec![StreamEvent::Error(error)];
            }
        }
        let sources = sources_in(&value);
        let reasoning = reasoning_in(&value);
        match serde_json::from_value::<ChatCompletion>(value) {
            Ok(mut completion) => {
                if let Some(choice) = completion.choices.first_mut() {
                    let message = &mut choice.message;
                    message.reasoning_content = message.reasoning_content.take().or(reasoning);
                }
                let mut events = StreamEvent::from_completion(completion);
                if !sources.is_empty() {
                    // Before the end, where a stream would have them.
                    events.insert(events.len() - 1, StreamEvent::Sources(sources));
                }
                events
            }
            Err(error) => vec![StreamEvent::Error(
                ApiError::new(format!("The answer has an unknown shape ({error})."))
                    .with_kind("invalid_response"),
            )],
        }
    }
}

/// Decodes the bytes of a streamed chat-completions body into [`StreamEvent`]s.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseDecoder,
}

impl StreamDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the body and returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        for event in self.sse.push(bytes) {
            decode_event(event, &mut events);
        }
        events
    }

    /// Whether the body so far ends inside an unfinished event.
    pub fn has_pending(&self) -> bool {
        self.sse.has_pending()
    }

    /// The id of the last event read whole (`id:`), empty when none: where a resume starts.
    pub fn last_event_id(&self) -> &str {
        self.sse.last_event_id()
    }
}

fn decode_event(event: SseEvent, out: &mut Vec<StreamEvent>) {
    let data = event.data.trim();
    match event.event.as_str() {
        "error" => {
            let error = serde_json::from_str(data)
                .ok()
                .as_ref()
                .and_then(ApiError::from_json);
            let error = error.unwrap_or_else(|| match data {
                "" => ApiError::new("The provider reported an error without a message."),
                text => ApiError::new(text),
            });
            out.push(StreamEvent::Error(error));
            return;
        }
        "message" => {}
        // Keep-alives and other named events carry nothing for the answer.
        _ => return,
    }
    if data == DONE {
        out.push(StreamEvent::Done);
        return;
    }
    let value: serde_json::Value = match serde_json::from_str(data) {
        Ok(value) => value,
        Err(error) => {
            out.push(StreamEvent::Error(
                ApiError::new(format!(
                    "The stream sent a chunk that is not JSON ({error})."
                ))
                .with_kind("invalid_chunk"),
            ));
            return;
        }
    };
    // Some providers send `"error": null` in ordinary chunks.
    if let Some(error) = value
        .get("error")
        .filter(|error| !error.is_null())
        .and_then(|_| ApiError::from_json(&value))
    {
        out.push(StreamEvent::Error(error));
        return;
    }
    let sources = sources_in(&value);
    let reasoning = reasoning_in(&value);
    let chunk: ChatChunk = match serde_json::from_value(value) {
        Ok(chunk) => chunk,
        Err(error) => {
            out.push(StreamEvent::Error(
                ApiError::new(format!(
                    "The stream sent a chunk of an unknown shape ({error})."
                ))
                .with_kind("invalid_chunk"),
            ));
            return;
        }
    };
    // The widget asks for one completion; any other choice index is ignored.
    if let Some(choice) = chunk.choices.into_iter().find(|choice| choice.index == 0) {
        let delta = choice.delta;
        out.extend(
            delta
                .reasoning_content
                .or(reasoning)
                .filter(|text| !text.is_empty())
                .map(StreamEvent::Reasoning),
        );
        out.extend(
            delta
                .content
                .filter(|text| !text.is_empty())
                .map(StreamEvent::Content),
        );
        out.extend(delta.tool_calls.into_iter().map(StreamEvent::ToolCall));
        if !sources.is_empty() {
            out.push(StreamEvent::Sources(sources));
        }
        out.extend(choice.finish_reason.map(StreamEvent::Finish));
    } else if !sources.is_empty() {
        out.push(StreamEvent::Sources(sources));
    }
    out.extend(chunk.usage.map(StreamEvent::Usage));
}

/// Joins streamed tool-call pieces into whole calls.
///
/// A piece joins the call with the same `index` (unless it brings a different `id`: some providers
/// number every parallel call 0); without an index (Gemini leaves it out), the call with the same
/// `id`; without either, the last call. Anything else starts a new call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolCallBuilder {
    calls: Vec<(Option<u32>, ToolCall)>,
}

impl ToolCallBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one piece.
    pub fn push(&mut self, delta: ToolCallDelta) {
        let id = delta.id.filter(|id| !id.is_empty());
        let slot = match (delta.index, &id) {
            // Some providers number every parallel call 0: a new id is a new call.
            (Some(index), Some(id)) => self.calls.iter().position(|(at, call)| {
                *at == Some(index) && (call.id.is_empty() || call.id == *id)
            }),
            (Some(index), None) => self.calls.iter().rposition(|(at, _)| *at == Some(index)),
            (None, Some(id)) => self.calls.iter().position(|(_, call)| call.id == *id),
            (None, None) => self.calls.len().checked_sub(1),
        };
        let slot = slot.unwrap_or_else(|| {
            self.calls.push((
                delta.index,
                ToolCall {
                    kind: "function".to_owned(),
                    ..ToolCall::default()
                },
            ));
            self.calls.len() - 1
        });
        let call = &mut self.calls[slot].1;
        if let Some(id) = id {
            call.id = id;
        }
        if let Some(function) = delta.function {
            if let Some(name) = function.name.filter(|name| !name.is_empty()) {
                // Some providers repeat the name in every piece; it is never split.
                if call.function.name.is_empty() {
                    call.function.name = name;
                }
            }
            if let Some(arguments) = function.arguments {
                call.function.arguments.push_str(&arguments);
            }
        }
    }

    /// Whether no piece has arrived.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls so far, in order of arrival.
    pub fn calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.calls.iter().map(|(_, call)| call)
    }

    /// The whole calls. A call the provider sent without an id gets `call_<n>`, so the `tool`
    /// message answering it can still name it.
    pub fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .enumerate()
            .map(|(n, (_, mut call))| {
                if call.id.is_empty() {
                    call.id = format!("call_{n}");
                }
                if call.function.arguments.trim().is_empty() {
                    call.function = FunctionCall {
                        arguments: "{}".to_owned(),
                        ..call.function
                    };
                }
                call
            })
            .collect()
    }
}
