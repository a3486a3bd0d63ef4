//! The settings panel's values: what a person typed, where empty means "not set", checked field by
//! field against the API's ranges before anything is sent. Plain data, tested natively.

use chat_protocol::{format_number, LogitBias, Message, PolicySummary, Rule, Stop, ToolChoice};
use serde::{Deserialize, Serialize};

use crate::parameters::Parameters;
use crate::strings::{fill, Strings};

/// How many stop sequences the API takes.
pub const MAX_STOPS: usize = 4;

/// The settings as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The model id.
    pub model: String,
    /// Instructions sent first.
    pub system_prompt: String,
    /// 0 to 2, or empty.
    pub temperature: String,
    /// 0.1 to 1, or empty.
    pub top_p: String,
    /// At least 1, or empty.
    pub max_tokens: String,
    /// -2 to 2, or empty.
    pub frequency_penalty: String,
    /// -2 to 2, or empty.
    pub presence_penalty: String,
    /// Rows of token id and bias (-100 to 100).
    pub logit_bias: Vec<(String, String)>,
    /// Up to four stop sequences; empty ones are ignored.
    pub stop: Vec<String>,
    /// Whether replies stream.
    pub stream: bool,
    /// `""` (not set), `none`, `auto`, `required`, or a tool's name.
    pub tool_choice: String,
}

/// A setting that steers the model: the person may change it only when the config says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Steering {
    /// The model id.
    Model,
    /// The system prompt.
    SystemPrompt,
    /// The tool choice.
    ToolChoice,
}

/// A field of the settings, for attaching a problem to its control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The model id.
    Model,
    /// Temperature.
    Temperature,
    /// Top p.
    TopP,
    /// Max tokens.
    MaxTokens,
    /// Frequency penalty.
    FrequencyPenalty,
    /// Presence penalty.
    PresencePenalty,
    /// A row of logit bias.
    LogitBias(usize),
    /// A stop sequence.
    Stop(usize),
    /// Tool choice.
    ToolChoice,
}

impl Settings {
    /// The settings that stand for `config`'s parameters.
    pub fn from_parameters(config: &Parameters) -> Self {
        let number = |value: Option<f64>| value.map(format_number).unwrap_or_default();
        Settings {
            model: config.model.clone(),
            system_prompt: config.system_prompt.clone().unwrap_or_default(),
            temperature: number(config.temperature),
            top_p: number(config.top_p),
            max_tokens: config
                .max_tokens
                .map(|max| max.to_string())
                .unwrap_or_default(),
            frequency_penalty: number(config.frequency_penalty),
            presence_penalty: number(config.presence_penalty),
            logit_bias: config
                .logit_bias
                .iter()
                .map(|(token, bias)| (token.to_string(), format_number(*bias)))
                .collect(),
            stop: config.stop.sequences().to_vec(),
            stream: config.stream,
            tool_choice: match &config.tool_choice {
                None => String::new(),
                Some(ToolChoice::Function(name)) => name.clone(),
                Some(mode) => mode.mode().unwrap_or_default().to_owned(),
            },
        }
    }

    /// These settings with the config's own (`base`) for every setting that steers the model and
    /// is not `editable`.
    pub fn keep_only(&mut self, base: &Settings, editable: &[Steering]) {
        if !editable.contains(&Steering::Model) {
            self.model.clone_from(&base.model);
        }
        if !editable.contains(&Steering::SystemPrompt) {
            self.system_prompt.clone_from(&base.system_prompt);
        }
        if !editable.contains(&Steering::ToolChoice) {
            self.tool_choice.clone_from(&base.tool_choice);
        }
    }

    /// The settings a widget starts with: `saved` ones (when the person can see and change them)
    /// or else `base`, with `base`'s own for what steers the model and is not `editable`, and no
    /// tool choice naming a tool the site no longer offers (`tools`).
    pub fn restore(
        saved: Option<Settings>,
        base: &Settings,
        editable: &[Steering],
        tools: &[String],
    ) -> Settings {
        let mut settings = saved.unwrap_or_else(|| base.clone());
        settings.keep_only(base, editable);
        let offered = match settings.tool_choice.parse::<ToolChoice>() {
            Ok(ToolChoice::Function(name)) => tools.contains(&name),
            Ok(_) => true,
            Err(_) => settings.tool_choice.is_empty(),
        };
        if !offered {
            settings.tool_choice.clear();
        }
        settings
    }

    /// `config` with these settings in place of its parameters, or every problem, each with its
    /// field, in the words of `strings`. `tools` are the names of the registered tools (a named
    /// tool choice must be one of them).
    pub fn apply(
        &self,
        config: &Parameters,
        strings: &Strings,
        tools: &[String],
    ) -> Result<Parameters, Vec<(Field, String)>> {
        let mut problems = Vec::new();
        let mut config = config.clone();
        let range = strings.enter_number().to_owned();
        if self.model.trim().is_empty() {
            problems.push((Field::Model, strings.enter_model().to_owned()));
        }
        config.model = self.model.trim().to_owned();
        config.system_prompt =
            Some(self.system_prompt.clone()).filter(|prompt| !prompt.trim().is_empty());
        config.temperature = number(
            &self.temperature,
            Field::Temperature,
            0.0,
            2.0,
            &range,
            &mut problems,
        );
        config.top_p = number(&self.top_p, Field::TopP, 0.1, 1.0, &range, &mut problems);
        config.frequency_penalty = number(
            &self.frequency_penalty,
            Field::FrequencyPenalty,
            -2.0,
            2.0,
            &range,
            &mut problems,
        );
        config.presence_penalty = number(
            &self.presence_penalty,
            Field::PresencePenalty,
            -2.0,
            2.0,
            &range,
            &mut problems,
        );
        config.max_tokens = match self.max_tokens.trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(max) if max >= 1 => Some(max),
                _ => {
                    problems.push((Field::MaxTokens, strings.enter_whole_number().to_owned()));
                    None
                }
            },
        };
        config.logit_bias = LogitBias::new();
        for (row, (token, bias)) in self.logit_bias.iter().enumerate() {
            if token.trim().is_empty() && bias.trim().is_empty() {
                continue;
            }
            let Ok(token) = token.trim().parse::<u32>() else {
                problems.push((Field::LogitBias(row), strings.enter_token_id().to_owned()));
                continue;
            };
            if let Some(bias) = number(
                bias,
                Field::LogitBias(row),
                -100.0,
                100.0,
                &range,
                &mut problems,
            ) {
                config.logit_bias.insert(token, bias);
            }
        }
        let stops: Vec<String> = self
            .stop
            .iter()
            .filter(|stop| !stop.is_empty())
            .cloned()
            .collect();
        if stops.len() > MAX_STOPS {
            problems.push((
                Field::Stop(MAX_STOPS),
                fill(strings.too_many_stops(), &[&MAX_STOPS]),
            ));
        }
        config.stop = if stops.is_empty() {
            Stop::None
        } else {
            Stop::Many(stops)
        };
        config.stream = self.stream;
        config.tool_choice = match self.tool_choice.trim() {
            "" => None,
            text => match text.parse::<ToolChoice>() {
                Ok(ToolChoice::Function(name)) if !tools.contains(&name) => {
                    problems.push((
                        Field::ToolChoice,
                        fill(strings.no_such_tool(), &[&format!("{name:?}")]),
                    ));
                    None
                }
                Ok(choice) => Some(choice),
                Err(_) => {
                    problems.push((
                        Field::ToolChoice,
                        fill(strings.no_such_tool(), &[&format!("{text:?}")]),
                    ));
                    None
                }
            },
        };
        if problems.is_empty() {
            // Whatever the fields allow, the request as a whole must pass too.
            if let Err(error) = config
                .request(vec![Message::user("check")], Vec::new())
                .validate()
            {
                problems.push((Field::Model, error.to_string()));
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// The values a relay's `policy` would not take as typed, each with its field and what the
    /// chat takes instead, in the words of `strings`. They do not stop a message: the request
    /// carries the nearest allowed value ([`Parameters::fit`]); the panel shows why.
    pub fn beyond(&self, policy: &PolicySummary, strings: &Strings) -> Vec<(Field, String)> {
        let rules = &policy.parameters;
        [
            (
                Field::Temperature,
                &self.temperature,
                rules.temperature,
                (0.0, 2.0),
            ),
            (Field::TopP, &self.top_p, rules.top_p, (0.1, 1.0)),
            (
                Field::MaxTokens,
                &self.max_tokens,
                rules.max_tokens,
                (1.0, f64::from(u32::MAX)),
            ),
            (
                Field::FrequencyPenalty,
                &self.frequency_penalty,
                rules.frequency_penalty,
                (-2.0, 2.0),
            ),
            (
                Field::PresencePenalty,
                &self.presence_penalty,
                rules.presence_penalty,
                (-2.0, 2.0),
            ),
        ]
        .into_iter()
        .filter_map(|(field, text, rule, (least, most))| {
            let rule = rule?;
            let value = parse_number(text.trim())?;
            (!rule.allows(value)).then(|| {
                // An open end is the API's own.
                let (min, max) = match rule {
                    Rule::Fixed(fixed) => (fixed, fixed),
                    range => within(Some(range), least, most),
                };
                (
                    field,
                    fill(
                        strings.policy_range(),
                        &[
                            &format_number(min),
                            &format_number(max),
                            &format_number(rule.fit(value)),
                        ],
                    ),
                )
            })
        })
        .collect()
    }

    /// Whether `parameter` (as the API names it) is set here.
    pub fn is_set(&self, parameter: &str) -> bool {
        let filled = |text: &String| !text.trim().is_empty();
        match parameter {
            "temperature" => filled(&self.temperature),
            "top_p" => filled(&self.top_p),
            "max_tokens" => filled(&self.max_tokens),
            "frequency_penalty" => filled(&self.frequency_penalty),
            "presence_penalty" => filled(&self.presence_penalty),
            "logit_bias" => self
                .logit_bias
                .iter()
                .any(|(token, bias)| filled(token) || filled(bias)),
            "stop" => self.stop.iter().any(|stop| !stop.is_empty()),
            "tool_choice" => filled(&self.tool_choice),
            _ => false,
        }
    }

    /// Leaves `parameter` (as the API names it) not set.
    pub fn clear(&mut self, parameter: &str) {
        match parameter {
            "temperature" => self.temperature.clear(),
            "top_p" => self.top_p.clear(),
            "max_tokens" => self.max_tokens.clear(),
            "frequency_penalty" => self.frequency_penalty.clear(),
            "presence_penalty" => self.presence_penalty.clear(),
            "logit_bias" => self.logit_bias.clear(),
            "stop" => self.stop.clear(),
            "tool_choice" => self.tool_choice.clear(),
            _ => {}
        }
    }

    /// The problem with one field, if it has one.
    pub fn problem(
        &self,
        field: Field,
        config: &Parameters,
        strings: &Strings,
        tools: &[String],
    ) -> Option<String> {
        self.apply(config, strings, tools)
            .err()?
            .into_iter()
            .find(|(at, _)| *at == field)
            .map(|(_, problem)| problem)
    }
}

/// `min..=max` narrowed to `rule`'s range, when it has one.
pub fn within(rule: Option<Rule>, min: f64, max: f64) -> (f64, f64) {
    match rule {
        Some(Rule::Range {
            min: least,
            max: most,
        }) => (
            least.map_or(min, |least| least.max(min)),
            most.map_or(max, |most| most.min(max)),
        ),
        _ => (min, max),
    }
}

/// A number in `min..=max`, or `None` when empty; a problem for `field` otherwise.
fn number(
    text: &str,
    field: Field,
    min: f64,
    max: f64,
    range: &str,
    problems: &mut Vec<(Field, String)>,
) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match parse_number(text) {
        Some(value) if (min..=max).contains(&value) => Some(value),
        _ => {
            problems.push((
                field,
                fill(range, &[&format_number(min), &format_number(max)]),
            ));
            None
        }
    }
}

/// A decimal number as people type it: `0.7`, `0,7`, `.5`, `-2`, `1e-3`. JSON's number reader does
/// the work (the widget has it anyway; the standard library's would add its tables).
fn parse_number(text: &str) -> Option<f64> {
    let text = text.replace(',', ".");
    let (sign, digits) = match text.strip_prefix('-') {
        Some(digits) => ("-", digits),
        None => ("", text.strip_prefix('+').unwrap_or(&text)),
    };
    let digits = digits.strip_suffix('.').unwrap_or(digits);
    let zero = if digits.starts_with('.') { "0" } else { "" };
    serde_json::from_str::<f64>(&format!("{sign}{zero}{digits}")).ok()
}
