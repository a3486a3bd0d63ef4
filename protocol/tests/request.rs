//! Request bodies compared as JSON, and every validation refusal.

use chat_protocol::{
    ChatRequest, Content, ContentPart, ImageUrl, Message, Stop, Tool, ToolChoice, ValidationError,
    DEFAULT_MODEL, MAX_MESSAGES, MAX_TOOLS, MAX_TOOL_SCHEMA_BYTES,
};
use serde_json::{json, Value};

/// Changes one thing about a request.
type Edit = fn(&mut ChatRequest);

fn body(request: &ChatRequest) -> Value {
    serde_json::to_value(request).expect("a request serializes")
}

fn hello() -> ChatRequest {
    ChatRequest::new(DEFAULT_MODEL, vec![Message::user("Hello")])
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "The weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

#[test]
fn a_minimal_request_has_no_nulls_and_no_empty_arrays() {
    assert_eq!(
        body(&hello()),
        json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "Hello"}], "stream": true})
    );
}

#[test]
fn every_parameter_together() {
    let request = ChatRequest {
        model: DEFAULT_MODEL.into(),
        messages: vec![
            Message::System {
                content: Content::Text("Be brief.".into()),
                name: Some("rules".into()),
            },
            Message::User {
                content: Content::Parts(vec![
                    ContentPart::Text {
                        text: "What is this?".into(),
                    },
                    ContentPart::ImageUrl {
                        image_url: ImageUrl {
                            url: "data:image/png;base64,iVBORw0KGgo=".into(),
                            detail: None,
                        },
                    },
                ]),
                name: Some("ada".into()),
            },
            Message::Assistant {
                content: None,
                name: None,
                tool_calls: vec![chat_protocol::ToolCall {
                    id: "call_1".into(),
                    kind: "function".into(),
                    function: chat_protocol::FunctionCall {
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Oslo\"}".into(),
                    },
                }],
            },
            Message::Tool {
                content: Content::Text("{\"c\":4}".into()),
                tool_call_id: "call_1".into(),
                name: None,
            },
        ],
        temperature: Some(0.7),
        top_p: Some(0.9),
        max_tokens: Some(512),
        frequency_penalty: Some(0.5),
        presence_penalty: Some(-0.5),
        logit_bias: [(50256, -100.0), (13, 5.0)].into(),
        stop: Stop::Many(vec!["\n\n".into(), "END".into()]),
        stream: Some(false),
        tools: vec![weather_tool()],
        tool_choice: Some(ToolChoice::Function("get_weather".into())),
    };
    assert_eq!(request.validate(), Ok(()));
    let expected = json!({
        "model": "gemini-1.5-pro",
        "messages": [
            {"role": "system", "content": "Be brief.", "name": "rules"},
            {"role": "user", "name": "ada", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]},
            {"role": "assistant", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
            ]},
            {"role": "tool", "content": "{\"c\":4}", "tool_call_id": "call_1"}
        ],
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 512,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "logit_bias": {"13": 5.0, "50256": -100.0},
        "stop": ["\n\n", "END"],
        "stream": false,
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
    });
    assert_eq!(body(&request), expected);
    // And it reads back the same.
    assert_eq!(
        serde_json::from_value::<ChatRequest>(expected).expect("parses"),
        request
    );
}

#[test]
fn each_parameter_alone() {
    let cases: Vec<(Edit, Value)> = vec![
        (|r| r.temperature = Some(1.5), json!({"temperature": 1.5})),
        (|r| r.top_p = Some(0.1), json!({"top_p": 0.1})),
        (|r| r.max_tokens = Some(1), json!({"max_tokens": 1})),
        (
            |r| r.frequency_penalty = Some(-2.0),
            json!({"frequency_penalty": -2.0}),
        ),
        (
            |r| r.presence_penalty = Some(2.0),
            json!({"presence_penalty": 2.0}),
        ),
        (
            |r| r.logit_bias = [(7, 100.0)].into(),
            json!({"logit_bias": {"7": 100.0}}),
        ),
        (|r| r.stop = Stop::One("###".into()), json!({"stop": "###"})),
        (|r| r.stream = Some(false), json!({"stream": false})),
        (
            |r| r.tool_choice = Some(ToolChoice::None),
            json!({"tool_choice": "none"}),
        ),
        (
            |r| r.tool_choice = Some(ToolChoice::Auto),
            json!({"tool_choice": "auto"}),
        ),
    ];
    for (set, extra) in cases {
        let mut request = hello();
        request.stream = None;
        set(&mut request);
        assert_eq!(request.validate(), Ok(()), "{extra}");
        let mut expected =
            json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "Hello"}]});
        expected
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        assert_eq!(body(&request), expected);
    }
}

#[test]
fn empty_stop_list_and_empty_tools_are_left_out() {
    let mut request = hello();
    request.stop = Stop::Many(vec![]);
    assert_eq!(
        body(&request)
            .as_object()
            .expect("object")
            .keys()
            .collect::<Vec<_>>(),
        ["messages", "model", "stream"]
    );
}

#[test]
fn the_seed_example_parses_except_its_placeholder_bias_key() {
    // The API page's example uses a placeholder for the token id; a real key is a number.
    let seed = json!({
        "model": "gemini-1.5-pro", "frequency_penalty": 1, "logit_bias": {"1234": 1}, "max_tokens": 512,
        "presence_penalty": 1, "messages": [{"role": "system", "content": "text", "name": "text"}],
        "stream": false, "top_p": 1, "temperature": 1, "stop": "text",
        "tools": [{"type": "function", "function": {"description": "text", "name": "text", "parameters": {}}}],
        "tool_choice": "none"
    });
    let request: ChatRequest = serde_json::from_value(seed).expect("the seed example parses");
    assert_eq!(request.validate(), Ok(()));
    // The same body, with the numbers of float parameters written as floats.
    let sent = json!({
        "model": "gemini-1.5-pro", "frequency_penalty": 1.0, "logit_bias": {"1234": 1.0}, "max_tokens": 512,
        "presence_penalty": 1.0, "messages": [{"role": "system", "content": "text", "name": "text"}],
        "stream": false, "top_p": 1.0, "temperature": 1.0, "stop": "text",
        "tools": [{"type": "function", "function": {"description": "text", "name": "text", "parameters": {}}}],
        "tool_choice": "none"
    });
    assert_eq!(body(&request), sent);
    let placeholder =
        json!({"model": "m", "messages": [], "logit_bias": {"ANY_ADDITIONAL_PROPERTY": 1}});
    assert!(serde_json::from_value::<ChatRequest>(placeholder).is_err());
}

#[test]
fn nullable_fields_accept_null() {
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "stop": null, "frequency_penalty": null, "presence_penalty": null, "tool_choice": null
    }))
    .expect("nulls are accepted");
    assert_eq!(request.stop, Stop::None);
    assert_eq!(request.frequency_penalty, None);
}

#[test]
fn unknown_tool_choice_is_refused_when_parsing() {
    let error = serde_json::from_value::<ToolChoice>(json!("sometimes")).expect_err("refused");
    assert!(error.to_string().contains("sometimes"), "{error}");
}

#[test]
fn every_validation_refusal_names_its_field() {
    let out_of_range = |field: &str, min: f64, max: f64, value: f64| ValidationError::OutOfRange {
        field: field.into(),
        min,
        max,
        value,
    };
    let cases: Vec<(Edit, ValidationError, &str)> = vec![
        (
            |r| r.model = " ".into(),
            ValidationError::EmptyModel,
            "model",
        ),
        (
            |r| r.messages.clear(),
            ValidationError::NoMessages,
            "messages",
        ),
        (
            |r| r.messages.push(Message::user("")),
            ValidationError::EmptyMessage {
                index: 1,
                role: "user",
            },
            "messages",
        ),
        (
            |r| {
                r.messages.push(Message::Assistant {
                    content: None,
                    name: None,
                    tool_calls: vec![],
                })
            },
            ValidationError::EmptyMessage {
                index: 1,
                role: "assistant",
            },
            "messages",
        ),
        (
            |r| r.messages.push(Message::tool("", "out")),
            ValidationError::MissingToolCallId { index: 1 },
            "messages",
        ),
        (
            |r| r.temperature = Some(2.01),
            out_of_range("temperature", 0.0, 2.0, 2.01),
            "temperature",
        ),
        (
            |r| r.temperature = Some(-0.1),
            out_of_range("temperature", 0.0, 2.0, -0.1),
            "temperature",
        ),
        (
            |r| r.top_p = Some(0.05),
            out_of_range("top_p", 0.1, 1.0, 0.05),
            "top_p",
        ),
        (
            |r| r.top_p = Some(1.5),
            out_of_range("top_p", 0.1, 1.0, 1.5),
            "top_p",
        ),
        (
            |r| r.max_tokens = Some(0),
            ValidationError::ZeroMaxTokens,
            "max_tokens",
        ),
        (
            |r| r.frequency_penalty = Some(-3.0),
            out_of_range("frequency_penalty", -2.0, 2.0, -3.0),
            "frequency_penalty",
        ),
        (
            |r| r.presence_penalty = Some(2.5),
            out_of_range("presence_penalty", -2.0, 2.0, 2.5),
            "presence_penalty",
        ),
        (
            |r| r.logit_bias = [(42, 101.0)].into(),
            out_of_range("logit_bias.42", -100.0, 100.0, 101.0),
            "logit_bias",
        ),
        (
            |r| {
                r.stop = Stop::Many(vec![
                    "a".into(),
                    "b".into(),
                    "c".into(),
                    "d".into(),
                    "e".into(),
                ])
            },
            ValidationError::TooManyStops(5),
            "stop",
        ),
        (
            |r| r.stop = Stop::One(String::new()),
            ValidationError::EmptyStop,
            "stop",
        ),
        (
            |r| r.tools = vec![Tool::function("has space", "", json!({}))],
            ValidationError::BadToolName {
                index: 0,
                name: "has space".into(),
            },
            "tools",
        ),
        (
            |r| r.tools = vec![Tool::function("x".repeat(65), "", json!({}))],
            ValidationError::BadToolName {
                index: 0,
                name: "x".repeat(65),
            },
            "tools",
        ),
        (
            |r| {
                r.tools = vec![
                    Tool::function("f", "", json!({})),
                    Tool::function("f", "", json!({})),
                ]
            },
            ValidationError::DuplicateTool {
                index: 1,
                name: "f".into(),
            },
            "tools",
        ),
        (
            |r| r.tool_choice = Some(ToolChoice::Required),
            ValidationError::BadToolChoice("is `required` but no tools are offered".into()),
            "tool_choice",
        ),
        (
            |r| r.tool_choice = Some(ToolChoice::Function("missing".into())),
            ValidationError::BadToolChoice("names \"missing\", which is not among `tools`".into()),
            "tool_choice",
        ),
    ];
    for (break_it, expected, field) in cases {
        let mut request = hello();
        break_it(&mut request);
        let error = request.validate().expect_err("refused");
        assert_eq!(error, expected);
        assert_eq!(error.field(), field);
        assert!(
            error.to_string().contains(field),
            "the message names the field: {error}"
        );
    }
}

#[test]
fn nan_is_out_of_range() {
    let mut request = hello();
    request.temperature = Some(f64::NAN);
    assert!(
        matches!(request.validate(), Err(ValidationError::OutOfRange { ref field, .. }) if field == "temperature")
    );
}

#[test]
fn range_ends_are_allowed() {
    let mut request = hello();
    request.temperature = Some(0.0);
    request.top_p = Some(1.0);
    request.frequency_penalty = Some(2.0);
    request.presence_penalty = Some(-2.0);
    request.logit_bias = [(1, -100.0)].into();
    request.stop = Stop::Many(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
    request.tools = vec![weather_tool()];
    request.tool_choice = Some(ToolChoice::Required);
    assert_eq!(request.validate(), Ok(()));
}

fn tool_named(name: &str) -> Tool {
    Tool::function(name, "", json!({"type": "object", "properties": {}}))
}

#[test]
fn tools_messages_and_schemas_are_capped_and_names_checked_in_linear_time() {
    // At the caps: accepted.
    let mut request = hello();
    request.tools = (0..MAX_TOOLS)
        .map(|i| tool_named(&format!("t{i}")))
        .collect();
    request.messages = vec![Message::user("Hello"); MAX_MESSAGES];
    assert_eq!(request.validate(), Ok(()));

    // One past: refused, naming the field, before any tool is looked at.
    request.tools.push(tool_named("one_more"));
    assert_eq!(
        request.validate(),
        Err(ValidationError::TooManyTools(MAX_TOOLS + 1))
    );
    request.tools.pop();
    request.messages.push(Message::user("one more"));
    let refused = request.validate().expect_err("refused");
    assert_eq!(refused, ValidationError::TooManyMessages(MAX_MESSAGES + 1));
    assert_eq!(refused.field(), "messages");

    // A hundred thousand tools, the last two sharing a name: refused at once by the cap.
    let mut flood = hello();
    flood.tools = (0..100_000).map(|i| tool_named(&format!("t{i}"))).collect();
    flood.tool_choice = Some(ToolChoice::Function("missing".into()));
    let started = std::time::Instant::now();
    assert_eq!(
        flood.validate(),
        Err(ValidationError::TooManyTools(100_000))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));

    // A repeated name among the allowed number is found by the set of names.
    let mut repeated = hello();
    repeated.tools = (0..MAX_TOOLS - 1)
        .map(|i| tool_named(&format!("t{i}")))
        .chain([tool_named("t3")])
        .collect();
    assert_eq!(
        repeated.validate(),
        Err(ValidationError::DuplicateTool {
            index: MAX_TOOLS - 1,
            name: "t3".into()
        })
    );

    // A schema larger than any real one.
    let mut huge = hello();
    huge.tools = vec![Tool::function(
        "huge",
        "",
        json!({"type": "object", "description": "x".repeat(MAX_TOOL_SCHEMA_BYTES)}),
    )];
    let refused = huge.validate().expect_err("refused");
    assert_eq!(refused, ValidationError::ToolSchemaTooLarge { index: 0 });
    assert_eq!(refused.field(), "tools");
}

#[test]
fn tool_choice_has_one_spelling_in_text() {
    use chat_protocol::ToolChoice;
    for mode in ToolChoice::MODES {
        let choice: ToolChoice = mode.parse().unwrap();
        assert_eq!(choice.mode(), Some(mode));
        assert_eq!(choice.to_string(), mode);
        assert_eq!(serde_json::to_value(&choice).unwrap(), mode);
    }
    assert_eq!(
        "get_weather".parse::<ToolChoice>().unwrap(),
        ToolChoice::Function("get_weather".into())
    );
    for bad in ["", "two words", "ünïcode", &"x".repeat(65)] {
        assert!(bad.parse::<ToolChoice>().is_err(), "{bad:?}");
    }
}
