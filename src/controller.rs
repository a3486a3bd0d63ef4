//! The driver of a chat box's [`Session`]: it feeds the session what the person does and what the
//! transport, the tools and the timers deliver, carries out the session's effects with the
//! browser's means, and mirrors the session into signals, one set per message, so a new token
//! touches one message's text and nothing else. What a turn does is decided in `chat_widget_core`; what is
//! here is I/O and reactivity.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chat_protocol::{PolicySummary, Source, ToolCall, Usage};
use chat_widget_core::session::{Changes, Refusal};
use chat_widget_core::strings::fill;
use chat_widget_core::{
    Effect as SessionEffect, Feedback, Input, Library, MessageId, MessageStatus, Role, Session,
    SessionConfig, Settings, Status, Strings, Ticket, TransportError,
};
use futures_util::StreamExt;
use leptos::leptos_dom::helpers::TimeoutHandle;
use leptos::prelude::*;
use leptos::reactive::owner::WeakOwner;
use leptos::task::spawn_local;

use crate::attachments::{prepare, Attachment, Refusal as ImageRefusal};
use crate::config::ChatConfig;
use crate::storage;
use crate::tools::Toolbox;
use crate::transport::{AbortHandle, Reply, SharedTransport};
use crate::voice::Voice;
use chat_widget_core::conversation::Image;

pub use chat_widget_core::session::{
    Consent, ConsentRequest, PendingRetry, TurnEvent, CONTINUE_PROMPT,
};

/// The reactive mirror of one message.
#[derive(Clone, Copy, Debug)]
pub struct MessageView {
    /// The message's stable id (unique among every conversation the chat box shows).
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
    /// The id the page sees (events, `data-id`), kept with the conversation.
    pub uid: StoredValue<String>,
    /// The person's rating, for a reply.
    pub feedback: RwSignal<Option<Feedback>>,
    /// A reply's reasoning so far; only ever appended to.
    pub reasoning: RwSignal<String>,
    /// How long the reasoning took, once the answer began.
    pub thought_ms: RwSignal<Option<u64>>,
    /// The sources a reply cites.
    pub sources: RwSignal<Vec<Source>>,
}

impl MessageView {
    /// Frees its signals, once the view no longer shows it.
    fn dispose(self) {
        self.text.dispose();
        self.status.dispose();
        self.tool_calls.dispose();
        self.usage.dispose();
        self.tool_name.dispose();
        self.images.dispose();
        self.uid.dispose();
        self.feedback.dispose();
        self.reasoning.dispose();
        self.thought_ms.dispose();
        self.sources.dispose();
    }
}

/// What the chat box's observers hear: a turn's news, and what the person did around it.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatEvent {
    /// News of a turn, from the session.
    Turn(TurnEvent),
    /// The launcher's panel opened.
    Opened,
    /// The launcher's panel closed.
    Closed,
    /// The person clicked a suggestion.
    Suggestion {
        /// Its place in the config's list.
        index: usize,
        /// Its text.
        text: String,
    },
}

/// Hears of each [`ChatEvent`].
type Observer = Rc<dyn Fn(&ChatEvent)>;

/// The observers, each under the number it was registered with.
#[derive(Default)]
struct Observers {
    last: u64,
    registered: Vec<(u64, Observer)>,
}

/// Runs one chat box: its session, the request in flight, and the composer's draft.
#[derive(Clone, Copy)]
pub struct ChatController {
    session: StoredValue<Session>,
    config: StoredValue<ChatConfig>,
    transport: StoredValue<SharedTransport, LocalStorage>,
    toolbox: StoredValue<Toolbox, LocalStorage>,
    /// The chat box's owner: message signals are created under it, whatever code mirrors the
    /// session (an event handler, the reply's task), so they live at most as long as the chat box.
    /// A weak handle: the chat box's owner owns the controller, not the reverse.
    owner: StoredValue<WeakOwner>,
    /// The request being read, and how to cancel it.
    in_flight: StoredValue<Option<(Ticket, AbortHandle)>, LocalStorage>,
    /// The session's wake-up, if one is set.
    wake: StoredValue<Option<TimeoutHandle>, LocalStorage>,
    messages: RwSignal<Vec<MessageView>>,
    status: RwSignal<Status>,
    pending_retry: RwSignal<Option<PendingRetry>>,
    context_start: RwSignal<Option<MessageId>>,
    library: RwSignal<Library>,
    consents: RwSignal<Vec<ConsentRequest>>,
    draft: RwSignal<String>,
    /// What opens every conversation: the config's welcome, or the greeting that opened the chat.
    welcome: RwSignal<Option<String>>,
    /// The settings panel's values; they replace the config's parameters.
    settings: RwSignal<Settings>,
    /// What the relay's policy pins, once it is known (nothing until then, and from a provider).
    policy: RwSignal<PolicySummary>,
    /// Why the last Send was refused before anything was sent (a setting out of range).
    notice: RwSignal<Option<String>>,
    /// Why history will not be kept on this device, said once.
    storage_notice: RwSignal<Option<String>>,
    /// The images attached to the next message.
    attachments: RwSignal<Vec<Attachment>>,
    /// How many attached images are still being prepared.
    preparing: RwSignal<usize>,
    /// Who hears of each message sent, reply finished and turn failed.
    observers: StoredValue<Observers, LocalStorage>,
    /// Dictation and reading aloud, when the config offers them.
    voice: Option<Voice>,
}

impl ChatController {
    /// A controller for the config's widget, with its kept conversations. Aborts its request when
    /// its owner is cleaned up (the chat box unmounts).
    pub fn new(config: ChatConfig, transport: SharedTransport, toolbox: Toolbox) -> Self {
        let id = config.id.clone();
        let mut storage_notice = None;
        let library = match storage::load_library(&id) {
            Ok(library) => library.unwrap_or_default(),
            // Unreadable storage was cleared: the conversation is kept from now on.
            Err(error @ (storage::StorageError::Corrupt | storage::StorageError::OtherVersion)) => {
                storage_notice = Some(fill(
                    config.strings.not_restored(),
                    &[&error.describe(&config.strings)],
                ));
                Library::default()
            }
            Err(error) => {
                storage_notice = Some(fill(
                    config.strings.not_kept(),
                    &[&error.describe(&config.strings)],
                ));
                Library::default()
            }
        };
        let tools = toolbox.definitions();
        let tool_names: Vec<String> = tools
            .iter()
            .map(|tool| tool.function.name.clone())
            .collect();
        let base = Settings::from_parameters(&config.parameters());
        // Saved values apply only where the person can see and change them.
        let saved = storage::load_settings(&id, &base).filter(|_| config.show_settings);
        let settings = Settings::restore(saved, &base, &config.editable, &tool_names);
        let session = Session::new(
            SessionConfig {
                parameters: config.parameters(),
                strings: config.strings.clone(),
                tools,
                confirm: toolbox.needing_consent(),
                page_approves: toolbox.has_approver(),
                max_tool_rounds: config.max_tool_rounds,
                retry: config.retry_policy(),
                context_budget: config.context_budget,
                // Unique to this visit: the time and a random number.
                uid_prefix: format!(
                    "{:x}{:04x}-",
                    now_ms(),
                    (js_sys::Math::random() * 65_536.0) as u32
                ),
            },
            library.clone(),
            settings.clone(),
        );
        let voice = config.voice.then(|| {
            let page = || {
                web_sys::window()?
                    .document()?
                    .document_element()?
                    .get_attribute("lang")
            };
            Voice::new(config.locale.clone().or_else(page).unwrap_or_default())
        });
        let welcome = config
            .welcome
            .clone()
            .filter(|welcome| !welcome.trim().is_empty());
        let controller = ChatController {
            session: StoredValue::new(session),
            config: StoredValue::new(config),
            transport: StoredValue::new_local(transport),
            toolbox: StoredValue::new_local(toolbox),
            owner: StoredValue::new(Owner::current().unwrap_or_default().downgrade()),
            in_flight: StoredValue::new_local(None),
            wake: StoredValue::new_local(None),
            messages: RwSignal::new(Vec::new()),
            status: RwSignal::new(Status::Ready),
            pending_retry: RwSignal::new(None),
            context_start: RwSignal::new(None),
            library: RwSignal::new(library),
            consents: RwSignal::new(Vec::new()),
            draft: RwSignal::new(String::new()),
            welcome: RwSignal::new(welcome),
            settings: RwSignal::new(settings),
            policy: RwSignal::new(PolicySummary::default()),
            notice: RwSignal::new(None),
            storage_notice: RwSignal::new(storage_notice),
            attachments: RwSignal::new(Vec::new()),
            preparing: RwSignal::new(0),
            observers: StoredValue::new_local(Observers::default()),
            voice,
        };
        controller.mirror();
        controller.learn_policy();
        // The page was reloaded in the middle of a reply the relay keeps: it goes on.
        if let Some((name, to)) = storage::take_reply(&id) {
            controller.dispatch(Input::Resume { name, to });
        }
        // Settings survive a reload: they are saved whenever they change.
        Effect::new(move |_| {
            controller
                .settings
                .with(|settings| storage::save_settings(&id, &base, settings))
        });
        on_cleanup(move || {
            if let Some(Some(wake)) = controller.wake.try_update_value(Option::take) {
                wake.clear();
            }
            if let Some(Some((_, abort))) = controller.in_flight.try_update_value(Option::take) {
                abort.abort();
            }
        });
        controller
    }

    /// Feeds `input` to the session, mirrors what changed and carries out its effects. Returns
    /// the effects, for the caller to read what became of its input.
    fn dispatch(&self, input: Input) -> Vec<SessionEffect> {
        let from_transport = matches!(input, Input::Stream { .. } | Input::StreamEnd { .. });
        if !from_transport {
            // The panel edits the settings' signal; the session builds requests from them.
            let settings = self.settings.get_untracked();
            self.session.try_update_value(|session| {
                if *session.settings() != settings {
                    session.set_settings(settings);
                }
            });
        }
        let now = now_ms();
        let Some(effects) = self
            .session
            .try_update_value(|session| session.handle(input, now, js_sys::Math::random()))
        else {
            return Vec::new(); // unmounted
        };
        self.mirror();
        for effect in &effects {
            self.perform(effect);
        }
        effects
    }

    /// Asks the relay for its policy: requests are fitted to it, and the settings panel offers
    /// only what it leaves open. Asked when the chat box starts, and again when the relay refuses
    /// a request by its policy (it may have changed, or not have arrived in time), so that Retry
    /// sends a request that fits.
    fn learn_policy(&self) {
        let this = *self;
        let Some(asked) = self
            .transport
            .try_with_value(|transport| transport.policy())
        else {
            return;
        };
        spawn_local(async move {
            let Some(policy) = asked.await else {
                return;
            };
            this.session
                .try_update_value(|session| session.set_policy(policy.clone()));
            this.policy.try_set(policy);
        });
    }

    /// Reads `reply` (request `ticket`) into the session. While it comes, the name the server
    /// keeps it under is remembered for this tab, so that a reload follows it again.
    fn follow(&self, ticket: Ticket, reply: Reply) {
        let this = *self;
        self.in_flight.set_value(Some((ticket, reply.abort)));
        let id = self.config.with_value(|config| config.id.clone());
        // Remembered as soon as the relay names it, with the message it answers.
        let remembered = Rc::new(RefCell::new(None::<String>));
        let to = self
            .session
            .with_value(|session| session.conversation().replying_to().map(str::to_owned));
        if let Some(to) = to {
            let (id, remembered) = (id.clone(), remembered.clone());
            reply.kept.when_named(move |name| {
                storage::keep_reply(&id, name, &to);
                *remembered.borrow_mut() = Some(name.to_owned());
            });
        }
        let mut events = reply.events;
        spawn_local(async move {
            while let Some(item) = events.next().await {
                if !this.reading(ticket) {
                    break; // aborted, superseded or unmounted
                }
                if let Err(TransportError::Http { error, .. }) = &item {
                    if error.kind.as_deref() == Some("policy_violation") {
                        this.learn_policy();
                    }
                }
                this.dispatch(Input::Stream { ticket, item });
            }
            if let Some(name) = remembered.borrow_mut().take() {
                storage::forget_reply(&id, &name);
            }
            if this.reading(ticket) {
                this.in_flight.set_value(None);
                this.dispatch(Input::StreamEnd { ticket });
            }
        });
    }

    /// Carries out one effect of the session.
    fn perform(&self, effect: &SessionEffect) {
        let this = *self;
        match effect {
            SessionEffect::Send { ticket, request } => {
                let reply = self
                    .transport
                    .with_value(|transport| transport.send(request));
                self.follow(*ticket, reply);
            }
            SessionEffect::Resume { ticket, name } => {
                match self
                    .transport
                    .with_value(|transport| transport.resume(name))
                {
                    Some(reply) => self.follow(*ticket, reply),
                    None => {
                        let ticket = *ticket;
                        let item = Err(TransportError::Network(
                            "this transport cannot follow a reply again".to_owned(),
                        ));
                        self.dispatch(Input::Stream { ticket, item });
                        self.dispatch(Input::StreamEnd { ticket });
                    }
                }
            }
            SessionEffect::Abort(ticket) => {
                let reading = self
                    .in_flight
                    .try_update_value(|in_flight| {
                        in_flight
                            .take_if(|(current, _)| current == ticket)
                            .map(|(_, abort)| abort)
                    })
                    .flatten();
                if let Some(abort) = reading {
                    abort.abort();
                }
            }
            SessionEffect::Approve { ticket, id, call } => {
                let (ticket, id, call) = (*ticket, *id, call.clone());
                let toolbox = self.toolbox.with_value(Toolbox::clone);
                spawn_local(async move {
                    let decision = toolbox.approve(&call).await;
                    this.dispatch(Input::Approval {
                        ticket,
                        id,
                        decision,
                    });
                });
            }
            SessionEffect::RunTool { ticket, id, call } => {
                let (ticket, id, call) = (*ticket, *id, call.clone());
                let toolbox = self.toolbox.with_value(Toolbox::clone);
                spawn_local(async move {
                    let result = toolbox.call(&call).await;
                    this.dispatch(Input::ToolDone { ticket, id, result });
                });
            }
            SessionEffect::WakeAt(at) => {
                let wait = Duration::from_millis(at.saturating_sub(now_ms()));
                let handle = set_timeout_with_handle(
                    move || {
                        let online = window().navigator().on_line();
                        this.dispatch(Input::Wake { online });
                    },
                    wait,
                )
                .ok();
                if let Some(Some(earlier)) = self
                    .wake
                    .try_update_value(|wake| std::mem::replace(wake, handle))
                {
                    earlier.clear();
                }
            }
            SessionEffect::Save => {
                let library = self.session.with_value(|session| session.library().clone());
                let id = self.config.with_value(|config| config.id.clone());
                if let Err(error) = storage::save_library(&id, &library) {
                    self.history_not_kept(error);
                }
                self.library.set(library);
            }
            SessionEffect::Notify(event) => self.emit(ChatEvent::Turn(event.clone())),
            SessionEffect::Refused(Refusal::Settings(problem)) => {
                let notice = self.text(|s| s.fix_settings());
                self.notice.set(Some(fill(&notice, &[problem])));
            }
            SessionEffect::Refused(Refusal::Busy | Refusal::Empty) => {}
        }
    }

    /// Whether request `ticket` is still the one being read.
    fn reading(&self, ticket: Ticket) -> bool {
        self.in_flight.try_with_value(
            |in_flight| matches!(in_flight, Some((current, _)) if *current == ticket),
        ) == Some(true)
    }

    /// Brings the signals in line with the session, touching only what changed: a token appends
    /// to its message's text and touches nothing else.
    fn mirror(&self) {
        let Some(changes) = self.session.try_update_value(Session::take_changes) else {
            return;
        };
        self.session.with_value(|session| {
            if changes.all {
                self.mirror_all(session);
            } else {
                self.mirror_some(session, &changes);
            }
            set_if_changed(self.status, session.status());
            set_if_changed(self.pending_retry, &session.pending_retry(now_ms()));
            set_if_changed(self.context_start, &session.context_start());
            if self
                .consents
                .with_untracked(|shown| shown.as_slice() != session.consents())
            {
                self.consents.set(session.consents().to_vec());
            }
        });
    }

    /// The messages of `changes`, found from the newest (where a reply streams).
    fn mirror_some(&self, session: &Session, changes: &Changes) {
        self.messages.with_untracked(|views| {
            for id in &changes.messages {
                let view = views.iter().rev().find(|view| view.id == *id);
                if let (Some(view), Some(message)) = (view, session.conversation().message(*id)) {
                    update_view(view, message);
                }
            }
        });
    }

    /// Every message: views for new ones, and the signals of those that left are freed.
    fn mirror_all(&self, session: &Session) {
        let messages = session.conversation().messages();
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
            let mut left = Vec::new();
            self.messages.update(|views| {
                let mut old = std::mem::take(views);
                *views = messages
                    .iter()
                    .map(
                        |message| match old.iter().position(|view| view.id == message.id) {
                            Some(at) => old.swap_remove(at),
                            None => owner.with(|| MessageView {
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
                                uid: StoredValue::new(message.uid.clone()),
                                feedback: RwSignal::new(message.feedback.clone()),
                                reasoning: RwSignal::new(String::new()),
                                thought_ms: RwSignal::new(None),
                                sources: RwSignal::new(Vec::new()),
                            }),
                        },
                    )
                    .collect();
                left = old;
            });
            if !left.is_empty() {
                // Freed once the view has taken the messages away (it may read them until then).
                set_timeout(
                    move || left.into_iter().for_each(MessageView::dispose),
                    Duration::ZERO,
                );
            }
        }
        self.messages.with_untracked(|views| {
            for (view, message) in views.iter().zip(messages) {
                update_view(view, message);
            }
        });
    }

    /// A string of the chat box's table ([`Strings`]), with the config's overrides.
    pub fn text(&self, pick: impl FnOnce(&Strings) -> &str) -> String {
        self.config
            .with_value(|config| pick(&config.strings).to_owned())
    }

    /// Replaces the words the chat box shows from now on (views built before keep theirs: a
    /// [`crate::ChatBox`] draws itself again when its `strings` change).
    pub fn set_strings(&self, strings: Strings) {
        self.session
            .update_value(|session| session.set_strings(strings.clone()));
        self.config.update_value(|config| config.strings = strings);
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

    /// What opens every conversation (Markdown, never sent to the model), if anything.
    pub fn welcome(&self) -> RwSignal<Option<String>> {
        self.welcome
    }

    /// What the relay's policy pins (nothing until it is known).
    pub fn policy(&self) -> Signal<PolicySummary> {
        self.policy.into()
    }

    /// The settings panel's values, which replace the config's parameters.
    pub fn settings(&self) -> RwSignal<Settings> {
        self.settings
    }

    /// Why the last Send was refused, if it was.
    pub fn notice(&self) -> ReadSignal<Option<String>> {
        self.notice.read_only()
    }

    /// Says `notice` in the composer until the next message is sent.
    pub fn tell(&self, notice: String) {
        self.notice.set(Some(notice));
    }

    /// Dictation and reading aloud, when the config offers them (`voice`).
    pub fn voice(&self) -> Option<Voice> {
        self.voice
    }

    /// The automatic retry being waited for, if any.
    pub fn pending_retry(&self) -> ReadSignal<Option<PendingRetry>> {
        self.pending_retry.read_only()
    }

    /// Stops waiting for the automatic retry; the error stays, with its Retry button.
    pub fn cancel_retry(&self) {
        self.dispatch(Input::CancelRetry);
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

    /// The conversations: their titles and which is in view.
    pub fn library(&self) -> ReadSignal<Library> {
        self.library.read_only()
    }

    /// Starts a new conversation; the one in view is kept.
    pub fn new_conversation(&self) {
        self.dispatch(Input::NewConversation);
    }

    /// Puts conversation `index` in view; the one in view is kept.
    pub fn switch_conversation(&self, index: usize) {
        self.dispatch(Input::SwitchConversation(index));
    }

    /// Renames conversation `index`.
    pub fn rename_conversation(&self, index: usize, title: &str) {
        self.dispatch(Input::RenameConversation(index, title.to_owned()));
    }

    /// Deletes conversation `index`; if it is the one in view, the next one comes into view.
    pub fn delete_conversation(&self, index: usize) {
        self.dispatch(Input::DeleteConversation(index));
    }

    /// Tool calls waiting for the person's consent.
    pub fn consents(&self) -> ReadSignal<Vec<ConsentRequest>> {
        self.consents.read_only()
    }

    /// The person's answer to the tool call of message `id`.
    pub fn answer_consent(&self, id: MessageId, consent: Consent) {
        self.dispatch(Input::Consent { id, consent });
    }

    /// The names of the registered tools.
    pub fn tool_names(&self) -> Vec<String> {
        self.session.with_value(Session::tool_names)
    }

    /// The settings back to the config's values.
    pub fn reset_settings(&self) {
        self.settings.set(
            self.config
                .with_value(|config| Settings::from_parameters(&config.parameters())),
        );
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
        if self.send_message(text, images) {
            self.draft.set(String::new());
            self.attachments.set(Vec::new());
        }
    }

    /// Sends `text` as the person's next message, leaving the draft alone. Whether it was sent:
    /// not while a reply is arriving, when `text` is blank, or while a setting is not valid.
    pub fn send_text(&self, text: &str) -> bool {
        self.send_message(text.to_owned(), Vec::new())
    }

    fn send_message(&self, text: String, images: Vec<Image>) -> bool {
        let sent = was_sent(&self.dispatch(Input::Send { text, images }));
        if sent {
            self.notice.set(None);
        }
        sent
    }

    /// Calls `observer` for each [`ChatEvent`] from now on, until the reactive owner current when
    /// it is called is cleaned up: the chat box's own lives as long as the chat box; one of a
    /// part drawn again (the launcher, in other words) goes with the part; one registered in an
    /// effect goes when the effect runs again.
    pub fn observe(&self, observer: impl Fn(&ChatEvent) + 'static) {
        let observers = self.observers;
        let registered = observers.try_update_value(|observers| {
            observers.last += 1;
            let number = observers.last;
            observers.registered.push((number, Rc::new(observer)));
            number
        });
        if let Some(number) = registered {
            on_cleanup(move || {
                observers.try_update_value(|observers| {
                    observers.registered.retain(|(each, _)| *each != number)
                });
            });
        }
    }

    /// Tells the observers, once the controller's current step is over: an observer (a page's
    /// callback) may send, stop or unmount, and must find the controller in a settled state.
    pub fn emit(&self, event: ChatEvent) {
        let observers = self.observers;
        queue_microtask(move || {
            let now: Vec<Observer> = observers
                .try_with_value(|observers| {
                    let each = observers.registered.iter();
                    each.map(|(_, observer)| observer.clone()).collect()
                })
                .unwrap_or_default();
            for observer in now {
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
                    Err(ImageRefusal::TooMany(most))
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
                            Err(ImageRefusal::TooMany(most))
                        } else if used + attachment.bytes() > budget {
                            Err(ImageRefusal::OverBudget {
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

    /// Stops the reply in flight; what arrived so far stays, marked as stopped.
    pub fn stop(&self) {
        self.dispatch(Input::Stop);
    }

    /// Asks again after a failed turn.
    pub fn retry(&self) {
        self.dispatch(Input::Retry);
    }

    /// Retries now, keeping the count of automatic retries.
    pub fn retry_now(&self) {
        self.dispatch(Input::RetryNow);
    }

    /// After a reply was cut off: asks the model to go on from where it stopped. The partial
    /// answer stays and is sent; the request is a visible message of the person's.
    pub fn continue_reply(&self) {
        self.dispatch(Input::Continue);
    }

    /// Asks again for the last answer.
    pub fn regenerate(&self) {
        self.dispatch(Input::Regenerate);
    }

    /// Replaces the person's message `id` with `text` and sends it; what came after it goes.
    /// Returns whether it was sent (not while a reply is arriving, nor for blank text).
    pub fn edit(&self, id: MessageId, text: &str) -> bool {
        was_sent(&self.dispatch(Input::Edit {
            id,
            text: text.to_owned(),
        }))
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

    /// Rates reply `id` (or takes the rating back with `None`); kept with the conversation and
    /// told to the observers.
    pub fn rate(&self, id: MessageId, feedback: Option<Feedback>) {
        self.dispatch(Input::Rate { id, feedback });
    }

    /// Sends suggestion `index` of the config's list, as if typed, and tells the observers.
    pub fn suggest(&self, index: usize) {
        let Some(text) = self
            .config
            .with_value(|config| config.suggestions.get(index).cloned())
        else {
            return;
        };
        self.emit(ChatEvent::Suggestion {
            index,
            text: text.clone(),
        });
        self.send_text(&text);
    }

    /// Hides the error of a failed turn.
    pub fn dismiss_error(&self) {
        self.dispatch(Input::DismissError);
    }
}

/// Whether the person's message went out.
fn was_sent(effects: &[SessionEffect]) -> bool {
    effects
        .iter()
        .any(|effect| matches!(effect, SessionEffect::Notify(TurnEvent::Sent { .. })))
}

/// The message's view brought in line with it: text is appended, never replaced, so a token costs
/// the length of the token.
fn update_view(view: &MessageView, message: &chat_widget_core::ChatMessage) {
    // A message's text only ever grows (see `Conversation`), so the part not yet shown is the part
    // after what is shown.
    let shown = view.text.with_untracked(String::len);
    if let Some(rest) = message.text.get(shown..).filter(|rest| !rest.is_empty()) {
        view.text.update(|text| text.push_str(rest));
    }
    let shown = view.reasoning.with_untracked(String::len);
    if let Some(rest) = message
        .reasoning
        .get(shown..)
        .filter(|rest| !rest.is_empty())
    {
        view.reasoning.update(|reasoning| reasoning.push_str(rest));
    }
    set_if_changed(view.thought_ms, &message.thought_ms);
    set_if_changed(view.sources, &message.sources);
    if view.status.get_untracked() != message.status {
        view.status.set(message.status);
    }
    if view.tool_calls.with_untracked(Vec::len) != message.tool_calls.len() {
        view.tool_calls.set(message.tool_calls.clone());
    }
    if view.usage.get_untracked() != message.usage {
        view.usage.set(message.usage);
    }
    if view
        .feedback
        .with_untracked(|shown| *shown != message.feedback)
    {
        view.feedback.set(message.feedback.clone());
    }
}

fn set_if_changed<T: Clone + PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: &T) {
    if signal.with_untracked(|shown| shown != value) {
        signal.set(value.clone());
    }
}

/// The time, in Unix milliseconds.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
