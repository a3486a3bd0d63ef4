//! The conversation state, natively: submitting, streaming, stopping, failing and retrying.

#![cfg(not(target_arch = "wasm32"))]

use chat_protocol::{
    ApiError, FinishReason, FunctionCallDelta, Message, StreamEvent, ToolCallDelta, Usage,
};
use chat_widget_core::conversation::SubmitError;
use chat_widget_core::HistoryLimits;
use chat_widget_core::{ChatError, Conversation, MessageStatus, Role, Status, TransportError};

fn content(text: &str) -> StreamEvent {
    StreamEvent::Content(text.into())
}

fn statuses(conversation: &Conversation) -> Vec<(Role, MessageStatus)> {
    conversation
        .messages()
        .iter()
        .map(|message| (message.role, message.status))
        .collect()
}

#[test]
fn submit_adds_the_message_and_a_pending_reply() {
    let mut conversation = Conversation::new();
    let reply = conversation.submit("Hello").expect("accepted");
    assert_eq!(conversation.status(), &Status::Submitted);
    assert_eq!(
        statuses(&conversation),
        [
            (Role::User, MessageStatus::Done),
            (Role::Assistant, MessageStatus::Pending)
        ]
    );
    assert_eq!(conversation.messages()[1].id, reply);
    assert_eq!(
        conversation.history(),
        [Message::user("Hello")],
        "the pending reply is not history"
    );
}

#[test]
fn ids_are_stable_and_distinct() {
    let mut conversation = Conversation::new();
    conversation.submit("a").expect("accepted");
    let ids: Vec<_> = conversation
        .messages()
        .iter()
        .map(|message| message.id)
        .collect();
    conversation.apply(StreamEvent::Done);
    conversation.submit("b").expect("accepted");
    let again: Vec<_> = conversation
        .messages()
        .iter()
        .map(|message| message.id)
        .take(2)
        .collect();
    assert_eq!(ids, again);
    assert_ne!(conversation.messages()[2].id, conversation.messages()[3].id);
}

#[test]
fn blank_or_busy_submissions_are_refused_and_change_nothing() {
    let mut conversation = Conversation::new();
    assert_eq!(conversation.submit("  \n"), Err(SubmitError::Empty));
    assert!(conversation.messages().is_empty());
    conversation.submit("first").expect("accepted");
    assert_eq!(conversation.submit("second"), Err(SubmitError::Busy));
    assert_eq!(conversation.messages().len(), 2);
}

#[test]
fn a_streamed_reply_goes_pending_streaming_done() {
    let mut conversation = Conversation::new();
    conversation.submit("Hi").expect("accepted");
    conversation.apply(content("Hel"));
    assert_eq!(conversation.status(), &Status::Streaming);
    assert_eq!(conversation.messages()[1].status, MessageStatus::Streaming);
    conversation.apply(content("lo!"));
    conversation.apply(StreamEvent::Finish(FinishReason::Stop));
    conversation.apply(StreamEvent::Usage(Usage {
        prompt_tokens: 1,
        completion_tokens: 2,
        total_tokens: 3,
    }));
    assert!(
        conversation.is_busy(),
        "usage may still follow a finish reason"
    );
    conversation.apply(StreamEvent::Done);
    let reply = &conversation.messages()[1];
    assert_eq!(
        (reply.text.as_str(), reply.status),
        ("Hello!", MessageStatus::Done)
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(reply.usage.map(|usage| usage.total_tokens), Some(3));
    assert_eq!(conversation.status(), &Status::Ready);
    assert_eq!(
        conversation.history(),
        [Message::user("Hi"), Message::assistant("Hello!")]
    );
}

#[test]
fn a_finish_reason_then_the_end_of_the_body_completes_without_done() {
    let mut conversation = Conversation::new();
    conversation.submit("Hi").expect("accepted");
    conversation.apply(content("Yes"));
    conversation.apply(StreamEvent::Finish(FinishReason::Length));
    conversation.end();
    assert_eq!(conversation.messages()[1].status, MessageStatus::Done);
    assert_eq!(conversation.status(), &Status::Ready);
}

#[test]
fn a_body_that_ends_without_finishing_keeps_the_text_and_is_interrupted() {
    let mut conversation = Conversation::new();
    conversation.submit("Hi").expect("accepted");
    conversation.apply(content("Half an ans"));
    conversation.end();
    assert_eq!(conversation.messages()[1].text, "Half an ans");
    assert_eq!(conversation.messages()[1].status, MessageStatus::Error);
    assert_eq!(
        conversation.status(),
        &Status::Error(ChatError::Interrupted)
    );
}

#[test]
fn stop_keeps_the_partial_reply_and_ignores_later_events() {
    let mut conversation = Conversation::new();
    conversation.submit("Tell me a story").expect("accepted");
    conversation.apply(content("Once upon"));
    conversation.stop();
    conversation.apply(content(" a time"));
    conversation.end();
    let reply = &conversation.messages()[1];
    assert_eq!(
        (reply.text.as_str(), reply.status),
        ("Once upon", MessageStatus::Stopped)
    );
    assert_eq!(conversation.status(), &Status::Ready);
    assert_eq!(
        conversation.history().len(),
        2,
        "a stopped reply is part of the history"
    );
}

#[test]
fn a_reconnecting_reply_says_so_until_the_next_event_and_keeps_its_text() {
    let mut conversation = Conversation::new();
    conversation.submit("Tell me a story").expect("accepted");
    conversation.apply(StreamEvent::Reconnecting);
    assert_eq!(
        conversation.messages()[1].status,
        MessageStatus::Reconnecting
    );
    conversation.apply(StreamEvent::Usage(Usage::default()));
    assert_eq!(
        conversation.messages()[1].status,
        MessageStatus::Pending,
        "back, with nothing to show yet"
    );
    conversation.apply(content("Once upon"));
    conversation.apply(StreamEvent::Reconnecting);
    let reply = &conversation.messages()[1];
    assert_eq!(
        (reply.text.as_str(), reply.status),
        ("Once upon", MessageStatus::Reconnecting)
    );
    assert!(reply.status.is_open());
    assert_eq!(conversation.status(), &Status::Streaming);
    assert_eq!(
        conversation.to_saved().len(),
        1,
        "a reply still coming is not kept yet"
    );
    conversation.apply(content(" a time"));
    assert_eq!(conversation.messages()[1].status, MessageStatus::Streaming);
    conversation.apply(StreamEvent::Done);
    let reply = &conversation.messages()[1];
    assert_eq!(
        (reply.text.as_str(), reply.status),
        ("Once upon a time", MessageStatus::Done)
    );
}

#[test]
fn a_reply_that_cannot_reconnect_keeps_its_text_and_fails() {
    let mut conversation = Conversation::new();
    conversation.submit("Tell me a story").expect("accepted");
    conversation.apply(content("Once upon"));
    conversation.apply(StreamEvent::Reconnecting);
    conversation.fail(ChatError::Transport(TransportError::Network(
        "the connection was lost".into(),
    )));
    let reply = &conversation.messages()[1];
    assert_eq!(
        (reply.text.as_str(), reply.status),
        ("Once upon", MessageStatus::Error)
    );
}

#[test]
fn an_http_error_before_any_text_removes_the_empty_reply_and_keeps_the_message() {
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    let error = ChatError::Transport(TransportError::Http {
        status: 401,
        error: ApiError::new("This request requires a valid API key."),
        retry_after: None,
    });
    conversation.fail(error.clone());
    assert_eq!(statuses(&conversation), [(Role::User, MessageStatus::Done)]);
    assert_eq!(conversation.status(), &Status::Error(error));
    assert!(!conversation.is_busy());
}

#[test]
fn retry_sends_the_same_message_again() {
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    conversation.fail(ChatError::Transport(TransportError::Network(
        "offline".into(),
    )));
    let reply = conversation.retry().expect("something to retry");
    assert_eq!(conversation.status(), &Status::Submitted);
    assert_eq!(conversation.history(), [Message::user("Hello")]);
    assert_eq!(
        conversation.messages().last().map(|message| message.id),
        Some(reply)
    );
    assert_eq!(
        conversation.retry(),
        None,
        "nothing to retry while a request is in flight"
    );
}

#[test]
fn a_midstream_error_keeps_the_partial_text_and_retry_replaces_it() {
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    conversation.apply(content("Partial"));
    conversation.apply(StreamEvent::Error(ApiError::new("upstream overloaded")));
    assert_eq!(conversation.messages()[1].text, "Partial");
    assert_eq!(conversation.messages()[1].status, MessageStatus::Error);
    let Status::Error(error) = conversation.status() else {
        panic!("not failed")
    };
    assert_eq!(error.provider_message(), Some("upstream overloaded"));
    conversation.retry().expect("something to retry");
    assert_eq!(
        statuses(&conversation),
        [
            (Role::User, MessageStatus::Done),
            (Role::Assistant, MessageStatus::Pending)
        ]
    );
}

#[test]
fn dismissing_an_error_makes_the_conversation_ready() {
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    conversation.fail(ChatError::Interrupted);
    conversation.dismiss_error();
    assert_eq!(conversation.status(), &Status::Ready);
    assert_eq!(conversation.retry(), None);
    conversation
        .submit("Again")
        .expect("a new message can be sent");
}

#[test]
fn tool_call_pieces_become_the_replys_tool_calls() {
    let mut conversation = Conversation::new();
    conversation
        .submit("What time is it in Paris?")
        .expect("accepted");
    for (id, arguments) in [(Some("call_0"), "{\"tz\":"), (None, "\"Europe/Paris\"}")] {
        conversation.apply(StreamEvent::ToolCall(ToolCallDelta {
            index: None,
            id: id.map(Into::into),
            function: Some(FunctionCallDelta {
                name: id.map(|_| "get_time".into()),
                arguments: Some(arguments.into()),
            }),
        }));
    }
    conversation.apply(StreamEvent::Finish(FinishReason::ToolCalls));
    conversation.end();
    let reply = &conversation.messages()[1];
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(
        reply.tool_calls[0].function.arguments,
        "{\"tz\":\"Europe/Paris\"}"
    );
    let (tool, _) = conversation.running_tools()[0].clone();
    conversation.finish_tool(tool, "14:00".into(), true);
    let history = conversation.history();
    assert!(
        matches!(&history[1], Message::Assistant { content: None, tool_calls, .. } if tool_calls.len() == 1)
    );
}

#[test]
fn the_whole_fixture_stream_applies_to_the_expected_text() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/tests/fixtures/reasoning-then-content.sse"
    ))
    .expect("fixture");
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    let mut decoder = chat_protocol::StreamDecoder::new();
    for byte in &body {
        for event in decoder.push(std::slice::from_ref(byte)) {
            conversation.apply(event);
        }
    }
    conversation.end();
    let reply = &conversation.messages()[1];
    assert_eq!(
        (reply.text.as_str(), reply.status),
        ("Hi there!", MessageStatus::Done)
    );
    assert_eq!(
        reply.reasoning,
        "First, the user said: \"Hello.\" That is simple."
    );
}

#[test]
fn an_error_after_the_turn_ended_changes_nothing() {
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    conversation.apply(content("Complete answer"));
    conversation.apply(StreamEvent::Done);
    conversation.fail(ChatError::Transport(TransportError::Network(
        "connection reset".into(),
    )));
    assert_eq!(conversation.status(), &Status::Ready);
    assert_eq!(conversation.messages()[1].status, MessageStatus::Done);
    assert_eq!(
        conversation.retry(),
        None,
        "a finished reply is never thrown away by Retry"
    );
}

#[test]
fn the_first_error_of_a_turn_is_the_one_reported() {
    let mut conversation = Conversation::new();
    conversation.submit("Hello").expect("accepted");
    conversation.apply(content("Partial"));
    conversation.apply(StreamEvent::Error(ApiError::new("upstream overloaded")));
    conversation.fail(ChatError::Transport(TransportError::Network(
        "connection reset".into(),
    )));
    let Status::Error(error) = conversation.status() else {
        panic!("not failed")
    };
    assert_eq!(error.provider_message(), Some("upstream overloaded"));
}

/// Every running tool answers `output`.
fn answer_tools(conversation: &mut Conversation, output: &str) {
    for (id, _) in conversation.running_tools() {
        conversation.finish_tool(id, output.into(), true);
    }
}

/// "Time?", a call of `get_time` that answers "12:00", and the model asked again.
fn ask_with_a_tool_round(conversation: &mut Conversation) {
    conversation.submit("Time?").expect("accepted");
    conversation.apply(tool_delta(0, "a", "get_time", "{}"));
    conversation.apply(StreamEvent::Done);
    answer_tools(conversation, "12:00");
    conversation.continue_after_tools(5).expect("asks again");
}

fn tool_delta(index: u32, id: &str, name: &str, arguments: &str) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallDelta {
        index: Some(index),
        id: Some(id.into()),
        function: Some(FunctionCallDelta {
            name: Some(name.into()),
            arguments: Some(arguments.into()),
        }),
    })
}

#[test]
fn a_reply_that_calls_tools_waits_for_them_then_asks_again() {
    let mut conversation = Conversation::new();
    conversation.submit("Time in Paris?").expect("accepted");
    conversation.apply(tool_delta(0, "a", "get_time", "{}"));
    conversation.apply(tool_delta(1, "b", "read_page", "{}"));
    conversation.apply(StreamEvent::Done);
    assert_eq!(conversation.status(), &Status::RunningTools);
    assert!(conversation.is_busy());
    let running = conversation.running_tools();
    assert_eq!(running.len(), 2);
    assert_eq!(
        conversation.continue_after_tools(5),
        None,
        "not before every tool answered"
    );
    assert_eq!(
        conversation.history(),
        [Message::user("Time in Paris?")],
        "unanswered calls are not history"
    );
    conversation.finish_tool(running[0].0, "12:00".into(), true);
    conversation.finish_tool(running[1].0, "Error: broke".into(), false);
    let next = conversation.continue_after_tools(5).expect("asks again");
    assert_eq!(conversation.status(), &Status::Submitted);
    let history = conversation.history();
    assert_eq!(history.len(), 4);
    assert_eq!(
        history[2],
        Message::Tool {
            content: chat_protocol::Content::Text("12:00".into()),
            tool_call_id: "a".into(),
            name: Some("get_time".into()),
        }
    );
    assert_eq!(
        conversation.messages().last().map(|message| message.id),
        Some(next)
    );
}

#[test]
fn stop_while_tools_run_drops_their_calls_from_the_history() {
    let mut conversation = Conversation::new();
    conversation.submit("Do it").expect("accepted");
    conversation.apply(tool_delta(0, "a", "slow", "{}"));
    conversation.apply(StreamEvent::Done);
    let running = conversation.running_tools();
    conversation.stop();
    assert_eq!(conversation.status(), &Status::Ready);
    conversation.finish_tool(running[0].0, "late".into(), true);
    assert_eq!(conversation.messages()[2].status, MessageStatus::Stopped);
    assert_eq!(
        conversation.history(),
        [Message::user("Do it")],
        "a call without an output is never sent"
    );
}

#[test]
fn the_round_limit_fails_the_turn() {
    let mut conversation = Conversation::new();
    conversation.submit("Loop").expect("accepted");
    for round in 0..2 {
        conversation.apply(tool_delta(0, &format!("c{round}"), "again", "{}"));
        conversation.apply(StreamEvent::Done);
        answer_tools(&mut conversation, "more");
        let next = conversation.continue_after_tools(2);
        assert_eq!(next.is_some(), round == 0, "round {round}");
    }
    assert_eq!(
        conversation.status(),
        &Status::Error(ChatError::ToolRounds(2))
    );
}

#[test]
fn a_400_that_names_an_optional_parameter_says_which() {
    let rejected = |error: ApiError| {
        ChatError::Transport(TransportError::Http {
            status: 400,
            error,
            retry_after: None,
        })
        .rejected_parameter()
    };
    let gemini = ApiError::new(
        "Invalid JSON payload received. Unknown name \"frequency_penalty\": Cannot find field.",
    );
    assert_eq!(rejected(gemini.clone()), Some("frequency_penalty"));
    assert_eq!(
        rejected(ApiError::new("bad").with_param("top_p")),
        Some("top_p")
    );
    assert_eq!(rejected(ApiError::new("The model is overloaded")), None);
    let not_400 = ChatError::Transport(TransportError::Http {
        status: 500,
        error: gemini,
        retry_after: None,
    });
    assert_eq!(not_400.rejected_parameter(), None);
}

#[test]
fn a_call_counts_as_answered_only_by_the_outputs_right_after_it() {
    let mut conversation = Conversation::new();
    conversation.submit("First").expect("accepted");
    conversation.apply(tool_delta(0, "call_0", "f", "{}"));
    conversation.apply(StreamEvent::Done);
    answer_tools(&mut conversation, "one");
    conversation.continue_after_tools(5).expect("asks again");
    conversation.apply(content("Done."));
    conversation.apply(StreamEvent::Done);
    // A later turn reuses the id (providers without ids get call_0 every time) and is stopped.
    conversation.submit("Second").expect("accepted");
    conversation.apply(tool_delta(0, "call_0", "f", "{}"));
    conversation.apply(StreamEvent::Done);
    conversation.stop();
    let history = conversation.history();
    let calls: usize = history
        .iter()
        .map(|message| match message {
            Message::Assistant { tool_calls, .. } => tool_calls.len(),
            _ => 0,
        })
        .sum();
    let outputs = history
        .iter()
        .filter(|message| matches!(message, Message::Tool { .. }))
        .count();
    assert_eq!(
        (calls, outputs),
        (1, 1),
        "every call has its output and no other: {history:?}"
    );
}

#[test]
fn retry_after_a_failed_follow_up_asks_again_with_the_tool_outputs() {
    let mut conversation = Conversation::new();
    ask_with_a_tool_round(&mut conversation);
    conversation.apply(content("It is"));
    conversation.fail(ChatError::Transport(TransportError::Network(
        "reset".into(),
    )));
    let retried = conversation.retry().expect("something to retry");
    assert_eq!(conversation.status(), &Status::Submitted);
    assert!(matches!(
        conversation.history().last(),
        Some(Message::Tool { .. })
    ));
    assert_eq!(
        conversation.messages().last().map(|message| message.id),
        Some(retried)
    );
    assert_eq!(
        conversation.messages().len(),
        4,
        "the failed reply was replaced"
    );
}

#[test]
fn regenerate_drops_the_answer_and_edit_drops_what_came_after() {
    let mut conversation = Conversation::new();
    conversation.submit("One").expect("accepted");
    conversation.apply(content("First"));
    conversation.apply(StreamEvent::Done);
    conversation.submit("Two").expect("accepted");
    assert_eq!(
        conversation.regenerate(),
        None,
        "not while a reply is arriving"
    );
    conversation.apply(content("Second"));
    conversation.apply(StreamEvent::Done);
    let regenerated = conversation.regenerate().expect("regenerates");
    assert_eq!(
        conversation.history(),
        [
            Message::user("One"),
            Message::assistant("First"),
            Message::user("Two")
        ]
    );
    assert_eq!(
        conversation.messages().last().map(|message| message.id),
        Some(regenerated)
    );
    conversation.apply(content("Again"));
    conversation.apply(StreamEvent::Done);

    let first = conversation.messages()[0].id;
    assert_eq!(
        conversation.edit(first, "  "),
        None,
        "blank text is refused"
    );
    let reply = conversation.edit(first, "Uno").expect("edited");
    assert_eq!(conversation.history(), [Message::user("Uno")]);
    assert_ne!(
        conversation.messages()[0].id,
        first,
        "the edited message is a new message"
    );
    assert_eq!(
        conversation.messages().last().map(|message| message.id),
        Some(reply)
    );
    conversation.apply(StreamEvent::Done);
    let assistant = conversation.messages()[1].id;
    assert_eq!(
        conversation.edit(assistant, "x"),
        None,
        "only the person's messages"
    );
}

#[test]
fn a_kept_conversation_comes_back_as_it_was_said() {
    let mut conversation = Conversation::new();
    ask_with_a_tool_round(&mut conversation);
    conversation.apply(content("Noon."));
    conversation.apply(StreamEvent::Done);
    conversation.submit("And now?").expect("accepted");
    conversation.apply(content("Half"));
    let saved = conversation.to_saved();
    assert_eq!(saved.len(), 5, "the reply still arriving is not kept");
    let json = serde_json::to_string(&saved).expect("serializes");
    let restored = Conversation::from_saved(
        &serde_json::from_str::<Vec<chat_widget_core::conversation::SavedMessage>>(&json)
            .expect("reads"),
    );
    assert_eq!(restored.status(), &Status::Ready);
    assert_eq!(
        restored.history(),
        conversation.history(),
        "the reply in flight is not history either way"
    );
    let mut restored = restored;
    restored.submit("Next").expect("the conversation goes on");
}

#[test]
fn the_history_budget_leaves_out_whole_old_turns_and_keeps_the_last() {
    let mut conversation = Conversation::new();
    for turn in 0..4 {
        conversation
            .submit(&format!("Question {turn}: {}", "words ".repeat(20)))
            .expect("accepted");
        conversation.apply(content(&format!("Answer {turn}: {}", "words ".repeat(20))));
        conversation.apply(StreamEvent::Done);
    }
    conversation.submit("Last question").expect("accepted");
    let tokens = |budget: Option<usize>| HistoryLimits {
        tokens: budget,
        ..HistoryLimits::default()
    };
    let (all, cut) = conversation.history_within(&HistoryLimits::default(), 0);
    assert_eq!((all.len(), cut), (9, None));
    let turn_cost: usize = all[..2]
        .iter()
        .map(chat_widget_core::conversation::estimate_tokens)
        .sum();
    let (history, cut) = conversation.history_within(&tokens(Some(turn_cost * 2 + 20)), 0);
    assert_eq!(
        history.len(),
        5,
        "two old turns and the last question fit: {history:?}"
    );
    assert!(
        matches!(&history[0], Message::User { .. }),
        "a turn starts with the person's message"
    );
    assert_eq!(cut, Some(conversation.messages()[4].id));
    let (tiny, _) = conversation.history_within(&tokens(Some(1)), 0);
    assert_eq!(
        tiny,
        [Message::user("Last question")],
        "the last turn is always sent"
    );
    let (reserved, _) = conversation.history_within(&tokens(Some(turn_cost * 2 + 20)), turn_cost);
    assert_eq!(reserved.len(), 3, "the system prompt's share comes first");

    // A relay's policy bounds messages and characters the same way, by whole turns.
    let (five, cut) = conversation.history_within(
        &HistoryLimits {
            messages: Some(6),
            ..HistoryLimits::default()
        },
        0,
    );
    assert_eq!(five.len(), 5, "two turns and the last question: {five:?}");
    assert_eq!(cut, Some(conversation.messages()[4].id));
    let chars: usize = "Last question".len() + 2 * "Question 0: ".len() + 40 * 6;
    let (within, _) = conversation.history_within(
        &HistoryLimits {
            chars: Some(chars),
            ..HistoryLimits::default()
        },
        0,
    );
    assert!(
        within.len() < 9 && within.len() % 2 == 1,
        "{}",
        within.len()
    );
}

fn image(url: &str, preview: &str) -> chat_widget_core::conversation::Image {
    chat_widget_core::conversation::Image {
        url: url.into(),
        preview: preview.into(),
    }
}

#[test]
fn a_message_with_images_goes_out_as_a_text_part_and_one_image_part_each() {
    use chat_protocol::{Content, ContentPart, ImageUrl};
    let mut conversation = Conversation::new();
    conversation
        .submit_with(
            "Which is bigger?",
            vec![
                image("data:image/png;base64,AAAA", "data:image/jpeg;base64,pp"),
                image("data:image/jpeg;base64,BBBB", "data:image/jpeg;base64,qq"),
            ],
        )
        .expect("accepted");
    let part = |url: &str| ContentPart::ImageUrl {
        image_url: ImageUrl {
            url: url.into(),
            detail: None,
        },
    };
    assert_eq!(
        conversation.history(),
        [Message::User {
            content: Content::Parts(vec![
                ContentPart::Text {
                    text: "Which is bigger?".into()
                },
                part("data:image/png;base64,AAAA"),
                part("data:image/jpeg;base64,BBBB"),
            ]),
            name: None,
        }]
    );
    // Kept: only the previews, and after a reload those are what is sent.
    conversation.apply(content("The first."));
    conversation.end();
    let saved = conversation.to_saved();
    assert_eq!(
        saved[0].images,
        ["data:image/jpeg;base64,pp", "data:image/jpeg;base64,qq"]
    );
    let restored = Conversation::from_saved(&saved);
    let Message::User {
        content: Content::Parts(parts),
        ..
    } = &restored.history()[0]
    else {
        panic!("parts");
    };
    assert_eq!(parts[1], part("data:image/jpeg;base64,pp"));
}

#[test]
fn images_alone_are_a_message_but_nothing_at_all_is_not() {
    let mut conversation = Conversation::new();
    assert_eq!(
        conversation.submit_with("  ", Vec::new()),
        Err(SubmitError::Empty)
    );
    conversation
        .submit_with("", vec![image("data:image/png;base64,AAAA", "")])
        .expect("an image alone is a message");
    let Message::User {
        content: chat_protocol::Content::Parts(parts),
        ..
    } = &conversation.history()[0]
    else {
        panic!("parts");
    };
    assert_eq!(parts.len(), 1, "no empty text part");
}

#[test]
fn an_image_counts_as_a_fixed_number_of_tokens_whatever_its_url_length() {
    use chat_widget_core::conversation::{estimate_tokens, IMAGE_TOKENS};
    let mut small = Conversation::new();
    small
        .submit_with("Hi", vec![image("data:image/png;base64,AA", "")])
        .expect("accepted");
    let mut large = Conversation::new();
    let url = format!("data:image/png;base64,{}", "A".repeat(4_000_000));
    large
        .submit_with("Hi", vec![image(&url, "")])
        .expect("accepted");
    let cost = |conversation: &Conversation| estimate_tokens(&conversation.history()[0]);
    assert_eq!(cost(&small), cost(&large));
    assert!(cost(&small) >= IMAGE_TOKENS);
}

#[test]
fn older_images_go_as_previews_once_the_newest_fill_the_full_size_room() {
    use chat_protocol::{Content, ContentPart};
    use chat_widget_core::conversation::FULL_IMAGES_BYTES;
    let big = format!(
        "data:image/jpeg;base64,{}",
        "A".repeat(FULL_IMAGES_BYTES / 2 - 100)
    );
    let mut conversation = Conversation::new();
    for turn in ["first", "second", "third"] {
        conversation
            .submit_with(
                turn,
                vec![image(&big, &format!("data:image/jpeg;base64,{turn}"))],
            )
            .expect("accepted");
        conversation.apply(content("Seen."));
        conversation.end();
    }
    let sent: Vec<String> = conversation
        .history()
        .iter()
        .filter_map(|message| match message {
            Message::User {
                content: Content::Parts(parts),
                ..
            } => parts.iter().find_map(|part| match part {
                ContentPart::ImageUrl { image_url } => Some(image_url.url.clone()),
                ContentPart::Text { .. } => None,
            }),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[0], "data:image/jpeg;base64,first",
        "the oldest as its preview"
    );
    assert_eq!(sent[1], big);
    assert_eq!(sent[2], big);
}

#[test]
fn a_kept_preview_that_is_not_a_data_image_is_dropped() {
    let mut saved = Conversation::new();
    saved
        .submit_with(
            "Look",
            vec![image(
                "data:image/png;base64,AAAA",
                "data:image/jpeg;base64,pp",
            )],
        )
        .expect("accepted");
    saved.apply(content("Ok."));
    saved.end();
    let mut kept = saved.to_saved();
    kept[0]
        .images
        .push("https://tracker.example/pixel.png".into());
    kept[0].images.push("javascript:alert(1)".into());
    let restored = Conversation::from_saved(&kept);
    assert_eq!(restored.messages()[0].images.len(), 1);
}

#[test]
fn the_newest_images_go_whole_even_when_larger_than_the_room() {
    use chat_protocol::{Content, ContentPart};
    use chat_widget_core::conversation::FULL_IMAGES_BYTES;
    let huge = format!(
        "data:image/png;base64,{}",
        "A".repeat(FULL_IMAGES_BYTES + 10)
    );
    let mut conversation = Conversation::new();
    conversation
        .submit_with("Big", vec![image(&huge, "data:image/jpeg;base64,small")])
        .expect("accepted");
    let Message::User {
        content: Content::Parts(parts),
        ..
    } = &conversation.history()[0]
    else {
        panic!("parts");
    };
    assert!(
        matches!(&parts[1], ContentPart::ImageUrl { image_url } if image_url.url == huge),
        "the message being sent carries its images whole"
    );
}

#[test]
fn reasoning_is_timed_kept_and_never_sent_back() {
    let mut conversation = Conversation::new();
    conversation.submit("Why?").expect("accepted");
    let at = |conversation: &mut Conversation, event: StreamEvent, now: u64| {
        conversation.time_thinking(Some(&event), now);
        conversation.apply(event);
    };
    at(
        &mut conversation,
        StreamEvent::Reasoning("Let me".into()),
        1_000,
    );
    at(
        &mut conversation,
        StreamEvent::Reasoning(" think.".into()),
        1_900,
    );
    at(
        &mut conversation,
        StreamEvent::Usage(Usage::default()),
        2_000,
    );
    at(&mut conversation, StreamEvent::Reconnecting, 2_100);
    assert_eq!(
        conversation.messages()[1].thought_ms,
        None,
        "still thinking"
    );
    at(&mut conversation, content("Because."), 3_500);
    at(&mut conversation, StreamEvent::Done, 3_600);
    let reply = &conversation.messages()[1];
    assert_eq!(reply.reasoning, "Let me think.");
    assert_eq!(reply.thought_ms, Some(2_500));
    assert_eq!(
        conversation.history(),
        [Message::user("Why?"), Message::assistant("Because.")],
        "the reasoning is not history"
    );
    let kept = Conversation::from_saved(&conversation.to_saved());
    assert_eq!(kept.messages()[1].reasoning, "Let me think.");
    assert_eq!(kept.messages()[1].thought_ms, Some(2_500));
}

#[test]
fn sources_gather_once_each_and_come_back_from_storage() {
    use chat_protocol::Source;
    let source = |url: &str, title: &str| Source::new(url, title).expect("a source");
    let mut conversation = Conversation::new();
    conversation.submit("Cite").expect("accepted");
    conversation.apply(StreamEvent::Sources(vec![source("https://a.example/", "")]));
    conversation.apply(content("A[1] and B[2]."));
    conversation.apply(StreamEvent::Sources(vec![
        source("https://a.example/", "A"),
        source("https://b.example/", "B"),
    ]));
    conversation.apply(StreamEvent::Done);
    let expected = [
        source("https://a.example/", "A"),
        source("https://b.example/", "B"),
    ];
    assert_eq!(conversation.messages()[1].sources, expected);
    let kept = Conversation::from_saved(&conversation.to_saved());
    assert_eq!(kept.messages()[1].sources, expected);
}
