//! What a relay's policy pins, as the relay's `GET /v1/policy` tells the widget ([`PolicySummary`]),
//! and the rule for one sampling parameter ([`Rule`]), which the relay's policy file and the
//! summary share. The widget offers only what the policy allows and fits its requests to it, so
//! that a person never meets the relay's refusals; the relay enforces the policy whatever a page
//! sends.

use serde::{Deserialize, Serialize};

/// A parameter's rule: a fixed value, or a range (either end open).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    /// Always this value.
    Fixed(f64),
    /// Between these, inclusive.
    Range {
        /// The least allowed value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// The greatest allowed value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
}

impl Rule {
    /// Whether `value` keeps the rule.
    pub fn allows(&self, value: f64) -> bool {
        match *self {
            Rule::Fixed(fixed) => value == fixed,
            Rule::Range { min, max } => {
                min.is_none_or(|min| value >= min) && max.is_none_or(|max| value <= max)
            }
        }
    }

    /// The allowed value nearest `value` (the fixed one, or `value` brought into the range).
    pub fn fit(&self, value: f64) -> f64 {
        match *self {
            Rule::Fixed(fixed) => fixed,
            Rule::Range { min, max } => {
                let value = min.map_or(value, |min| value.max(min));
                max.map_or(value, |max| value.min(max))
            }
        }
    }
}

/// The rules for the sampling parameters, by their names in the request. (Read leniently: a rule
/// for a parameter this version does not know is ignored.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ParameterRules {
    /// `temperature`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Rule>,
    /// `top_p`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<Rule>,
    /// `max_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<Rule>,
    /// `frequency_penalty`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<Rule>,
    /// `presence_penalty`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<Rule>,
}

/// What a relay's policy pins, for the widget. Everything is optional: a relay without a policy
/// answers `{}`, which pins nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicySummary {
    /// The relay puts its own system prompt first, and the page's system messages are dropped
    /// (or refused): the widget sends none and does not offer one.
    #[serde(skip_serializing_if = "is_false")]
    pub system_prompt: bool,
    /// The models that may be asked for, the first the default (empty: the policy does not say).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The sampling parameters' rules.
    #[serde(skip_serializing_if = "is_default")]
    pub parameters: ParameterRules,
    /// The tools a request may offer the model, by name (`None`: any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Whether `logit_bias` is refused.
    #[serde(skip_serializing_if = "is_false")]
    pub no_logit_bias: bool,
    /// Whether `stop` is refused.
    #[serde(skip_serializing_if = "is_false")]
    pub no_stop: bool,
    /// The most messages a request may carry (the pinned system prompt not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<usize>,
    /// The most characters of text all of a request's messages may hold together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_history_chars: Option<usize>,
}

fn is_false(value: &bool) -> bool {
    !value
}

fn is_default(rules: &ParameterRules) -> bool {
    *rules == ParameterRules::default()
}

impl PolicySummary {
    /// Whether the policy pins nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == PolicySummary::default()
    }

    /// The summary in a relay's JSON (`GET /v1/policy`), read leniently and by hand: what is not
    /// of the expected shape is left out, and what is unknown ignored. (Read by hand rather than
    /// through the derived `Deserialize`, whose untagged rules would cost the widget several KB.)
    pub fn from_json(json: &serde_json::Value) -> Self {
        use serde_json::Value;
        let rule = |value: &Value| match value {
            Value::Number(number) => number.as_f64().map(Rule::Fixed),
            Value::Object(range) => Some(Rule::Range {
                min: range.get("min").and_then(Value::as_f64),
                max: range.get("max").and_then(Value::as_f64),
            }),
            _ => None,
        };
        let parameter = |name: &str| json.get("parameters")?.get(name).and_then(rule);
        let names = |field: &str| {
            json.get(field)?.as_array().map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        let yes = |field: &str| json.get(field).and_then(Value::as_bool) == Some(true);
        let count = |field: &str| {
            json.get(field)
                .and_then(Value::as_u64)
                .and_then(|count| usize::try_from(count).ok())
        };
        PolicySummary {
            system_prompt: yes("system_prompt"),
            models: names("models").unwrap_or_default(),
            parameters: ParameterRules {
                temperature: parameter("temperature"),
                top_p: parameter("top_p"),
                max_tokens: parameter("max_tokens"),
                frequency_penalty: parameter("frequency_penalty"),
                presence_penalty: parameter("presence_penalty"),
            },
            tools: names("tools"),
            no_logit_bias: yes("no_logit_bias"),
            no_stop: yes("no_stop"),
            max_messages: count("max_messages"),
            max_history_chars: count("max_history_chars"),
        }
    }

    /// Whether `tool` may be offered.
    pub fn allows_tool(&self, tool: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|tools| tools.iter().any(|allowed| allowed == tool))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_allows_and_fits_values() {
        let range = Rule::Range {
            min: Some(0.0),
            max: Some(1.0),
        };
        assert!(range.allows(0.0) && range.allows(1.0) && !range.allows(1.5));
        assert_eq!(range.fit(1.5), 1.0);
        assert_eq!(range.fit(-1.0), 0.0);
        let open = Rule::Range {
            min: None,
            max: Some(512.0),
        };
        assert!(open.allows(-5.0) && !open.allows(513.0));
        assert_eq!(Rule::Fixed(0.2).fit(0.9), 0.2);
        assert!(Rule::Fixed(0.2).allows(0.2) && !Rule::Fixed(0.2).allows(0.3));
    }

    #[test]
    fn a_summary_reads_its_own_json_and_nothing_pins_nothing() {
        let summary: PolicySummary = serde_json::from_str(
            r#"{"system_prompt": true, "parameters": {"temperature": {"max": 1}, "top_p": 0.9},
                "tools": [], "max_messages": 4, "some_future_field": 1}"#,
        )
        .expect("reads");
        let _: PolicySummary =
            serde_json::from_str(r#"{"parameters": {"seed": 1, "temperature": 0.5}}"#)
                .expect("reads");
        assert!(summary.system_prompt);
        assert_eq!(summary.parameters.top_p, Some(Rule::Fixed(0.9)));
        assert!(!summary.allows_tool("anything"));
        assert_eq!(
            serde_json::from_str::<PolicySummary>(
                &serde_json::to_string(&summary).expect("writes")
            )
            .expect("reads back"),
            summary
        );
        let nothing: PolicySummary = serde_json::from_str("{}").expect("reads");
        assert!(nothing.is_empty() && nothing.allows_tool("anything"));
    }

    #[test]
    fn read_by_hand_a_summary_is_what_serde_reads_and_odd_shapes_are_left_out() {
        let json = serde_json::json!({
            "system_prompt": true,
            "models": ["a", "b", 3],
            "parameters": {"temperature": {"min": 0, "max": 1}, "top_p": 0.9, "max_tokens": "x"},
            "tools": ["order_status"],
            "no_stop": true,
            "max_messages": 40,
            "max_history_chars": -1
        });
        let by_hand = PolicySummary::from_json(&json);
        assert_eq!(by_hand.models, ["a", "b"]);
        assert_eq!(by_hand.parameters.max_tokens, None);
        assert_eq!(by_hand.max_history_chars, None);
        let clean = serde_json::json!({
            "system_prompt": true,
            "models": ["a", "b"],
            "parameters": {"temperature": {"min": 0.0, "max": 1.0}, "top_p": 0.9},
            "tools": ["order_status"],
            "no_stop": true,
            "max_messages": 40
        });
        assert_eq!(
            PolicySummary::from_json(&clean),
            serde_json::from_value::<PolicySummary>(clean).expect("reads")
        );
        assert_eq!(by_hand.parameters.top_p, Some(Rule::Fixed(0.9)));
        assert!(PolicySummary::from_json(&serde_json::json!([1])).is_empty());
    }
}
