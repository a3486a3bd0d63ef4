//! The words of the chat box's controls, in one table a config can override (`"strings"`), so a
//! site can speak its users' language. English is built in. `{}` in a string is filled in order.

use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, Error as _};

/// Declares the table once: each entry's method, its key in a config, and its English.
macro_rules! strings {
    ($($field:ident = $key:literal => $english:expr,)*) => {
        /// The keys a config may set, in the table's order.
        const KEYS: &[&str] = &[$($key,)*];

        /// The built-in English, in the same order.
        const ENGLISH: &[&str] = &[$($english,)*];

        /// Each entry's place in the table.
        #[allow(non_camel_case_types)]
        enum Entry {
            $($field,)*
        }

        impl Strings {
            $(
                #[doc = concat!("`", $key, "`: \"", $english, "\" in English.")]
                pub fn $field(&self) -> &str {
                    self.get(Entry::$field as usize)
                }
            )*
        }
    };
}

/// Every label, button, status, notice and error description of the chat box: English, with the
/// config's overrides. (The provider's own error messages are shown as they are.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strings {
    /// `(entry, text)` for each string the config overrides; usually none or a few.
    overrides: Vec<(usize, String)>,
}

impl Strings {
    /// Every key a config may set.
    pub fn keys() -> &'static [&'static str] {
        KEYS
    }

    /// The built-in English of `key`, if it is one of [`Strings::keys`].
    pub fn english(key: &str) -> Option<&'static str> {
        KEYS.iter()
            .position(|known| *known == key)
            .map(|entry| ENGLISH[entry])
    }

    fn get(&self, entry: usize) -> &str {
        self.overrides
            .iter()
            .find(|(at, _)| *at == entry)
            .map_or(ENGLISH[entry], |(_, text)| text.as_str())
    }
}

strings! {
    send = "send" => "Send",
    stop = "stop" => "Stop",
    message_box = "message_box" => "Message",
    messages = "messages" => "Messages",
    settings = "settings" => "Settings",
    open_chat = "open_chat" => "Open chat",
    close_chat = "close_chat" => "Close chat",
    retry = "retry" => "Retry",
    retry_now = "retry_now" => "Retry now",
    cancel = "cancel" => "Cancel",
    dismiss = "dismiss" => "Dismiss",
    continue_reply = "continue" => "Continue",
    copy = "copy" => "Copy",
    copy_code = "copy_code" => "Copy code",
    copied = "copied" => "Copied",
    code = "code" => "code",
    press_to_copy = "press_to_copy" => "Press Ctrl+C to copy",
    edit = "edit" => "Edit",
    edit_message = "edit_message" => "Edit message",
    send_edited = "send_edited" => "Send edited",
    send_again = "send_again" => "Send again",
    regenerate = "regenerate" => "Regenerate",
    thinking = "thinking" => "Thinking…",
    reconnecting = "reconnecting" => "Reconnecting…",
    running = "running" => "Running…",
    failed = "failed" => "Failed",
    stopped = "stopped" => "Stopped",
    did_not_finish = "did_not_finish" => "Did not finish",
    tool = "tool" => "Tool",
    tool_calls = "tool_calls" => "Tool calls",
    tool_returned = "tool_returned" => "A tool returned:",
    usage = "usage" => "{} tokens in, {} out",
    you_said = "you_said" => "You said:",
    assistant_said = "assistant_said" => "The assistant said:",
    instructions = "instructions" => "Instructions:",
    reply_ready = "reply_ready" => "The assistant replied: {}",
    run_tool = "run_tool" => "Run the tool {}?",
    allow = "allow" => "Allow",
    allow_always = "allow_always" => "Allow for this conversation",
    deny = "deny" => "Deny",
    tool_declined = "tool_declined" => "The person declined to run this tool.",
    show_image = "show_image" => "🖼 Show image: {}",
    loading = "loading" => "Loading the chat…",
    load_failed = "load_failed" => "The chat could not be loaded.",
    retrying_in = "retrying_in" => "Trying again in {} s (retry {} of {}).",
    offline = "offline" => "You are offline. The message is sent again when the connection is back.",
    not_accepted = "not_accepted" => "The provider does not accept {}.",
    send_without = "send_without" => "Send without {}",
    history_budget = "history_budget" => "Earlier messages are not sent to the model: they exceed the history budget.",
    conversation = "conversation" => "Conversation",
    conversations = "conversations" => "Conversations",
    conversation_title = "conversation_title" => "Conversation title",
    new_conversation = "new_conversation" => "New",
    rename = "rename" => "Rename",
    save_title = "save_title" => "Save title",
    delete = "delete" => "Delete",
    export_markdown = "export_markdown" => "Export Markdown",
    export_json = "export_json" => "Export JSON",
    done = "done" => "Done",
    reset_settings = "reset_settings" => "Reset to defaults",
    attach_images = "attach_images" => "Attach images",
    attached_images = "attached_images" => "Attached images",
    remove_image = "remove_image" => "Remove {}",
    image_alt = "image_alt" => "Image {} of {}",
    image_previews = "image_previews" => "Small previews: the full images were not kept.",
    not_an_image = "not_an_image" => "{} was not attached: only PNG, JPEG, WebP and GIF images can be.",
    unreadable_image = "unreadable_image" => "{} was not attached: it could not be read as an image.",
    too_many_images = "too_many_images" => "At most {} images fit in one message.",
    image_over_budget = "image_over_budget" => "{} was not attached: even made smaller it takes {} KB, and {} KB are left for this message.",
    images_preparing = "images_preparing" => "The images are still being prepared.",
    file_too_large = "file_too_large" => "{} was not attached: files over {} MB are not read.",
    model = "model" => "Model",
    system_prompt = "system_prompt" => "System prompt",
    temperature = "temperature" => "Temperature",
    top_p = "top_p" => "Top p",
    max_tokens = "max_tokens" => "Max tokens",
    max_tokens_hint = "max_tokens_hint" => "1 or more (the API's default is 512)",
    frequency_penalty = "frequency_penalty" => "Frequency penalty",
    presence_penalty = "presence_penalty" => "Presence penalty",
    stop_sequences = "stop_sequences" => "Stop sequences (up to 4)",
    stop_sequence = "stop_sequence" => "Stop sequence {}",
    logit_bias = "logit_bias" => "Logit bias (token id: -100 to 100)",
    token_id_row = "token_id_row" => "Token id, row {}",
    bias_row = "bias_row" => "Bias, -100 to 100, row {}",
    remove_row = "remove_row" => "Remove row {}",
    remove = "remove" => "Remove",
    add_bias = "add_bias" => "Add a token bias",
    stream_replies = "stream_replies" => "Stream replies",
    tool_choice = "tool_choice" => "Tool choice",
    not_set = "not_set" => "not set",
    call_tool = "call_tool" => "call {}",
    enter_model = "enter_model" => "Enter a model id.",
    enter_number = "enter_number" => "Enter a number from {} to {}, or leave it empty.",
    policy_range = "policy_range" => "This chat takes {} to {}: {} is sent.",
    enter_whole_number = "enter_whole_number" => "Enter a whole number of at least 1, or leave it empty.",
    enter_token_id = "enter_token_id" => "The token id is a whole number, such as 50256.",
    too_many_stops = "too_many_stops" => "At most {} stop sequences.",
    no_such_tool = "no_such_tool" => "There is no tool named {}.",
    not_sent = "not_sent" => "Not sent: {}.",
    fix_settings = "fix_settings" => "Not sent: fix the settings first ({})",
    reply_failed = "reply_failed" => "The reply failed: {}",
    cut_off = "cut_off" => "The reply was cut off before it finished.",
    images_too_large = "images_too_large" => "The images are too large for the server: send fewer or smaller ones, or start a new conversation. {}",
    tool_rounds = "tool_rounds" => "The assistant called tools {} times in a row without answering, so it was stopped there.",
    http_error = "http_error" => "{} (HTTP {}): {}",
    http_400 = "http_400" => "The request was refused",
    http_401 = "http_401" => "The API key was refused",
    http_403 = "http_403" => "Access was denied (the key's permissions or credits)",
    http_404 = "http_404" => "The model or address was not found",
    http_413 = "http_413" => "The message is too large",
    http_429 = "http_429" => "Too many requests",
    http_5xx = "http_5xx" => "The chat service had a problem",
    http_other = "http_other" => "The chat service answered with an error",
    try_again_in = "try_again_in" => " Try again in {} s.",
    try_again_after = "try_again_after" => " Try again after {}.",
    unreachable = "unreachable" => "Could not reach the chat service ({}). Check the connection and try again.",
    unreadable_answer = "unreadable_answer" => "The chat service sent an answer that could not be read ({}).",
    cancelled = "cancelled" => "The request was cancelled.",
    not_restored = "not_restored" => "The earlier conversation could not be restored: {}.",
    not_kept = "not_kept" => "This conversation will not be kept after you leave: {}.",
    storage_unavailable = "storage_unavailable" => "this browser does not let the page store anything",
    storage_full = "storage_full" => "the browser's storage for this site is full",
    storage_corrupt = "storage_corrupt" => "what was stored before could not be read",
    storage_other_version = "storage_other_version" => "what was stored is from another version of the widget",
    untitled = "untitled" => "New conversation",
    suggestions = "suggestions" => "Suggestions",
    good_reply = "good_reply" => "Good reply",
    bad_reply = "bad_reply" => "Bad reply",
    feedback_comment = "feedback_comment" => "What could be better? (optional)",
    send_feedback = "send_feedback" => "Send feedback",
    feedback_thanks = "feedback_thanks" => "Thank you for the feedback.",
    unread = "unread" => "New replies: {}",
    dictate = "dictate" => "Dictate",
    stop_dictation = "stop_dictation" => "Stop dictation",
    mic_blocked = "mic_blocked" => "Dictation needs the microphone: allow it for this site in the browser's settings.",
    dictation_unavailable = "dictation_unavailable" => "Dictation is not available right now.",
    listening = "listening" => "Listening… Esc stops.",
    read_aloud = "read_aloud" => "Read aloud",
    stop_reading = "stop_reading" => "Stop reading",
    conversation_menu = "conversation_menu" => "Conversation menu",
    reasoning = "reasoning" => "Reasoning",
    thought_for = "thought_for" => "Thought for {} s",
    sources = "sources" => "Sources",
    source = "source" => "Source {}: {}",
}

/// A config's `"strings"`: an object of overrides; any key left out stays English, and a key that
/// is not in the table is refused by name.
impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let overrides = BTreeMap::<String, String>::deserialize(deserializer)?;
        let overrides = overrides
            .into_iter()
            .map(
                |(key, text)| match KEYS.iter().position(|known| *known == key) {
                    Some(entry) => Ok((entry, text)),
                    None => Err(D::Error::unknown_field(&key, KEYS)),
                },
            )
            .collect::<Result<_, _>>()?;
        Ok(Strings { overrides })
    }
}

/// `template` with each `{}` replaced by the next of `values`; extra `{}` stay as they are.
pub fn fill(template: &str, values: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        match values.next() {
            Some(value) => out.push_str(&value.to_string()),
            None => out.push_str("{}"),
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_placeholders_in_order() {
        assert_eq!(fill("{} in, {} out", &[&3, &"4"]), "3 in, 4 out");
        assert_eq!(fill("no holes", &[&1]), "no holes");
        assert_eq!(fill("{} and {}", &[&1]), "1 and {}");
    }

    #[test]
    fn a_partial_table_overrides_only_what_it_names_and_refuses_unknown_keys() {
        let strings: Strings = serde_json::from_str(r#"{"send": "Senden"}"#).unwrap();
        assert_eq!(strings.send(), "Senden");
        assert_eq!(strings.stop(), "Stop");
        let error = serde_json::from_str::<Strings>(r#"{"sned": "x"}"#).unwrap_err();
        assert!(error.to_string().contains("sned"), "{error}");
    }
}
