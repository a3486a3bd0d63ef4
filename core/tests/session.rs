//! The turn as a state machine, natively and without waiting: inputs in, effects out, the clock
//! and the random source given by the test.

#![cfg(not(target_arch = "wasm32"))]

use chat_protocol::{
    ApiError, ChatRequest, FinishReason, FunctionCallDelta, Message, StreamEvent, Tool, ToolCall,
    ToolCallDelta, ToolChoice,
};
use chat_widget_core::conversation::Image;
use chat_widget_core::retry::RetryPolicy;
use chat_widget_core::session::{Consent, PendingRetry, Refusal};
use chat_widget_core::{
    ChatError, Effect, Input, Library, MessageStatus, Parameters, Role, Session, SessionConfig,
    Settings, Status, Ticket, TransportError, Turn, TurnEvent,
};
use serde_json::json;
use std::time::Duration;

/// A session and its clock, as a driver would run it.
struct Harness {
    session: Session,
    now: u64,
    /// Every event told so far, in short (see [`events`]).
    told: Vec<String>,
}

impl Harness {
    fn new(config: SessionConfig) -> Self {
        let settings = Settings::from_parameters(&config.parameters);
        Harness {
            session: Session::new(config, Library::default(), settings),
            now: 1_000_000,
            told: Vec::new(),
        }
    }

    fn plain() -> Self {
        Self::new(config())
    }

    fn input(&mut self, input: Input) -> Vec<Effect> {
        let effects = self.session.handle(input, self.now, 0.5);
        self.session.check().expect("the turn's parts agree");
        self.told.extend(events(&effects));
        effects
    }

    /// Sends `text` and returns the request's ticket.
    fn send(&mut self, text: &str) -> Ticket {
        let effects = self.input(Input::Send {
            text: text.into(),
            images: Vec::new(),
        });
        request(&effects).expect("a request").0
    }

    fn event(&mut self, ticket: Ticket, event: StreamEvent) -> Vec<Effect> {
        self.input(Input::Stream {
            ticket,
            item: Ok(event),
        })
    }

    fn error(&mut self, ticket: Ticket, error: TransportError) -> Vec<Effect> {
        self.input(Input::Stream {
            ticket,
            item: Err(error),
        })
    }

    /// A whole reply: `text`, a finish reason and `[DONE]`.
    fn reply(&mut self, ticket: Ticket, text: &str) -> Vec<Effect> {
        self.event(ticket, StreamEvent::Content(text.into()));
        self.event(ticket, StreamEvent::Finish(FinishReason::Stop));
        self.event(ticket, StreamEvent::Done)
    }

    /// A reply that calls `calls` (name, arguments).
    fn call_tools(&mut self, ticket: Ticket, calls: &[(&str, &str)]) -> Vec<Effect> {
        for (index, (name, arguments)) in calls.iter().enumerate() {
            self.event(ticket, tool_call(index, name, arguments));
        }
        self.event(ticket, StreamEvent::Finish(FinishReason::ToolCalls));
        self.event(ticket, StreamEvent::Done)
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    fn texts(&self) -> Vec<(Role, String, MessageStatus)> {
        self.session
            .conversation()
            .messages()
            .iter()
            .map(|message| (message.role, message.text.clone(), message.status))
            .collect()
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        parameters: Parameters::default(),
        max_tool_rounds: 3,
        retry: RetryPolicy {
            max_retries: 2,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        },
        ..SessionConfig::default()
    }
}

fn with_tools(confirm: &[&str]) -> SessionConfig {
    SessionConfig {
        tools: ["get_time", "get_weather"]
            .map(|name| Tool::function(name, "", json!({"type": "object"})))
            .to_vec(),
        confirm: confirm.iter().map(|name| name.to_string()).collect(),
        ..config()
    }
}

fn tool_call(index: usize, name: &str, arguments: &str) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallDelta {
        index: Some(index as u32),
        id: Some(format!("call_{index}")),
        function: Some(FunctionCallDelta {
            name: Some(name.into()),
            arguments: Some(arguments.into()),
        }),
    })
}

fn request(effects: &[Effect]) -> Option<(Ticket, &ChatRequest)> {
    effects.iter().find_map(|effect| match effect {
        Effect::Send { ticket, request } => Some((*ticket, request)),
        _ => None,
    })
}

fn tool_runs(effects: &[Effect]) -> Vec<(Ticket, chat_widget_core::MessageId, ToolCall)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::RunTool { ticket, id, call } => Some((*ticket, *id, call.clone())),
            _ => None,
        })
        .collect()
}

fn wake_at(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|effect| match effect {
        Effect::WakeAt(at) => Some(*at),
        _ => None,
    })
}

/// The events told, in short: `sent TEXT`, `first`, `replied TEXT`, `failed` or
/// `failed, retrying`, `tool NAME ok|failed`, `rated up|down|none`.
fn events(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Notify(event) => Some(match event {
                TurnEvent::Sent { text, .. } => format!("sent {text}"),
                TurnEvent::FirstToken { .. } => "first".to_owned(),
                TurnEvent::Replied { text, .. } => format!("replied {text}"),
                TurnEvent::Failed { retrying, .. } => if *retrying {
                    "failed, retrying"
                } else {
                    "failed"
                }
                .to_owned(),
                TurnEvent::ToolCall { name, ok, .. } => {
                    format!("tool {name} {}", if *ok { "ok" } else { "failed" })
                }
                TurnEvent::Feedback { feedback, .. } => format!(
                    "rated {}",
                    feedback.as_ref().map_or("none", |f| f.rating.as_str())
                ),
            }),
            _ => None,
        })
        .collect()
}

fn http(status: u16, retry_after: Option<&str>) -> TransportError {
    TransportError::Http {
        status,
        error: ApiError::new("refused"),
        retry_after: retry_after.map(Into::into),
    }
}

#[test]
fn a_turn_sends_streams_and_tells_once_when_it_is_over() {
    let mut chat = Harness::plain();
    let effects = chat.input(Input::Send {
        text: "Hello".into(),
        images: Vec::new(),
    });
    assert_eq!(events(&effects), ["sent Hello"]);
    assert!(
        effects.contains(&Effect::Save),
        "the message is kept at once"
    );
    let (ticket, sent) = request(&effects).expect("a request");
    assert_eq!(sent.messages, [Message::user("Hello")]);
    assert_eq!(chat.session.turn(), Turn::Submitted);
    chat.event(ticket, StreamEvent::Content("Hi".into()));
    assert_eq!(chat.session.turn(), Turn::Streaming);
    let changes = chat.session.take_changes();
    chat.event(ticket, StreamEvent::Content(" there".into()));
    let reply_id = chat.session.conversation().messages()[1].id;
    assert!(changes.all, "the send changed the list");
    let changes = chat.session.take_changes();
    assert!(!changes.all, "a token changes no list");
    assert_eq!(
        changes.messages,
        [reply_id],
        "a token changes its message alone"
    );
    chat.event(ticket, StreamEvent::Finish(FinishReason::Stop));
    let effects = chat.event(ticket, StreamEvent::Done);
    assert_eq!(events(&effects), ["replied Hi there"]);
    assert!(effects.contains(&Effect::Save));
    assert!(effects.contains(&Effect::Abort(ticket)), "reading stops");
    assert_eq!(chat.session.turn(), Turn::Idle);
    assert_eq!(
        chat.session.library().current().messages.len(),
        2,
        "the finished turn is kept"
    );
}

#[test]
fn a_refused_message_changes_nothing_and_says_why() {
    let mut chat = Harness::plain();
    let blank = chat.input(Input::Send {
        text: "  ".into(),
        images: Vec::new(),
    });
    assert_eq!(blank, [Effect::Refused(Refusal::Empty)]);
    let mut settings = chat.session.settings().clone();
    settings.temperature = "3".into();
    chat.session.set_settings(settings);
    let effects = chat.input(Input::Send {
        text: "Hello".into(),
        images: Vec::new(),
    });
    assert!(
        matches!(&effects[..], [Effect::Refused(Refusal::Settings(problem))] if problem.contains("0 to 2")),
        "{effects:?}"
    );
    assert!(chat.session.conversation().messages().is_empty());
    let mut settings = chat.session.settings().clone();
    settings.temperature = "1".into();
    chat.session.set_settings(settings);
    let ticket = chat.send("Hello");
    let busy = chat.input(Input::Send {
        text: "Again".into(),
        images: Vec::new(),
    });
    assert_eq!(busy, [Effect::Refused(Refusal::Busy)]);
    assert_eq!(chat.session.conversation().messages().len(), 2);
    let effects = chat.reply(ticket, "ok");
    assert_eq!(events(&effects), ["replied ok"]);
}

#[test]
fn a_rate_limit_is_retried_after_the_servers_wait_counting_down_each_second() {
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    let start = chat.now;
    let effects = chat.error(ticket, http(429, Some("3")));
    assert_eq!(events(&effects), ["failed, retrying"]);
    assert!(matches!(
        chat.session.turn(),
        Turn::WaitingToRetry { attempt: 1, due_ms, .. } if due_ms == start + 3000
    ));
    assert_eq!(
        chat.session.pending_retry(chat.now),
        Some(PendingRetry {
            attempt: 1,
            of: 2,
            seconds_left: 3,
            offline: false
        })
    );
    // The person's message stays, without an empty reply.
    assert_eq!(
        chat.texts(),
        [(Role::User, "Hello".into(), MessageStatus::Done)]
    );
    let mut at = wake_at(&effects).expect("a wake-up");
    assert_eq!(at, start + 1000, "when the seconds shown change");
    let mut retried = None;
    while retried.is_none() {
        chat.now = at;
        let effects = chat.input(Input::Wake { online: true });
        retried = request(&effects).map(|(ticket, _)| ticket);
        if retried.is_none() {
            at = wake_at(&effects).expect("the next wake-up");
        }
    }
    assert_eq!(
        chat.now,
        start + 3000,
        "not a moment before the server's wait"
    );
    let retried = retried.expect("retried");
    assert_ne!(retried, ticket);
    let effects = chat.reply(retried, "Hi");
    assert_eq!(events(&effects), ["replied Hi"]);
}

#[test]
fn a_wait_of_hours_is_not_waited_out_in_the_page() {
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    let effects = chat.error(ticket, http(429, Some("18000")));
    assert_eq!(wake_at(&effects), None, "no retry scheduled");
    assert!(
        matches!(chat.session.conversation().status(), Status::Error(_)),
        "the error stays, with Retry"
    );
    let ticket = chat.send("Again, later");
    let effects = chat.error(ticket, http(429, Some("30")));
    assert!(
        wake_at(&effects).is_some(),
        "a short wait is still waited out"
    );
}

#[test]
fn retry_after_as_a_date_and_backoff_without_it() {
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    // 1,000 s after the epoch + 1,000,000 ms: the harness's clock starts at 1,000,000 ms.
    chat.error(ticket, http(503, Some("Thu, 01 Jan 1970 00:16:50 GMT")));
    assert!(matches!(
        chat.session.turn(),
        Turn::WaitingToRetry {
            due_ms: 1_010_000,
            ..
        }
    ));
    chat.now = 1_010_000;
    let effects = chat.input(Input::Wake { online: true });
    let (second, _) = request(&effects).expect("retried at the date");
    // No header: the base backoff (1 s) doubled for the second retry, with jitter 0.5 → 75 %.
    chat.error(second, TransportError::Network("offline".into()));
    assert!(matches!(
        chat.session.turn(),
        Turn::WaitingToRetry { attempt: 2, due_ms, .. } if due_ms == chat.now + 1500
    ));
    chat.advance(1500);
    let effects = chat.input(Input::Wake { online: true });
    let (third, _) = request(&effects).expect("retried after the backoff");
    let effects = chat.error(third, http(500, None));
    assert_eq!(wake_at(&effects), None, "two retries at most");
    assert!(matches!(chat.session.turn(), Turn::Failed(_)));
    // The person's Retry starts a fresh set of retries.
    let effects = chat.input(Input::Retry);
    let (fourth, _) = request(&effects).expect("the person retries");
    chat.error(fourth, http(500, None));
    assert!(matches!(
        chat.session.turn(),
        Turn::WaitingToRetry { attempt: 1, .. }
    ));
}

#[test]
fn offline_the_retry_waits_for_the_connection() {
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.error(ticket, TransportError::Network("failed to fetch".into()));
    chat.advance(60_000);
    let effects = chat.input(Input::Wake { online: false });
    assert_eq!(request(&effects), None);
    assert_eq!(wake_at(&effects), Some(chat.now + 1000));
    assert!(chat
        .session
        .pending_retry(chat.now)
        .is_some_and(|pending| pending.offline && pending.seconds_left == 0));
    let effects = chat.input(Input::Wake { online: true });
    assert!(request(&effects).is_some());
}

#[test]
fn refusals_and_replies_cut_short_are_not_retried() {
    for error in [http(400, None), http(401, None), http(413, None)] {
        let mut chat = Harness::plain();
        let ticket = chat.send("Hello");
        let effects = chat.error(ticket, error.clone());
        assert_eq!(wake_at(&effects), None, "{error:?}");
        assert_eq!(
            chat.session.turn(),
            Turn::Failed(ChatError::Transport(error))
        );
    }
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.event(ticket, StreamEvent::Content("Part".into()));
    let effects = chat.error(ticket, TransportError::Network("reset".into()));
    assert_eq!(
        wake_at(&effects),
        None,
        "something arrived: never sent twice"
    );
    assert_eq!(
        chat.texts()[1],
        (Role::Assistant, "Part".into(), MessageStatus::Error)
    );
    // A body that ends without a finish reason is cut off, and Continue asks for the rest.
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.event(ticket, StreamEvent::Content("Half".into()));
    chat.input(Input::StreamEnd { ticket });
    assert_eq!(chat.session.turn(), Turn::Failed(ChatError::Interrupted));
    let effects = chat.input(Input::Continue);
    let (_, sent) = request(&effects).expect("continued");
    assert_eq!(
        sent.messages.last(),
        Some(&Message::user(chat_widget_core::CONTINUE_PROMPT))
    );
    assert!(matches!(
        &sent.messages[1],
        Message::Assistant {
            content: Some(_),
            ..
        }
    ));
}

#[test]
fn images_refused_as_too_large_say_so_and_are_not_retried() {
    let mut chat = Harness::plain();
    let effects = chat.input(Input::Send {
        text: "What is this?".into(),
        images: vec![Image {
            url: "data:image/jpeg;base64,AAAA".into(),
            preview: "data:image/jpeg;base64,AA".into(),
        }],
    });
    let (ticket, _) = request(&effects).expect("sent");
    let effects = chat.error(ticket, http(413, None));
    assert_eq!(wake_at(&effects), None);
    assert!(matches!(
        chat.session.turn(),
        Turn::Failed(ChatError::ImagesTooLarge(_))
    ));
}

#[test]
fn tools_run_in_parallel_and_their_outputs_go_back_in_one_request() {
    let mut chat = Harness::new(with_tools(&[]));
    let ticket = chat.send("Time and weather?");
    let effects = chat.call_tools(
        ticket,
        &[("get_time", "{}"), ("get_weather", "{\"city\":\"Paris\"}")],
    );
    assert_eq!(chat.session.turn(), Turn::RunningTools);
    let runs = tool_runs(&effects);
    assert_eq!(runs.len(), 2, "both calls start at once");
    // They answer in the other order; only the second answer sends.
    let (round, weather_id, _) = runs[1].clone();
    let effects = chat.input(Input::ToolDone {
        ticket: round,
        id: weather_id,
        result: Ok(json!("sunny")),
    });
    assert_eq!(request(&effects), None);
    let (_, time_id, _) = runs[0].clone();
    let effects = chat.input(Input::ToolDone {
        ticket: round,
        id: time_id,
        result: Err("no clock".into()),
    });
    let (next, sent) = request(&effects).expect("asked again with the outputs");
    let outputs: Vec<&Message> = sent
        .messages
        .iter()
        .filter(|message| matches!(message, Message::Tool { .. }))
        .collect();
    assert_eq!(outputs.len(), 2);
    assert!(format!("{outputs:?}").contains("Error: no clock"));
    let effects = chat.reply(next, "14:00 and sunny");
    assert_eq!(events(&effects), ["replied 14:00 and sunny"]);
}

#[test]
fn a_model_that_keeps_calling_tools_is_stopped_after_the_round_cap() {
    let mut chat = Harness::new(with_tools(&[]));
    let mut ticket = chat.send("Loop");
    for round in 1..=3 {
        let effects = chat.call_tools(ticket, &[("get_time", "{}")]);
        let (tools, id, _) = tool_runs(&effects)[0].clone();
        let effects = chat.input(Input::ToolDone {
            ticket: tools,
            id,
            result: Ok(json!("now")),
        });
        match request(&effects) {
            Some((next, _)) => ticket = next,
            None => {
                assert_eq!(round, 3);
                assert_eq!(chat.session.turn(), Turn::Failed(ChatError::ToolRounds(3)));
                assert_eq!(events(&effects), ["tool get_time ok", "failed"]);
                return;
            }
        }
    }
    panic!("the rounds were not capped");
}

#[test]
fn a_forced_tool_choice_applies_to_the_persons_message_only() {
    let mut config = with_tools(&[]);
    config.parameters.tool_choice = Some(ToolChoice::Required);
    let mut chat = Harness::new(config);
    let effects = chat.input(Input::Send {
        text: "Time?".into(),
        images: Vec::new(),
    });
    let (ticket, sent) = request(&effects).expect("sent");
    assert_eq!(sent.tool_choice, Some(ToolChoice::Required));
    let effects = chat.call_tools(ticket, &[("get_time", "{}")]);
    let (round, id, _) = tool_runs(&effects)[0].clone();
    let effects = chat.input(Input::ToolDone {
        ticket: round,
        id,
        result: Ok(json!("14:00")),
    });
    let (_, follow_up) = request(&effects).expect("asked again");
    assert_eq!(follow_up.tool_choice, Some(ToolChoice::Auto));
}

#[test]
fn a_call_that_needs_consent_waits_for_the_person() {
    let mut chat = Harness::new(with_tools(&["get_weather"]));
    let ticket = chat.send("Weather?");
    let effects = chat.call_tools(ticket, &[("get_weather", "{\"city\":\"Oslo\"}")]);
    assert!(
        tool_runs(&effects).is_empty(),
        "nothing runs on the model's word"
    );
    let waiting = chat.session.consents().to_vec();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].name, "get_weather");
    assert_eq!(waiting[0].arguments, "{\"city\":\"Oslo\"}");
    let effects = chat.input(Input::Consent {
        id: waiting[0].id,
        consent: Consent::AllowForConversation,
    });
    let (round, id, _) = tool_runs(&effects)[0].clone();
    let effects = chat.input(Input::ToolDone {
        ticket: round,
        id,
        result: Ok(json!("rain")),
    });
    let (ticket, _) = request(&effects).expect("asked again");
    chat.reply(ticket, "Rain.");
    // Allowed for the conversation: the next call runs without asking.
    let ticket = chat.send("And tomorrow?");
    let effects = chat.call_tools(ticket, &[("get_weather", "{}")]);
    assert_eq!(tool_runs(&effects).len(), 1);
    assert!(chat.session.consents().is_empty());
    // A new conversation asks again; Deny tells the model the person declined.
    let (round, id, _) = tool_runs(&effects)[0].clone();
    chat.input(Input::ToolDone {
        ticket: round,
        id,
        result: Ok(json!("sun")),
    });
    chat.input(Input::NewConversation);
    let ticket = chat.send("Weather?");
    chat.call_tools(ticket, &[("get_weather", "{}")]);
    let id = chat.session.consents()[0].id;
    let effects = chat.input(Input::Consent {
        id,
        consent: Consent::Deny,
    });
    let (_, sent) = request(&effects).expect("the model hears the refusal");
    assert!(format!("{:?}", sent.messages.last()).contains("Error: The person declined"));
}

#[test]
fn the_page_decides_before_the_person_is_asked() {
    let mut config = with_tools(&["get_time", "get_weather"]);
    config.page_approves = true;
    let mut chat = Harness::new(config);
    let ticket = chat.send("Both");
    let effects = chat.call_tools(ticket, &[("get_time", "{}"), ("get_weather", "{}")]);
    let asked: Vec<_> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Approve { ticket, id, .. } => Some((*ticket, *id)),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 2);
    let effects = chat.input(Input::Approval {
        ticket: asked[0].0,
        id: asked[0].1,
        decision: Some(true),
    });
    assert_eq!(tool_runs(&effects).len(), 1, "the page allowed it");
    chat.input(Input::Approval {
        ticket: asked[1].0,
        id: asked[1].1,
        decision: None,
    });
    assert_eq!(
        chat.session.consents().len(),
        1,
        "the page left it to the person"
    );
}

#[test]
fn stop_in_every_state_keeps_what_arrived_and_ignores_what_comes_later() {
    // Submitted.
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    let effects = chat.input(Input::Stop);
    assert!(effects.contains(&Effect::Abort(ticket)));
    assert_eq!(chat.session.turn(), Turn::Idle);
    chat.event(ticket, StreamEvent::Content("late".into()));
    assert_eq!(
        chat.texts(),
        [
            (Role::User, "Hello".into(), MessageStatus::Done),
            (Role::Assistant, String::new(), MessageStatus::Stopped)
        ]
    );
    // Streaming.
    let ticket = chat.send("Again");
    chat.event(ticket, StreamEvent::Content("Part".into()));
    chat.input(Input::Stop);
    chat.event(ticket, StreamEvent::Content(" more".into()));
    chat.input(Input::StreamEnd { ticket });
    assert_eq!(
        chat.texts().last(),
        Some(&(Role::Assistant, "Part".into(), MessageStatus::Stopped))
    );
    // Running tools (and waiting for consent).
    let mut chat = Harness::new(with_tools(&["get_weather"]));
    let ticket = chat.send("Both");
    let effects = chat.call_tools(ticket, &[("get_time", "{}"), ("get_weather", "{}")]);
    let (round, id, _) = tool_runs(&effects)[0].clone();
    chat.input(Input::Stop);
    assert!(chat.session.consents().is_empty());
    let effects = chat.input(Input::ToolDone {
        ticket: round,
        id,
        result: Ok(json!("late")),
    });
    assert_eq!(request(&effects), None);
    assert!(chat
        .texts()
        .iter()
        .filter(|(role, ..)| *role == Role::Tool)
        .all(|(_, text, status)| text.is_empty() && *status == MessageStatus::Stopped));
    // Waiting to retry: Stop cancels the retry, and the wake-up does nothing.
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.error(ticket, http(503, Some("1")));
    chat.input(Input::Stop);
    chat.advance(5000);
    let effects = chat.input(Input::Wake { online: true });
    assert!(effects.is_empty());
    assert!(matches!(chat.session.turn(), Turn::Failed(_)));
    // Idle: nothing to stop.
    let mut chat = Harness::plain();
    assert!(chat.input(Input::Stop).is_empty());
}

#[test]
fn edit_regenerate_and_retry_replace_what_followed() {
    let mut chat = Harness::plain();
    let ticket = chat.send("First");
    chat.reply(ticket, "One");
    let first = chat.session.conversation().messages()[0].id;
    let effects = chat.input(Input::Regenerate);
    let (ticket, sent) = request(&effects).expect("asked again");
    assert_eq!(sent.messages, [Message::user("First")]);
    chat.reply(ticket, "Uno");
    assert_eq!(chat.texts()[1].1, "Uno");
    let effects = chat.input(Input::Edit {
        id: first,
        text: "Second".into(),
    });
    assert_eq!(events(&effects), ["sent Second"]);
    let (ticket, sent) = request(&effects).expect("sent");
    assert_eq!(sent.messages, [Message::user("Second")]);
    // While a reply arrives, neither is possible.
    assert!(chat.input(Input::Regenerate).is_empty());
    let edited = chat.session.conversation().messages()[0].id;
    assert!(chat
        .input(Input::Edit {
            id: edited,
            text: "Third".into()
        })
        .is_empty());
    chat.reply(ticket, "Two");
    assert_eq!(
        chat.texts(),
        [
            (Role::User, "Second".into(), MessageStatus::Done),
            (Role::Assistant, "Two".into(), MessageStatus::Done)
        ]
    );
}

#[test]
fn the_history_budget_leaves_out_the_oldest_turns_and_says_where() {
    let mut config = config();
    config.context_budget = Some(40);
    let mut chat = Harness::new(config);
    for text in ["a long first question ".repeat(4), "second".into()] {
        let ticket = chat.send(&text);
        chat.reply(ticket, "answer");
    }
    let effects = chat.input(Input::Send {
        text: "third".into(),
        images: Vec::new(),
    });
    let (_, sent) = request(&effects).expect("sent");
    assert_eq!(sent.messages.first(), Some(&Message::user("second")));
    let second = chat.session.conversation().messages()[2].id;
    assert_eq!(chat.session.context_start(), Some(second));
}

#[test]
fn a_relays_policy_shapes_every_request_so_that_it_is_never_refused() {
    let mut config = with_tools(&[]);
    config.parameters.system_prompt = Some("Be a pirate.".into());
    config.parameters.model = "gpt-4o".into();
    config.parameters.temperature = Some(1.8);
    config.parameters.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    let mut chat = Harness::new(config);
    chat.session.set_policy(
        serde_json::from_value(json!({
            "system_prompt": true,
            "models": ["shop-model"],
            "parameters": {"temperature": {"max": 1.0}},
            "tools": ["get_time"],
            "max_messages": 3
        }))
        .expect("a summary"),
    );
    for text in ["first", "second"] {
        let ticket = chat.send(text);
        chat.reply(ticket, "answer");
    }
    let effects = chat.input(Input::Send {
        text: "third".into(),
        images: Vec::new(),
    });
    let (_, sent) = request(&effects).expect("sent");
    assert_eq!(
        sent.messages,
        [
            Message::user("second"),
            Message::assistant("answer"),
            Message::user("third")
        ],
        "no system prompt of the page's, and whole turns within three messages"
    );
    assert_eq!(sent.model, "shop-model");
    assert_eq!(sent.temperature, Some(1.0));
    let offered: Vec<_> = sent
        .tools
        .iter()
        .map(|tool| tool.function.name.as_str())
        .collect();
    assert_eq!(offered, ["get_time"]);
    assert_eq!(
        sent.tool_choice, None,
        "a choice of a tool it does not offer goes"
    );
}

#[test]
fn the_pages_own_system_prompt_counts_against_the_policys_history_bounds() {
    let mut config = config();
    config.parameters.system_prompt = Some("Be brief.".into());
    let mut chat = Harness::new(config);
    chat.session
        .set_policy(serde_json::from_value(json!({"max_messages": 3})).expect("a summary"));
    for text in ["first", "second"] {
        let ticket = chat.send(text);
        chat.reply(ticket, "answer");
    }
    let effects = chat.input(Input::Send {
        text: "third".into(),
        images: Vec::new(),
    });
    let (_, sent) = request(&effects).expect("sent");
    assert_eq!(
        sent.messages,
        [Message::system("Be brief."), Message::user("third")],
        "three messages would hold no whole earlier turn beside the prompt"
    );
}

#[test]
fn switching_conversations_mid_reply_stops_it_and_keeps_both() {
    let mut chat = Harness::plain();
    let ticket = chat.send("In the first");
    chat.event(ticket, StreamEvent::Content("Half".into()));
    let effects = chat.input(Input::NewConversation);
    assert!(effects.contains(&Effect::Abort(ticket)));
    assert!(effects.contains(&Effect::Save));
    assert!(chat.session.conversation().messages().is_empty());
    chat.event(ticket, StreamEvent::Content(" late".into()));
    assert!(
        chat.session.conversation().messages().is_empty(),
        "nothing leaks in"
    );
    let ticket = chat.send("In the second");
    chat.reply(ticket, "Answer");
    chat.input(Input::SwitchConversation(0));
    assert_eq!(
        chat.texts(),
        [
            (Role::User, "In the first".into(), MessageStatus::Done),
            (Role::Assistant, "Half".into(), MessageStatus::Stopped)
        ]
    );
    // Ids are never reused between conversations, so a view can key by them alone.
    let ids: Vec<_> = chat
        .session
        .conversation()
        .messages()
        .iter()
        .map(|message| message.id)
        .collect();
    chat.input(Input::SwitchConversation(1));
    assert!(chat
        .session
        .conversation()
        .messages()
        .iter()
        .all(|message| !ids.contains(&message.id)));
    assert_eq!(chat.session.library().threads.len(), 2);
}

#[test]
fn after_a_reload_mid_reply_the_reply_is_followed_again_once() {
    let mut chat = Harness::plain();
    let ticket = chat.send("Tell me a story");
    chat.event(ticket, StreamEvent::Content("Once".into()));
    let to = chat
        .session
        .conversation()
        .replying_to()
        .expect("a reply in flight")
        .to_owned();
    assert_eq!(to, chat.session.conversation().messages()[0].uid);
    // The page reloads: a new session from what was kept, which has the person's message.
    let library = chat.session.library().clone();
    let mut reloaded = Harness::plain();
    reloaded.session = Session::new(
        config(),
        library,
        Settings::from_parameters(&config().parameters),
    );
    let resume = |to: &str| Input::Resume {
        name: "a1b2".into(),
        to: to.to_owned(),
    };
    // Not the reply this conversation waits for (another conversation's, say): nothing.
    assert!(reloaded.input(resume("another")).is_empty());
    let effects = reloaded.input(resume(&to));
    let Some(Effect::Resume { ticket, name }) = effects.first() else {
        panic!("no resume: {effects:?}");
    };
    assert_eq!(name, "a1b2");
    assert!(request(&effects).is_none(), "nothing is asked again");
    let ticket = *ticket;
    reloaded.event(ticket, StreamEvent::Reconnecting);
    assert_eq!(
        reloaded.texts().last(),
        Some(&(Role::Assistant, String::new(), MessageStatus::Reconnecting))
    );
    reloaded.reply(ticket, "Once upon a time");
    reloaded.input(Input::StreamEnd { ticket });
    assert_eq!(
        reloaded.texts(),
        [
            (Role::User, "Tell me a story".into(), MessageStatus::Done),
            (
                Role::Assistant,
                "Once upon a time".into(),
                MessageStatus::Done
            )
        ]
    );
    assert!(
        reloaded.told.iter().any(|told| told.starts_with("replied")),
        "{:?}",
        reloaded.told
    );
    // Nothing waits now: a second resume does nothing.
    assert!(reloaded.input(resume(&to)).is_empty());
}

#[test]
fn a_setting_made_invalid_mid_turn_fails_the_next_request_with_the_reason() {
    let mut chat = Harness::new(with_tools(&[]));
    let ticket = chat.send("Time?");
    let effects = chat.call_tools(ticket, &[("get_time", "{}")]);
    let (round, id, _) = tool_runs(&effects)[0].clone();
    let mut settings = chat.session.settings().clone();
    settings.top_p = "5".into();
    chat.session.set_settings(settings);
    let effects = chat.input(Input::ToolDone {
        ticket: round,
        id,
        result: Ok(json!("now")),
    });
    assert_eq!(request(&effects), None);
    assert!(matches!(
        chat.session.turn(),
        Turn::Failed(ChatError::Settings(_))
    ));
    // The conversation's own status says the same: the turn failed, it is not ready.
    assert!(matches!(
        chat.session.status(),
        Status::Error(ChatError::Settings(_))
    ));
    assert!(!matches!(chat.session.status(), Status::Ready));
}

/// Random sequences of everything that can happen, checked against the invariants.
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    #[derive(Clone, Debug)]
    enum Step {
        Send(usize),
        Stop,
        Edit,
        Regenerate,
        Continue,
        Retry,
        RetryNow,
        CancelRetry,
        Dismiss,
        New,
        Switch(usize),
        Delete(usize),
        Token(usize),
        Call(usize),
        Finish,
        Done,
        Fail(usize),
        End,
        Stale,
        ToolDone(bool),
        Consent(usize),
        Wake(bool, u64),
    }

    const TEXTS: [&str; 4] = ["Hello", "  ", "What time is it?", "ünïcode 🦀"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (0..TEXTS.len()).prop_map(Step::Send),
            1 => Just(Step::Stop),
            1 => Just(Step::Edit),
            1 => Just(Step::Regenerate),
            1 => Just(Step::Continue),
            1 => Just(Step::Retry),
            1 => Just(Step::RetryNow),
            1 => Just(Step::CancelRetry),
            1 => Just(Step::Dismiss),
            1 => Just(Step::New),
            1 => (0..3usize).prop_map(Step::Switch),
            1 => (0..3usize).prop_map(Step::Delete),
            6 => (0..TEXTS.len()).prop_map(Step::Token),
            2 => (0..2usize).prop_map(Step::Call),
            2 => Just(Step::Finish),
            3 => Just(Step::Done),
            2 => (0..5usize).prop_map(Step::Fail),
            2 => Just(Step::End),
            1 => Just(Step::Stale),
            3 => any::<bool>().prop_map(Step::ToolDone),
            2 => (0..3usize).prop_map(Step::Consent),
            2 => (any::<bool>(), 0..5000u64).prop_map(|(online, ms)| Step::Wake(online, ms)),
        ]
    }

    /// What the driver knows: the request being read, and the tools running.
    #[derive(Default)]
    struct Model {
        reading: Option<Ticket>,
        tools: Vec<(Ticket, chat_widget_core::MessageId)>,
        ended: HashSet<Ticket>,
        sent_texts: Vec<String>,
        edited_or_deleted: bool,
    }

    impl Model {
        /// Carries out the effects as a driver would, checking that no request overlaps another
        /// and that each ends once.
        fn perform(&mut self, effects: &[Effect]) -> Result<(), TestCaseError> {
            for effect in effects {
                match effect {
                    Effect::Abort(ticket) => {
                        prop_assert!(!self.ended.contains(ticket), "{ticket:?} ended twice");
                        prop_assert_eq!(self.reading, Some(*ticket), "aborting what is not read");
                        self.ended.insert(*ticket);
                        self.reading = None;
                    }
                    Effect::Send { ticket, .. } => {
                        prop_assert_eq!(self.reading, None, "two requests in flight");
                        self.reading = Some(*ticket);
                    }
                    Effect::RunTool { ticket, id, .. } => self.tools.push((*ticket, *id)),
                    Effect::Notify(TurnEvent::Sent { text, .. }) => {
                        self.sent_texts.push(text.clone())
                    }
                    _ => {}
                }
            }
            Ok(())
        }
    }

    fn texts(session: &Session) -> HashMap<chat_widget_core::MessageId, String> {
        session
            .conversation()
            .messages()
            .iter()
            .map(|message| (message.id, message.text.clone()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn any_sequence_keeps_the_invariants(steps in proptest::collection::vec(step(), 1..60)) {
            let mut chat = Harness::new(with_tools(&["get_weather"]));
            let mut model = Model::default();
            for step in steps {
                let before = texts(&chat.session);
                let messages_before = chat.session.conversation().messages().len();
                let input = match step {
                    Step::Send(text) => Input::Send { text: TEXTS[text].into(), images: Vec::new() },
                    Step::Stop => Input::Stop,
                    Step::Edit => {
                        let first = chat.session.conversation().messages().first().map(|m| m.id);
                        match first {
                            Some(id) => {
                                model.edited_or_deleted = true;
                                Input::Edit { id, text: "Edited".into() }
                            }
                            None => continue,
                        }
                    }
                    Step::Regenerate => Input::Regenerate,
                    Step::Continue => Input::Continue,
                    Step::Retry => Input::Retry,
                    Step::RetryNow => Input::RetryNow,
                    Step::CancelRetry => Input::CancelRetry,
                    Step::Dismiss => Input::DismissError,
                    Step::New => Input::NewConversation,
                    Step::Switch(index) => Input::SwitchConversation(index),
                    Step::Delete(index) => {
                        model.edited_or_deleted = true;
                        Input::DeleteConversation(index)
                    }
                    Step::Token(_) | Step::Call(_) | Step::Finish | Step::Done | Step::Fail(_) | Step::End
                        if model.reading.is_none() => continue,
                    Step::Token(text) => Input::Stream { ticket: model.reading.unwrap(), item: Ok(StreamEvent::Content(TEXTS[text].into())) },
                    Step::Call(index) => Input::Stream {
                        ticket: model.reading.unwrap(),
                        item: Ok(tool_call(index, ["get_time", "get_weather"][index], "{}")),
                    },
                    Step::Finish => Input::Stream { ticket: model.reading.unwrap(), item: Ok(StreamEvent::Finish(FinishReason::Stop)) },
                    Step::Done => Input::Stream { ticket: model.reading.unwrap(), item: Ok(StreamEvent::Done) },
                    Step::Fail(kind) => Input::Stream {
                        ticket: model.reading.unwrap(),
                        item: match kind {
                            0 => Err(http(429, Some("1"))),
                            1 => Err(http(500, None)),
                            2 => Err(http(400, None)),
                            3 => Err(TransportError::Network("reset".into())),
                            _ => Ok(StreamEvent::Error(ApiError::new("overloaded"))),
                        },
                    },
                    Step::End => {
                        // The driver stops reading before it reports the end.
                        let ticket = model.reading.take().unwrap();
                        model.ended.insert(ticket);
                        Input::StreamEnd { ticket }
                    }
                    Step::Stale => match model.ended.iter().next() {
                        Some(ticket) => Input::Stream { ticket: *ticket, item: Ok(StreamEvent::Content("stale".into())) },
                        None => continue,
                    },
                    Step::ToolDone(ok) => match model.tools.pop() {
                        Some((ticket, id)) => Input::ToolDone { ticket, id, result: if ok { Ok(json!("out")) } else { Err("failed".into()) } },
                        None => continue,
                    },
                    Step::Consent(answer) => match chat.session.consents().first() {
                        Some(request) => Input::Consent {
                            id: request.id,
                            consent: [Consent::Allow, Consent::AllowForConversation, Consent::Deny][answer],
                        },
                        None => continue,
                    },
                    Step::Wake(online, ms) => {
                        chat.advance(ms);
                        Input::Wake { online }
                    }
                };
                let effects = chat.session.handle(input, chat.now, 0.25);
                chat.session.check().map_err(TestCaseError::fail)?;
                model.perform(&effects)?;
                // A refused input changes nothing.
                if effects.iter().any(|effect| matches!(effect, Effect::Refused(_))) {
                    prop_assert_eq!(chat.session.conversation().messages().len(), messages_before);
                }
                // A message's text only grows.
                let after = texts(&chat.session);
                for (id, text) in &before {
                    if let Some(now) = after.get(id) {
                        prop_assert!(now.starts_with(text.as_str()), "{:?} became {:?}", text, now);
                    }
                }
                // Outside a turn, no message is left open.
                if !chat.session.is_busy() {
                    prop_assert!(chat.session.conversation().messages().iter().all(|m| !m.status.is_open()));
                }
                // The session reads a request exactly when the driver does.
                prop_assert_eq!(
                    model.reading.is_some(),
                    matches!(chat.session.turn(), Turn::Submitted | Turn::Streaming)
                );
                // A typed message is never lost: it is in view or kept.
                if !model.edited_or_deleted {
                    for text in &model.sent_texts {
                        let in_view = chat.session.conversation().messages().iter().any(|m| m.role == Role::User && &m.text == text);
                        let kept = chat.session.library().threads.iter().any(|thread| {
                            thread.messages.iter().any(|m| m.role == "user" && &m.text == text)
                        });
                        prop_assert!(in_view || kept, "{:?} was lost", text);
                    }
                }
            }
        }
    }
}

#[test]
fn each_kind_of_turn_tells_its_events_once_in_order() {
    // A normal turn, with the times since the message went out.
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.advance(300);
    chat.event(ticket, StreamEvent::Content("Hi".into()));
    chat.advance(700);
    chat.event(
        ticket,
        StreamEvent::Usage(chat_protocol::Usage {
            prompt_tokens: 3,
            completion_tokens: 1,
            total_tokens: 4,
        }),
    );
    let effects = chat.reply(ticket, "!");
    assert_eq!(chat.told, ["sent Hello", "first", "replied Hi!"]);
    let replied = effects.iter().find_map(|effect| match effect {
        Effect::Notify(TurnEvent::Replied {
            ms,
            usage,
            finish_reason,
            ..
        }) => Some((*ms, *usage, finish_reason.clone())),
        _ => None,
    });
    let (ms, usage, finish) = replied.expect("replied");
    assert_eq!(ms, 1000);
    assert_eq!(usage.map(|usage| usage.completion_tokens), Some(1));
    assert_eq!(finish, Some(FinishReason::Stop));
    // A retried turn: the failure says it will be retried, the last one that it will not.
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.error(ticket, http(503, Some("1")));
    chat.advance(1000);
    let effects = chat.input(Input::Wake { online: true });
    let (ticket, _) = request(&effects).expect("retried");
    chat.reply(ticket, "Hi");
    assert_eq!(
        chat.told,
        ["sent Hello", "failed, retrying", "first", "replied Hi"]
    );
    // A stopped turn tells no reply.
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.event(ticket, StreamEvent::Content("Par".into()));
    chat.input(Input::Stop);
    assert_eq!(chat.told, ["sent Hello", "first"]);
    // A tool turn: each call, then the answer.
    let mut chat = Harness::new(with_tools(&["get_weather"]));
    let ticket = chat.send("Both");
    let effects = chat.call_tools(ticket, &[("get_time", "{}"), ("get_weather", "{}")]);
    let (round, id, _) = tool_runs(&effects)[0].clone();
    chat.advance(250);
    chat.input(Input::ToolDone {
        ticket: round,
        id,
        result: Ok(json!("14:00")),
    });
    let asked = chat.session.consents()[0].id;
    let effects = chat.input(Input::Consent {
        id: asked,
        consent: Consent::Deny,
    });
    let (ticket, _) = request(&effects).expect("asked again");
    chat.reply(ticket, "It is 14:00.");
    assert_eq!(
        chat.told,
        [
            "sent Both",
            "first",
            "tool get_time ok",
            "tool get_weather failed",
            "first",
            "replied It is 14:00."
        ]
    );
}

#[test]
fn a_rating_is_kept_with_the_reply_and_told_with_its_id() {
    let mut chat = Harness::new(SessionConfig {
        uid_prefix: "visit1-".into(),
        ..config()
    });
    let ticket = chat.send("Hello");
    let reply = chat.session.conversation().messages()[1].id;
    // Not while it streams.
    chat.event(ticket, StreamEvent::Content("Hi".into()));
    let down = Some(chat_widget_core::Feedback {
        rating: chat_widget_core::Rating::Down,
        comment: "Too short".into(),
    });
    assert!(chat
        .input(Input::Rate {
            id: reply,
            feedback: down.clone()
        })
        .is_empty());
    chat.reply(ticket, "!");
    let effects = chat.input(Input::Rate {
        id: reply,
        feedback: down.clone(),
    });
    assert!(effects.contains(&Effect::Save));
    assert!(effects.contains(&Effect::Notify(TurnEvent::Feedback {
        id: "visit1-1".into(),
        feedback: down.clone()
    })));
    assert_eq!(
        chat.session.library().current().messages[1].feedback,
        down,
        "kept"
    );
    // The same again changes nothing; taking it back is told.
    assert!(chat
        .input(Input::Rate {
            id: reply,
            feedback: down
        })
        .is_empty());
    chat.input(Input::Rate {
        id: reply,
        feedback: None,
    });
    assert_eq!(chat.told.last().map(String::as_str), Some("rated none"));
    // The ids the page sees survive a switch of conversation (and so a reload).
    chat.input(Input::NewConversation);
    chat.input(Input::SwitchConversation(0));
    let uids: Vec<&str> = chat
        .session
        .conversation()
        .messages()
        .iter()
        .map(|message| message.uid.as_str())
        .collect();
    assert_eq!(uids, ["visit1-0", "visit1-1"]);
}

#[test]
fn asking_again_with_a_setting_not_valid_is_refused_and_takes_no_answer_away() {
    let mut chat = Harness::plain();
    let ticket = chat.send("Hello");
    chat.reply(ticket, "Kept");
    let mut settings = chat.session.settings().clone();
    settings.temperature = "5".into();
    chat.session.set_settings(settings);
    let first = chat.session.conversation().messages()[0].id;
    for input in [
        Input::Regenerate,
        Input::Continue,
        Input::Edit {
            id: first,
            text: "Other".into(),
        },
    ] {
        let effects = chat.input(input.clone());
        assert!(
            matches!(&effects[..], [Effect::Refused(Refusal::Settings(_))]),
            "{input:?}: {effects:?}"
        );
    }
    assert_eq!(
        chat.texts(),
        [
            (Role::User, "Hello".into(), MessageStatus::Done),
            (Role::Assistant, "Kept".into(), MessageStatus::Done)
        ]
    );
}

#[test]
fn allowing_a_tool_for_the_conversation_runs_its_other_waiting_calls_too() {
    let mut chat = Harness::new(with_tools(&["get_weather"]));
    let ticket = chat.send("Two cities");
    chat.call_tools(
        ticket,
        &[
            ("get_weather", "{\"city\":\"Oslo\"}"),
            ("get_weather", "{\"city\":\"Rome\"}"),
        ],
    );
    assert_eq!(chat.session.consents().len(), 2);
    let id = chat.session.consents()[0].id;
    let effects = chat.input(Input::Consent {
        id,
        consent: Consent::AllowForConversation,
    });
    assert_eq!(tool_runs(&effects).len(), 2, "both calls run");
    assert!(chat.session.consents().is_empty());
}
