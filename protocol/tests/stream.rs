//! Stream fixtures decoded into chat events, at every split point and with every line ending.

mod common;

use chat_protocol::{
    ApiError, ChatCompletion, FinishReason, FunctionCall, StreamDecoder, StreamEvent, ToolCall,
    ToolCallBuilder, ToolCallDelta, Usage,
};
use common::{decode_everywhere, fixture};

fn decode_fixture(name: &str) -> Vec<StreamEvent> {
    decode_everywhere(&fixture(name), StreamDecoder::new, StreamDecoder::push)
}

fn text_of(events: &[StreamEvent], pick: fn(&StreamEvent) -> Option<&str>) -> String {
    events.iter().filter_map(pick).collect()
}

fn content(event: &StreamEvent) -> Option<&str> {
    match event {
        StreamEvent::Content(text) => Some(text),
        _ => None,
    }
}

fn reasoning(event: &StreamEvent) -> Option<&str> {
    match event {
        StreamEvent::Reasoning(text) => Some(text),
        _ => None,
    }
}

fn tool_calls(events: &[StreamEvent]) -> Vec<ToolCall> {
    let mut builder = ToolCallBuilder::new();
    for event in events {
        if let StreamEvent::ToolCall(delta) = event {
            builder.push(delta.clone());
        }
    }
    builder.finish()
}

/// A tool-call piece, with only the fields given.
fn piece(index: Option<u32>, id: Option<&str>, name: Option<&str>, arguments: &str) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallDelta {
        index,
        id: id.map(Into::into),
        function: Some(chat_protocol::FunctionCallDelta {
            name: name.map(Into::into),
            arguments: Some(arguments.into()),
        }),
    })
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        kind: "function".into(),
        function: FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
        },
    }
}

#[test]
fn reasoning_then_content() {
    let events = decode_fixture("reasoning-then-content.sse");
    assert_eq!(
        text_of(&events, reasoning),
        "First, the user said: \"Hello.\" That is simple."
    );
    assert_eq!(text_of(&events, content), "Hi there!");
    assert_eq!(
        &events[events.len() - 2..],
        [StreamEvent::Finish(FinishReason::Stop), StreamEvent::Done]
    );
}

#[test]
fn gemini_tool_call_quirks() {
    let events = decode_fixture("gemini-tool-call-quirks.sse");
    assert_eq!(
        tool_calls(&events),
        [call("call_0", "get_time", "{\"tz\": \"Europe/Paris\"}")]
    );
    // Gemini says `stop` after a tool call and sends no `[DONE]`.
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish(FinishReason::Stop))
    );
}

#[test]
fn midstream_error_keeps_the_provider_message() {
    let events = decode_fixture("midstream-error.sse");
    assert_eq!(text_of(&events, content), "Partial");
    let StreamEvent::Error(error) = events.last().expect("events") else {
        panic!("no error event: {events:?}")
    };
    assert_eq!(error.message, "upstream overloaded");
    assert_eq!(error.kind.as_deref(), Some("server_error"));
    assert_eq!(error.code.as_deref(), Some("503"));
}

#[test]
fn parallel_tool_calls_are_joined_by_index_and_usage_is_read_without_choices() {
    let events = decode_fixture("parallel-tool-calls-with-usage.sse");
    assert_eq!(
        tool_calls(&events),
        [
            call("call_a", "get_time", "{\"tz\":\"Asia/Tokyo\"}"),
            call("call_b", "read_page", "{}")
        ]
    );
    assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
    assert!(events.contains(&StreamEvent::Usage(Usage {
        prompt_tokens: 31,
        completion_tokens: 12,
        total_tokens: 43
    })));
    assert_eq!(events.last(), Some(&StreamEvent::Done));
}

#[test]
fn bom_comments_multiline_data_utf8_and_unknown_fields() {
    let events = decode_fixture("bom-comments-multiline-utf8.sse");
    assert_eq!(
        events,
        [
            StreamEvent::Content("Grüße ".into()),
            StreamEvent::Content("✓ 🦀".into()),
            StreamEvent::Finish(FinishReason::Length),
            StreamEvent::Done,
        ]
    );
}

#[test]
fn data_error_object_inside_the_stream() {
    let mut decoder = StreamDecoder::new();
    let events =
        decoder.push(b"data: {\"error\":{\"message\":\"quota exceeded\",\"code\":429}}\n\n");
    assert_eq!(
        events,
        [StreamEvent::Error(ApiError {
            code: Some("429".into()),
            ..ApiError::new("quota exceeded")
        })]
    );
}

#[test]
fn event_error_with_plain_text_data() {
    let mut decoder = StreamDecoder::new();
    assert_eq!(
        decoder.push(b"event: error\ndata: overloaded\n\n"),
        [StreamEvent::Error(ApiError::new("overloaded"))]
    );
}

#[test]
fn a_chunk_that_is_not_json_is_an_error_not_a_panic() {
    let mut decoder = StreamDecoder::new();
    let events = decoder.push(b"data: {\"choices\": [\n\n");
    let [StreamEvent::Error(error)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(error.kind.as_deref(), Some("invalid_chunk"));
}

#[test]
fn tool_call_pieces_without_index_join_by_id_or_the_last_call() {
    let piece = |id, name, arguments| piece(None, id, name, arguments);
    let events = [
        piece(Some("a"), Some("first"), "{\"x\":"),
        piece(Some("b"), Some("second"), "{"),
        piece(Some("a"), None, "1}"),
        piece(None, None, "}"),
        piece(None, Some("third"), ""),
    ];
    assert_eq!(
        tool_calls(&events),
        [call("a", "first", "{\"x\":1}"), call("b", "second", "{}")]
    );
}

#[test]
fn a_call_without_id_or_arguments_gets_them() {
    let mut builder = ToolCallBuilder::new();
    builder.push(ToolCallDelta {
        index: Some(0),
        id: None,
        function: Some(chat_protocol::FunctionCallDelta {
            name: Some("now".into()),
            arguments: None,
        }),
    });
    assert_eq!(builder.finish(), [call("call_0", "now", "{}")]);
}

#[test]
fn a_whole_answer_gives_the_same_events_as_a_stream() {
    let body = r#"{"id":"x","object":"chat.completion","created":1,"model":"m",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","tool_calls":[
            {"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"extra":true}"#;
    let completion: ChatCompletion = serde_json::from_str(body).expect("valid completion");
    let events = StreamEvent::from_completion(completion);
    assert_eq!(text_of(&events, content), "Hello!");
    assert_eq!(tool_calls(&events), [call("c1", "f", "{}")]);
    assert_eq!(
        &events[events.len() - 3..],
        [
            StreamEvent::Finish(FinishReason::Stop),
            StreamEvent::Usage(Usage {
                prompt_tokens: 3,
                completion_tokens: 2,
                total_tokens: 5
            }),
            StreamEvent::Done
        ]
    );
}

#[test]
fn a_whole_body_with_an_error_or_garbage_gives_one_error() {
    assert_eq!(
        StreamEvent::from_body(r#"{"error":{"message":"no credits"}}"#),
        [StreamEvent::Error(ApiError::new("no credits"))]
    );
    let events = StreamEvent::from_body("<html>");
    let [StreamEvent::Error(error)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(error.kind.as_deref(), Some("invalid_response"));
    assert_eq!(
        StreamEvent::from_body(
            r#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}"#
        ),
        [
            StreamEvent::Content("hi".into()),
            StreamEvent::Finish(FinishReason::Stop),
            StreamEvent::Done
        ]
    );
}

#[test]
fn parallel_calls_that_all_say_index_0_stay_apart_by_id() {
    let piece = |id, name, arguments| piece(Some(0), id, name, arguments);
    let events = [
        piece(Some("a"), Some("first"), "{\"x\":"),
        piece(None, None, "1}"),
        piece(Some("b"), Some("second"), "{"),
        piece(None, None, "}"),
    ];
    assert_eq!(
        tool_calls(&events),
        [call("a", "first", "{\"x\":1}"), call("b", "second", "{}")]
    );
}

#[test]
fn chunks_with_a_null_error_field_are_ordinary_chunks() {
    let mut decoder = StreamDecoder::new();
    let events = decoder.push(
        b"data: {\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n",
    );
    assert_eq!(events, [StreamEvent::Content("hi".into())]);
}

#[test]
fn an_error_event_without_data_still_says_something() {
    let mut decoder = StreamDecoder::new();
    let events = decoder.push(b"event: error\ndata:\n\n");
    let [StreamEvent::Error(error)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(!error.message.is_empty());
}

/// Every source the events carry, each URL once, in order.
fn sources(events: &[StreamEvent]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for event in events {
        if let StreamEvent::Sources(sources) = event {
            for source in sources {
                if found.iter().all(|(url, _)| *url != source.url) {
                    found.push((source.url.clone(), source.title.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn reasoning_under_its_other_name_and_openai_url_citations() {
    let events = decode_fixture("reasoning-field-and-annotations.sse");
    assert_eq!(
        text_of(&events, reasoning),
        "The person asks about Rust’s edition.",
        "`reasoning` that is text is read; `null` or an object is not"
    );
    assert_eq!(
        text_of(&events, content),
        "The 2024 edition shipped with Rust 1.85 ([blog](https://blog.rust-lang.org/))."
    );
    assert_eq!(
        sources(&events),
        [
            (
                "https://blog.rust-lang.org/2025/02/20/Rust-1.85.0.html".to_owned(),
                "Announcing Rust 1.85.0 and Rust 2024".to_owned()
            ),
            // Kept as the provider sent it: the widget decides what it links.
            ("javascript:alert(1)".to_owned(), "Not a page".to_owned()),
        ]
    );
    let last = &events[events.len() - 3..];
    assert!(matches!(last[0], StreamEvent::Sources(_)), "{last:?}");
    assert_eq!(
        last[1..],
        [StreamEvent::Finish(FinishReason::Stop), StreamEvent::Done]
    );
}

#[test]
fn perplexity_citations_repeated_in_every_chunk() {
    let events = decode_fixture("perplexity-citations.sse");
    assert_eq!(
        text_of(&events, content),
        "Rust is a systems language[1]. Editions keep old code compiling[2]."
    );
    assert_eq!(
        sources(&events),
        [
            (
                "https://www.rust-lang.org/".to_owned(),
                "Rust Programming Language".to_owned()
            ),
            (
                "https://doc.rust-lang.org/edition-guide/".to_owned(),
                "The Rust Edition Guide".to_owned()
            ),
        ],
        "the titles of `search_results` join the URLs of `citations`"
    );
}

#[test]
fn a_whole_answer_carries_its_reasoning_and_sources() {
    let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"See [1].",
        "reasoning":"Look it up.","annotations":[{"type":"url_citation","url_citation":
        {"url":"https://example.com/a","title":"A"}}]},"finish_reason":"stop"}],
        "citations":["https://example.com/a","https://example.com/b"]}"#;
    let events = StreamEvent::from_body(body);
    assert_eq!(text_of(&events, reasoning), "Look it up.");
    assert_eq!(
        sources(&events),
        [
            ("https://example.com/a".to_owned(), "A".to_owned()),
            ("https://example.com/b".to_owned(), "".to_owned())
        ]
    );
    assert_eq!(events.last(), Some(&StreamEvent::Done));
}

#[test]
fn a_provider_that_sends_none_of_them_is_unchanged() {
    let events = decode_fixture("reasoning-then-content.sse");
    assert!(sources(&events).is_empty());
    assert!(!events
        .iter()
        .any(|event| matches!(event, StreamEvent::Sources(_))));
}
