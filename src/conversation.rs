//! The conversation as plain data: messages with stable ids, the status of the current turn, and
//! how stream events change them. No browser and no reactivity here, so all of it is tested natively.

use chat_protocol::{FinishReason, Message, StreamEvent, ToolCall, ToolCallBuilder, Usage};

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
            MessageStatus::Done => "done",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Error => "error",
        }
    }

    /// Whether more text may still arrive.
    pub fn is_open(self) -> bool {
        matches!(self, MessageStatus::Pending | MessageStatus::Streaming)
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
    /// Reasoning text some providers send beside the answer.
    pub reasoning: String,
    /// The tools the model called (complete once the message is done).
    pub tool_calls: Vec<ToolCall>,
    /// Where it is in its life.
    pub status: MessageStatus,
    /// Why the model stopped, once it has.
    pub finish_reason: Option<FinishReason>,
    /// Token counts, when the provider reported them.
    pub usage: Option<Usage>,
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
        matches!(self.status, Status::Submitted | Status::Streaming)
    }

    /// The message with this id.
    pub fn message(&self, id: MessageId) -> Option<&ChatMessage> {
        self.messages.iter().find(|message| message.id == id)
    }

    /// Adds the person's message and a pending reply, and returns the reply's id. The text is kept
    /// as typed.
    pub fn submit(&mut self, text: &str) -> Result<MessageId, SubmitError> {
        if self.is_busy() {
            return Err(SubmitError::Busy);
        }
        if text.trim().is_empty() {
            return Err(SubmitError::Empty);
        }
        self.push(Role::User, text.to_owned(), MessageStatus::Done);
        Ok(self.start_reply())
    }

    /// After a failed turn, asks again: the failed reply is dropped and a new pending one is added.
    /// Returns `None` when there is nothing to retry.
    pub fn retry(&mut self) -> Option<MessageId> {
        if !matches!(self.status, Status::Error(_)) {
            return None;
        }
        if self
            .messages
            .last()
            .is_some_and(|message| message.role == Role::Assistant)
        {
            self.messages.pop();
        }
        if self
            .messages
            .last()
            .is_none_or(|message| message.role != Role::User)
        {
            return None;
        }
        Some(self.start_reply())
    }

    /// The history to send: every message with something in it, except the reply in flight.
    pub fn history(&self) -> Vec<Message> {
        self.messages
            .iter()
            .filter(|message| Some(message.id) != self.reply)
            .filter_map(|message| match message.role {
                Role::System => Some(Message::system(&message.text)),
                Role::User => Some(Message::user(&message.text)),
                Role::Assistant if !message.text.is_empty() || !message.tool_calls.is_empty() => {
                    Some(Message::Assistant {
                        content: (!message.text.is_empty())
                            .then(|| chat_protocol::Content::Text(message.text.clone())),
                        name: None,
                        tool_calls: message.tool_calls.clone(),
                    })
                }
                Role::Assistant | Role::Tool => None,
            })
            .collect()
    }

    /// Applies one event of the reply in flight. Events that arrive when no reply is in flight
    /// (after Stop, say) are ignored.
    pub fn apply(&mut self, event: StreamEvent) {
        let Some(index) = self.reply_index() else {
            return;
        };
        let reply = &mut self.messages[index];
        match event {
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

    /// The person stopped the reply: the text so far is kept, marked as stopped.
    pub fn stop(&mut self) {
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
            tool_calls: Vec::new(),
            status,
            finish_reason: None,
            usage: None,
        });
        id
    }

    fn start_reply(&mut self) -> MessageId {
        let id = self.push(Role::Assistant, String::new(), MessageStatus::Pending);
        self.reply = Some(id);
        self.tool_calls = ToolCallBuilder::new();
        self.finished = false;
        self.status = Status::Submitted;
        id
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
    }
}
