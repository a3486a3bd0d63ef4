//! Several conversations per widget: the one in view and the others kept, each with a title, and
//! their export as Markdown or JSON. Plain data, tested natively.

use serde::{Deserialize, Serialize};

use crate::conversation::SavedMessage;

/// The longest title made from a first message.
const TITLE_LEN: usize = 40;

/// One kept conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Its title: given by the person, or the start of its first message.
    pub title: String,
    /// What was said.
    pub messages: Vec<SavedMessage>,
}

/// Every conversation of one widget, and which is in view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Library {
    /// The conversation in view.
    pub active: usize,
    /// The conversations, oldest first; never empty.
    pub threads: Vec<Thread>,
}

impl Default for Library {
    fn default() -> Self {
        Library {
            active: 0,
            threads: vec![Thread::default()],
        }
    }
}

impl Library {
    /// The conversation in view.
    pub fn current(&self) -> &Thread {
        &self.threads[self.active.min(self.threads.len() - 1)]
    }

    /// Keeps `messages` as the conversation in view; an untitled one takes the start of its first
    /// message as its title.
    pub fn store_current(&mut self, messages: Vec<SavedMessage>) {
        let active = self.active.min(self.threads.len() - 1);
        let thread = &mut self.threads[active];
        if thread.title.is_empty() {
            if let Some(first) = messages.iter().find(|message| message.role == "user") {
                thread.title = title_from(&first.text);
            }
        }
        thread.messages = messages;
    }

    /// Starts a new, empty conversation and puts it in view (an empty one in view is reused).
    pub fn start_new(&mut self) {
        if self.current().messages.is_empty() {
            return;
        }
        self.threads.push(Thread::default());
        self.active = self.threads.len() - 1;
    }

    /// Puts conversation `index` in view.
    pub fn switch(&mut self, index: usize) {
        if index < self.threads.len() {
            self.active = index;
        }
    }

    /// Renames conversation `index`; a blank title is refused.
    pub fn rename(&mut self, index: usize, title: &str) {
        if let Some(thread) = self
            .threads
            .get_mut(index)
            .filter(|_| !title.trim().is_empty())
        {
            thread.title = title.trim().to_owned();
        }
    }

    /// Deletes conversation `index`; the last one left is emptied instead.
    pub fn delete(&mut self, index: usize) {
        if index >= self.threads.len() {
            return;
        }
        self.threads.remove(index);
        if self.threads.is_empty() {
            self.threads.push(Thread::default());
        }
        if self.active >= index && self.active > 0 {
            self.active -= 1;
        }
        self.active = self.active.min(self.threads.len() - 1);
    }

    /// The titles, for choosing one; an untitled conversation is called `untitled`.
    pub fn titles(&self, untitled: &str) -> Vec<String> {
        self.threads
            .iter()
            .map(|thread| {
                if thread.title.is_empty() {
                    untitled.to_owned()
                } else {
                    thread.title.clone()
                }
            })
            .collect()
    }
}

fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .trim();
    match line.char_indices().nth(TITLE_LEN) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line.to_owned(),
    }
}

/// A conversation as Markdown: its title, then each message under who said it.
pub fn to_markdown(thread: &Thread) -> String {
    let title = if thread.title.is_empty() {
        "Conversation"
    } else {
        &thread.title
    };
    let mut out = format!("# {title}\n");
    for message in &thread.messages {
        let who = match (message.role.as_str(), &message.tool_call) {
            ("user", _) => "You".to_owned(),
            ("assistant", _) => "Assistant".to_owned(),
            (_, Some((_, name))) => format!("Tool `{name}`"),
            (role, None) => role.to_owned(),
        };
        out.push_str(&format!("\n## {who}\n\n{}\n", message.text.trim_end()));
        for call in &message.tool_calls {
            out.push_str(&format!(
                "\n- called `{}` with `{}`\n",
                call.function.name, call.function.arguments
            ));
        }
    }
    out
}

/// A conversation as JSON: its title and messages.
pub fn to_json(thread: &Thread) -> String {
    serde_json::to_string_pretty(thread).unwrap_or_default()
}
