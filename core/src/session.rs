//! The turn as one state machine. [`Session::handle`] takes an [`Input`] (what the person did,
//! what the transport delivered, a tool's result, a timer) with the time and a random number, and
//! returns the [`Effect`]s the driver must carry out (send a request, abort it, run a tool, wake
//! the session later, save, tell observers). The session does no I/O and reads no clock, so every
//! behaviour of a turn (retries and their backoff, tool rounds, Stop in any state, edits,
//! switching conversations mid-reply) is tested natively, without waiting.
//!
//! One rule keeps stale news out: every request and every round of tools gets a [`Ticket`], and
//! an input that carries a ticket other than the current one is ignored. Stop, a new request or a
//! switch of conversation makes the current ticket stale.

use chat_protocol::{
    Content, ContentPart, FinishReason, Message, PolicySummary, StreamEvent, Tool, ToolCall,
    ToolChoice, Usage,
};
use serde_json::Value;

use crate::conversation::{
    estimate_tokens, Conversation, Feedback, HistoryLimits, Image, MessageId, MessageStatus, Role,
    Status, SubmitError,
};
use crate::error::{ChatError, TransportError};
use crate::library::Library;
use crate::parameters::Parameters;
use crate::retry::{is_retryable, RetryPolicy};
use crate::settings::Settings;
use crate::strings::Strings;

/// What Continue sends after a reply was cut off.
pub const CONTINUE_PROMPT: &str = "Please continue exactly where your previous answer stopped.";

/// Names one request, or one round of tool calls. Inputs about an older one are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

/// What a tool's handler returns: a JSON value for the model, or an error message for the model
/// (and the person) to read.
pub type ToolResult = Result<Value, String>;

/// The text a tool message carries: a string result as it is, anything else as JSON, and an error
/// as `Error: <message>` so the model knows the call failed.
pub fn output_text(result: &ToolResult) -> String {
    match result {
        Ok(Value::String(text)) => text.clone(),
        Ok(value) => value.to_string(),
        Err(message) => format!("Error: {message}"),
    }
}

/// What a session is set up with; it does not change for the life of the session.
#[derive(Clone, Debug, Default)]
pub struct SessionConfig {
    /// The config's parameters; the settings replace them.
    pub parameters: Parameters,
    /// The words the session itself puts into messages (a declined tool call's output).
    pub strings: Strings,
    /// The tools every request offers.
    pub tools: Vec<Tool>,
    /// The tools whose calls wait for consent.
    pub confirm: Vec<String>,
    /// Whether the page decides on a call before the person is asked ([`Effect::Approve`]).
    pub page_approves: bool,
    /// The most rounds of tool calls in one turn.
    pub max_tool_rounds: usize,
    /// Automatic retries of a request that failed by a rate limit, a server error or the network.
    pub retry: RetryPolicy,
    /// About how many tokens of history a request may carry; older turns are left out.
    pub context_budget: Option<usize>,
    /// What the `uid`s of this visit's new messages start with: unique to the visit (the driver
    /// makes it from the time and a random number), so that a message's `uid` is unique to the
    /// widget and kept with it.
    pub uid_prefix: String,
}

/// The longest wait a retry waits out on its own; a server that asks for longer gets the error
/// shown with its Retry button instead.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// What happens to a session: the person's actions, the transport's news, tools' results and
/// timers.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// Send the person's message.
    Send {
        /// As typed.
        text: String,
        /// Attached images.
        images: Vec<Image>,
    },
    /// Stop whatever is in flight; what arrived stays.
    Stop,
    /// Replace the person's message `id` with `text` and ask again.
    Edit {
        /// The person's message.
        id: MessageId,
        /// Its new text.
        text: String,
    },
    /// Ask again for the last answer.
    Regenerate,
    /// After a reply was cut off, ask the model to go on.
    Continue,
    /// The person asks again after a failed turn: a fresh set of automatic retries.
    Retry,
    /// The page was reloaded in the middle of a reply that the server keeps under `name`: follow
    /// it again, when the conversation in view still waits for the reply to message `to`.
    Resume {
        /// The server's name for the reply.
        name: String,
        /// The `uid` of the message it answers.
        to: String,
    },
    /// Retry now, keeping the count of automatic retries.
    RetryNow,
    /// Stop waiting for the automatic retry; the error stays.
    CancelRetry,
    /// Hide the error of a failed turn.
    DismissError,
    /// Start a new conversation; the one in view is kept.
    NewConversation,
    /// Put conversation `index` in view.
    SwitchConversation(usize),
    /// Rename conversation `index`.
    RenameConversation(usize, String),
    /// Delete conversation `index`.
    DeleteConversation(usize),
    /// An event of request `ticket`'s reply, or the error that ends it.
    Stream {
        /// The request.
        ticket: Ticket,
        /// What arrived.
        item: Result<StreamEvent, TransportError>,
    },
    /// The body of request `ticket` ended.
    StreamEnd {
        /// The request.
        ticket: Ticket,
    },
    /// The page's say on a call ([`Effect::Approve`]): run it, decline it, or ask the person.
    Approval {
        /// The round of tools.
        ticket: Ticket,
        /// The call's tool message.
        id: MessageId,
        /// `None` asks the person.
        decision: Option<bool>,
    },
    /// The person's answer to a [`ConsentRequest`].
    Consent {
        /// The call's tool message.
        id: MessageId,
        /// The answer.
        consent: Consent,
    },
    /// A tool's handler returned.
    ToolDone {
        /// The round of tools.
        ticket: Ticket,
        /// The call's tool message.
        id: MessageId,
        /// What it returned.
        result: ToolResult,
    },
    /// The person rated reply `id`, or took the rating back (`None`).
    Rate {
        /// The reply.
        id: MessageId,
        /// The rating and comment.
        feedback: Option<Feedback>,
    },
    /// The time asked for with [`Effect::WakeAt`] has come (or passed).
    Wake {
        /// Whether the device is online; a due retry waits for the connection.
        online: bool,
    },
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send `request`; report its events as [`Input::Stream`] and its end as
    /// [`Input::StreamEnd`], with `ticket`.
    Send {
        /// Names the request.
        ticket: Ticket,
        /// The request.
        request: chat_protocol::ChatRequest,
    },
    /// Follow again the reply the server keeps under `name` ([`Input::Resume`]); report as for
    /// [`Effect::Send`].
    Resume {
        /// Names the request.
        ticket: Ticket,
        /// The server's name for the reply.
        name: String,
    },
    /// Cancel request `ticket` (and stop reading it).
    Abort(Ticket),
    /// Ask the page about a call and report its answer as [`Input::Approval`].
    Approve {
        /// The round of tools.
        ticket: Ticket,
        /// The call's tool message.
        id: MessageId,
        /// The call.
        call: ToolCall,
    },
    /// Run the call's handler and report as [`Input::ToolDone`].
    RunTool {
        /// The round of tools.
        ticket: Ticket,
        /// The call's tool message.
        id: MessageId,
        /// The call.
        call: ToolCall,
    },
    /// Send [`Input::Wake`] at this time (Unix milliseconds), in place of any earlier wake-up.
    WakeAt(u64),
    /// Keep [`Session::library`] (it changed).
    Save,
    /// Tell the observers.
    Notify(TurnEvent),
    /// The input was refused, and why; nothing changed.
    Refused(Refusal),
}

/// Why an input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The message is empty.
    Empty,
    /// A reply is still arriving.
    Busy,
    /// A setting is not valid: the problem, in the table's words.
    Settings(String),
}

/// What happened to a turn, as the embedder's callbacks, its events and the live region hear it:
/// once each, when it happens. `id`s are the messages' `uid`s; times are in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnEvent {
    /// The person's message went out (sent, or edited and sent).
    Sent {
        /// The person's message.
        id: String,
        /// Its text.
        text: String,
    },
    /// The first of a reply arrived, `ms` after the turn began.
    FirstToken {
        /// The reply.
        id: String,
        /// Since the person's message went out (or Regenerate or Retry was pressed).
        ms: u64,
    },
    /// A reply finished.
    Replied {
        /// The reply.
        id: String,
        /// Its text (Markdown).
        text: String,
        /// Since the turn began.
        ms: u64,
        /// Token counts, when the provider reported them.
        usage: Option<Usage>,
        /// Why the model stopped, when it said.
        finish_reason: Option<FinishReason>,
    },
    /// A request failed (each automatic retry that fails too).
    Failed {
        /// Why.
        error: ChatError,
        /// Whether it will be tried again on its own.
        retrying: bool,
    },
    /// A tool call ended: its handler returned, or the call was declined.
    ToolCall {
        /// The tool.
        name: String,
        /// Whether it gave an output (not an error, not declined).
        ok: bool,
        /// Since the round of tools began (with the time spent asking for consent).
        ms: u64,
    },
    /// The person rated a reply, or took the rating back.
    Feedback {
        /// The reply.
        id: String,
        /// The rating and comment, or `None`.
        feedback: Option<Feedback>,
    },
}

/// A tool call waiting for the person's consent.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsentRequest {
    /// The call's (pending) tool message.
    pub id: MessageId,
    /// The tool.
    pub name: String,
    /// Its arguments, as the model wrote them (JSON).
    pub arguments: String,
}

/// The person's answer to a [`ConsentRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Run this call.
    Allow,
    /// Run this call and every later call of the same tool in this conversation.
    AllowForConversation,
    /// Do not run it: the model is told the person declined.
    Deny,
}

/// Where the current turn is.
#[derive(Clone, Debug, PartialEq)]
pub enum Turn {
    /// Nothing in flight, nothing failed.
    Idle,
    /// A request is out and nothing has come back yet.
    Submitted,
    /// A reply is arriving.
    Streaming,
    /// The model called tools; their handlers (or the consents) are awaited.
    RunningTools,
    /// The turn failed and will be tried again on its own.
    WaitingToRetry {
        /// Which retry (1 for the first).
        attempt: u32,
        /// When (Unix milliseconds).
        due_ms: u64,
        /// Why it failed.
        error: ChatError,
    },
    /// The turn failed; the person may retry.
    Failed(ChatError),
}

/// An automatic retry on its way, as the alert shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRetry {
    /// Which retry this is (1 for the first).
    pub attempt: u32,
    /// How many retries there may be.
    pub of: u32,
    /// Whole seconds left.
    pub seconds_left: u64,
    /// Whether the device is offline: the retry waits for the connection instead.
    pub offline: bool,
}

/// Which messages an input changed: a reply's token changes that reply alone, so a view that
/// mirrors the conversation updates one message, whatever the length of the conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The list itself may have changed (messages added, removed or replaced): look at all.
    pub all: bool,
    /// These messages changed (when not `all`).
    pub messages: Vec<MessageId>,
}

/// What is in flight. With the conversation's [`Status`], the whole state of a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing: the conversation is ready or its turn failed.
    Idle,
    /// A request: the conversation is submitted or streaming.
    Requesting { ticket: Ticket, with_images: bool },
    /// A round of tools: the conversation is running tools.
    RunningTools { ticket: Ticket },
    /// An automatic retry: the conversation's turn failed.
    WaitingToRetry { attempt: u32, due_ms: u64 },
}

/// One chat box's behaviour: its conversations, the turn in flight and what comes next.
#[derive(Clone, Debug)]
pub struct Session {
    config: SessionConfig,
    settings: Settings,
    conversation: Conversation,
    library: Library,
    phase: Phase,
    /// Automatic retries used in this turn.
    retries: u32,
    offline: bool,
    next_ticket: u64,
    consents: Vec<ConsentRequest>,
    /// The tools the person allowed for the conversation in view.
    allowed_tools: Vec<String>,
    context_start: Option<MessageId>,
    /// Whether a turn was in flight when last looked: the end of one is kept and told.
    was_busy: bool,
    changes: Changes,
    /// The time of the input being handled.
    now: u64,
    /// When the turn began (the person's message, Regenerate or Retry).
    turn_began: u64,
    /// Whether the reply in flight has shown anything yet.
    first_token_told: bool,
    /// When the current round of tools began.
    round_began: u64,
    /// What the relay's policy pins (nothing until the driver learns it).
    policy: PolicySummary,
}

impl Session {
    /// A session showing `library`'s current conversation, with `settings` in place of the
    /// config's parameters.
    pub fn new(config: SessionConfig, library: Library, settings: Settings) -> Self {
        let conversation = Conversation::from_saved_with_ids(
            &library.current().messages,
            MessageId(0),
            &config.uid_prefix,
        );
        Session {
            config,
            settings,
            conversation,
            library,
            phase: Phase::Idle,
            retries: 0,
            offline: false,
            next_ticket: 0,
            consents: Vec::new(),
            allowed_tools: Vec::new(),
            context_start: None,
            was_busy: false,
            changes: Changes {
                all: true,
                messages: Vec::new(),
            },
            now: 0,
            turn_began: 0,
            first_token_told: false,
            round_began: 0,
            policy: PolicySummary::default(),
        }
    }

    /// The conversation in view.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }

    /// Every conversation; the one in view as it was last kept.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// The state of the conversation's turn.
    pub fn status(&self) -> &Status {
        self.conversation.status()
    }

    /// Whether a request or a round of tools is in flight.
    pub fn is_busy(&self) -> bool {
        self.conversation.is_busy()
    }

    /// Where the current turn is.
    pub fn turn(&self) -> Turn {
        match (self.phase, self.conversation.status()) {
            (Phase::WaitingToRetry { attempt, due_ms }, Status::Error(error)) => {
                Turn::WaitingToRetry {
                    attempt,
                    due_ms,
                    error: error.clone(),
                }
            }
            (_, Status::Error(error)) => Turn::Failed(error.clone()),
            (_, Status::Submitted) => Turn::Submitted,
            (_, Status::Streaming) => Turn::Streaming,
            (_, Status::RunningTools) => Turn::RunningTools,
            (_, Status::Ready) => Turn::Idle,
        }
    }

    /// The automatic retry being waited for at `now_ms`, if any.
    pub fn pending_retry(&self, now_ms: u64) -> Option<PendingRetry> {
        let Phase::WaitingToRetry { attempt, due_ms } = self.phase else {
            return None;
        };
        Some(PendingRetry {
            attempt,
            of: self.config.retry.max_retries,
            seconds_left: due_ms.saturating_sub(now_ms).div_ceil(1000),
            offline: self.offline,
        })
    }

    /// Tool calls waiting for the person's consent, in order.
    pub fn consents(&self) -> &[ConsentRequest] {
        &self.consents
    }

    /// The first message the last request sent, when older ones were left out for the budget.
    pub fn context_start(&self) -> Option<MessageId> {
        self.context_start
    }

    /// The settings in place of the config's parameters.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Replaces the words the session uses (a tool declined, say): the page changed language.
    pub fn set_strings(&mut self, strings: Strings) {
        self.config.strings = strings;
    }

    /// Replaces the settings; the next request is built from them.
    pub fn set_settings(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// What the relay's policy pins: the next request is fitted to it (its parameters, tools
    /// and history), so that the relay need not refuse it.
    pub fn set_policy(&mut self, policy: PolicySummary) {
        self.policy = policy;
    }

    /// What the relay's policy pins, as last set.
    pub fn policy(&self) -> &PolicySummary {
        &self.policy
    }

    /// The names of the tools every request offers.
    pub fn tool_names(&self) -> Vec<String> {
        self.config
            .tools
            .iter()
            .map(|tool| tool.function.name.clone())
            .collect()
    }

    /// The parameters the next request is built from, or the first problem with the settings.
    pub fn parameters(&self) -> Result<Parameters, String> {
        self.settings
            .apply(
                &self.config.parameters,
                &self.config.strings,
                &self.tool_names(),
            )
            .map_err(|problems| {
                problems
                    .into_iter()
                    .next()
                    .map(|(_, problem)| problem)
                    .unwrap_or_default()
            })
    }

    /// Which messages changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Handles one input at `now_ms` (Unix milliseconds); `random` is a number in `0..1` (for the
    /// retry's jitter). Returns what the driver must do, in order.
    pub fn handle(&mut self, input: Input, now_ms: u64, random: f64) -> Vec<Effect> {
        self.now = now_ms;
        let mut out = Vec::new();
        match input {
            Input::Stream { ticket, item } => {
                let shape = self.shape();
                let reply = self.conversation.reply();
                self.stream(ticket, Some(item), now_ms, random, &mut out);
                self.note_change(shape, reply);
            }
            Input::StreamEnd { ticket } => {
                let shape = self.shape();
                let reply = self.conversation.reply();
                self.stream(ticket, None, now_ms, random, &mut out);
                self.note_change(shape, reply);
            }
            input => {
                self.changes.all = true;
                self.act(input, now_ms, random, &mut out);
            }
        }
        self.settle(&mut out);
        out
    }

    fn act(&mut self, input: Input, now_ms: u64, random: f64, out: &mut Vec<Effect>) {
        // What asks for a new reply is refused while a setting is not valid, before anything
        // changes: an answer is never taken away for a request that cannot be sent.
        if matches!(
            input,
            Input::Edit { .. }
                | Input::Regenerate
                | Input::Continue
                | Input::Retry
                | Input::RetryNow
        ) {
            if let Err(problem) = self.parameters() {
                out.push(Effect::Refused(Refusal::Settings(problem)));
                return;
            }
        }
        match input {
            Input::Send { text, images } => self.send(text, images, out),
            Input::Stop => self.stop(out),
            Input::Edit { id, text } => {
                if self.conversation.edit(id, &text).is_some() {
                    self.start_turn(text, out);
                }
            }
            Input::Regenerate => {
                self.cancel_retry();
                self.retries = 0;
                self.turn_began = now_ms;
                if self.conversation.regenerate().is_some() {
                    self.request(out);
                }
            }
            Input::Continue => {
                self.conversation.dismiss_error();
                if self.conversation.submit(CONTINUE_PROMPT).is_ok() {
                    self.start_turn(CONTINUE_PROMPT.to_owned(), out);
                }
            }
            Input::Retry => {
                self.retries = 0;
                self.turn_began = now_ms;
                self.retry_now(out);
            }
            Input::RetryNow => self.retry_now(out),
            Input::Resume { name, to } => {
                if matches!(self.phase, Phase::Idle) && self.conversation.await_reply(&to).is_some()
                {
                    self.turn_began = now_ms;
                    let ticket = self.ticket();
                    self.phase = Phase::Requesting {
                        ticket,
                        with_images: false,
                    };
                    self.first_token_told = false;
                    out.push(Effect::Resume { ticket, name });
                }
            }
            Input::CancelRetry => self.cancel_retry(),
            Input::DismissError => {
                self.cancel_retry();
                self.conversation.dismiss_error();
            }
            Input::NewConversation => {
                self.leave(out);
                self.library.start_new();
                self.show_current(out);
            }
            Input::SwitchConversation(index) => {
                self.leave(out);
                self.library.switch(index);
                self.show_current(out);
            }
            Input::DeleteConversation(index) => {
                self.leave(out);
                self.library.delete(index);
                self.show_current(out);
            }
            Input::RenameConversation(index, title) => {
                self.library.rename(index, &title);
                out.push(Effect::Save);
            }
            Input::Approval {
                ticket,
                id,
                decision,
            } => {
                if self.tools_ticket() != Some(ticket) {
                    return;
                }
                match decision {
                    Some(true) => self.run_tool(id, out),
                    Some(false) => self.decline(id, now_ms, random, out),
                    None => self.ask_person(id),
                }
            }
            Input::Consent { id, consent } => {
                let Some(at) = self.consents.iter().position(|request| request.id == id) else {
                    return;
                };
                let request = self.consents.remove(at);
                match consent {
                    Consent::Allow => self.run_tool(id, out),
                    Consent::AllowForConversation => {
                        // Other calls of the same tool waiting in this round run too.
                        let waiting: Vec<MessageId> = self
                            .consents
                            .iter()
                            .filter(|other| other.name == request.name)
                            .map(|other| other.id)
                            .collect();
                        self.consents.retain(|other| other.name != request.name);
                        self.allowed_tools.push(request.name);
                        for id in std::iter::once(id).chain(waiting) {
                            self.run_tool(id, out);
                        }
                    }
                    Consent::Deny => self.decline(id, now_ms, random, out),
                }
            }
            Input::ToolDone { ticket, id, result } => {
                if self.tools_ticket() != Some(ticket) {
                    return;
                }
                self.tell_tool(id, result.is_ok(), out);
                self.conversation
                    .finish_tool(id, output_text(&result), result.is_ok());
                self.tools_settled(now_ms, random, out);
            }
            Input::Rate { id, feedback } => {
                if self.conversation.rate(id, feedback.clone()) {
                    let uid = self
                        .conversation
                        .message(id)
                        .map(|message| message.uid.clone())
                        .unwrap_or_default();
                    self.keep(out);
                    out.push(Effect::Notify(TurnEvent::Feedback { id: uid, feedback }));
                }
            }
            Input::Wake { online } => {
                self.offline = !online;
                if let Phase::WaitingToRetry { due_ms, .. } = self.phase {
                    if now_ms >= due_ms && online {
                        self.retry_now(out);
                    } else {
                        out.push(Effect::WakeAt(self.next_wake(now_ms)));
                    }
                }
            }
            Input::Stream { .. } | Input::StreamEnd { .. } => {}
        }
    }

    /// `(length, last id)`: what a stream event changes when it adds or removes a message.
    fn shape(&self) -> (usize, Option<MessageId>) {
        let messages = self.conversation.messages();
        (messages.len(), messages.last().map(|message| message.id))
    }

    fn note_change(&mut self, shape: (usize, Option<MessageId>), reply: Option<MessageId>) {
        if self.shape() != shape {
            self.changes.all = true;
        } else if let Some(reply) = reply {
            if self.changes.messages.last() != Some(&reply) {
                self.changes.messages.push(reply);
            }
        }
    }

    /// Tells that the call of tool message `id` ended.
    fn tell_tool(&mut self, id: MessageId, ok: bool, out: &mut Vec<Effect>) {
        if let Some((_, name)) = self
            .conversation
            .message(id)
            .and_then(|message| message.tool_call.clone())
        {
            out.push(Effect::Notify(TurnEvent::ToolCall {
                name,
                ok,
                ms: self.now.saturating_sub(self.round_began),
            }));
        }
    }

    fn send(&mut self, text: String, images: Vec<Image>, out: &mut Vec<Effect>) {
        if let Err(problem) = self.parameters() {
            out.push(Effect::Refused(Refusal::Settings(problem)));
            return;
        }
        match self.conversation.submit_with(&text, images) {
            Ok(_) => self.start_turn(text, out),
            Err(SubmitError::Busy) => out.push(Effect::Refused(Refusal::Busy)),
            Err(SubmitError::Empty) => out.push(Effect::Refused(Refusal::Empty)),
        }
    }

    /// Asks for the reply to the person's message `sent`, just added (sent, edited, or Continue).
    fn start_turn(&mut self, sent: String, out: &mut Vec<Effect>) {
        // A new turn: a pending automatic retry of the last one is dropped.
        self.cancel_retry();
        self.retries = 0;
        self.turn_began = self.now;
        // The person's message is kept at once, so a reload mid-reply does not lose it.
        self.keep(out);
        let id = self
            .conversation
            .messages()
            .iter()
            .rev()
            .find(|message| message.role == Role::User)
            .map(|message| message.uid.clone())
            .unwrap_or_default();
        out.push(Effect::Notify(TurnEvent::Sent { id, text: sent }));
        self.request(out);
    }

    /// Sends the conversation's history, which just asked for a reply.
    fn request(&mut self, out: &mut Vec<Effect>) {
        self.settle(out);
        self.abort_in_flight(out);
        let mut parameters = match self.parameters() {
            Ok(parameters) => parameters,
            Err(problem) => {
                self.conversation.fail(ChatError::Settings(problem));
                return;
            }
        };
        parameters.fit(&self.policy);
        let reserved = parameters
            .system_prompt
            .as_ref()
            .map_or(0, |prompt| estimate_tokens(&Message::system(prompt)));
        // The relay counts a system prompt the page sends among the messages and characters.
        let (system_messages, system_chars) = parameters
            .system_prompt
            .as_ref()
            .map_or((0, 0), |prompt| (1, prompt.chars().count()));
        let limits = HistoryLimits {
            tokens: self.config.context_budget,
            messages: self
                .policy
                .max_messages
                .map(|most| most.saturating_sub(system_messages)),
            chars: self
                .policy
                .max_history_chars
                .map(|most| most.saturating_sub(system_chars)),
        };
        let (history, cut) = self.conversation.history_within(&limits, reserved);
        self.context_start = cut;
        // A choice that forces a call applies to the person's message, not to the follow-up with
        // the tools' outputs: forced again, the model could never answer in text.
        if matches!(history.last(), Some(Message::Tool { .. }))
            && matches!(
                parameters.tool_choice,
                Some(ToolChoice::Required | ToolChoice::Function(_))
            )
        {
            parameters.tool_choice = Some(ToolChoice::Auto);
        }
        let tools = self
            .config
            .tools
            .iter()
            .filter(|tool| self.policy.allows_tool(&tool.function.name))
            .cloned()
            .collect::<Vec<_>>();
        if let Some(ToolChoice::Function(name)) = &parameters.tool_choice {
            if !self.policy.allows_tool(name) {
                parameters.tool_choice = None;
            }
        }
        let request = parameters.request(history, tools);
        if let Err(error) = request.validate() {
            self.conversation.fail(ChatError::Invalid(error));
            return;
        }
        let with_images = request.messages.iter().any(|message| {
            matches!(
                message,
                Message::User { content: Content::Parts(parts), .. }
                    if parts.iter().any(|part| matches!(part, ContentPart::ImageUrl { .. }))
            )
        });
        let ticket = self.ticket();
        self.phase = Phase::Requesting {
            ticket,
            with_images,
        };
        self.first_token_told = false;
        out.push(Effect::Send { ticket, request });
    }

    /// An event of the reply (`Some`), or the end of its body (`None`).
    fn stream(
        &mut self,
        ticket: Ticket,
        item: Option<Result<StreamEvent, TransportError>>,
        now_ms: u64,
        random: f64,
        out: &mut Vec<Effect>,
    ) {
        let Phase::Requesting {
            ticket: current,
            with_images,
        } = self.phase
        else {
            return;
        };
        if current != ticket {
            return;
        }
        let ended = item.is_none();
        let shows = matches!(
            item,
            Some(Ok(StreamEvent::Content(_)
                | StreamEvent::Reasoning(_)
                | StreamEvent::ToolCall(_)))
        );
        if shows && !self.first_token_told {
            self.first_token_told = true;
            if let Some(reply) = self
                .conversation
                .reply()
                .and_then(|id| self.conversation.message(id))
            {
                out.push(Effect::Notify(TurnEvent::FirstToken {
                    id: reply.uid.clone(),
                    ms: self.now.saturating_sub(self.turn_began),
                }));
            }
        }
        self.conversation.time_thinking(
            match &item {
                Some(Ok(event)) => Some(event),
                _ => None,
            },
            now_ms,
        );
        match item {
            Some(Ok(event)) => self.conversation.apply(event),
            Some(Err(TransportError::Aborted)) => self.conversation.stop(),
            Some(Err(error @ TransportError::Http { status: 413, .. })) if with_images => {
                self.conversation.fail(ChatError::ImagesTooLarge(error))
            }
            Some(Err(error)) => self.conversation.fail(ChatError::Transport(error)),
            None => self.conversation.end(),
        }
        if matches!(
            self.conversation.status(),
            Status::Submitted | Status::Streaming
        ) {
            return;
        }
        // The reply is over (`[DONE]`, an error, tool calls, the end of the body): stop reading.
        self.phase = Phase::Idle;
        if !ended {
            out.push(Effect::Abort(ticket));
        }
        if *self.conversation.status() == Status::RunningTools {
            self.run_tools(now_ms, random, out);
        } else {
            self.retry_later(now_ms, random, out);
        }
    }

    /// Starts a round of the reply's tool calls: each runs at once, waits for the page's say, or
    /// waits for the person's.
    fn run_tools(&mut self, now_ms: u64, random: f64, out: &mut Vec<Effect>) {
        let ticket = self.ticket();
        self.phase = Phase::RunningTools { ticket };
        self.round_began = self.now;
        for (id, call) in self.conversation.running_tools() {
            let name = &call.function.name;
            if !self.config.confirm.contains(name) || self.allowed_tools.contains(name) {
                out.push(Effect::RunTool { ticket, id, call });
            } else if self.config.page_approves {
                out.push(Effect::Approve { ticket, id, call });
            } else {
                self.ask_person(id);
            }
        }
        self.tools_settled(now_ms, random, out);
    }

    fn tools_ticket(&self) -> Option<Ticket> {
        match self.phase {
            Phase::RunningTools { ticket } => Some(ticket),
            _ => None,
        }
    }

    fn call(&self, id: MessageId) -> Option<ToolCall> {
        self.conversation
            .running_tools()
            .into_iter()
            .find(|(waiting, _)| *waiting == id)
            .map(|(_, call)| call)
    }

    fn run_tool(&mut self, id: MessageId, out: &mut Vec<Effect>) {
        if let (Some(ticket), Some(call)) = (self.tools_ticket(), self.call(id)) {
            out.push(Effect::RunTool { ticket, id, call });
        }
    }

    fn ask_person(&mut self, id: MessageId) {
        if let Some(call) = self.call(id) {
            self.consents.push(ConsentRequest {
                id,
                name: call.function.name,
                arguments: call.function.arguments,
            });
        }
    }

    fn decline(&mut self, id: MessageId, now_ms: u64, random: f64, out: &mut Vec<Effect>) {
        self.tell_tool(id, false, out);
        let declined = Err(self.config.strings.tool_declined().to_owned());
        self.conversation
            .finish_tool(id, output_text(&declined), false);
        self.tools_settled(now_ms, random, out);
    }

    /// Once every call has its output, asks the model again with them (or fails after too many
    /// rounds).
    fn tools_settled(&mut self, now_ms: u64, random: f64, out: &mut Vec<Effect>) {
        if self.tools_ticket().is_none() || !self.conversation.running_tools().is_empty() {
            return;
        }
        self.phase = Phase::Idle;
        if self
            .conversation
            .continue_after_tools(self.config.max_tool_rounds)
            .is_some()
        {
            self.request(out);
        } else {
            self.retry_later(now_ms, random, out);
        }
    }

    /// Stops the turn in flight; what arrived so far stays, marked as stopped.
    fn stop(&mut self, out: &mut Vec<Effect>) {
        self.cancel_retry();
        self.consents.clear();
        self.abort_in_flight(out);
        self.phase = Phase::Idle;
        self.conversation.stop();
    }

    fn abort_in_flight(&mut self, out: &mut Vec<Effect>) {
        if let Phase::Requesting { ticket, .. } = self.phase {
            out.push(Effect::Abort(ticket));
        }
        self.phase = Phase::Idle;
    }

    fn cancel_retry(&mut self) {
        if let Phase::WaitingToRetry { .. } = self.phase {
            self.phase = Phase::Idle;
        }
    }

    fn retry_now(&mut self, out: &mut Vec<Effect>) {
        self.cancel_retry();
        if self.conversation.retry().is_some() {
            self.request(out);
        }
    }

    /// After a failure that may go away by itself (a rate limit, a server error, the network),
    /// when nothing of a reply arrived: tries again after the server's `Retry-After` or a
    /// backoff.
    fn retry_later(&mut self, now_ms: u64, random: f64, out: &mut Vec<Effect>) {
        let Status::Error(error) = self.conversation.status() else {
            return;
        };
        let nothing_arrived = self
            .conversation
            .messages()
            .last()
            .is_some_and(|message| message.role != Role::Assistant);
        let policy = self.config.retry;
        if !is_retryable(error) || !nothing_arrived || self.retries >= policy.max_retries {
            return;
        }
        let retry_after = match error {
            ChatError::Transport(TransportError::Http { retry_after, .. }) => retry_after.clone(),
            _ => None,
        };
        let attempt = self.retries + 1;
        let wait = policy.delay(attempt, retry_after.as_deref(), now_ms, random);
        if wait > LONGEST_WAIT {
            // A server that asks for hours (a daily budget spent) is not waited on in the page:
            // the error says when, and Retry stays.
            return;
        }
        self.retries = attempt;
        let due_ms = now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self.phase = Phase::WaitingToRetry { attempt, due_ms };
        out.push(Effect::WakeAt(self.next_wake(now_ms)));
    }

    /// When to look again while a retry waits: when the shown number of seconds changes, at the
    /// latest when it is due, and once a second while offline.
    fn next_wake(&self, now_ms: u64) -> u64 {
        let Phase::WaitingToRetry { due_ms, .. } = self.phase else {
            return now_ms;
        };
        if self.offline {
            return now_ms + 1000;
        }
        let left = due_ms.saturating_sub(now_ms);
        match left % 1000 {
            0 if left == 0 => now_ms,
            0 => now_ms + 1000,
            rest => now_ms + rest,
        }
    }

    /// Stops whatever is in flight and keeps the conversation in view.
    fn leave(&mut self, out: &mut Vec<Effect>) {
        if self.is_busy() {
            self.stop(out);
            self.settle(out);
        }
        self.cancel_retry();
        self.keep(out);
    }

    /// Shows the library's current conversation, numbered after the one it replaces.
    fn show_current(&mut self, out: &mut Vec<Effect>) {
        self.allowed_tools.clear();
        self.consents.clear();
        self.phase = Phase::Idle;
        self.retries = 0;
        self.context_start = None;
        self.conversation = Conversation::from_saved_with_ids(
            &self.library.current().messages,
            self.conversation.next_id(),
            &self.config.uid_prefix,
        );
        self.was_busy = false;
        out.push(Effect::Save);
    }

    /// Keeps the conversation in view in the library.
    fn keep(&mut self, out: &mut Vec<Effect>) {
        self.library.store_current(self.conversation.to_saved());
        out.push(Effect::Save);
    }

    /// Once a turn has ended: keeps the conversation and tells how it ended.
    fn settle(&mut self, out: &mut Vec<Effect>) {
        let busy = self.conversation.is_busy();
        if self.was_busy && !busy {
            self.keep(out);
            let event = match self.conversation.status() {
                Status::Error(error) => Some(TurnEvent::Failed {
                    error: error.clone(),
                    retrying: matches!(self.phase, Phase::WaitingToRetry { .. }),
                }),
                _ => self
                    .conversation
                    .messages()
                    .last()
                    .filter(|last| {
                        last.role == Role::Assistant && last.status == MessageStatus::Done
                    })
                    .map(|last| TurnEvent::Replied {
                        id: last.uid.clone(),
                        text: last.text.clone(),
                        ms: self.now.saturating_sub(self.turn_began),
                        usage: last.usage,
                        finish_reason: last.finish_reason.clone(),
                    }),
            };
            out.extend(event.map(Effect::Notify));
        }
        self.was_busy = busy;
    }

    fn ticket(&mut self) -> Ticket {
        self.next_ticket += 1;
        Ticket(self.next_ticket)
    }

    /// Checks that the turn's parts agree (for tests): what is in flight matches the
    /// conversation's status.
    pub fn check(&self) -> Result<(), String> {
        let status = self.conversation.status();
        let agrees = match self.phase {
            Phase::Idle => matches!(status, Status::Ready | Status::Error(_)),
            Phase::Requesting { .. } => matches!(status, Status::Submitted | Status::Streaming),
            Phase::RunningTools { .. } => *status == Status::RunningTools,
            Phase::WaitingToRetry { .. } => matches!(status, Status::Error(_)),
        };
        if !agrees {
            return Err(format!(
                "{:?} while the conversation is {status:?}",
                self.phase
            ));
        }
        if !self.consents.is_empty() && !matches!(self.phase, Phase::RunningTools { .. }) {
            return Err("consents wait outside a round of tools".to_owned());
        }
        Ok(())
    }
}
