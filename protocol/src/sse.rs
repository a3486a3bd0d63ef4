//! A sans-IO decoder for server-sent events, following the WHATWG HTML "event stream
//! interpretation" rules: bytes go in, complete events come out.
//!
//! Written by hand rather than taken from a crate because it must be sans-IO (the same code reads a
//! browser `ReadableStream` and a test's byte slices), must keep a UTF-8 character or a CRLF that is
//! split across two reads intact, and is small: the rules fit in a hundred lines.

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
            "id" if !value.contains('\0') => value.clone_into(&mut self.last_event_id),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
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
            id: self.last_event_id.clone(),
        });
    }
}
