//! The conversation as plain data: messages with stable ids, the status of the current turn, and
//! how stream events change them. No browser and no reactivity here, so all of it is tested natively.

use chat_protocol::{
    merge_sources, Content, ContentPart, FinishReason, ImageUrl, Message, Source, StreamEvent,
    ToolCall, ToolCallBuilder, Usage,
};

use crate::error::ChatError;

/// A message's id, stable for the life of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's output.
    Tool,
}

impl Role {
    /// The role as the API and the DOM's `data-role` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// Where a message is in its life; the DOM's `data-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    /// Sent, nothing received yet.
    Pending,
    /// Text is arriving.
    Streaming,
    /// The connection dropped; the rest of the reply is being asked for again.
    Reconnecting,
    /// Complete.
    Done,
    /// The person stopped it; the text so far is kept.
    Stopped,
    /// It failed; the text so far is kept.
    Error,
}

impl MessageStatus {
    /// The status as the DOM's `data-status` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Reconnecting => "reconnecting",
            MessageStatus::Done => "done",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Error => "error",
        }
    }

    /// Whether more text may still arrive.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            MessageStatus::Pending | MessageStatus::Streaming | MessageStatus::Reconnecting
        )
    }
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    /// Stable id.
    pub id: MessageId,
    /// Who wrote it.
    pub role: Role,
    /// The text so far.
    pub text: String,
    /// Reasoning text some providers send beside the answer (shown apart, never sent back).
    pub reasoning: String,
    /// How long the reasoning took, from its first text to the answer's, once the answer began.
    pub thought_ms: Option<u64>,
    /// The sources the reply cites; the `n`th is what `[n]` in its text refers to.
    pub sources: Vec<Source>,
    /// The tools the model called (complete once the message is done).
    pub tool_calls: Vec<ToolCall>,
    /// Where it is in its life.
    pub status: MessageStatus,
    /// Why the model stopped, once it has.
    pub finish_reason: Option<FinishReason>,
    /// Token counts, when the provider reported them.
    pub usage: Option<Usage>,
    /// For a tool's output: the call it answers and the tool's name.
    pub tool_call: Option<(String, String)>,
    /// The images the person sent with it.
    pub images: Vec<Image>,
    /// Whether it came back from storage (a reply's images then load only on a click).
    pub restored: bool,
    /// The id the page sees (in events and the DOM's `data-id`): kept with the conversation, so
    /// it stays the same across visits, unlike [`MessageId`].
    pub uid: String,
    /// The person's rating of a reply, if they gave one.
    pub feedback: Option<Feedback>,
}

/// A rating of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// 👍
    Up,
    /// 👎
    Down,
}

impl Rating {
    /// As events and storage spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
}

/// The person's feedback on a reply.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Feedback {
    /// Up or down.
    pub rating: Rating,
    /// What they wrote (after a 👎), possibly nothing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// The longest feedback comment kept, in characters.
pub const MAX_COMMENT: usize = 1_000;

/// An image sent with a message, as `data:` URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    /// The image as sent (downscaled in the browser); empty when only the preview was kept, after
    /// a reload.
    pub url: String,
    /// A small preview: what storage keeps.
    pub preview: String,
}

impl Image {
    /// What a request carries: the image, or its preview when that is all there is.
    pub fn sent(&self) -> &str {
        if self.url.is_empty() {
            &self.preview
        } else {
            &self.url
        }
    }
}

/// The state of the current turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Status {
    /// Nothing in flight; a message can be sent.
    #[default]
    Ready,
    /// A request is out and nothing has come back yet.
    Submitted,
    /// A reply is arriving.
    Streaming,
    /// The model called tools; their handlers are running.
    RunningTools,
    /// The last turn failed; a message can be sent, or the turn retried.
    Error(ChatError),
}

/// Why [`Conversation::submit`] refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The message is empty or only whitespace.
    #[error("the message is empty")]
    Empty,
    /// A reply is still arriving.
    #[error("a reply is still arriving")]
    Busy,
}

/// The messages and the state of the current turn.
///
/// A message's text only ever grows: nothing here rewrites text that was already there, so a view
/// can show a message by appending what is new.
#[derive(Clone, Debug, Default)]
pub struct Conversation {
    messages: Vec<ChatMessage>,
    status: Status,
    next_id: u64,
    /// The reply in flight, if any.
    reply: Option<MessageId>,
    /// Tool-call pieces of the reply in flight.
    tool_calls: ToolCallBuilder,
    /// Whether the reply in flight said it was complete (a finish reason or `[DONE]`).
    finished: bool,
    /// What new messages' `uid`s start with (see [`Conversation::set_uid_prefix`]).
    uid_prefix: String,
    /// When the reply in flight began to reason, until its answer begins.
    thinking_since: Option<u64>,
}

impl Conversation {
    /// An empty conversation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message, oldest first.
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    /// The state of the current turn.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Whether a request is in flight.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.status,
            Status::Submitted | Status::Streaming | Status::RunningTools
        )
    }

    /// The message with this id (looked for from the newest, where the reply in flight is).
    pub fn message(&self, id: MessageId) -> Option<&ChatMessage> {
        self.messages.iter().rev().find(|message| message.id == id)
    }

    /// The reply in flight, if any.
    pub fn reply(&self) -> Option<MessageId> {
        self.reply
    }

    /// The id the next message will get.
    pub fn next_id(&self) -> MessageId {
        MessageId(self.next_id)
    }

    /// Adds the person's message and a pending reply, and returns the reply's id. The text is kept
    /// as typed.
    pub fn submit(&mut self, text: &str) -> Result<MessageId, SubmitError> {
        self.submit_with(text, Vec::new())
    }

    /// Adds the person's message with `images`, and a pending reply. The text may be blank when
    /// there are images.
    pub fn submit_with(
        &mut self,
        text: &str,
        images: Vec<Image>,
    ) -> Result<MessageId, SubmitError> {
        if self.is_busy() {
            return Err(SubmitError::Busy);
        }
        if text.trim().is_empty() && images.is_empty() {
            return Err(SubmitError::Empty);
        }
        self.push(Role::User, text.to_owned(), MessageStatus::Done);
        if let Some(message) = self.messages.last_mut() {
            message.images = images;
        }
        Ok(self.start_reply())
    }

    /// After a failed turn, asks again: the failed reply is dropped and a new pending one is added.
    /// Returns `None` when there is nothing to retry.
    pub fn retry(&mut self) -> Option<MessageId> {
        if !matches!(self.status, Status::Error(_)) {
            return None;
        }
        // The failed reply, if it got as far as a message, is replaced.
        let end = match self.messages.last() {
            Some(message) if message.role == Role::Assistant => self.messages.len() - 1,
            _ => self.messages.len(),
        };
        // What the model answers: the person's message, or the outputs of its tools.
        let asked = self.messages[..end]
            .last()
            .is_some_and(|message| match message.role {
                Role::User => true,
                Role::Tool => matches!(message.status, MessageStatus::Done | MessageStatus::Error),
                Role::System | Role::Assistant => false,
            });
        if !asked {
            return None;
        }
        self.messages.truncate(end);
        Some(self.start_reply())
    }

    /// Asks again for the last answer: everything after the person's last message goes, and a
    /// new reply starts. `None` while a reply is arriving or when the person has said nothing.
    pub fn regenerate(&mut self) -> Option<MessageId> {
        if self.is_busy() {
            return None;
        }
        let last_user = self
            .messages
            .iter()
            .rposition(|message| message.role == Role::User)?;
        // With no answer yet (a failed turn, or one cut short by a reload), the message is sent again.
        self.messages.truncate(last_user + 1);
        Some(self.start_reply())
    }

    /// Replaces the person's message `id` with `text` and asks again: the message and everything
    /// after it go, and the edited message (a new one, with a new id) and a new reply take their
    /// place. `None` while a reply is arriving, for a message that is not the person's, or for
    /// blank text.
    pub fn edit(&mut self, id: MessageId, text: &str) -> Option<MessageId> {
        if self.is_busy() || text.trim().is_empty() {
            return None;
        }
        let index = self
            .messages
            .iter()
            .position(|message| message.id == id && message.role == Role::User)?;
        // The edited message keeps its images.
        let images = std::mem::take(&mut self.messages[index].images);
        self.messages.truncate(index);
        self.status = Status::Ready;
        self.submit_with(text, images).ok()
    }

    /// The history to send: every message with something in it, except the reply in flight and
    /// tools still running. A tool call goes with its result, or not at all (the API refuses a call
    /// without one, as after Stop).
    pub fn history(&self) -> Vec<Message> {
        let answered = |message: &ChatMessage| {
            matches!(message.status, MessageStatus::Done | MessageStatus::Error)
        };
        // The newest images go at full size, up to FULL_IMAGES_BYTES; older ones as previews.
        let mut room = FULL_IMAGES_BYTES;
        let full_images: Vec<MessageId> = self
            .messages
            .iter()
            .rev()
            .filter(|message| !message.images.is_empty())
            .enumerate()
            .take_while(|(newest, message)| {
                let bytes: usize = message.images.iter().map(|image| image.sent().len()).sum();
                // The newest images always go whole, whatever the room.
                let fits = *newest == 0 || bytes <= room;
                room = room.saturating_sub(bytes);
                fits
            })
            .map(|(_, message)| message)
            .map(|message| message.id)
            .collect();
        let mut history = Vec::new();
        for (index, message) in self.messages.iter().enumerate() {
            if Some(message.id) == self.reply || message.status.is_open() {
                continue;
            }
            match message.role {
                Role::System => history.push(Message::system(&message.text)),
                Role::User => {
                    let full = full_images.contains(&message.id);
                    history.push(user_message(message, full));
                }
                Role::Assistant => {
                    // A call counts only with its output, among the tool messages right after it.
                    let outputs: Vec<&str> = self.messages[index + 1..]
                        .iter()
                        .take_while(|next| next.role == Role::Tool)
                        .filter(|next| answered(next))
                        .filter_map(|next| next.tool_call.as_ref().map(|(id, _)| id.as_str()))
                        .collect();
                    let tool_calls: Vec<ToolCall> = message
                        .tool_calls
                        .iter()
                        .filter(|call| outputs.contains(&call.id.as_str()))
                        .cloned()
                        .collect();
                    if !message.text.is_empty() || !tool_calls.is_empty() {
                        history.push(Message::Assistant {
                            content: (!message.text.is_empty())
                                .then(|| chat_protocol::Content::Text(message.text.clone())),
                            name: None,
                            tool_calls,
                        });
                    }
                }
                Role::Tool if answered(message) => {
                    if let Some((id, name)) = &message.tool_call {
                        history.push(Message::Tool {
                            content: chat_protocol::Content::Text(message.text.clone()),
                            tool_call_id: id.clone(),
                            name: Some(name.clone()),
                        });
                    }
                }
                Role::Tool => {}
            }
        }
        history
    }

    /// The history to send within `limits` (its tokens estimated), with `reserved` tokens already
    /// spoken for (the system prompt), and the id of the first message sent when older ones are
    /// left out. Whole turns are left out, oldest first, so a tool call never loses its output;
    /// the last turn is always sent.
    pub fn history_within(
        &self,
        limits: &HistoryLimits,
        reserved: usize,
    ) -> (Vec<Message>, Option<MessageId>) {
        if *limits == HistoryLimits::default() {
            return (self.history(), None);
        }
        let turns: Vec<usize> = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, message)| message.role == Role::User)
            .map(|(index, _)| index)
            .collect();
        for (n, &start) in turns.iter().enumerate() {
            let kept = Conversation {
                messages: self.messages[start..].to_vec(),
                reply: self.reply,
                ..Conversation::default()
            };
            let history = kept.history();
            if limits.allow(&history, reserved) || n + 1 == turns.len() {
                let cut = (start > 0).then(|| self.messages[start].id);
                return (history, cut);
            }
        }
        (self.history(), None)
    }

    /// The tool calls waiting for their handlers: each with the id of its (pending) tool message.
    pub fn running_tools(&self) -> Vec<(MessageId, ToolCall)> {
        let Some(reply) = self
            .messages
            .iter()
            .rev()
            .find(|message| message.role == Role::Assistant)
        else {
            return Vec::new();
        };
        self.messages
            .iter()
            .filter(|message| {
                message.role == Role::Tool && message.status == MessageStatus::Pending
            })
            .filter_map(|message| {
                let (id, _) = message.tool_call.as_ref()?;
                let call = reply.tool_calls.iter().find(|call| call.id == *id)?;
                Some((message.id, call.clone()))
            })
            .collect()
    }

    /// A tool's output (or its error, for the model to read) arrived.
    pub fn finish_tool(&mut self, id: MessageId, output: String, ok: bool) {
        if self.status != Status::RunningTools {
            return;
        }
        if let Some(message) = self
            .messages
            .iter_mut()
            .find(|message| message.id == id && message.status.is_open())
        {
            message.text = output;
            message.status = if ok {
                MessageStatus::Done
            } else {
                MessageStatus::Error
            };
        }
    }

    /// Once every tool has answered, asks the model again with their outputs. After `max_rounds`
    /// rounds of tool calls in one turn, fails instead, so a model that keeps calling tools
    /// cannot loop for ever. Returns the new reply's id.
    pub fn continue_after_tools(&mut self, max_rounds: usize) -> Option<MessageId> {
        if self.status != Status::RunningTools || !self.running_tools().is_empty() {
            return None;
        }
        let turn_start = self
            .messages
            .iter()
            .rposition(|message| message.role == Role::User)
            .unwrap_or(0);
        let rounds = self.messages[turn_start..]
            .iter()
            .filter(|message| message.role == Role::Assistant && !message.tool_calls.is_empty())
            .count();
        if rounds >= max_rounds {
            self.status = Status::Error(ChatError::ToolRounds(max_rounds));
            return None;
        }
        Some(self.start_reply())
    }

    /// The `uid` of the message the reply in flight answers (the person's, or a tool's output).
    pub fn replying_to(&self) -> Option<&str> {
        let index = self.reply_index()?;
        Some(&self.messages[index.checked_sub(1)?].uid)
    }

    /// After a reload in the middle of a reply: a pending reply again, when the conversation
    /// still waits for the reply to message `uid` (its last message, the person's or a tool's
    /// output). The reply's id.
    pub fn await_reply(&mut self, uid: &str) -> Option<MessageId> {
        let last = self.messages.last()?;
        let waiting = match last.role {
            Role::User => true,
            Role::Tool => matches!(last.status, MessageStatus::Done | MessageStatus::Error),
            Role::Assistant | Role::System => false,
        };
        (self.status == Status::Ready && waiting && last.uid == uid).then(|| self.start_reply())
    }

    /// Applies one event of the reply in flight. Events that arrive when no reply is in flight
    /// (after Stop, say) are ignored.
    pub fn apply(&mut self, event: StreamEvent) {
        let Some(index) = self.reply_index() else {
            return;
        };
        let reply = &mut self.messages[index];
        if reply.status == MessageStatus::Reconnecting {
            // Back: whatever comes next says the connection is whole again.
            reply.status = if reply.text.is_empty()
                && reply.reasoning.is_empty()
                && self.tool_calls.is_empty()
            {
                MessageStatus::Pending
            } else {
                MessageStatus::Streaming
            };
        }
        match event {
            StreamEvent::Reconnecting => reply.status = MessageStatus::Reconnecting,
            StreamEvent::Content(text) => {
                reply.text.push_str(&text);
                self.mark_streaming(index);
            }
            StreamEvent::Reasoning(text) => {
                reply.reasoning.push_str(&text);
                self.mark_streaming(index);
            }
            StreamEvent::ToolCall(delta) => {
                self.tool_calls.push(delta);
                self.mark_streaming(index);
            }
            StreamEvent::Finish(reason) => {
                reply.finish_reason = Some(reason);
                self.finished = true;
            }
            StreamEvent::Usage(usage) => reply.usage = Some(usage),
            StreamEvent::Sources(sources) => merge_sources(&mut reply.sources, sources),
            StreamEvent::Error(error) => self.fail(ChatError::Stream(error)),
            StreamEvent::Done => {
                self.finished = true;
                self.close_reply(MessageStatus::Done, Status::Ready);
            }
        }
    }

    /// The reply's body has ended. Without a finish reason or `[DONE]` first, the reply was cut
    /// short: the text so far is kept and the turn fails as interrupted.
    pub fn end(&mut self) {
        if self.reply.is_none() {
            return;
        }
        if self.finished {
            self.close_reply(MessageStatus::Done, Status::Ready);
        } else {
            self.fail(ChatError::Interrupted);
        }
    }

    /// The person stopped the reply: the text so far is kept, marked as stopped. Tools still
    /// running are stopped too; their outputs will be ignored.
    pub fn stop(&mut self) {
        if self.status == Status::RunningTools {
            for message in &mut self.messages {
                if message.role == Role::Tool && message.status.is_open() {
                    message.status = MessageStatus::Stopped;
                }
            }
            self.status = Status::Ready;
            return;
        }
        self.close_reply(MessageStatus::Stopped, Status::Ready);
    }

    /// The turn failed. The reply keeps what it received, marked as failed; an empty reply is
    /// removed. The person's message always stays.
    ///
    /// An error that arrives when no reply is in flight (after `[DONE]`, after Stop, or after an
    /// earlier error) changes nothing: the turn already ended and its outcome stands.
    pub fn fail(&mut self, error: ChatError) {
        if self.reply.is_none() {
            return;
        }
        let status = Status::Error(error);
        match self.reply_index() {
            Some(index) if self.messages[index].text.is_empty() && self.tool_calls.is_empty() => {
                self.messages.remove(index);
                self.reply = None;
                self.status = status;
            }
            Some(_) => self.close_reply(MessageStatus::Error, status),
            None => {
                self.reply = None;
                self.status = status;
            }
        }
    }

    /// Clears a failed turn's error without retrying it.
    pub fn dismiss_error(&mut self) {
        if matches!(self.status, Status::Error(_)) {
            self.status = Status::Ready;
        }
    }

    fn push(&mut self, role: Role, text: String, status: MessageStatus) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id += 1;
        self.messages.push(ChatMessage {
            id,
            role,
            text,
            reasoning: String::new(),
            thought_ms: None,
            sources: Vec::new(),
            tool_calls: Vec::new(),
            status,
            finish_reason: None,
            usage: None,
            tool_call: None,
            images: Vec::new(),
            restored: false,
            uid: format!("{}{}", self.uid_prefix, id.0),
            feedback: None,
        });
        id
    }

    /// New messages' `uid`s are this prefix and their [`MessageId`]: a prefix unique to the visit
    /// (a session makes it from the time and a random number) makes them unique to the widget.
    pub fn set_uid_prefix(&mut self, prefix: String) {
        self.uid_prefix = prefix;
    }

    /// Rates reply `id` (a finished assistant message with text), or takes its rating back with
    /// `None`. Whether it changed.
    pub fn rate(&mut self, id: MessageId, feedback: Option<Feedback>) -> bool {
        let Some(message) = self.messages.iter_mut().rev().find(|message| {
            message.id == id
                && message.role == Role::Assistant
                && message.status == MessageStatus::Done
                && !message.text.trim().is_empty()
        }) else {
            return false;
        };
        let feedback = feedback.map(|mut feedback| {
            if let Some((cut, _)) = feedback.comment.char_indices().nth(MAX_COMMENT) {
                feedback.comment.truncate(cut);
            }
            feedback
        });
        if message.feedback == feedback {
            return false;
        }
        message.feedback = feedback;
        true
    }

    fn start_reply(&mut self) -> MessageId {
        let id = self.push(Role::Assistant, String::new(), MessageStatus::Pending);
        self.reply = Some(id);
        self.tool_calls = ToolCallBuilder::new();
        self.finished = false;
        self.thinking_since = None;
        self.status = Status::Submitted;
        id
    }

    /// Times the reply's reasoning, before `event` (or the end of the body, `None`) is applied:
    /// the reasoning begins with its first text and ends with the first news of anything else but
    /// more reasoning, token counts, sources or a reconnection.
    pub fn time_thinking(&mut self, event: Option<&StreamEvent>, now_ms: u64) {
        let Some(index) = self.reply_index() else {
            return;
        };
        let reply = &mut self.messages[index];
        match event {
            Some(StreamEvent::Reasoning(_)) => {
                if reply.reasoning.is_empty() {
                    self.thinking_since = Some(now_ms);
                }
            }
            Some(StreamEvent::Usage(_) | StreamEvent::Sources(_) | StreamEvent::Reconnecting) => {}
            _ => {
                if let Some(since) = self.thinking_since.take() {
                    reply.thought_ms = Some(now_ms.saturating_sub(since));
                }
            }
        }
    }

    fn reply_index(&self) -> Option<usize> {
        let id = self.reply?;
        self.messages.iter().rposition(|message| message.id == id)
    }

    fn mark_streaming(&mut self, index: usize) {
        self.messages[index].status = MessageStatus::Streaming;
        self.status = Status::Streaming;
    }

    fn close_reply(&mut self, message_status: MessageStatus, status: Status) {
        let Some(index) = self.reply_index() else {
            return;
        };
        let reply = &mut self.messages[index];
        reply.status = message_status;
        reply.tool_calls = std::mem::take(&mut self.tool_calls).finish();
        self.reply = None;
        self.status = status;
        // A complete reply that calls tools waits for them: one pending tool message per call.
        let calls = self.messages[index].tool_calls.clone();
        if message_status == MessageStatus::Done && !calls.is_empty() {
            for call in calls {
                let id = self.push(Role::Tool, String::new(), MessageStatus::Pending);
                if let Some(message) = self.messages.last_mut().filter(|message| message.id == id) {
                    message.tool_call = Some((call.id, call.function.name));
                }
            }
            self.status = Status::RunningTools;
        }
    }
}

/// A message as it is kept between visits: what was said, not how it was on its way.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedMessage {
    /// `user`, `assistant` or `tool`.
    pub role: String,
    /// The text.
    pub text: String,
    /// `done`, `stopped` or `error`.
    pub status: String,
    /// The tools an assistant message called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool's output: the call it answers and the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<(String, String)>,
    /// The previews of the images the person sent (the images themselves are not kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// The id the page sees (missing in what older versions kept: a new one is given).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The person's rating of a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// A reply's reasoning.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reasoning: String,
    /// How long the reasoning took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_ms: Option<u64>,
    /// The sources a reply cites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

impl Conversation {
    /// The settled messages, to keep between visits (a reply still arriving is not kept).
    pub fn to_saved(&self) -> Vec<SavedMessage> {
        self.messages
            .iter()
            .filter(|message| !message.status.is_open() && message.role != Role::System)
            .map(|message| SavedMessage {
                role: message.role.as_str().to_owned(),
                text: message.text.clone(),
                status: message.status.as_str().to_owned(),
                tool_calls: message.tool_calls.clone(),
                tool_call: message.tool_call.clone(),
                images: message
                    .images
                    .iter()
                    .map(|image| image.preview.clone())
                    .collect(),
                id: message.uid.clone(),
                feedback: message.feedback.clone(),
                reasoning: message.reasoning.clone(),
                thought_ms: message.thought_ms,
                sources: message.sources.clone(),
            })
            .collect()
    }

    /// A conversation from kept messages, with fresh ids, ready for the next message. Messages of
    /// an unknown role are skipped.
    pub fn from_saved(saved: &[SavedMessage]) -> Self {
        Self::from_saved_with_ids(saved, MessageId(0), "")
    }

    /// [`Conversation::from_saved`], with ids from `first` on (a session numbers the messages of
    /// every conversation it shows apart) and new `uid`s starting with `uid_prefix`.
    pub fn from_saved_with_ids(saved: &[SavedMessage], first: MessageId, uid_prefix: &str) -> Self {
        let mut conversation = Conversation {
            next_id: first.0,
            uid_prefix: uid_prefix.to_owned(),
            ..Conversation::default()
        };
        for message in saved {
            let role = match message.role.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                _ => continue,
            };
            let status = match message.status.as_str() {
                "stopped" => MessageStatus::Stopped,
                "error" => MessageStatus::Error,
                _ => MessageStatus::Done,
            };
            conversation.push(role, message.text.clone(), status);
            if let Some(restored) = conversation.messages.last_mut() {
                restored.restored = true;
                // Only an id of letters, digits, `-` and `_`, as the widget makes them.
                if (1..=64).contains(&message.id.len())
                    && message
                        .id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    restored.uid.clone_from(&message.id);
                }
                restored.feedback = message.feedback.clone();
                if role == Role::Assistant {
                    restored.reasoning.clone_from(&message.reasoning);
                    restored.thought_ms = message.thought_ms;
                    merge_sources(&mut restored.sources, message.sources.clone());
                }
                restored.tool_calls = message.tool_calls.clone();
                restored.tool_call = message.tool_call.clone();
                // Only what the widget itself keeps: a JPEG or PNG preview as a `data:` URL.
                restored.images = message
                    .images
                    .iter()
                    .filter(|preview| {
                        preview.starts_with("data:image/jpeg;base64,")
                            || preview.starts_with("data:image/png;base64,")
                    })
                    .map(|preview| Image {
                        url: String::new(),
                        preview: preview.clone(),
                    })
                    .collect();
            }
        }
        conversation
    }
}

/// About how many tokens a message costs: a token per four characters, and a few for its framing;
/// an image counts as [`IMAGE_TOKENS`], whatever the length of its URL.
pub fn estimate_tokens(message: &Message) -> usize {
    let characters =
        |message: &Message| serde_json::to_string(message).map_or(0, |json| json.len());
    let Message::User {
        content: Content::Parts(parts),
        name,
    } = message
    else {
        return characters(message).div_ceil(4) + 4;
    };
    // Measured without its images, whose URLs (megabytes of base64) are never copied here.
    let texts: Vec<ContentPart> = parts
        .iter()
        .filter(|part| matches!(part, ContentPart::Text { .. }))
        .cloned()
        .collect();
    let images = parts.len() - texts.len();
    let text_only = Message::User {
        content: Content::Parts(texts),
        name: name.clone(),
    };
    characters(&text_only).div_ceil(4) + 4 + images * IMAGE_TOKENS
}

/// How much history a request may carry; `None` is no bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryLimits {
    /// About this many tokens (estimated), the system prompt's included.
    pub tokens: Option<usize>,
    /// This many messages.
    pub messages: Option<usize>,
    /// This many characters of text in all.
    pub chars: Option<usize>,
}

impl HistoryLimits {
    /// Whether `history` keeps every limit, with `reserved` tokens spoken for.
    fn allow(&self, history: &[Message], reserved: usize) -> bool {
        let tokens = || reserved + history.iter().map(estimate_tokens).sum::<usize>();
        let chars = || history.iter().map(text_chars).sum::<usize>();
        self.tokens.is_none_or(|budget| tokens() <= budget)
            && self.messages.is_none_or(|most| history.len() <= most)
            && self.chars.is_none_or(|most| chars() <= most)
    }
}

/// The characters of text in `message` (as a relay's policy counts them).
fn text_chars(message: &Message) -> usize {
    let text = |content: &Content| match content {
        Content::Text(text) => text.chars().count(),
        Content::Parts(parts) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text { text } => text.chars().count(),
                _ => 0,
            })
            .sum(),
    };
    match message {
        Message::System { content, .. }
        | Message::User { content, .. }
        | Message::Tool { content, .. } => text(content),
        Message::Assistant { content, .. } => content.as_ref().map_or(0, text),
    }
}

/// What an image is counted as in the history budget: providers charge images by their size in
/// tiles, about this many tokens for one downscaled to 1,568 px.
pub const IMAGE_TOKENS: usize = 1_600;

/// How many bytes of images at full size a request carries: the newest messages' images, whole,
/// up to this; older images go as their previews. Room for two messages at the widget's whole
/// image budget, well within the relay's body limit.
pub const FULL_IMAGES_BYTES: usize = 8_000_000;

/// The person's message for the request: plain text, or the text and one part per image (at
/// `full` size, or the previews).
fn user_message(message: &ChatMessage, full: bool) -> Message {
    if message.images.is_empty() {
        return Message::user(&message.text);
    }
    let text = (!message.text.trim().is_empty()).then(|| ContentPart::Text {
        text: message.text.clone(),
    });
    let images = message.images.iter().map(|image| ContentPart::ImageUrl {
        image_url: ImageUrl {
            url: if full || image.preview.is_empty() {
                image.sent()
            } else {
                &image.preview
            }
            .to_owned(),
            detail: None,
        },
    });
    Message::User {
        content: Content::Parts(text.into_iter().chain(images).collect()),
        name: None,
    }
}
