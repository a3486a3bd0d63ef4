//! What a request is built from: the model and every parameter of the chat-completions API that
//! the widget sets.

use chat_protocol::{
    ChatRequest, LogitBias, Message, PolicySummary, Rule, Stop, Tool, ToolChoice, DEFAULT_MODEL,
};

/// The model and the request's parameters: the config's, or the settings panel's in their place.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameters {
    /// The model id.
    pub model: String,
    /// Instructions sent first in every request.
    pub system_prompt: Option<String>,
    /// Whether replies stream token by token.
    pub stream: bool,
    /// Sampling temperature, 0 to 2.
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, 0.1 to 1.
    pub top_p: Option<f64>,
    /// The most tokens per reply, at least 1.
    pub max_tokens: Option<u32>,
    /// -2 to 2.
    pub frequency_penalty: Option<f64>,
    /// -2 to 2.
    pub presence_penalty: Option<f64>,
    /// Bias per token id, -100 to 100.
    pub logit_bias: LogitBias,
    /// Up to four stop sequences.
    pub stop: Stop,
    /// Sent only when tools are registered.
    pub tool_choice: Option<ToolChoice>,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            model: DEFAULT_MODEL.to_owned(),
            system_prompt: None,
            stream: true,
            temperature: None,
            top_p: None,
            max_tokens: None,
            frequency_penalty: None,
            presence_penalty: None,
            logit_bias: LogitBias::new(),
            stop: Stop::None,
            tool_choice: None,
        }
    }
}

impl Parameters {
    /// These parameters brought within a relay's `policy`, so that it never has to refuse them:
    /// no system prompt where it pins its own, a model it offers, each parameter at its fixed
    /// value or within its range, and no logit bias or stop sequences where it takes none.
    pub fn fit(&mut self, policy: &PolicySummary) {
        if policy.system_prompt {
            self.system_prompt = None;
        }
        if let Some(first) = policy.models.first() {
            if !policy.models.contains(&self.model) {
                self.model.clone_from(first);
            }
        }
        let rules = &policy.parameters;
        for (rule, value) in [
            (rules.temperature, &mut self.temperature),
            (rules.top_p, &mut self.top_p),
            (rules.frequency_penalty, &mut self.frequency_penalty),
            (rules.presence_penalty, &mut self.presence_penalty),
        ] {
            match rule {
                Some(Rule::Fixed(fixed)) => *value = Some(fixed),
                Some(rule) => *value = value.map(|value| rule.fit(value)),
                None => {}
            }
        }
        match rules.max_tokens {
            Some(Rule::Fixed(fixed)) => self.max_tokens = Some(fixed as u32),
            Some(rule @ Rule::Range { max, .. }) => {
                self.max_tokens = self
                    .max_tokens
                    .map(|tokens| rule.fit(f64::from(tokens)).floor().max(1.0) as u32)
                    .or(max.map(|max| max.floor().max(1.0) as u32));
            }
            None => {}
        }
        if policy.no_logit_bias {
            self.logit_bias.clear();
        }
        if policy.no_stop {
            self.stop = Stop::None;
        }
    }

    /// The request for `history`: the system prompt first, then the history, with every parameter
    /// that is set, and `tools` (with `tool_choice`) when there are any.
    pub fn request(&self, history: Vec<Message>, tools: Vec<Tool>) -> ChatRequest {
        let tool_choice = if tools.is_empty() {
            None
        } else {
            self.tool_choice.clone()
        };
        let system = self
            .system_prompt
            .iter()
            .filter(|prompt| !prompt.trim().is_empty())
            .map(Message::system);
        ChatRequest {
            model: self.model.clone(),
            messages: system.chain(history).collect(),
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens,
            frequency_penalty: self.frequency_penalty,
            presence_penalty: self.presence_penalty,
            logit_bias: self.logit_bias.clone(),
            stop: self.stop.clone(),
            stream: Some(self.stream),
            tools,
            tool_choice,
        }
    }
}
