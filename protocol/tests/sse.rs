//! The SSE decoder against the WHATWG rules, at every split point and with every line ending.

mod common;

use chat_protocol::{SseDecoder, SseEvent};
use common::decode_everywhere;

fn decode(body: &str) -> Vec<SseEvent> {
    decode_everywhere(body.as_bytes(), SseDecoder::new, SseDecoder::push)
}

fn message(data: &str) -> SseEvent {
    SseEvent {
        event: "message".into(),
        data: data.into(),
        id: String::new(),
    }
}

#[test]
fn one_event_per_blank_line() {
    assert_eq!(
        decode("data: a\n\ndata: b\n\n"),
        [message("a"), message("b")]
    );
}

#[test]
fn data_without_a_space_after_the_colon() {
    assert_eq!(
        decode("data:a\n\ndata:  two spaces\n\n"),
        [message("a"), message(" two spaces")]
    );
}

#[test]
fn multi_line_data_is_joined_with_lf() {
    assert_eq!(
        decode("data: one\ndata: two\ndata:\n\n"),
        [message("one\ntwo\n")]
    );
}

#[test]
fn comment_lines_are_ignored() {
    assert_eq!(
        decode(": keep-alive\ndata: x\n: between\n\n:\n\n"),
        [message("x")]
    );
}

#[test]
fn event_type_and_id_are_reported() {
    let events = decode("event: error\nid: 7\ndata: boom\n\ndata: next\n\n");
    assert_eq!(
        events,
        [
            SseEvent {
                event: "error".into(),
                data: "boom".into(),
                id: "7".into()
            },
            SseEvent {
                event: "message".into(),
                data: "next".into(),
                id: "7".into()
            },
        ]
    );
}

#[test]
fn an_event_without_data_is_not_dispatched_and_its_type_is_reset() {
    assert_eq!(decode("event: ping\n\ndata: x\n\n"), [message("x")]);
}

#[test]
fn a_field_without_a_colon_has_an_empty_value() {
    assert_eq!(decode("data\n\n"), [message("")]);
}

#[test]
fn unknown_fields_are_ignored() {
    assert_eq!(decode("foo: bar\ndata: x\nretry: soon\n\n"), [message("x")]);
}

#[test]
fn retry_is_kept_when_it_is_all_digits() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"retry: 2500\n\n");
    assert_eq!(decoder.retry(), Some(2500));
}

#[test]
fn an_unterminated_last_event_is_dropped() {
    let mut decoder = SseDecoder::new();
    assert_eq!(decoder.push(b"data: done\n\ndata: cut"), [message("done")]);
    assert!(decoder.has_pending());
    assert_eq!(decode("data: done\n\ndata: cut\n"), [message("done")]);
}

#[test]
fn a_leading_bom_is_dropped_even_when_split() {
    assert_eq!(decode("\u{FEFF}data: x\n\n"), [message("x")]);
    // Only one BOM, and only at the very start, is dropped.
    assert_eq!(decode("\u{FEFF}\u{FEFF}data: x\n\n"), []);
}

#[test]
fn a_crlf_split_across_reads_is_one_line_end() {
    let mut decoder = SseDecoder::new();
    let mut events = decoder.push(b"data: a\r");
    events.extend(decoder.push(b"\n\r"));
    events.extend(decoder.push(b"\ndata: b\r\n\r\n"));
    assert_eq!(events, [message("a"), message("b")]);
}

#[test]
fn utf8_split_across_reads_is_never_corrupted() {
    let text = "data: Grüße ✓ 🦀 Ω\n\n";
    assert_eq!(decode(text), [message("Grüße ✓ 🦀 Ω")]);
}

#[test]
fn invalid_utf8_becomes_the_replacement_character() {
    let mut decoder = SseDecoder::new();
    assert_eq!(decoder.push(b"data: a\xFFb\n\n"), [message("a\u{FFFD}b")]);
}

#[test]
fn mixed_line_endings_in_one_stream() {
    assert_eq!(
        decode("data: a\r\n\rdata: b\n\r\n"),
        [message("a"), message("b")]
    );
}

#[test]
fn the_last_event_id_is_that_of_the_last_event_read_whole() {
    let mut decoder = SseDecoder::new();
    assert_eq!(decoder.last_event_id(), "");
    decoder.push(b"id: 0\ndata: a\n\nid: 1\ndata: b\n\n");
    assert_eq!(decoder.last_event_id(), "1");
    // Cut after the next event's id: that event was never read, so a resume asks for it again.
    decoder.push(b"id: 2\ndata: c");
    assert_eq!(decoder.last_event_id(), "1");
    decoder.push(b"\n\n");
    assert_eq!(decoder.last_event_id(), "2");
}
