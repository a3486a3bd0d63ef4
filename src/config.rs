//! The widget's one configuration type, usable from Rust and from JSON.

use chat_protocol::{
    ApiKey, ChatRequest, LogitBias, Message, Stop, Tool, ToolChoice, ValidationError, DEFAULT_MODEL,
};
use chat_widget_core::retry::RetryPolicy;
use chat_widget_core::{Parameters, Strings};
use serde::Deserialize;

pub use chat_widget_core::settings::Steering;

/// The relay's endpoint on the page's own origin: the default, so no key is ever in the page.
pub const RELAY_ENDPOINT: &str = "/v1/chat/completions";

/// Everything an embedder can set. JSON uses the same field names; every field is optional.
///
/// ```
/// let config = chat_widget::ChatConfig::from_json(r#"{"title": "Help", "temperature": 0.2}"#).unwrap();
/// assert_eq!(config.model, "gemini-1.5-pro");
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// The chat-completions URL: a relay's (the default, [`RELAY_ENDPOINT`]) or, in direct mode,
    /// the provider's, such as `https://api.aimlapi.com/v1/chat/completions`.
    pub endpoint: String,
    /// Direct mode only, for development: the key is sent from the browser as
    /// `Authorization: Bearer`. Never stored and never printed.
    pub api_key: Option<ApiKey>,
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
    /// Whether the model may (`auto`), must (`required`, or one named function) or must not
    /// (`none`) call the registered tools. Sent only when tools are registered.
    pub tool_choice: Option<ToolChoice>,
    /// The most rounds of tool calls in one turn before the widget stops asking again.
    pub max_tool_rounds: usize,
    /// The heading of the chat box.
    pub title: String,
    /// The composer's placeholder text.
    pub placeholder: String,
    /// Origins (`https://host[:port]`) whose images a reply may show. Images from anywhere else are
    /// shown as links: loading them would tell their server what the page shows.
    pub image_origins: Vec<String>,
    /// Tells this chat box's saved settings apart from another's on the same site.
    pub id: String,
    /// Whether the header offers the settings panel.
    pub show_settings: bool,
    /// Which of the settings that steer the model the person may change in the settings panel
    /// (and so keep in storage): any of `model`, `system_prompt` and `tool_choice`. By default
    /// none: the config's own apply, whatever storage says (a script on the page could write
    /// it, and what it wrote would outlive the script).
    pub editable: Vec<Steering>,
    /// Whether a bar offers several conversations (new, switch, rename, delete, export).
    pub show_conversations: bool,
    /// How many times a request that failed by a rate limit, a server error or the network is
    /// tried again on its own.
    pub retry_attempts: u32,
    /// About how many tokens of history a request may carry (estimated at four characters a
    /// token); older turns are left out of the request, never out of the view. Not set: all.
    pub context_budget: Option<usize>,
    /// The backoff before the first automatic retry when the server gives no `Retry-After`, in
    /// milliseconds; it doubles with each retry (with jitter), up to a minute.
    pub retry_base_ms: u64,
    /// `inline` fills the element it is mounted in; `launcher` is a floating button in a corner of
    /// the window that opens the chat in a panel.
    pub presentation: Presentation,
    /// The launcher's corner.
    pub position: Corner,
    /// When `embed.js` loads the widget behind its stand-in. Not set: `interaction` for the
    /// launcher, `idle` inline. The widget itself does not read it.
    pub load: Option<Load>,
    /// Colours, radius, font and spacing; each overrides the same custom property set on the
    /// element (`--cw-accent`, ...).
    pub theme: Theme,
    /// `auto` follows the reader's system (`prefers-color-scheme`).
    pub color_scheme: ColorScheme,
    /// The text direction, `ltr` or `rtl`. Not set: the page's, where the widget is mounted.
    pub dir: Option<Direction>,
    /// The words of the controls; any left out stay English.
    pub strings: Strings,
    /// Whether the person may attach images (PNG, JPEG, WebP, GIF) to a message.
    pub images: bool,
    /// The most images in one message.
    pub max_images: usize,
    /// Images are downscaled in the browser so their longest side is at most this many pixels.
    pub image_max_side: u32,
    /// The most bytes of base64 all the images of one message may take.
    pub image_budget: usize,
    /// Markdown shown as the assistant's first message in every conversation; never sent to the
    /// model.
    pub welcome: Option<String>,
    /// Up to six short prompts offered as buttons in an empty conversation; a click sends one.
    pub suggestions: Vec<String>,
    /// Whether finished replies offer 👍 and 👎 (with a comment after 👎).
    pub feedback: bool,
    /// Whether events (`onEvent`) carry the text of messages; by default they do not.
    pub events_include_text: bool,
    /// Whether replies show their token counts (when the provider reports them).
    pub show_usage: bool,
    /// Whether the composer offers dictation and replies offer to be read aloud, where the
    /// browser can (Chrome sends dictated speech to its speech service).
    pub voice: bool,
    /// A greeting beside the launcher, once per visitor, after a delay; a click on it opens the
    /// chat with the greeting as its welcome. Only for the launcher, and with `load` set to
    /// `idle` or `eager` (the widget must be there to greet).
    pub greeting: Option<Greeting>,
    /// The visitor's language, for `embed.js`, which loads its words (`locales/<language>.json`)
    /// with the widget: `es`, `fr`, `de`, `pt`, `it`, `nl`, `pl`, `tr`, `ru`, `uk`, `ar`, `he`,
    /// `hi`, `ja`, `ko`, `zh`, or `en`. Not set: the page's `lang`, else the browser's languages.
    /// The widget itself reads only the `strings` the loader gives it.
    pub locale: Option<String>,
}

/// The most suggestions, and the longest one in characters.
pub const MAX_SUGGESTIONS: usize = 6;
const MAX_SUGGESTION_CHARS: usize = 200;

/// A greeting beside the launcher.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Greeting {
    /// What it says: plain text, 1 to 300 characters.
    pub text: String,
    /// How long after the widget loads it appears, in milliseconds (at most ten minutes).
    #[serde(default = "Greeting::default_delay")]
    pub delay_ms: u32,
}

impl Greeting {
    fn default_delay() -> u32 {
        3_000
    }
}

/// How the chat box sits in the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presentation {
    /// Fills the element it is mounted in.
    #[default]
    Inline,
    /// A button in a corner of the window that opens a panel.
    Launcher,
}

/// When `embed.js` loads the widget (its script and wasm) behind the stand-in it draws at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Load {
    /// When the person reaches for it: a pointer over it, the focus or a touch, at the latest a
    /// click.
    Interaction,
    /// Once the page has loaded and the main thread is idle (or on interaction, if sooner).
    Idle,
    /// At once.
    Eager,
}

/// A corner of the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    /// `bottom-right`.
    #[default]
    BottomRight,
    /// `bottom-left`.
    BottomLeft,
    /// `top-right`.
    TopRight,
    /// `top-left`.
    TopLeft,
}

impl Corner {
    /// Its name in the config, and in CSS classes.
    pub fn name(self) -> &'static str {
        match self {
            Corner::BottomRight => "bottom-right",
            Corner::BottomLeft => "bottom-left",
            Corner::TopRight => "top-right",
            Corner::TopLeft => "top-left",
        }
    }
}

/// Light, dark, or the reader's choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorScheme {
    /// The reader's system setting (`prefers-color-scheme`).
    #[default]
    Auto,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl ColorScheme {
    /// The CSS `color-scheme` value.
    pub fn css(self) -> &'static str {
        match self {
            ColorScheme::Auto => "light dark",
            ColorScheme::Light => "light",
            ColorScheme::Dark => "dark",
        }
    }
}

/// Left to right or right to left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Left to right.
    Ltr,
    /// Right to left.
    Rtl,
}

/// CSS values for the widget's custom properties. Each is set with the CSS object model, never
/// as text in a style sheet, so a value cannot reach beyond its property.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Theme {
    /// `--cw-accent`: buttons, the person's bubbles and the focus ring.
    pub accent: Option<String>,
    /// `--cw-background`: the chat box.
    pub background: Option<String>,
    /// `--cw-text`: its text.
    pub text: Option<String>,
    /// `--cw-radius`: the corners.
    pub radius: Option<String>,
    /// `--cw-font`: the font family.
    pub font: Option<String>,
    /// `--cw-space`: the spacing unit.
    pub spacing: Option<String>,
}

impl Theme {
    /// `(custom property, value)` for every value that is set.
    pub fn properties(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("--cw-accent", &self.accent),
            ("--cw-focus", &self.accent),
            ("--cw-user-bubble", &self.accent),
            ("--cw-background", &self.background),
            ("--cw-text", &self.text),
            ("--cw-radius", &self.radius),
            ("--cw-font", &self.font),
            ("--cw-space", &self.spacing),
        ]
        .into_iter()
        .filter_map(|(property, value)| Some((property, value.as_deref()?)))
    }
}

/// Whether a CSS value could make the browser fetch something (a theme value goes into
/// `background`, where `url(...)` would load an image and tell its server the page was shown):
/// `url(`, the image functions, and backslash escapes that could spell them.
fn loads_something(value: &str) -> bool {
    let value = value.to_ascii_lowercase();
    value.contains("url(") || value.contains("image") || value.contains('\\')
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            endpoint: RELAY_ENDPOINT.to_owned(),
            api_key: None,
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
            max_tool_rounds: 5,
            title: "Chat".to_owned(),
            placeholder: "Type a message…".to_owned(),
            image_origins: Vec::new(),
            id: "chat".to_owned(),
            show_settings: true,
            editable: Vec::new(),
            show_conversations: true,
            retry_attempts: 3,
            context_budget: None,
            retry_base_ms: 1000,
            presentation: Presentation::Inline,
            position: Corner::BottomRight,
            load: None,
            theme: Theme::default(),
            color_scheme: ColorScheme::Auto,
            dir: None,
            strings: Strings::default(),
            images: true,
            max_images: 4,
            image_max_side: 1568,
            image_budget: 4_000_000,
            welcome: None,
            suggestions: Vec::new(),
            feedback: true,
            events_include_text: false,
            show_usage: false,
            voice: false,
            greeting: None,
            locale: None,
        }
    }
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The JSON does not parse, or has a field of the wrong type or an unknown field.
    #[error("the chat widget's config is not valid: {0}")]
    Json(String),
    /// `endpoint` is empty.
    #[error("the chat widget's config needs an `endpoint`")]
    NoEndpoint,
    /// The element cannot hold the widget.
    #[error("the chat widget cannot be mounted there: {0}")]
    Element(String),
    /// A request parameter is out of its range.
    #[error("the chat widget's config is not valid: {0}")]
    Parameter(#[from] ValidationError),
}

impl ChatConfig {
    /// Parses and checks a JSON configuration.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: ChatConfig =
            serde_json::from_str(json).map_err(|error| ConfigError::Json(error.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the endpoint and every request parameter, as a request with one message would be.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.endpoint.trim().is_empty() {
            return Err(ConfigError::NoEndpoint);
        }
        if !(1..=16).contains(&self.max_images) {
            return Err(ConfigError::Json("`max_images` must be 1 to 16".to_owned()));
        }
        if !(64..=8192).contains(&self.image_max_side) {
            return Err(ConfigError::Json(
                "`image_max_side` must be 64 to 8192 pixels".to_owned(),
            ));
        }
        if self.image_budget < 1_000 {
            return Err(ConfigError::Json(
                "`image_budget` must be at least 1000 bytes".to_owned(),
            ));
        }
        if let Some(greeting) = &self.greeting {
            let length = greeting.text.trim().chars().count();
            if !(1..=300).contains(&length) || greeting.delay_ms > 600_000 {
                return Err(ConfigError::Json(
                    "`greeting` needs a `text` of 1 to 300 characters and a `delay_ms` of at most 600000"
                        .to_owned(),
                ));
            }
            if self.presentation != Presentation::Launcher
                || !matches!(self.load, Some(Load::Idle | Load::Eager))
            {
                return Err(ConfigError::Json(
                    "`greeting` is for the launcher (`presentation: \"launcher\"`) with `load` set to \"idle\" or \"eager\", so that the widget is there to greet"
                        .to_owned(),
                ));
            }
        }
        if self.suggestions.len() > MAX_SUGGESTIONS {
            return Err(ConfigError::Json(format!(
                "`suggestions` may list at most {MAX_SUGGESTIONS} prompts"
            )));
        }
        if let Some(bad) = self.suggestions.iter().find(|suggestion| {
            suggestion.trim().is_empty() || suggestion.chars().count() > MAX_SUGGESTION_CHARS
        }) {
            return Err(ConfigError::Json(format!(
                "each of `suggestions` must be 1 to {MAX_SUGGESTION_CHARS} characters: {bad:?}"
            )));
        }
        if let Some((property, _)) = self
            .theme
            .properties()
            .find(|(_, value)| loads_something(value))
        {
            return Err(ConfigError::Json(format!(
                "the theme's value for {property} may not load anything (no url(), image() or escapes)"
            )));
        }
        self.request(vec![Message::user("check")], Vec::new())
            .validate()?;
        Ok(())
    }

    /// The model and the request parameters.
    pub fn parameters(&self) -> Parameters {
        Parameters {
            model: self.model.clone(),
            system_prompt: self.system_prompt.clone(),
            stream: self.stream,
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens,
            frequency_penalty: self.frequency_penalty,
            presence_penalty: self.presence_penalty,
            logit_bias: self.logit_bias.clone(),
            stop: self.stop.clone(),
            tool_choice: self.tool_choice.clone(),
        }
    }

    /// The automatic retries: how many, and the first backoff.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.retry_attempts,
            base: std::time::Duration::from_millis(self.retry_base_ms),
            ..RetryPolicy::default()
        }
    }

    /// The request for `history`: the system prompt first, then the history, with every parameter
    /// that is set, and `tools` (with `tool_choice`) when there are any.
    pub fn request(&self, history: Vec<Message>, tools: Vec<Tool>) -> ChatRequest {
        self.parameters().request(history, tools)
    }
}
