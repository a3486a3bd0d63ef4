//! The bridge between the pure [`Conversation`] and the reactive view: it runs requests through the
//! transport, applies their events, and mirrors the conversation into signals, one set per message,
//! so a new token touches one message's text and nothing else.

use chat_protocol::{Content, ContentPart, Message, ToolCall, ToolChoice, Usage};
use futures_channel::oneshot;
use futures_util::StreamExt;
use leptos::prelude::*;
use leptos::reactive::owner::WeakOwner;
use leptos::task::spawn_local;
use std::rc::Rc;
use std::time::Duration;

use crate::attachments::{prepare, Attachment, Refusal};
use crate::config::ChatConfig;
use crate::conversation::{
    estimate_tokens, Conversation, Image, MessageId, MessageStatus, Role, Status,
};
use crate::error::ChatError;
use crate::library::Library;
use crate::retry::{self, RetryPolicy};
use crate::settings::Settings;
use crate::storage;
use crate::strings::{fill, Strings};
use crate::tools::{output_text, Toolbox};
use crate::transport::{AbortHandle, SharedTransport, TransportError};

/// The reactive mirror of one message.
#[derive(Clone, Copy, Debug)]
pub struct MessageView {
    /// Which conversation of the widget it belongs to: ids start over in each, so a view is told
    /// apart by both.
    pub epoch: u64,
    /// The message's stable id.
    pub id: MessageId,
    /// Who wrote it.
    pub role: Role,
    /// The text so far; only ever appended to while the message streams.
    pub text: RwSignal<String>,
    /// Where it is in its life.
    pub status: RwSignal<MessageStatus>,
    /// The tools an assistant message called (set when it completes).
    pub tool_calls: RwSignal<Vec<ToolCall>>,
    /// Token counts, when the provider reported them.
    pub usage: RwSignal<Option<Usage>>,
    /// For a tool's output: the tool's name.
    pub tool_name: StoredValue<Option<String>>,
    /// The images the person sent with it.
    pub images: StoredValue<Vec<Image>>,
    /// Whether it came back from storage.
    pub restored: bool,
}

/// Runs one chat box: its conversation, the request in flight, and the composer's draft.
#[derive(Clone, Copy)]
pub struct ChatController {
    conversation: StoredValue<Conversation>,
    config: StoredValue<ChatConfig>,
    transport: StoredValue<SharedTransport, LocalStorage>,
    toolbox: StoredValue<Toolbox, LocalStorage>,
    /// The chat box's owner: message signals are created under it, whatever code runs `sync`
    /// (an event handler, the reply's task), so they live exactly as long as the chat box.
    /// A weak handle: the chat box's owner owns the controller, not the reverse.
    owner: StoredValue<WeakOwner>,
    in_flight: StoredValue<Option<AbortHandle>, LocalStorage>,
    /// Counts requests; the events of an older request than the current one are ignored.
    generation: StoredValue<u64>,
    messages: RwSignal<Vec<MessageView>>,
    status: RwSignal<Status>,
    draft: RwSignal<String>,
    /// The settings panel's values; they replace the config's parameters.
    settings: RwSignal<Settings>,
    /// Why the last Send was refused before anything was sent (a setting out of range).
    notice: RwSignal<Option<String>>,
    /// The automatic retry being waited for, if any.
    pending_retry: RwSignal<Option<PendingRetry>>,
    /// Automatic retries used in this turn.
    retries: StoredValue<u32>,
    /// Counts scheduled retries; a timer of an older one does nothing.
    retry_generation: StoredValue<u64>,
    /// Why history will not be kept on this device, said once.
    storage_notice: RwSignal<Option<String>>,
    /// Whether a turn was in flight at the last sync: the conversation is kept when one ends.
    was_busy: StoredValue<bool>,
    /// The first message the last request sent, when older ones were left out for the budget.
    context_start: RwSignal<Option<MessageId>>,
    /// Every conversation of this widget.
    library: RwSignal<Library>,
    /// Counts the conversations put in view.
    epoch: StoredValue<u64>,
    /// The images attached to the next message.
    attachments: RwSignal<Vec<Attachment>>,
    /// How many attached images are still being prepared.
    preparing: RwSignal<usize>,
    /// Who hears of each message sent, reply finished and turn failed.
    observers: StoredValue<Vec<Observer>, LocalStorage>,
    /// Tool calls waiting for the person's consent, in order.
    consents: RwSignal<Vec<ConsentRequest>>,
    /// Where each waiting call's answer goes; dropped (so the call ends) on Stop.
    answers: StoredValue<Vec<(MessageId, oneshot::Sender<Consent>)>, LocalStorage>,
    /// The tools the person allowed for the conversation in view.
    allowed_tools: StoredValue<Vec<String>>,
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

/// Hears of each [`TurnEvent`].
type Observer = Rc<dyn Fn(&TurnEvent)>;

/// What happened to a turn, as the embedder's callbacks and the live region hear it: once each,
/// when it happens.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnEvent {
    /// The person's message went out (sent, or edited and sent).
    Sent(String),
    /// A reply finished, with its text (Markdown).
    Replied(String),
    /// A request failed (each automatic retry that fails too).
    Failed(ChatError),
}

/// What Continue sends after a reply was cut off.
pub const CONTINUE_PROMPT: &str = "Please continue exactly where your previous answer stopped.";

/// An automatic retry on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRetry {
    /// Which retry this is (1 for the first).
    pub attempt: u32,
    /// How many retries there may be.
    pub of: u32,
    /// Whole seconds left.
    pub seconds_left: u64,
    /// Whether the browser is offline: the retry waits for the connection instead.
    pub offline: bool,
}

impl ChatController {
    /// A controller for a new, empty conversation. Aborts its request when its owner is cleaned up
    /// (the chat box unmounts).
    pub fn new(config: ChatConfig, transport: SharedTransport, toolbox: Toolbox) -> Self {
        let controller = ChatController {
            conversation: StoredValue::new(Conversation::new()),
            config: StoredValue::new(config),
            transport: StoredValue::new_local(transport),
            toolbox: StoredValue::new_local(toolbox),
            owner: StoredValue::new(Owner::current().unwrap_or_default().downgrade()),
            in_flight: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            messages: RwSignal::new(Vec::new()),
            status: RwSignal::new(Status::Ready),
            draft: RwSignal::new(String::new()),
            settings: RwSignal::new(Settings::default()),
            notice: RwSignal::new(None),
            pending_retry: RwSignal::new(None),
            retries: StoredValue::new(0),
            retry_generation: StoredValue::new(0),
            storage_notice: RwSignal::new(None),
            was_busy: StoredValue::new(false),
            context_start: RwSignal::new(None),
            library: RwSignal::new(Library::default()),
            epoch: StoredValue::new(0),
            attachments: RwSignal::new(Vec::new()),
            preparing: RwSignal::new(0),
            observers: StoredValue::new_local(Vec::new()),
            consents: RwSignal::new(Vec::new()),
            answers: StoredValue::new_local(Vec::new()),
            allowed_tools: StoredValue::new(Vec::new()),
        };
        let id = controller.config.with_value(|config| config.id.clone());
        match storage::load_library(&id) {
            Ok(Some(library)) => {
                controller
                    .conversation
                    .set_value(Conversation::from_saved(&library.current().messages));
                controller.library.set(library);
                controller.sync();
            }
            Ok(None) => {}
            // Unreadable storage was cleared: the conversation is kept from now on.
            Err(error @ (storage::StorageError::Corrupt | storage::StorageError::OtherVersion)) => {
                controller
                    .storage_notice
                    .set(Some(controller.config.with_value(|config| {
                        fill(
                            config.strings.not_restored(),
                            &[&error.describe(&config.strings)],
                        )
                    })));
            }
            Err(error) => controller.history_not_kept(error),
        }
        let id = controller.config.with_value(|config| config.id.clone());
        let base = controller.config.with_value(Settings::from_config);
        // Saved values apply only where the person can see and change them.
        let show_settings = controller.config.with_value(|config| config.show_settings);
        let mut settings = storage::load_settings(&id, &base)
            .filter(|_| show_settings)
            .unwrap_or_else(|| base.clone());
        // What steers the model comes from the config unless the person may change it.
        controller
            .config
            .with_value(|config| settings.keep_only(&base, &config.editable));
        let tools = controller.tool_names();
        if !matches!(
            settings.tool_choice.as_str(),
            "" | "none" | "auto" | "required"
        ) && !tools.contains(&settings.tool_choice)
        {
            // A tool the site no longer offers.
            settings.tool_choice.clear();
        }
        controller.settings.set(settings);
        // Settings survive a reload: they are saved whenever they change.
        Effect::new(move |_| {
            controller
                .settings
                .with(|settings| storage::save_settings(&id, &base, settings))
        });
        on_cleanup(move || {
            controller.cancel_retry();
            controller.abort_in_flight();
        });
        controller
    }

    /// A string of the chat box's table ([`Strings`]), with the config's overrides.
    pub fn text(&self, pick: impl FnOnce(&Strings) -> &str) -> String {
        self.config
            .with_value(|config| pick(&config.strings).to_owned())
    }

    /// The chat box's config.
    pub fn config(&self) -> StoredValue<ChatConfig> {
        self.config
    }

    /// The messages, oldest first.
    pub fn messages(&self) -> ReadSignal<Vec<MessageView>> {
        self.messages.read_only()
    }

    /// The state of the current turn.
    pub fn status(&self) -> ReadSignal<Status> {
        self.status.read_only()
    }

    /// The composer's text.
    pub fn draft(&self) -> RwSignal<String> {
        self.draft
    }

    /// The settings panel's values.
    pub fn settings(&self) -> RwSignal<Settings> {
        self.settings
    }

    /// Why the last Send was refused, if it was.
    pub fn notice(&self) -> ReadSignal<Option<String>> {
        self.notice.read_only()
    }

    /// The automatic retry being waited for, if any.
    pub fn pending_retry(&self) -> ReadSignal<Option<PendingRetry>> {
        self.pending_retry.read_only()
    }

    /// Stops waiting for the automatic retry; the error stays, with its Retry button.
    pub fn cancel_retry(&self) {
        self.retry_generation
            .try_update_value(|generation| *generation += 1);
        self.pending_retry.try_set(None);
    }

    /// The first message the last request sent, when older ones were left out for the budget.
    pub fn context_start(&self) -> ReadSignal<Option<MessageId>> {
        self.context_start.read_only()
    }

    /// Why history will not be kept on this device, if it will not.
    pub fn storage_notice(&self) -> ReadSignal<Option<String>> {
        self.storage_notice.read_only()
    }

    /// Says, once, that history will not be kept, and why.
    fn history_not_kept(&self, error: storage::StorageError) {
        let notice = self.config.with_value(|config| {
            fill(
                config.strings.not_kept(),
                &[&error.describe(&config.strings)],
            )
        });
        if self
            .storage_notice
            .with_untracked(|said| said.as_ref() != Some(&notice))
        {
            self.storage_notice.set(Some(notice));
        }
    }

    /// Keeps the conversation in view (with the others), once a turn has ended.
    fn keep_history(&self) {
        let saved = self.conversation.with_value(Conversation::to_saved);
        self.library.update(|library| library.store_current(saved));
        self.save_library();
    }

    fn save_library(&self) {
        let id = self.config.with_value(|config| config.id.clone());
        if let Err(error) = self
            .library
            .with_untracked(|library| storage::save_library(&id, library))
        {
            self.history_not_kept(error);
        }
    }

    /// The conversations: their titles and which is in view.
    pub fn library(&self) -> ReadSignal<Library> {
        self.library.read_only()
    }

    /// Starts a new conversation; the one in view is kept.
    pub fn new_conversation(&self) {
        self.leave_conversation();
        self.library.update(Library::start_new);
        self.show_current();
    }

    /// Puts conversation `index` in view; the one in view is kept.
    pub fn switch_conversation(&self, index: usize) {
        self.leave_conversation();
        self.library.update(|library| library.switch(index));
        self.show_current();
    }

    /// Renames conversation `index`.
    pub fn rename_conversation(&self, index: usize, title: &str) {
        self.library.update(|library| library.rename(index, title));
        self.save_library();
    }

    /// Deletes conversation `index`; if it is the one in view, the next one comes into view.
    pub fn delete_conversation(&self, index: usize) {
        self.leave_conversation();
        self.library.update(|library| library.delete(index));
        self.show_current();
    }

    /// Stops whatever is in flight and keeps the conversation in view.
    fn leave_conversation(&self) {
        if self.is_busy() {
            self.stop();
        }
        self.cancel_retry();
        self.keep_history();
    }

    /// Tool calls waiting for the person's consent.
    pub fn consents(&self) -> ReadSignal<Vec<ConsentRequest>> {
        self.consents.read_only()
    }

    /// The person's answer to the tool call of message `id`.
    pub fn answer_consent(&self, id: MessageId, consent: Consent) {
        self.consents
            .update(|waiting| waiting.retain(|request| request.id != id));
        let sender = self
            .answers
            .try_update_value(|answers| {
                let at = answers.iter().position(|(waiting, _)| *waiting == id)?;
                Some(answers.swap_remove(at).1)
            })
            .flatten();
        if let Some(sender) = sender {
            let _ = sender.send(consent);
        }
    }

    /// Forgets the calls waiting for consent: their tasks end as stopped.
    fn clear_consents(&self) {
        self.consents.try_set(Vec::new());
        self.answers.try_update_value(Vec::clear);
    }

    /// Whether the call may run: the page's approver decides, or else the person, unless the
    /// tool needs no consent or was allowed for this conversation. `None` when the turn was
    /// stopped while waiting.
    async fn consent_to(
        &self,
        id: MessageId,
        call: &ToolCall,
        toolbox: &Toolbox,
        generation: u64,
    ) -> Option<bool> {
        let name = &call.function.name;
        if !toolbox.needs_consent(name)
            || self
                .allowed_tools
                .with_value(|allowed| allowed.contains(name))
        {
            return Some(true);
        }
        let decided = toolbox.approve(call).await;
        // Stopped, or moved on to another conversation, while the page was deciding.
        if self.generation.try_get_value() != Some(generation) {
            return None;
        }
        if decided.is_some() {
            return decided;
        }
        let (sender, receiver) = oneshot::channel();
        self.answers
            .try_update_value(|answers| answers.push((id, sender)))?;
        self.consents.try_update(|waiting| {
            waiting.push(ConsentRequest {
                id,
                name: name.clone(),
                arguments: call.function.arguments.clone(),
            })
        })?;
        match receiver.await.ok()? {
            Consent::Allow => Some(true),
            Consent::AllowForConversation => {
                self.allowed_tools
                    .try_update_value(|allowed| allowed.push(name.clone()));
                Some(true)
            }
            Consent::Deny => Some(false),
        }
    }

    /// Shows the library's current conversation, with fresh views (ids start over in each).
    fn show_current(&self) {
        self.allowed_tools.set_value(Vec::new());
        let conversation = self
            .library
            .with_untracked(|library| Conversation::from_saved(&library.current().messages));
        self.conversation.set_value(conversation);
        self.epoch.update_value(|epoch| *epoch += 1);
        self.messages.set(Vec::new());
        self.context_start.set(None);
        self.sync();
        self.save_library();
    }

    /// The names of the registered tools.
    pub fn tool_names(&self) -> Vec<String> {
        self.toolbox.with_value(|toolbox| {
            toolbox
                .definitions()
                .into_iter()
                .map(|tool| tool.function.name)
                .collect()
        })
    }

    /// The settings back to the config's values.
    pub fn reset_settings(&self) {
        self.settings
            .set(self.config.with_value(Settings::from_config));
    }

    /// The config with the settings applied, or the first problem with them.
    fn effective_config(&self) -> Result<ChatConfig, String> {
        let tools = self.tool_names();
        let config = self.config.with_value(Clone::clone);
        self.settings
            .with_untracked(|settings| settings.apply(&config, &tools))
            .map_err(|problems| {
                problems
                    .into_iter()
                    .next()
                    .map(|(_, problem)| problem)
                    .unwrap_or_default()
            })
    }

    /// Whether a request is in flight.
    pub fn is_busy(&self) -> bool {
        self.status.with(|status| {
            matches!(
                status,
                Status::Submitted | Status::Streaming | Status::RunningTools
            )
        })
    }

    /// Sends the draft. Does nothing while a reply is arriving or when the draft is blank; the
    /// draft is cleared only once the message is in the conversation.
    pub fn send(&self) {
        if self.preparing.get_untracked() > 0 {
            self.notice.set(Some(self.text(|s| s.images_preparing())));
            return;
        }
        let text = self.draft.get_untracked();
        let images = self
            .attachments
            .with_untracked(|attachments| attachments.iter().map(|a| a.image.clone()).collect());
        if self.send_message(&text, images) {
            self.draft.set(String::new());
            self.attachments.set(Vec::new());
        }
    }

    /// Sends `text` as the person's next message, leaving the draft alone. Whether it was sent:
    /// not while a reply is arriving, when `text` is blank, or while a setting is not valid.
    pub fn send_text(&self, text: &str) -> bool {
        self.send_message(text, Vec::new())
    }

    /// Calls `observer` for each [`TurnEvent`] from now on, for the life of the chat box.
    pub fn observe(&self, observer: impl Fn(&TurnEvent) + 'static) {
        self.observers
            .update_value(|observers| observers.push(Rc::new(observer)));
    }

    /// Tells the observers, once the controller's current step is over: an observer (a page's
    /// callback) may send, stop or unmount, and must find the controller in a settled state.
    fn emit(&self, event: TurnEvent) {
        let observers = self.observers;
        queue_microtask(move || {
            for observer in observers.try_get_value().unwrap_or_default() {
                observer(&event);
            }
        });
    }

    /// The images attached to the next message.
    pub fn attachments(&self) -> ReadSignal<Vec<Attachment>> {
        self.attachments.read_only()
    }

    /// How many attached images are still being prepared.
    pub fn preparing(&self) -> ReadSignal<usize> {
        self.preparing.read_only()
    }

    /// Attaches `files` to the next message, each checked, downscaled and re-encoded in turn
    /// within the config's limits. Each refused file is said why in the composer's notice; the
    /// others are attached.
    pub fn attach(&self, files: Vec<web_sys::File>) {
        if files.is_empty() {
            return;
        }
        let (enabled, most, max_side, budget) = self.config.with_value(|config| {
            (
                config.images,
                config.max_images,
                config.image_max_side,
                config.image_budget,
            )
        });
        if !enabled {
            return;
        }
        let this = *self;
        self.preparing.update(|preparing| *preparing += files.len());
        self.notice.set(None);
        spawn_local(async move {
            let mut refusals = Vec::new();
            for file in files {
                let attached = this.attachments.try_with_untracked(|attachments| {
                    (
                        attachments.len(),
                        attachments.iter().map(Attachment::bytes).sum::<usize>(),
                    )
                });
                let Some((count, used)) = attached else {
                    return; // unmounted
                };
                let outcome = if count >= most {
                    Err(Refusal::TooMany(most))
                } else {
                    prepare(&file, max_side, budget.saturating_sub(used)).await
                };
                if this
                    .preparing
                    .try_update(|preparing| *preparing -= 1)
                    .is_none()
                {
                    return;
                }
                // Other images may have been attached meanwhile (a paste during a drop): the
                // limits are checked again against what is attached now.
                let outcome = outcome.and_then(|attachment| {
                    this.attachments.with_untracked(|attached| {
                        let used: usize = attached.iter().map(Attachment::bytes).sum();
                        if attached.len() >= most {
                            Err(Refusal::TooMany(most))
                        } else if used + attachment.bytes() > budget {
                            Err(Refusal::OverBudget {
                                name: attachment.name.clone(),
                                bytes: attachment.bytes(),
                                room: budget.saturating_sub(used),
                            })
                        } else {
                            Ok(attachment)
                        }
                    })
                });
                match outcome {
                    Ok(attachment) => this.attachments.update(|list| list.push(attachment)),
                    Err(refusal) => {
                        let why = this
                            .config
                            .with_value(|config| refusal.describe(&config.strings));
                        if !refusals.contains(&why) {
                            refusals.push(why);
                        }
                    }
                }
            }
            if !refusals.is_empty() {
                this.notice.set(Some(refusals.join(" ")));
            } else if this.preparing.get_untracked() == 0 {
                // "Still being prepared" is true no more.
                let waiting = this.text(|s| s.images_preparing());
                if this.notice.get_untracked().as_deref() == Some(waiting.as_str()) {
                    this.notice.set(None);
                }
            }
        });
    }

    /// Takes the image at `index` off the next message.
    pub fn remove_attachment(&self, index: usize) {
        self.attachments.update(|attachments| {
            if index < attachments.len() {
                attachments.remove(index);
            }
        });
    }

    fn send_message(&self, text: &str, images: Vec<Image>) -> bool {
        if let Err(problem) = self.effective_config() {
            // Nothing is sent and the draft stays.
            self.notice
                .set(Some(self.config.with_value(|config| {
                    fill(config.strings.fix_settings(), &[&problem])
                })));
            return false;
        }
        self.notice.set(None);
        let submitted = self
            .conversation
            .try_update_value(|conversation| conversation.submit_with(text, images).is_ok());
        if submitted == Some(true) {
            self.start_turn(text);
            return true;
        }
        false
    }

    /// Asks for the reply to the person's message `sent`, just added to the conversation (sent,
    /// edited, or Continue).
    fn start_turn(&self, sent: &str) {
        // A new turn: a pending automatic retry of the last one is dropped.
        self.cancel_retry();
        self.retries.set_value(0);
        self.sync();
        // The person's message is kept at once, so a reload mid-reply does not lose it.
        self.keep_history();
        self.emit(TurnEvent::Sent(sent.to_owned()));
        self.request();
    }

    /// Stops the reply in flight; what arrived so far stays, marked as stopped.
    pub fn stop(&self) {
        self.cancel_retry();
        self.clear_consents();
        self.abort_in_flight();
        self.conversation.update_value(Conversation::stop);
        self.sync();
    }

    /// Asks again after a failed turn.
    pub fn retry(&self) {
        // Asked for by the person: a fresh set of automatic retries.
        self.cancel_retry();
        self.retries.set_value(0);
        self.retry_now();
    }

    /// Retries now, keeping the count of automatic retries.
    pub fn retry_now(&self) {
        self.cancel_retry();
        if self
            .conversation
            .try_update_value(|conversation| conversation.retry().is_some())
            == Some(true)
        {
            self.sync();
            self.request();
        }
    }

    /// After a reply was cut off: asks the model to go on from where it stopped. The partial
    /// answer stays and is sent; the request is a visible message of the person's.
    pub fn continue_reply(&self) {
        let asked = self.conversation.try_update_value(|conversation| {
            conversation.dismiss_error();
            conversation.submit(CONTINUE_PROMPT).is_ok()
        });
        if asked == Some(true) {
            self.start_turn(CONTINUE_PROMPT);
        }
    }

    /// Asks again for the last answer.
    pub fn regenerate(&self) {
        self.cancel_retry();
        self.retries.set_value(0);
        if self
            .conversation
            .try_update_value(|conversation| conversation.regenerate().is_some())
            == Some(true)
        {
            self.sync();
            self.request();
        }
    }

    /// Replaces the person's message `id` with `text` and sends it; what came after it goes.
    /// Returns whether it was sent (not while a reply is arriving, nor for blank text).
    pub fn edit(&self, id: MessageId, text: &str) -> bool {
        let edited = self
            .conversation
            .try_update_value(|conversation| conversation.edit(id, text).is_some());
        if edited != Some(true) {
            return false;
        }
        self.start_turn(text);
        true
    }

    /// Whether `id` is the answer Regenerate would replace: the last assistant message, with
    /// nothing arriving.
    pub fn can_regenerate(&self, id: MessageId) -> bool {
        // The answer to the person's last message: the last message but tool outputs.
        !self.is_busy()
            && self.messages.with(|views| {
                views
                    .iter()
                    .rev()
                    .find(|view| view.role != Role::Tool)
                    .is_some_and(|view| view.id == id)
            })
    }

    /// Whether `id` is the person's last message and nothing answers it (a failed turn, or one
    /// cut short by a reload): it can be sent again.
    pub fn can_send_again(&self, id: MessageId) -> bool {
        !self.is_busy()
            && self.messages.with(|views| {
                views
                    .last()
                    .is_some_and(|view| view.id == id && view.role == Role::User)
            })
    }

    /// Asks again without `parameter`, which the provider refused: it is left not set from now on.
    pub fn resend_without(&self, parameter: &str) {
        self.settings.update(|settings| settings.clear(parameter));
        self.retry();
    }

    /// Hides the error of a failed turn.
    pub fn dismiss_error(&self) {
        self.cancel_retry();
        self.conversation.update_value(Conversation::dismiss_error);
        self.sync();
    }

    fn abort_in_flight(&self) {
        // Bumping the generation makes the running reader drop whatever still arrives.
        self.generation
            .try_update_value(|generation| *generation += 1);
        if let Some(Some(abort)) = self.in_flight.try_update_value(Option::take) {
            abort.abort();
        }
    }

    fn request(&self) {
        // One request at a time: whatever was still reading (a reply that ended in an error, say)
        // is cancelled first.
        self.abort_in_flight();
        let tools = self.toolbox.with_value(Toolbox::definitions);
        let config = match self.effective_config() {
            Ok(config) => config,
            Err(problem) => {
                self.conversation
                    .update_value(|conversation| conversation.fail(ChatError::Settings(problem)));
                self.sync();
                return;
            }
        };
        let mut config = config;
        let reserved = config
            .system_prompt
            .as_ref()
            .map_or(0, |prompt| estimate_tokens(&Message::system(prompt)));
        let (history, cut) = self.conversation.with_value(|conversation| {
            conversation.history_within(config.context_budget, reserved)
        });
        if self.context_start.get_untracked() != cut {
            self.context_start.set(cut);
        }
        // A choice that forces a call applies to the person's message, not to the follow-up with
        // the tools' outputs: forced again, the model could never answer in text.
        if matches!(history.last(), Some(Message::Tool { .. }))
            && matches!(
                config.tool_choice,
                Some(ToolChoice::Required | ToolChoice::Function(_))
            )
        {
            config.tool_choice = Some(ToolChoice::Auto);
        }
        let request = config.request(history, tools);
        if let Err(error) = request.validate() {
            self.conversation
                .update_value(|conversation| conversation.fail(ChatError::Invalid(error)));
            self.sync();
            return;
        }
        let generation = self.generation.with_value(|generation| generation + 1);
        self.generation.set_value(generation);
        let reply = self
            .transport
            .with_value(|transport| transport.send(&request));
        self.in_flight.set_value(Some(reply.abort));
        let with_images = request.messages.iter().any(|message| {
            matches!(
                message,
                Message::User { content: Content::Parts(parts), .. }
                    if parts.iter().any(|part| matches!(part, ContentPart::ImageUrl { .. }))
            )
        });
        let this = *self;
        let mut events = reply.events;
        spawn_local(async move {
            while let Some(item) = events.next().await {
                if this.generation.try_get_value() != Some(generation) {
                    return; // stopped, superseded or unmounted
                }
                let status = this.conversation.try_update_value(|conversation| {
                    match item {
                        Ok(event) => conversation.apply(event),
                        Err(TransportError::Aborted) => conversation.stop(),
                        Err(error @ TransportError::Http { status: 413, .. }) if with_images => {
                            conversation.fail(ChatError::ImagesTooLarge(error))
                        }
                        Err(error) => conversation.fail(ChatError::Transport(error)),
                    }
                    conversation.status().clone()
                });
                this.sync();
                match status {
                    Some(Status::Submitted | Status::Streaming) => {}
                    // The reply is over (`[DONE]`, an error in the stream, tool calls): stop reading.
                    Some(Status::RunningTools) => {
                        this.abort_in_flight();
                        this.run_tools();
                        return;
                    }
                    _ => {
                        this.abort_in_flight();
                        this.retry_later();
                        return;
                    }
                }
            }
            if this.generation.try_get_value() == Some(generation) {
                this.conversation.update_value(Conversation::end);
                this.in_flight.set_value(None);
                this.sync();
                if this.status.get_untracked() == Status::RunningTools {
                    this.run_tools();
                }
                this.retry_later();
            }
        });
    }

    /// After a failure that may go away by itself (a rate limit, a server error, the network),
    /// when nothing of a reply arrived: tries again after the server's `Retry-After` or a
    /// backoff, counting down each second, and while the browser is offline, waits for it.
    fn retry_later(&self) {
        let Some(Status::Error(error)) = self
            .conversation
            .try_with_value(|conversation| conversation.status().clone())
        else {
            return;
        };
        let (max_retries, base_ms) = self
            .config
            .with_value(|config| (config.retry_attempts, config.retry_base_ms));
        let retries = self.retries.get_value();
        let nothing_arrived = self.conversation.with_value(|conversation| {
            conversation
                .messages()
                .last()
                .is_some_and(|message| message.role != Role::Assistant)
        });
        if !retry::is_retryable(&error) || !nothing_arrived || retries >= max_retries {
            return;
        }
        let retry_after = match &error {
            ChatError::Transport(TransportError::Http { retry_after, .. }) => retry_after.clone(),
            _ => None,
        };
        let policy = RetryPolicy {
            max_retries,
            base: Duration::from_millis(base_ms),
            ..RetryPolicy::default()
        };
        let attempt = retries + 1;
        self.retries.set_value(attempt);
        let now = js_sys::Date::now();
        let wait = policy.delay(
            attempt,
            retry_after.as_deref(),
            now as u64,
            js_sys::Math::random(),
        );
        let due = now + wait.as_millis() as f64;
        let generation = self
            .retry_generation
            .with_value(|generation| generation + 1);
        self.retry_generation.set_value(generation);
        self.tick_retry(generation, attempt, max_retries, due);
    }

    /// Shows the time left, and retries when it is up (and the browser is online).
    fn tick_retry(&self, generation: u64, attempt: u32, of: u32, due: f64) {
        if self.retry_generation.try_get_value() != Some(generation) {
            return; // cancelled, superseded or unmounted
        }
        let offline = !window().navigator().on_line();
        let left = (due - js_sys::Date::now()).max(0.0);
        if left <= 0.0 && !offline {
            self.retry_now();
            return;
        }
        let seconds_left = (left / 1000.0).ceil() as u64;
        self.pending_retry.set(Some(PendingRetry {
            attempt,
            of,
            seconds_left,
            offline,
        }));
        let this = *self;
        // Wake when the shown number of seconds changes (or once a second while offline).
        let to_next_second = match left % 1000.0 {
            0.0 => 1000.0,
            rest => rest,
        };
        let next = if offline {
            1000.0
        } else {
            to_next_second.max(1.0)
        };
        set_timeout(
            move || this.tick_retry(generation, attempt, of, due),
            Duration::from_millis(next as u64),
        );
    }

    /// Runs the handlers of the reply's tool calls, all at once; each output is shown as it
    /// arrives. When all have answered, asks the model again with their outputs.
    fn run_tools(&self) {
        let generation = self.generation.get_value();
        let calls = self.conversation.with_value(Conversation::running_tools);
        let toolbox = self.toolbox.with_value(Toolbox::clone);
        let this = *self;
        spawn_local(async move {
            let runs = calls.into_iter().map(|(id, call)| {
                let toolbox = toolbox.clone();
                async move {
                    let consented = this.consent_to(id, &call, &toolbox, generation).await;
                    if this.generation.try_get_value() != Some(generation) {
                        return; // stopped or unmounted
                    }
                    let result = match consented {
                        Some(true) => toolbox.call(&call).await,
                        Some(false) => Err(this
                            .config
                            .with_value(|config| config.strings.tool_declined().to_owned())),
                        None => return,
                    };
                    if this.generation.try_get_value() != Some(generation) {
                        return; // stopped or unmounted
                    }
                    this.conversation.update_value(|conversation| {
                        conversation.finish_tool(id, output_text(&result), result.is_ok())
                    });
                    this.sync();
                }
            });
            futures_util::future::join_all(runs).await;
            if this.generation.try_get_value() != Some(generation) {
                return;
            }
            let max_rounds = this.config.with_value(|config| config.max_tool_rounds);
            let next = this
                .conversation
                .try_update_value(|conversation| conversation.continue_after_tools(max_rounds))
                .flatten();
            this.sync();
            if next.is_some() {
                this.request();
            }
        });
    }

    /// Brings the signals in line with the conversation, touching only what changed: text is
    /// appended, never replaced, so a token costs the length of the token.
    fn sync(&self) {
        let mut ended = None;
        self.conversation.with_value(|conversation| {
            let messages = conversation.messages();
            let same_list = self.messages.with_untracked(|views| {
                views.len() == messages.len()
                    && views
                        .iter()
                        .zip(messages)
                        .all(|(view, message)| view.id == message.id)
            });
            if !same_list {
                let Some(owner) = self.owner.with_value(WeakOwner::upgrade) else {
                    return;
                };
                let epoch = self.epoch.get_value();
                self.messages.update(|views| {
                    let mut old = std::mem::take(views);
                    *views = messages
                        .iter()
                        .map(
                            |message| match old.iter().position(|view| view.id == message.id) {
                                Some(at) => old.swap_remove(at),
                                None => owner.with(|| MessageView {
                                    epoch,
                                    id: message.id,
                                    role: message.role,
                                    text: RwSignal::new(String::new()),
                                    status: RwSignal::new(message.status),
                                    tool_calls: RwSignal::new(Vec::new()),
                                    usage: RwSignal::new(None),
                                    tool_name: StoredValue::new(
                                        message.tool_call.as_ref().map(|(_, name)| name.clone()),
                                    ),
                                    images: StoredValue::new(message.images.clone()),
                                    restored: message.restored,
                                }),
                            },
                        )
                        .collect();
                    // The signals of a removed message (a failed, empty reply) are not disposed
                    // here: the view may still read them while it takes the message away. They go
                    // with the chat box.
                });
            }
            self.messages.with_untracked(|views| {
                for (view, message) in views.iter().zip(messages) {
                    // A message's text only ever grows (see `Conversation`), so the part not yet
                    // shown is the part after what is shown.
                    let shown = view.text.with_untracked(String::len);
                    if let Some(rest) = message.text.get(shown..).filter(|rest| !rest.is_empty()) {
                        view.text.update(|text| text.push_str(rest));
                    }
                    if view.status.get_untracked() != message.status {
                        view.status.set(message.status);
                    }
                    if view.tool_calls.with_untracked(Vec::len) != message.tool_calls.len() {
                        view.tool_calls.set(message.tool_calls.clone());
                    }
                    if view.usage.get_untracked() != message.usage {
                        view.usage.set(message.usage);
                    }
                }
            });
            if self
                .status
                .with_untracked(|status| status != conversation.status())
            {
                self.status.set(conversation.status().clone());
            }
            let busy = conversation.is_busy();
            if self.was_busy.get_value() && !busy {
                ended = Some(match conversation.status() {
                    Status::Error(error) => Some(TurnEvent::Failed(error.clone())),
                    _ => conversation
                        .messages()
                        .last()
                        .filter(|last| {
                            last.role == Role::Assistant && last.status == MessageStatus::Done
                        })
                        .map(|last| TurnEvent::Replied(last.text.clone())),
                });
            }
            self.was_busy.set_value(busy);
        });
        if let Some(event) = ended {
            self.keep_history();
            if let Some(event) = event {
                self.emit(event);
            }
        }
    }
}
