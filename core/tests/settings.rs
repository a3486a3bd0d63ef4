//! The settings panel's values, natively: not set is distinct from any value, and every refusal
//! names the field and the reason.

#![cfg(not(target_arch = "wasm32"))]

use chat_protocol::{Message, PolicySummary, Rule, Stop, ToolChoice};
use chat_widget_core::settings::{Field, Settings};
use chat_widget_core::{Parameters, Strings};
use serde_json::json;

/// `apply` with the built-in English.
trait ApplyInEnglish {
    fn apply_in_english(
        &self,
        config: &Parameters,
        tools: &[String],
    ) -> Result<Parameters, Vec<(Field, String)>>;
}

impl ApplyInEnglish for Settings {
    fn apply_in_english(
        &self,
        config: &Parameters,
        tools: &[String],
    ) -> Result<Parameters, Vec<(Field, String)>> {
        self.apply(config, &Strings::default(), tools)
    }
}

/// Changes one setting.
type Edit = fn(&mut Settings);

fn body(settings: &Settings) -> serde_json::Value {
    let config = settings
        .apply_in_english(&Parameters::default(), &["get_time".into()])
        .expect("valid");
    serde_json::to_value(config.request(vec![Message::user("hi")], Vec::new())).expect("json")
}

#[test]
fn settings_start_from_the_config_and_empty_fields_are_not_sent() {
    let config = Parameters {
        temperature: Some(0.3),
        stop: Stop::Many(vec!["END".into()]),
        stream: false,
        ..Parameters::default()
    };
    let settings = Settings::from_parameters(&config);
    assert_eq!(settings.temperature, "0.3");
    assert_eq!(settings.stop, ["END"]);
    assert!(!settings.stream);
    assert_eq!(
        settings.apply_in_english(&config, &[]).expect("valid"),
        config
    );
    let defaults = Settings::from_parameters(&Parameters::default());
    assert_eq!(
        body(&defaults),
        json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "hi"}], "stream": true})
    );
}

#[test]
fn every_parameter_set_from_the_panel_reaches_the_request() {
    let settings = Settings {
        model: " gemini-1.5-flash ".into(),
        system_prompt: "Be brief.".into(),
        temperature: "1,5".into(),
        top_p: "0.9".into(),
        max_tokens: "256".into(),
        frequency_penalty: "-1".into(),
        presence_penalty: "0.5".into(),
        logit_bias: vec![
            ("50256".into(), "-100".into()),
            (String::new(), String::new()),
        ],
        stop: vec!["END".into(), String::new(), "###".into()],
        stream: false,
        tool_choice: "get_time".into(),
    };
    let config = settings
        .apply_in_english(&Parameters::default(), &["get_time".into()])
        .expect("valid");
    assert_eq!(config.model, "gemini-1.5-flash");
    assert_eq!(config.temperature, Some(1.5), "a decimal comma is read too");
    assert_eq!(config.stop, Stop::Many(vec!["END".into(), "###".into()]));
    assert_eq!(
        config.tool_choice,
        Some(ToolChoice::Function("get_time".into()))
    );
    assert_eq!(
        body(&settings),
        json!({
            "model": "gemini-1.5-flash",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "temperature": 1.5, "top_p": 0.9, "max_tokens": 256, "frequency_penalty": -1.0,
            "presence_penalty": 0.5, "logit_bias": {"50256": -100.0}, "stop": ["END", "###"], "stream": false
        }),
        "tool_choice is sent only with tools"
    );
}

#[test]
fn each_bad_value_is_refused_at_its_field_with_the_reason() {
    let cases: Vec<(Edit, Field, &str)> = vec![
        (|s| s.model = " ".into(), Field::Model, "Enter a model id"),
        (
            |s| s.temperature = "3".into(),
            Field::Temperature,
            "from 0 to 2",
        ),
        (
            |s| s.temperature = "hot".into(),
            Field::Temperature,
            "from 0 to 2",
        ),
        (|s| s.top_p = "0".into(), Field::TopP, "from 0.1 to 1"),
        (
            |s| s.max_tokens = "0".into(),
            Field::MaxTokens,
            "at least 1",
        ),
        (
            |s| s.max_tokens = "1.5".into(),
            Field::MaxTokens,
            "whole number",
        ),
        (
            |s| s.frequency_penalty = "-2.5".into(),
            Field::FrequencyPenalty,
            "from -2 to 2",
        ),
        (
            |s| s.presence_penalty = "NaN".into(),
            Field::PresencePenalty,
            "from -2 to 2",
        ),
        (
            |s| s.logit_bias = vec![("abc".into(), "1".into())],
            Field::LogitBias(0),
            "whole number",
        ),
        (
            |s| s.logit_bias = vec![("1".into(), "101".into())],
            Field::LogitBias(0),
            "from -100 to 100",
        ),
        (
            |s| s.stop = vec!["a".into(), "b".into(), "c".into(), "d".into(), "e".into()],
            Field::Stop(4),
            "At most 4",
        ),
        (
            |s| s.tool_choice = "missing".into(),
            Field::ToolChoice,
            "no tool named",
        ),
    ];
    for (break_it, field, reason) in cases {
        let mut settings = Settings::from_parameters(&Parameters::default());
        break_it(&mut settings);
        let problem = settings
            .problem(
                field,
                &Parameters::default(),
                &Strings::default(),
                &["get_time".into()],
            )
            .unwrap_or_else(|| panic!("{field:?} not refused"));
        assert!(problem.contains(reason), "{field:?}: {problem}");
    }
}

#[test]
fn numbers_are_read_as_people_type_them() {
    let read = |text: &str| {
        let settings = Settings {
            temperature: text.into(),
            ..Settings::from_parameters(&Parameters::default())
        };
        settings
            .apply_in_english(&Parameters::default(), &[])
            .map(|config| config.temperature)
            .map_err(|_| ())
    };
    for (text, value) in [
        ("0.7", 0.7),
        (" 0,7 ", 0.7),
        (".5", 0.5),
        ("1.", 1.0),
        ("+1", 1.0),
        ("-0", 0.0),
        ("2", 2.0),
        ("1e-1", 0.1),
        ("0.30000000000000004", 0.30000000000000004),
    ] {
        assert_eq!(read(text), Ok(Some(value)), "{text:?}");
    }
    for text in ["1..2", "--1", "0x1", "1 2", "hot", "inf", "NaN", "2.5", "."] {
        assert_eq!(read(text), Err(()), "{text:?}");
    }
    // And shown back in their shortest form.
    let config = Parameters {
        temperature: Some(1.0),
        top_p: Some(0.95),
        ..Parameters::default()
    };
    let settings = Settings::from_parameters(&config);
    assert_eq!(
        (settings.temperature.as_str(), settings.top_p.as_str()),
        ("1", "0.95")
    );
}

#[test]
fn values_beyond_a_relays_policy_are_shown_and_sent_as_the_nearest_allowed() {
    let policy: PolicySummary = serde_json::from_value(json!({
        "system_prompt": true,
        "models": ["shop-model"],
        "parameters": {"temperature": {"max": 1.0}, "max_tokens": {"max": 512}, "top_p": 0.9},
        "no_stop": true
    }))
    .expect("a summary");
    let mut settings = Settings::from_parameters(&Parameters::default());
    settings.temperature = "1.5".into();
    settings.max_tokens = "4000".into();
    settings.presence_penalty = "0.5".into();
    settings.system_prompt = "Be a pirate.".into();
    settings.stop = vec!["END".into()];
    let beyond = settings.beyond(&policy, &Strings::default());
    let said = |field: Field| {
        beyond
            .iter()
            .find(|(at, _)| *at == field)
            .map(|(_, problem)| problem.clone())
    };
    let temperature = said(Field::Temperature).expect("said");
    assert!(
        temperature.contains("0 to 1") && temperature.contains("1 is sent"),
        "{temperature}"
    );
    assert!(said(Field::MaxTokens).is_some_and(|problem| problem.contains("512 is sent")));
    assert_eq!(said(Field::PresencePenalty), None, "no rule for it");

    let mut parameters = settings
        .apply_in_english(&Parameters::default(), &[])
        .expect("valid for the API");
    parameters.fit(&policy);
    assert_eq!(parameters.system_prompt, None, "the relay pins its own");
    assert_eq!(parameters.model, "shop-model");
    assert_eq!(parameters.temperature, Some(1.0));
    assert_eq!(parameters.top_p, Some(0.9), "fixed");
    assert_eq!(parameters.max_tokens, Some(512));
    assert_eq!(parameters.presence_penalty, Some(0.5));
    assert_eq!(parameters.stop, Stop::None);
    settings.max_tokens.clear();
    let mut parameters = settings
        .apply_in_english(&Parameters::default(), &[])
        .expect("valid");
    parameters.fit(&policy);
    assert_eq!(
        parameters.max_tokens,
        Some(512),
        "left out, the range's top"
    );
    assert_eq!(
        Rule::Range {
            min: None,
            max: Some(1.0)
        }
        .fit(1.7),
        1.0
    );
}
