//! Tools the model may call, with the handlers that run them in the browser.

use std::fmt;
use std::future::Future;
use std::rc::Rc;

use chat_protocol::{Tool, ToolCall};
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use serde_json::Value;

pub use chat_widget_core::session::{output_text, ToolResult};

type Handler = Rc<dyn Fn(Value) -> LocalBoxFuture<'static, ToolResult>>;

/// The page's own say on a tool call before the person is asked: `Some(true)` runs it,
/// `Some(false)` declines it, `None` asks the person.
pub type Approver = Rc<dyn Fn(&ToolCall) -> LocalBoxFuture<'static, Option<bool>>>;

/// The registered tools. Cloning shares the handlers.
///
/// ```
/// use chat_widget::Toolbox;
/// use serde_json::json;
///
/// let mut tools = Toolbox::new();
/// tools.register(
///     "count_letters",
///     "Counts the letters of a text.",
///     json!({
///         "type": "object",
///         "properties": { "text": { "type": "string" } },
///         "required": ["text"],
///     }),
///     |arguments| async move {
///         let text = arguments["text"].as_str().ok_or("`text` must be a string")?;
///         Ok(json!(text.chars().filter(|c| c.is_alphabetic()).count()))
///     },
/// );
/// // It only reads what it is given: the person is not asked before it runs.
/// tools.set_confirm("count_letters", false);
/// assert_eq!(tools.definitions()[0].function.name, "count_letters");
/// ```
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: Vec<Registered>,
    approver: Option<Approver>,
}

#[derive(Clone)]
struct Registered {
    tool: Tool,
    handler: Handler,
    /// Whether the person is asked before it runs.
    confirm: bool,
}

impl fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.tools.iter().map(|entry| &entry.tool.function.name))
            .finish()
    }
}

impl Toolbox {
    /// No tools.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a tool: its name (`a-z`, `A-Z`, `0-9`, `_`, `-`), what it does, the JSON schema of
    /// its arguments, and an async handler that gets the parsed arguments. A tool registered again
    /// under the same name replaces the earlier one. The person is asked before each call runs
    /// (a model's reply can be steered by whatever it read); [`Toolbox::set_confirm`] turns that
    /// off for a tool that only reads.
    pub fn register<F, Fut>(
        &mut self,
        name: &str,
        description: &str,
        parameters: Value,
        handler: F,
    ) -> &mut Self
    where
        F: Fn(Value) -> Fut + 'static,
        Fut: Future<Output = ToolResult> + 'static,
    {
        self.tools.retain(|entry| entry.tool.function.name != name);
        let handler: Handler = Rc::new(move |arguments| handler(arguments).boxed_local());
        self.tools.push(Registered {
            tool: Tool::function(name, description, parameters),
            handler,
            confirm: true,
        });
        self
    }

    /// Whether the person is asked before tool `name` runs (yes unless set otherwise).
    pub fn set_confirm(&mut self, name: &str, confirm: bool) -> &mut Self {
        for entry in self.tools.iter_mut() {
            if entry.tool.function.name == name {
                entry.confirm = confirm;
            }
        }
        self
    }

    /// Whether a call of `name` waits for consent (an unknown tool does not: it only fails).
    pub fn needs_consent(&self, name: &str) -> bool {
        self.tools
            .iter()
            .any(|entry| entry.tool.function.name == name && entry.confirm)
    }

    /// The tools whose calls wait for consent.
    pub fn needing_consent(&self) -> Vec<String> {
        self.tools
            .iter()
            .filter(|entry| entry.confirm)
            .map(|entry| entry.tool.function.name.clone())
            .collect()
    }

    /// Whether the page has an approver.
    pub fn has_approver(&self) -> bool {
        self.approver.is_some()
    }

    /// The page's approver, asked before the person about each call that needs consent.
    pub fn set_approver(&mut self, approver: Approver) -> &mut Self {
        self.approver = Some(approver);
        self
    }

    /// What the page's approver says of `call`, if there is one and it decides.
    pub async fn approve(&self, call: &ToolCall) -> Option<bool> {
        match &self.approver {
            Some(approver) => approver(call).await,
            None => None,
        }
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tools as the request lists them.
    pub fn definitions(&self) -> Vec<Tool> {
        self.tools.iter().map(|entry| entry.tool.clone()).collect()
    }

    /// Runs one call. Arguments that are not a JSON object, an unknown tool and a failing handler
    /// all give `Err` with a message that says which.
    pub async fn call(&self, call: &ToolCall) -> ToolResult {
        let name = &call.function.name;
        let Some(handler) = self
            .tools
            .iter()
            .find(|entry| entry.tool.function.name == *name)
            .map(|entry| &entry.handler)
        else {
            return Err(format!("there is no tool named {name:?}"));
        };
        let arguments: Value = match serde_json::from_str(&call.function.arguments) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return Err("the arguments must be a JSON object".to_owned()),
            Err(error) => return Err(format!("the arguments are not valid JSON ({error})")),
        };
        handler(arguments).await
    }
}
