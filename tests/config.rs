//! The configuration from JSON, its defaults, its refusals, and the requests it builds.

#![cfg(not(target_arch = "wasm32"))]

use chat_protocol::Message;
use chat_widget::{ChatConfig, ConfigError};
use serde_json::json;

#[test]
fn defaults_are_relay_mode_with_the_documented_model_streaming() {
    let config = ChatConfig::from_json("{}").expect("empty config is fine");
    assert_eq!(config, ChatConfig::default());
    assert_eq!(config.endpoint, "/v1/chat/completions");
    assert_eq!(config.model, "gemini-1.5-pro");
    assert!(config.stream);
    assert!(config.api_key.is_none());
}

#[test]
fn the_request_has_the_system_prompt_first_and_only_set_parameters() {
    let config = ChatConfig::from_json(
        r#"{"system_prompt": "Answer in French.", "temperature": 0.3, "max_tokens": 256, "stop": ["\n\n"]}"#,
    )
    .expect("valid");
    let request = config.request(vec![Message::user("Hello")], Vec::new());
    assert_eq!(
        serde_json::to_value(&request).expect("serializes"),
        json!({
            "model": "gemini-1.5-pro",
            "messages": [
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Hello"}
            ],
            "temperature": 0.3,
            "max_tokens": 256,
            "stop": ["\n\n"],
            "stream": true
        })
    );
}

#[test]
fn non_streaming_config_sends_stream_false() {
    let config = ChatConfig::from_json(r#"{"stream": false}"#).expect("valid");
    assert_eq!(
        serde_json::to_value(config.request(vec![Message::user("x")], Vec::new())).expect("json")
            ["stream"],
        false
    );
}

#[test]
fn an_out_of_range_parameter_is_refused_naming_it() {
    let error = ChatConfig::from_json(r#"{"top_p": 0}"#).expect_err("refused");
    assert!(
        matches!(&error, ConfigError::Parameter(inner) if inner.field() == "top_p"),
        "{error:?}"
    );
    assert!(error.to_string().contains("top_p"), "{error}");
}

#[test]
fn unknown_fields_and_wrong_types_are_refused_with_the_reason() {
    let error = ChatConfig::from_json(r#"{"modle": "x"}"#).expect_err("refused");
    assert!(
        error.to_string().contains("unknown field `modle`"),
        "{error}"
    );
    let error = ChatConfig::from_json(r#"{"temperature": "hot"}"#).expect_err("refused");
    assert!(error.to_string().contains("invalid type"), "{error}");
    assert_eq!(
        ChatConfig::from_json(r#"{"endpoint": " "}"#),
        Err(ConfigError::NoEndpoint)
    );
}

#[test]
fn the_api_key_never_prints() {
    let config = ChatConfig::from_json(r#"{"api_key": "sk-secret-123"}"#).expect("valid");
    assert_eq!(
        config.api_key.as_ref().map(|key| key.expose()),
        Some("sk-secret-123")
    );
    assert!(!format!("{config:?}").contains("sk-secret-123"));
}

#[test]
fn a_theme_value_that_would_load_something_is_refused() {
    for value in [
        "url(https://tracker.example/p.png)",
        "URL( 'x' )",
        "image-set('a.png' 1x)",
        "-webkit-image-set(url(a.png) 1x)",
        "\\75 rl(x)",
    ] {
        let json = serde_json::json!({"theme": {"background": value}}).to_string();
        let error = ChatConfig::from_json(&json).expect_err(value);
        assert!(
            error.to_string().contains("may not load anything"),
            "{value}: {error}"
        );
    }
    for value in [
        "#16181d",
        "rgb(0 0 0 / 0.5)",
        "light-dark(#fff, #000)",
        "\"Inter\", sans-serif",
    ] {
        let json = serde_json::json!({"theme": {"background": value, "font": value}}).to_string();
        assert!(ChatConfig::from_json(&json).is_ok(), "{value}");
    }
}

/// The loader (`src/embed.js`) draws its stand-in before the widget's table is loaded, with words
/// of its own: they must be the table's, key for key.
#[test]
fn the_loaders_words_are_the_tables() {
    let loader = include_str!("../src/embed.js");
    let start = loader
        .find("const ENGLISH = {")
        .expect("the loader's words");
    let end = start + loader[start..].find("};").expect("their end");
    let mut checked = 0;
    for line in loader[start..end].lines().skip(1) {
        let Some((key, text)) = line.trim().split_once(": ") else {
            continue;
        };
        let text = text.trim_end_matches(',').trim_matches('"');
        assert_eq!(
            chat_widget::Strings::english(key),
            Some(text),
            "the loader's {key:?}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} words found");
}

#[test]
fn the_session_gets_the_configs_parameters_and_retry_policy() {
    let config = ChatConfig::from_json(
        r#"{"model": "m", "system_prompt": "Be brief.", "temperature": 0.2, "stop": ["END"],
            "stream": false, "retry_attempts": 2, "retry_base_ms": 40}"#,
    )
    .expect("valid");
    let parameters = config.parameters();
    assert_eq!(
        (
            parameters.model.as_str(),
            parameters.system_prompt.as_deref(),
            parameters.temperature,
            parameters.stream
        ),
        ("m", Some("Be brief."), Some(0.2), false)
    );
    assert_eq!(
        parameters.request(vec![Message::user("hi")], Vec::new()),
        config.request(vec![Message::user("hi")], Vec::new())
    );
    let policy = config.retry_policy();
    assert_eq!(policy.max_retries, 2);
    assert_eq!(policy.base, std::time::Duration::from_millis(40));
}

#[test]
fn a_greeting_is_for_a_launcher_that_loads_before_it_is_used() {
    let greeting = r#""greeting": {"text": "Need help choosing?", "delay_ms": 2000}"#;
    let ok = ChatConfig::from_json(&format!(
        r#"{{"presentation": "launcher", "load": "idle", {greeting}}}"#
    ))
    .expect("valid");
    assert_eq!(ok.greeting.map(|greeting| greeting.delay_ms), Some(2000));
    for (config, why) in [
        (format!(r#"{{{greeting}}}"#), "inline"),
        (
            format!(r#"{{"presentation": "launcher", {greeting}}}"#),
            "loaded only on interaction",
        ),
        (
            r#"{"presentation": "launcher", "load": "idle", "greeting": {"text": " "}}"#
                .to_owned(),
            "blank",
        ),
        (
            r#"{"presentation": "launcher", "load": "idle", "greeting": {"text": "Hi", "delay": 5}}"#
                .to_owned(),
            "an unknown field",
        ),
    ] {
        assert!(
            matches!(ChatConfig::from_json(&config), Err(ConfigError::Json(_))),
            "{why}: {config}"
        );
    }
}
