//! The words of the chat box's controls, in one table a config can override (`"strings"`), so a
//! site can speak its users' language. English is built in. `{}` in a string is filled in order.

use serde::Deserialize;

/// Every label, button, status and notice of the chat box. Errors from the provider keep the
/// provider's own words.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Strings {
    pub send: String,
    pub stop: String,
    pub message_box: String,
    pub messages: String,
    pub settings: String,
    pub open_chat: String,
    pub close_chat: String,
    pub retry: String,
    pub retry_now: String,
    pub cancel: String,
    pub dismiss: String,
    #[serde(rename = "continue")]
    pub continue_reply: String,
    pub copy: String,
    pub copy_code: String,
    pub copied: String,
    pub press_to_copy: String,
    pub edit: String,
    pub edit_message: String,
    pub send_edited: String,
    pub send_again: String,
    pub regenerate: String,
    pub thinking: String,
    pub running: String,
    pub failed: String,
    pub stopped: String,
    pub did_not_finish: String,
    pub tool: String,
    pub tool_calls: String,
    pub tool_returned: String,
    pub usage: String,
    pub you_said: String,
    pub assistant_said: String,
    pub instructions: String,
    pub reply_ready: String,
    pub retrying_in: String,
    pub offline: String,
    pub not_accepted: String,
    pub send_without: String,
    pub history_budget: String,
    pub conversation: String,
    pub conversations: String,
    pub conversation_title: String,
    pub new_conversation: String,
    pub rename: String,
    pub save_title: String,
    pub delete: String,
    pub export_markdown: String,
    pub export_json: String,
    pub done: String,
    pub reset_settings: String,
    pub attach_images: String,
    pub attached_images: String,
    pub remove_image: String,
    pub image_alt: String,
    pub image_previews: String,
    pub not_an_image: String,
    pub unreadable_image: String,
    pub too_many_images: String,
    pub image_over_budget: String,
    pub images_preparing: String,
}

impl Default for Strings {
    fn default() -> Self {
        let text = |s: &str| s.to_owned();
        Strings {
            send: text("Send"),
            stop: text("Stop"),
            message_box: text("Message"),
            messages: text("Messages"),
            settings: text("Settings"),
            open_chat: text("Open chat"),
            close_chat: text("Close chat"),
            retry: text("Retry"),
            retry_now: text("Retry now"),
            cancel: text("Cancel"),
            dismiss: text("Dismiss"),
            continue_reply: text("Continue"),
            copy: text("Copy"),
            copy_code: text("Copy code"),
            copied: text("Copied"),
            press_to_copy: text("Press Ctrl+C to copy"),
            edit: text("Edit"),
            edit_message: text("Edit message"),
            send_edited: text("Send edited"),
            send_again: text("Send again"),
            regenerate: text("Regenerate"),
            thinking: text("Thinking…"),
            running: text("Running…"),
            failed: text("Failed"),
            stopped: text("Stopped"),
            did_not_finish: text("Did not finish"),
            tool: text("Tool"),
            tool_calls: text("Tool calls"),
            tool_returned: text("A tool returned:"),
            usage: text("{} tokens in, {} out"),
            you_said: text("You said:"),
            assistant_said: text("The assistant said:"),
            instructions: text("Instructions:"),
            reply_ready: text("The assistant replied: {}"),
            retrying_in: text("Trying again in {} s (retry {} of {})."),
            offline: text(
                "You are offline. The message is sent again when the connection is back.",
            ),
            not_accepted: text("The provider does not accept {}."),
            send_without: text("Send without {}"),
            history_budget: text(
                "Earlier messages are not sent to the model: they exceed the history budget.",
            ),
            conversation: text("Conversation"),
            conversations: text("Conversations"),
            conversation_title: text("Conversation title"),
            new_conversation: text("New"),
            rename: text("Rename"),
            save_title: text("Save title"),
            delete: text("Delete"),
            export_markdown: text("Export Markdown"),
            export_json: text("Export JSON"),
            done: text("Done"),
            reset_settings: text("Reset to defaults"),
            attach_images: text("Attach images"),
            attached_images: text("Attached images"),
            remove_image: text("Remove {}"),
            image_alt: text("Image {} of {}"),
            image_previews: text("Small previews: the full images were not kept."),
            not_an_image: text("{} was not attached: only PNG, JPEG, WebP and GIF images can be."),
            unreadable_image: text("{} was not attached: it could not be read as an image."),
            too_many_images: text("At most {} images fit in one message."),
            image_over_budget: text(
                "{} was not attached: even made smaller it takes {} KB, and {} KB are left for this message.",
            ),
            images_preparing: text("The images are still being prepared."),
        }
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
        assert_eq!(strings.send, "Senden");
        assert_eq!(strings.stop, "Stop");
        let error = serde_json::from_str::<Strings>(r#"{"sned": "x"}"#).unwrap_err();
        assert!(error.to_string().contains("sned"), "{error}");
    }
}
