//! The SSE encoder against the decoder: what [`SseFrame`] writes, [`SseDecoder`] reads back as the
//! same events, at every split point and with every line ending.

mod common;

use chat_protocol::{SseDecoder, SseEvent, SseFieldError, SseFrame, StreamDecoder, StreamEvent};
use common::decode_everywhere;

fn decode(body: &str) -> Vec<SseEvent> {
    decode_everywhere(body.as_bytes(), SseDecoder::new, SseDecoder::push)
}

/// `text` with every line end (CRLF, CR or LF) as LF: data as a reader gives it back.
fn lf_line_ends(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn message(data: &str) -> SseEvent {
    SseEvent {
        event: "message".into(),
        data: data.into(),
        id: String::new(),
    }
}

/// Data that a careless encoder would get wrong.
const AWKWARD: [&str; 20] = [
    "",
    "plain",
    "one\ntwo",
    "one\r\ntwo",
    "one\rtwo",
    "a\r\r\nb\n\rc",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "ends with a line end\n",
    "\nstarts with a line end",
    " leading space",
    "  two leading spaces",
    ":starts with a colon",
    "data: looks like a field",
    "id: 9\nevent: error\n\ndata: [DONE]",
    "Grüße ✓ 🦀 Ω\n日本語",
    "\u{FEFF}a byte order mark",
    "tab\there, NUL \0 there",
];

#[test]
fn awkward_data_round_trips_with_its_line_ends_as_lf() {
    for data in AWKWARD {
        let encoded = SseFrame::new(data).encode();
        assert_eq!(
            decode(&encoded),
            [message(&lf_line_ends(data))],
            "{data:?} encoded as {encoded:?}"
        );
    }
}

#[test]
fn a_stream_of_awkward_events_round_trips_at_every_split() {
    let mut body = String::new();
    for data in AWKWARD {
        SseFrame::new(data).encode_into(&mut body);
    }
    let expected: Vec<SseEvent> = AWKWARD
        .iter()
        .map(|data| message(&lf_line_ends(data)))
        .collect();
    assert_eq!(decode(&body), expected);
}

#[test]
fn every_short_string_of_awkward_characters_round_trips() {
    const ALPHABET: [char; 7] = ['a', ' ', ':', '\r', '\n', 'ü', '🦀'];
    let mut strings = vec![String::new()];
    for _ in 0..3 {
        let longer: Vec<String> = strings
            .iter()
            .flat_map(|text| ALPHABET.map(|c| format!("{text}{c}")))
            .collect();
        strings.extend(longer);
    }
    strings.sort();
    strings.dedup();
    for data in &strings {
        let encoded = SseFrame::new(data).encode();
        assert_eq!(
            decode(&encoded),
            [message(&lf_line_ends(data))],
            "{data:?} encoded as {encoded:?}"
        );
    }
}

#[test]
fn type_and_id_round_trip_and_the_id_carries_on() {
    let frames = [
        SseFrame::new("boom")
            .with_event("error")
            .and_then(|frame| frame.with_id("7")),
        Ok(SseFrame::new("next")),
        SseFrame::new("odd")
            .with_event(" spaced: type ü")
            .and_then(|frame| frame.with_id(" id:with:colons")),
        SseFrame::new("cleared").with_id(""),
        SseFrame::new("default").with_event(""),
    ];
    let mut body = String::new();
    for frame in frames {
        frame.expect("a valid frame").encode_into(&mut body);
    }
    let event = |event: &str, data: &str, id: &str| SseEvent {
        event: event.into(),
        data: data.into(),
        id: id.into(),
    };
    assert_eq!(
        decode(&body),
        [
            event("error", "boom", "7"),
            event("message", "next", "7"),
            event(" spaced: type ü", "odd", " id:with:colons"),
            event("message", "cleared", ""),
            event("message", "default", ""),
        ]
    );
}

#[test]
fn the_encoding_is_plain_sse() {
    assert_eq!(SseFrame::new("x").encode(), "data: x\n\n");
    assert_eq!(SseFrame::new("").encode(), "data: \n\n");
    assert_eq!(
        SseFrame::new("a\r\nb\rc\n").encode(),
        "data: a\ndata: b\ndata: c\ndata: \n\n"
    );
    let frame = SseFrame::new("x")
        .with_id("1")
        .and_then(|frame| frame.with_event("ping"))
        .expect("a valid frame");
    assert_eq!(frame.encode(), "event: ping\nid: 1\ndata: x\n\n");
    let mut out = String::from("data: before\n\n");
    frame.encode_into(&mut out);
    assert_eq!(out, "data: before\n\nevent: ping\nid: 1\ndata: x\n\n");
}

#[test]
fn line_breaks_in_type_or_id_are_refused_so_they_cannot_forge_fields() {
    for value in ["a\nb", "a\rb", "a\r\nb", "\n", "x\ndata: forged"] {
        assert_eq!(
            SseFrame::new("x").with_event(value),
            Err(SseFieldError::LineBreak { field: "event" })
        );
        assert_eq!(
            SseFrame::new("x").with_id(value),
            Err(SseFieldError::LineBreak { field: "id" })
        );
    }
    // A reader ignores an id with NUL in it, so it is refused too; a type may hold one.
    assert_eq!(
        SseFrame::new("x").with_id("a\0b"),
        Err(SseFieldError::NulInId)
    );
    assert!(SseFrame::new("x").with_event("a\0b").is_ok());
}

#[test]
fn done_ends_a_chat_stream() {
    assert_eq!(SseFrame::done().encode(), "data: [DONE]\n\n");
    let mut decoder = StreamDecoder::new();
    assert_eq!(
        decoder.push(SseFrame::done().encode().as_bytes()),
        [StreamEvent::Done]
    );
}
