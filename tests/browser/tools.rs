//! Tool calls: handlers in Rust and JavaScript, failures, the round limit, Stop, and the person's
//! (or the page's) consent before a tool runs.

use std::cell::RefCell;
use std::rc::Rc;

use chat_protocol::{FinishReason, Message, StreamEvent};
use chat_widget::{ChatConfig, Toolbox, TransportError};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{content, example_tools, settle, Fixture};

fn tool_call(
    index: u32,
    id: &str,
    name: &str,
    arguments: &str,
) -> Result<StreamEvent, TransportError> {
    Ok(StreamEvent::ToolCall(chat_protocol::ToolCallDelta {
        index: Some(index),
        id: Some(id.into()),
        function: Some(chat_protocol::FunctionCallDelta {
            name: Some(name.into()),
            arguments: Some(arguments.into()),
        }),
    }))
}

/// Ends the latest reply as a round of tool calls.
fn finish_with_tools(chat: &Fixture) {
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::ToolCalls)));
    chat.transport.push(Ok(StreamEvent::Done));
}

async fn settle_a_while() {
    for _ in 0..4 {
        settle().await;
    }
}

#[wasm_bindgen_test]
async fn parallel_tool_calls_run_and_the_model_is_asked_again_with_their_outputs() {
    let chat = Fixture::with_tools(ChatConfig::default(), example_tools());
    chat.send("What time is it in Tokyo, and what page is this?")
        .await;
    chat.transport.push(tool_call(
        0,
        "call_a",
        "get_time",
        "{\"tz\":\"Asia/Tokyo\"}",
    ));
    chat.transport
        .push(tool_call(1, "call_b", "read_page", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    assert_eq!(
        chat.transport.request_count(),
        2,
        "asked again once both tools answered"
    );
    {
        let requests = chat.transport.requests.borrow();
        let names: Vec<_> = requests[0]
            .tools
            .iter()
            .map(|tool| tool.function.name.as_str())
            .collect();
        assert_eq!(names, ["get_time", "read_page", "explode"]);
        let second = &requests[1].messages;
        assert_eq!(
            second.len(),
            4,
            "user, assistant with calls, two tool outputs: {second:?}"
        );
        assert!(
            matches!(&second[1], Message::Assistant { tool_calls, .. } if tool_calls.len() == 2)
        );
        assert_eq!(
            second[2],
            Message::Tool {
                content: chat_protocol::Content::Text(
                    "{\"time\":\"12:00\",\"tz\":\"Asia/Tokyo\"}".into()
                ),
                tool_call_id: "call_a".into(),
                name: Some("get_time".into()),
            }
        );
        assert_eq!(
            second[3],
            Message::Tool {
                content: chat_protocol::Content::Text("The demo page".into()),
                tool_call_id: "call_b".into(),
                name: Some("read_page".into()),
            }
        );
    }
    let tools = chat.query_all("[data-role='tool']");
    assert_eq!(tools.len(), 2);
    assert!(tools
        .iter()
        .all(|tool| tool.get_attribute("data-status").as_deref() == Some("done")));
    assert_eq!(
        tools[0].get_attribute("data-tool").as_deref(),
        Some("get_time")
    );
    assert_eq!(
        chat.query_all("[data-role='assistant'] .cw-message__calls li")
            .len(),
        2,
        "the calls are shown"
    );
    chat.transport
        .push(content("It is noon in Tokyo, on the demo page."));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    assert_eq!(
        chat.messages().last().expect("a reply").2,
        "It is noon in Tokyo, on the demo page."
    );
    assert!(chat.alert().is_none());
}

#[wasm_bindgen_test]
async fn a_failing_handler_an_unknown_tool_and_bad_arguments_are_reported_to_the_model_and_shown() {
    let chat = Fixture::with_tools(ChatConfig::default(), example_tools());
    chat.send("Try everything").await;
    chat.transport.push(tool_call(0, "c1", "explode", "{}"));
    chat.transport
        .push(tool_call(1, "c2", "no_such_tool", "{}"));
    chat.transport
        .push(tool_call(2, "c3", "get_time", "{not json"));
    finish_with_tools(&chat);
    settle_a_while().await;
    let tools = chat.query_all("[data-role='tool']");
    assert_eq!(tools.len(), 3);
    for tool in &tools {
        assert_eq!(tool.get_attribute("data-status").as_deref(), Some("error"));
    }
    let requests = chat.transport.requests.borrow();
    assert_eq!(requests.len(), 2);
    let outputs: Vec<String> = requests[1]
        .messages
        .iter()
        .filter_map(|message| match message {
            Message::Tool {
                content: chat_protocol::Content::Text(text),
                ..
            } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(outputs[0], "Error: the handler broke");
    assert_eq!(outputs[1], "Error: there is no tool named \"no_such_tool\"");
    assert!(
        outputs[2].starts_with("Error: the arguments are not valid JSON"),
        "{}",
        outputs[2]
    );
}

#[wasm_bindgen_test]
async fn the_round_limit_stops_a_model_that_keeps_calling_tools() {
    let config = ChatConfig::from_json(r#"{"max_tool_rounds": 2}"#).expect("valid");
    let chat = Fixture::with_tools(config, example_tools());
    chat.send("Loop forever").await;
    for round in 0..3 {
        chat.transport
            .push(tool_call(0, &format!("call_{round}"), "read_page", "{}"));
        finish_with_tools(&chat);
        settle_a_while().await;
    }
    assert_eq!(chat.transport.request_count(), 2);
    let alert = chat.alert().expect("an alert");
    assert!(alert.contains("called tools 2 times in a row"), "{alert}");
}

#[wasm_bindgen_test]
async fn tools_from_a_javascript_config_run_their_handlers() {
    let config = js_sys::eval(
        r#"({
            title: "With tools",
            tools: [
                { name: "add", description: "Adds", parameters: { type: "object" }, handler: ({ a, b }) => a + b },
                { name: "later", handler: async ({ word }) => "hello " + word },
                { name: "throws", handler: () => { throw new Error("no such order") } },
                { name: "rejects", handler: () => Promise.reject(new Error("offline")) },
            ],
        })"#,
    )
    .expect("a config object");
    let (config, toolbox) = chat_widget::embed::config_from_js(&config).expect("accepted");
    assert_eq!(config.title, "With tools");
    let names: Vec<_> = toolbox
        .definitions()
        .into_iter()
        .map(|tool| tool.function.name)
        .collect();
    assert_eq!(names, ["add", "later", "throws", "rejects"]);
    let call = |name: &str, arguments: &str| chat_protocol::ToolCall {
        id: "c".into(),
        kind: "function".into(),
        function: chat_protocol::FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
        },
    };
    assert_eq!(
        toolbox.call(&call("add", r#"{"a": 2, "b": 3}"#)).await,
        Ok(serde_json::json!(5))
    );
    assert_eq!(
        toolbox.call(&call("later", r#"{"word": "there"}"#)).await,
        Ok(serde_json::json!("hello there"))
    );
    assert_eq!(
        toolbox.call(&call("throws", "{}")).await,
        Err("no such order".into())
    );
    assert_eq!(
        toolbox.call(&call("rejects", "{}")).await,
        Err("offline".into())
    );

    let missing_handler = js_sys::eval(r#"({ tools: [{ name: "x" }] })"#).expect("object");
    let error = chat_widget::embed::config_from_js(&missing_handler).expect_err("refused");
    assert!(
        error.to_string().contains("needs a `handler` function"),
        "{error}"
    );
}

#[wasm_bindgen_test]
async fn stop_while_a_tool_runs_ends_the_turn_and_ignores_its_late_output() {
    let (release, wait) = futures_channel::oneshot::channel::<()>();
    let wait = std::cell::RefCell::new(Some(wait));
    let mut toolbox = Toolbox::new();
    toolbox.register(
        "slow",
        "Takes its time",
        serde_json::json!({"type": "object"}),
        move |_| {
            let wait = wait.borrow_mut().take();
            async move {
                if let Some(wait) = wait {
                    let _ = wait.await;
                }
                Ok(serde_json::json!("late"))
            }
        },
    );
    toolbox.set_confirm("slow", false);
    let chat = Fixture::with_tools(ChatConfig::default(), toolbox);
    chat.send("Do the slow thing").await;
    chat.transport.push(tool_call(0, "s", "slow", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    let tool = chat.query("[data-role='tool']").expect("the running tool");
    assert_eq!(
        tool.get_attribute("data-status").as_deref(),
        Some("pending")
    );
    chat.click("Stop");
    settle().await;
    assert_eq!(
        tool.get_attribute("data-status").as_deref(),
        Some("stopped")
    );
    let _ = release.send(());
    settle_a_while().await;
    assert_eq!(
        tool.get_attribute("data-status").as_deref(),
        Some("stopped"),
        "the late output is ignored"
    );
    assert_eq!(chat.transport.request_count(), 1, "nothing more is asked");
    assert!(chat.button("Send").is_some());
}

#[wasm_bindgen_test]
async fn a_forced_tool_choice_applies_to_the_question_not_to_the_follow_up() {
    let config = ChatConfig::from_json(r#"{"tool_choice": "required"}"#).expect("valid");
    let chat = Fixture::with_tools(config, example_tools());
    chat.send("Anything").await;
    chat.transport.push(tool_call(0, "r", "read_page", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    let requests = chat.transport.requests.borrow();
    assert_eq!(
        requests[0].tool_choice,
        Some(chat_protocol::ToolChoice::Required)
    );
    assert_eq!(
        requests[1].tool_choice,
        Some(chat_protocol::ToolChoice::Auto)
    );
}

#[wasm_bindgen_test]
async fn javascript_handlers_odd_results_are_handled() {
    let config = js_sys::eval(
        r#"({ tools: [
            { name: "nothing", handler: () => undefined },
            { name: "big", handler: () => 10n },
            { name: "thenable", handler: () => ({ then(resolve) { resolve(7) } }) },
            { name: "throws_object", handler: () => { throw { code: 1 } } },
        ] })"#,
    )
    .expect("a config object");
    let (_, toolbox) = chat_widget::embed::config_from_js(&config).expect("accepted");
    let call = |name: &str| chat_protocol::ToolCall {
        id: "c".into(),
        kind: "function".into(),
        function: chat_protocol::FunctionCall {
            name: name.into(),
            arguments: "{}".into(),
        },
    };
    assert_eq!(
        toolbox.call(&call("nothing")).await,
        Ok(serde_json::Value::Null)
    );
    let big = toolbox.call(&call("big")).await.expect_err("not JSON");
    assert!(big.contains("cannot be sent as JSON"), "{big}");
    assert_eq!(
        toolbox.call(&call("thenable")).await,
        Ok(serde_json::json!(7))
    );
    let thrown = toolbox
        .call(&call("throws_object"))
        .await
        .expect_err("thrown");
    assert!(thrown.contains("\"code\":1"), "{thrown}");

    let bad_name =
        js_sys::eval(r#"({ tools: [{ name: "has space", handler: () => 1 }] })"#).expect("object");
    let error = chat_widget::embed::config_from_js(&bad_name).expect_err("refused at mount");
    assert!(error.to_string().contains("has space"), "{error}");
}

/// A tool that moves money, counting its runs.
fn transfer_tool(runs: Rc<std::cell::Cell<u32>>) -> Toolbox {
    let mut toolbox = Toolbox::new();
    toolbox.register(
        "transfer_funds",
        "Sends money",
        serde_json::json!({"type": "object"}),
        move |_| {
            runs.set(runs.get() + 1);
            async { Ok(serde_json::json!("sent")) }
        },
    );
    toolbox
}

#[wasm_bindgen_test]
async fn a_tool_runs_only_once_the_person_allows_it_and_deny_tells_the_model() {
    let runs = Rc::new(std::cell::Cell::new(0));
    let chat = Fixture::with_tools(ChatConfig::default(), transfer_tool(runs.clone()));
    chat.send("Summarise this page").await;
    // A reply steered by what the model read calls the page's tool.
    chat.transport.push(tool_call(
        0,
        "t1",
        "transfer_funds",
        "{\"to\":\"attacker\",\"amount\":1000}",
    ));
    finish_with_tools(&chat);
    settle_a_while().await;
    assert_eq!(runs.get(), 0, "nothing runs before the person answers");
    let consent = chat.query(".cw-consent").expect("the question");
    assert_eq!(
        consent.get_attribute("aria-label").as_deref(),
        Some("Run the tool transfer_funds?")
    );
    assert!(consent
        .text_content()
        .unwrap_or_default()
        .contains("\"to\":\"attacker\""));
    let focused = chat
        .root
        .shadow_root()
        .and_then(|shadow| shadow.active_element())
        .and_then(|element| element.text_content());
    assert_eq!(focused.as_deref(), Some("Allow"), "the focus is on Allow");
    chat.click("Deny");
    settle_a_while().await;
    assert_eq!(runs.get(), 0, "declined: never run");
    assert!(chat.query(".cw-consent").is_none());
    assert_eq!(chat.transport.request_count(), 2, "the model is told");
    {
        let requests = chat.transport.requests.borrow();
        let told = requests[1].messages.last().expect("the tool message");
        assert!(
            matches!(told, Message::Tool { content, .. }
                if format!("{content:?}").contains("The person declined to run this tool.")),
            "{told:?}"
        );
    }

    // Allowed for the conversation: it runs, and a later call runs without asking.
    chat.transport
        .push(tool_call(0, "t2", "transfer_funds", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    chat.click("Allow for this conversation");
    settle_a_while().await;
    assert_eq!(runs.get(), 1);
    chat.transport
        .push(tool_call(0, "t3", "transfer_funds", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    assert_eq!(runs.get(), 2, "allowed for the conversation");
    assert!(chat.query(".cw-consent").is_none());
}

#[wasm_bindgen_test]
async fn stop_while_a_call_waits_for_consent_ends_the_turn_without_running_it() {
    let runs = Rc::new(std::cell::Cell::new(0));
    let chat = Fixture::with_tools(ChatConfig::default(), transfer_tool(runs.clone()));
    chat.send("Go").await;
    chat.transport
        .push(tool_call(0, "t1", "transfer_funds", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    assert!(chat.query(".cw-consent").is_some());
    chat.click("Stop");
    settle_a_while().await;
    assert!(chat.query(".cw-consent").is_none(), "the question is gone");
    assert_eq!(runs.get(), 0);
    assert_eq!(chat.transport.request_count(), 1, "nothing more is asked");
}

#[wasm_bindgen_test]
async fn the_pages_approver_answers_before_the_person_is_asked() {
    let runs = Rc::new(std::cell::Cell::new(0));
    let mut toolbox = transfer_tool(runs.clone());
    // The page declines large transfers and allows small ones; it leaves nothing to the person.
    toolbox.set_approver(Rc::new(|call: &chat_protocol::ToolCall| {
        let large = call.function.arguments.contains("1000");
        Box::pin(async move { Some(!large) })
    }));
    let chat = Fixture::with_tools(ChatConfig::default(), toolbox);
    chat.send("Pay").await;
    chat.transport
        .push(tool_call(0, "t1", "transfer_funds", "{\"amount\":1000}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    assert!(chat.query(".cw-consent").is_none(), "the page answered");
    assert_eq!(runs.get(), 0, "declined by the page");
    chat.transport
        .push(tool_call(0, "t2", "transfer_funds", "{\"amount\":5}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    assert_eq!(runs.get(), 1, "allowed by the page");
}

#[wasm_bindgen_test]
async fn a_page_answer_that_comes_after_stop_asks_nothing_and_runs_nothing() {
    let runs = Rc::new(std::cell::Cell::new(0));
    let mut toolbox = transfer_tool(runs.clone());
    let (answer, later) = futures_channel::oneshot::channel::<Option<bool>>();
    let later = RefCell::new(Some(later));
    // The page takes its time, and then leaves it to the person.
    toolbox.set_approver(Rc::new(move |_: &chat_protocol::ToolCall| {
        let later = later.borrow_mut().take();
        Box::pin(async move {
            match later {
                Some(later) => later.await.ok().flatten(),
                None => None,
            }
        })
    }));
    let chat = Fixture::with_tools(ChatConfig::default(), toolbox);
    chat.send("Pay").await;
    chat.transport
        .push(tool_call(0, "t1", "transfer_funds", "{}"));
    finish_with_tools(&chat);
    settle_a_while().await;
    chat.click("Stop");
    settle_a_while().await;
    let _ = answer.send(None);
    settle_a_while().await;
    assert!(
        chat.query(".cw-consent").is_none(),
        "no question for a stopped turn"
    );
    assert_eq!(runs.get(), 0);
}
