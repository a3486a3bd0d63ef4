//! Server-sent events, sans-IO: a decoder following the WHATWG HTML "event stream
//! interpretation" rules (bytes go in, complete events come out), and an encoder that writes one
//! event in the same format.
//!
//! Written by hand rather than taken from a crate because it must be sans-IO (the same code reads a
//! browser `ReadableStream` and a test's byte slices), must keep a UTF-8 character or a CRLF that is
//! split across two reads intact, and is small: the rules fit in a hundred lines. The encoder lives
//! beside the decoder so that what one writes, the other reads back: the tests hold them to that.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, or `message` when the event had none.
    pub event: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
    /// The last event id seen so far in the stream (the `id:` field), empty when none.
    pub id: String,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Turns a byte stream into [`SseEvent`]s. Feed it with [`SseDecoder::push`] as bytes arrive.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The first bytes of the stream, held until it is known whether they are a BOM.
    head: Vec<u8>,
    started: bool,
    /// The bytes of the line being read.
    line: Vec<u8>,
    /// The previous read ended with CR: an LF at the start of the next read ends no new line.
    after_cr: bool,
    event_type: String,
    data: String,
    /// The `id:` of the event being read (the rules' "last event ID buffer").
    id_buffer: String,
    /// The event id as of the last dispatch: an `id:` line of an event cut short does not count,
    /// since that event was never read.
    last_event_id: String,
    retry: Option<u64>,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream and returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if self.started {
            self.feed(bytes, &mut events);
            return events;
        }
        // A leading UTF-8 BOM is dropped, even when it arrives split across reads.
        let take = (BOM.len() - self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..take]);
        if self.head.len() < BOM.len() && BOM.starts_with(&self.head) {
            return events;
        }
        self.started = true;
        let head = std::mem::take(&mut self.head);
        if head != BOM {
            self.feed(&head, &mut events);
        }
        self.feed(&bytes[take..], &mut events);
        events
    }

    /// Whether bytes of an unfinished event are waiting. At the end of the stream such an event is
    /// dropped, as the rules say; this tells the caller that the stream was cut short.
    pub fn has_pending(&self) -> bool {
        !self.line.is_empty() || !self.data.is_empty() || !self.head.is_empty()
    }

    /// The id of the last event read whole (`id:`), empty when none: what a client resuming the
    /// stream sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time the server asked for with `retry:`, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    fn feed(&mut self, bytes: &[u8], events: &mut Vec<SseEvent>) {
        if bytes.is_empty() {
            return;
        }
        let mut start = 0;
        if std::mem::take(&mut self.after_cr) && bytes[0] == b'\n' {
            start = 1;
        }
        while let Some(offset) = bytes[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + offset;
            self.line.extend_from_slice(&bytes[start..end]);
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, events);
            start = end + 1;
            if bytes[end] == b'\r' {
                match bytes.get(start) {
                    Some(b'\n') => start += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(&bytes[start..]);
    }

    fn process_line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        // Line ends are ASCII, so a complete line never splits a UTF-8 character; invalid bytes
        // become U+FFFD as the rules' UTF-8 decode does.
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event_type),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => value.clone_into(&mut self.id_buffer),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        self.last_event_id.clone_from(&self.id_buffer);
        let event_type = std::mem::take(&mut self.event_type);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the `\n` after the last data line
        events.push(SseEvent {
            event: if event_type.is_empty() {
                "message".to_owned()
            } else {
                event_type
            },
            data,
            id: self.id_buffer.clone(),
        });
    }
}

/// The data of the event that ends an OpenAI chat-completions stream.
pub(crate) const DONE: &str = "[DONE]";

/// One event to write to an event stream: its data, and optionally an `event:` type and an `id:`.
/// [`SseFrame::encode`] gives the text, which [`SseDecoder`] reads back as one [`SseEvent`].
///
/// Every line end in the data (LF, CRLF or a lone CR) starts a new `data:` line, since a reader
/// ends a line at any of them; a reader joins the lines with LF, so data is read back with its
/// line ends as LF. The type and the id cannot be split that way: a line break in either would
/// end its line early and let the rest be read as a field of its own, so
/// [`SseFrame::with_event`] and [`SseFrame::with_id`] refuse one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseFrame<'a> {
    data: &'a str,
    event: Option<&'a str>,
    id: Option<&'a str>,
}

/// Why a value cannot be written as an SSE field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseFieldError {
    /// The value holds a CR or LF, which would end the field's line early.
    #[error("the SSE `{field}` field cannot contain a line break")]
    LineBreak {
        /// `event` or `id`.
        field: &'static str,
    },
    /// The id holds a NUL; a reader ignores such an id.
    #[error("the SSE `id` field cannot contain NUL")]
    NulInId,
}

impl<'a> SseFrame<'a> {
    /// An event of the default type (`message`), without an id, carrying `data`.
    pub fn new(data: &'a str) -> Self {
        SseFrame {
            data,
            event: None,
            id: None,
        }
    }

    /// The `data: [DONE]` event that ends an OpenAI chat-completions stream.
    pub fn done() -> SseFrame<'static> {
        SseFrame::new(DONE)
    }

    /// The same event with the type `event` (an empty type is read as `message`). Refuses a type
    /// with a CR or LF in it.
    pub fn with_event(self, event: &'a str) -> Result<Self, SseFieldError> {
        if event.contains(['\r', '\n']) {
            return Err(SseFieldError::LineBreak { field: "event" });
        }
        Ok(SseFrame {
            event: Some(event),
            ..self
        })
    }

    /// The same event with the id `id`. A reader keeps an id as the stream's last event id until
    /// another one comes (an empty id clears it). Refuses an id with a CR, LF or NUL in it.
    pub fn with_id(self, id: &'a str) -> Result<Self, SseFieldError> {
        if id.contains(['\r', '\n']) {
            return Err(SseFieldError::LineBreak { field: "id" });
        }
        if id.contains('\0') {
            return Err(SseFieldError::NulInId);
        }
        Ok(SseFrame {
            id: Some(id),
            ..self
        })
    }

    /// The event as text: its fields, one `data:` line per line of data, and the blank line that
    /// ends it.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 16);
        self.encode_into(&mut out);
        out
    }

    /// Appends the event to `out`, as [`SseFrame::encode`] writes it.
    pub fn encode_into(&self, out: &mut String) {
        let fields = [("event", self.event), ("id", self.id)];
        for (name, value) in fields {
            if let Some(value) = value {
                push_field(out, name, value);
            }
        }
        let mut rest = self.data;
        while let Some(end) = rest.find(['\r', '\n']) {
            push_field(out, "data", &rest[..end]);
            let after = if rest[end..].starts_with("\r\n") {
                2
            } else {
                1
            };
            rest = &rest[end + after..];
        }
        push_field(out, "data", rest);
        out.push('\n');
    }
}

/// One `name: value` line. The space after the colon is always written, so a value that starts
/// with a space keeps it (a reader drops one space there).
fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push('\n');
}
