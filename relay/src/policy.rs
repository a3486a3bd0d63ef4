//! The operator's policy (`--policy FILE`, TOML): what a page may ask of the relay, whatever it
//! sends. A pinned system prompt (the page's own system messages dropped or refused), the models,
//! the tools by name with the operator's own definitions (a page cannot rewrite a tool's
//! description to steer the model), a fixed value or a range for each sampling parameter, and
//! bounds on the history. A request outside it is refused with a 400 that names the rule.
//!
//! ```toml
//! system_prompt = "You are the assistant of Example Shop. Answer questions about orders."
//! page_system_messages = "refuse"   # or "drop" (the default)
//! models = ["gemini-1.5-pro"]
//! max_messages = 40
//! max_history_chars = 40000
//! logit_bias = false                # refuse requests that set it
//!
//! [parameters]
//! temperature = { min = 0.0, max = 1.0 }
//! max_tokens = { max = 1024 }
//! presence_penalty = 0.0            # fixed
//!
//! [[tools]]
//! name = "order_status"
//! description = "The status of an order, by its number."
//! parameters = { type = "object", properties = { order = { type = "string" } }, required = ["order"] }
//! ```

use std::path::Path;

use chat_protocol::{
    ChatRequest, Content, ContentPart, FunctionDefinition, Message, ParameterRules, PolicySummary,
    Rule, Tool,
};
use serde::Deserialize;

/// The largest policy file read.
const MAX_FILE: u64 = 1024 * 1024;

/// What happens to a page's own system messages when the policy pins the system prompt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageSystem {
    /// Left out of what goes upstream.
    #[default]
    Drop,
    /// The request is refused.
    Refuse,
}

/// A tool the policy allows, with the definition the model gets.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyTool {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<serde_json::Value>,
}

/// `[parameters]` as the file writes it: every name checked, so that a typo is an error rather
/// than a rule that silently does nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileParameters {
    temperature: Option<Rule>,
    top_p: Option<Rule>,
    max_tokens: Option<Rule>,
    frequency_penalty: Option<Rule>,
    presence_penalty: Option<Rule>,
}

impl From<&FileParameters> for ParameterRules {
    fn from(file: &FileParameters) -> Self {
        ParameterRules {
            temperature: file.temperature,
            top_p: file.top_p,
            max_tokens: file.max_tokens,
            frequency_penalty: file.frequency_penalty,
            presence_penalty: file.presence_penalty,
        }
    }
}

/// The policy file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Put first in every request.
    #[serde(default)]
    system_prompt: Option<String>,
    #[serde(default)]
    page_system_messages: PageSystem,
    /// Empty: the relay's flags decide.
    #[serde(default)]
    models: Vec<String>,
    #[serde(default)]
    parameters: FileParameters,
    /// Only these tools, with these definitions; none when the policy lists none.
    #[serde(default)]
    tools: Vec<PolicyTool>,
    #[serde(default = "allowed")]
    logit_bias: bool,
    #[serde(default = "allowed")]
    stop: bool,
    #[serde(default)]
    max_messages: Option<usize>,
    #[serde(default)]
    max_history_chars: Option<usize>,
}

fn allowed() -> bool {
    true
}

/// A request the policy refuses: the rule, by the request's field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The request field the rule is about (`messages`, `temperature`, `tools`...).
    pub param: &'static str,
    /// What the policy says, for the person.
    pub message: String,
}

fn refuse(param: &'static str, message: String) -> Result<(), PolicyError> {
    Err(PolicyError { param, message })
}

impl Policy {
    /// Reads and checks the policy at `path`. The error says what is wrong, and where.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let size = std::fs::metadata(path)
            .map_err(|error| format!("{shown}: {error}"))?
            .len();
        if size > MAX_FILE {
            return Err(format!("{shown} is larger than {MAX_FILE} bytes"));
        }
        let text = std::fs::read_to_string(path).map_err(|error| format!("{shown}: {error}"))?;
        Self::parse(&text).map_err(|error| format!("{shown}: {error}"))
    }

    /// The policy in `text`, checked.
    pub fn parse(text: &str) -> Result<Self, String> {
        let policy: Policy = toml::from_str(text).map_err(|error| error.to_string())?;
        policy.check()?;
        Ok(policy)
    }

    fn check(&self) -> Result<(), String> {
        let rules = [
            ("temperature", self.parameters.temperature, 0.0, 2.0),
            ("top_p", self.parameters.top_p, 0.0, 1.0),
            (
                "max_tokens",
                self.parameters.max_tokens,
                1.0,
                f64::from(u32::MAX),
            ),
            (
                "frequency_penalty",
                self.parameters.frequency_penalty,
                -2.0,
                2.0,
            ),
            (
                "presence_penalty",
                self.parameters.presence_penalty,
                -2.0,
                2.0,
            ),
        ];
        for (name, rule, least, most) in rules {
            // Tokens are counted in whole numbers: a fractional bound could never be met.
            let whole = |value: f64| name != "max_tokens" || value.fract() == 0.0;
            let within =
                |value: f64| value.is_finite() && (least..=most).contains(&value) && whole(value);
            match rule {
                None => {}
                Some(Rule::Fixed(value)) if within(value) => {}
                Some(Rule::Range { min, max })
                    if min.is_none_or(within)
                        && max.is_none_or(within)
                        && min.zip(max).is_none_or(|(min, max)| min <= max) => {}
                Some(_) => {
                    return Err(format!(
                        "parameters.{name}: a value or range within {least} to {most}{}",
                        if name == "max_tokens" {
                            ", in whole tokens"
                        } else {
                            ""
                        }
                    ))
                }
            }
        }
        for tool in &self.tools {
            let probe = ChatRequest {
                tools: vec![self.definition(tool)],
                ..ChatRequest::new(chat_protocol::DEFAULT_MODEL, vec![Message::user("probe")])
            };
            probe
                .validate()
                .map_err(|error| format!("tools: {}: {error}", tool.name))?;
        }
        if self.models.iter().any(|model| model.trim().is_empty()) {
            return Err("models: a model's name is empty".to_owned());
        }
        Ok(())
    }

    fn definition(&self, tool: &PolicyTool) -> Tool {
        Tool {
            kind: "function".to_owned(),
            function: FunctionDefinition {
                name: tool.name.clone(),
                description: tool.description.clone(),
                parameters: tool.parameters.clone(),
            },
        }
    }

    fn allows_tool(&self, name: &str) -> bool {
        self.tools.iter().any(|tool| tool.name == name)
    }

    /// Whether the policy names the models (then they alone may be asked for).
    pub fn allows_model(&self, model: &str) -> Option<bool> {
        (!self.models.is_empty()).then(|| self.models.iter().any(|allowed| allowed == model))
    }

    /// Brings `request` under the policy: refused with the rule it breaks, or with the pinned
    /// system prompt first, fixed parameters set and the tools' definitions the operator's.
    pub fn apply(&self, request: &mut ChatRequest) -> Result<(), PolicyError> {
        if self.allows_model(&request.model) == Some(false) {
            refuse(
                "model",
                format!(
                    "The model `{}` is not one this chat offers ({}).",
                    request.model,
                    self.models.join(", ")
                ),
            )?;
        }
        if self.system_prompt.is_some() {
            let page_system = request
                .messages
                .iter()
                .any(|message| matches!(message, Message::System { .. }));
            if page_system && self.page_system_messages == PageSystem::Refuse {
                refuse(
                    "messages",
                    "This chat's instructions are set by its operator: the page may not send its own system messages.".to_owned(),
                )?;
            }
            request
                .messages
                .retain(|message| !matches!(message, Message::System { .. }));
        }
        if let Some(max) = self.max_messages {
            if request.messages.len() > max {
                refuse(
                    "messages",
                    format!(
                        "The conversation has {} messages; this chat takes at most {max}. Start a new conversation.",
                        request.messages.len()
                    ),
                )?;
            }
        }
        if let Some(max) = self.max_history_chars {
            let chars: usize = request.messages.iter().map(text_chars).sum();
            if chars > max {
                refuse(
                    "messages",
                    format!("The conversation holds {chars} characters of text; this chat takes at most {max}. Start a new conversation."),
                )?;
            }
        }
        self.apply_parameters(request)?;
        if !self.logit_bias && !request.logit_bias.is_empty() {
            refuse(
                "logit_bias",
                "This chat does not take `logit_bias`.".to_owned(),
            )?;
        }
        if !self.stop && !request.stop.is_empty() {
            refuse("stop", "This chat does not take `stop`.".to_owned())?;
        }
        self.apply_tools(request)?;
        if let Some(prompt) = &self.system_prompt {
            request.messages.insert(0, Message::system(prompt.clone()));
        }
        Ok(())
    }

    fn apply_parameters(&self, request: &mut ChatRequest) -> Result<(), PolicyError> {
        let rules = &self.parameters;
        for (param, rule, value) in [
            ("temperature", rules.temperature, &mut request.temperature),
            ("top_p", rules.top_p, &mut request.top_p),
            (
                "frequency_penalty",
                rules.frequency_penalty,
                &mut request.frequency_penalty,
            ),
            (
                "presence_penalty",
                rules.presence_penalty,
                &mut request.presence_penalty,
            ),
        ] {
            if let Some(rule) = rule {
                *value = keep(param, rule, *value)?;
            }
        }
        if let Some(rule) = rules.max_tokens {
            let kept = keep("max_tokens", rule, request.max_tokens.map(f64::from))?;
            // Left out, it is the range's top: the upstream's own default may be larger.
            let kept = kept.or(match rule {
                Rule::Range { max, .. } => max,
                Rule::Fixed(_) => None,
            });
            // Within 1 to u32::MAX (checked when the policy was read).
            request.max_tokens = kept.map(|tokens| tokens.floor() as u32);
        }
        Ok(())
    }

    fn apply_tools(&self, request: &mut ChatRequest) -> Result<(), PolicyError> {
        for tool in &mut request.tools {
            let Some(allowed) = self
                .tools
                .iter()
                .find(|allowed| allowed.name == tool.function.name)
            else {
                return refuse(
                    "tools",
                    format!(
                        "The tool `{}` is not one this chat offers.",
                        tool.function.name
                    ),
                );
            };
            *tool = self.definition(allowed);
        }
        // A `tool_choice` naming a function names one of `tools` (the request was validated), so
        // it is within the policy now too.
        for message in &request.messages {
            let name = match message {
                Message::Assistant { tool_calls, .. } => tool_calls
                    .iter()
                    .map(|call| call.function.name.as_str())
                    .find(|name| !self.allows_tool(name)),
                Message::Tool {
                    name: Some(name), ..
                } => Some(name.as_str()).filter(|name| !self.allows_tool(name)),
                _ => None,
            };
            if let Some(name) = name {
                refuse(
                    "messages",
                    format!(
                        "The conversation calls the tool `{name}`, which this chat does not offer."
                    ),
                )?;
            }
        }
        Ok(())
    }

    /// What the widget should know of the policy.
    pub fn summary(&self) -> PolicySummary {
        PolicySummary {
            system_prompt: self.system_prompt.is_some(),
            models: self.models.clone(),
            parameters: ParameterRules::from(&self.parameters),
            tools: Some(self.tools.iter().map(|tool| tool.name.clone()).collect()),
            no_logit_bias: !self.logit_bias,
            no_stop: !self.stop,
            max_messages: self.max_messages,
            max_history_chars: self.max_history_chars,
        }
    }
}

/// `value` when it keeps `rule` (the fixed value when there is none), else the refusal naming
/// the rule.
fn keep(param: &'static str, rule: Rule, value: Option<f64>) -> Result<Option<f64>, PolicyError> {
    match (rule, value) {
        (Rule::Fixed(fixed), None) => Ok(Some(fixed)),
        (rule, Some(value)) if rule.allows(value) => Ok(Some(value)),
        (Rule::Range { .. }, None) => Ok(None),
        (Rule::Fixed(fixed), Some(value)) => Err(PolicyError {
            param,
            message: format!("`{param}` is set to {fixed} in this chat; the request asked for {value}."),
        }),
        (Rule::Range { min, max }, Some(value)) => Err(PolicyError {
            param,
            message: match (min, max) {
                (Some(min), Some(max)) => format!("`{param}` must be between {min} and {max} in this chat; the request asked for {value}."),
                (Some(min), None) => format!("`{param}` must be at least {min} in this chat; the request asked for {value}."),
                (None, _) => format!("`{param}` must be at most {} in this chat; the request asked for {value}.", max.unwrap_or(value)),
            },
        }),
    }
}

/// The characters of text in `message`.
fn text_chars(message: &Message) -> usize {
    let content = match message {
        Message::System { content, .. }
        | Message::User { content, .. }
        | Message::Tool { content, .. } => Some(content),
        Message::Assistant { content, .. } => content.as_ref(),
    };
    match content {
        Some(Content::Text(text)) => text.chars().count(),
        Some(Content::Parts(parts)) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text { text } => text.chars().count(),
                _ => 0,
            })
            .sum(),
        None => 0,
    }
}
