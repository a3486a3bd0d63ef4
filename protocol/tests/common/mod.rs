//! Helpers shared by the stream tests: replaying a body at every split point and line ending.

#![allow(dead_code)]

use std::path::Path;

/// Reads a fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The body with every line end (LF, CRLF or CR) replaced by `ending`.
pub fn with_line_endings(body: &[u8], ending: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() * 2);
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(ending);
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(ending),
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

/// The three line endings the SSE rules allow.
pub const LINE_ENDINGS: [(&str, &[u8]); 3] = [("LF", b"\n"), ("CRLF", b"\r\n"), ("CR", b"\r")];

/// Decodes `body` in one read, at every split into two reads, and one byte at a time, with every
/// line ending; asserts that all give the same result and returns it.
pub fn decode_everywhere<T: PartialEq + std::fmt::Debug, D>(
    body: &[u8],
    new: impl Fn() -> D,
    push: impl Fn(&mut D, &[u8]) -> Vec<T>,
) -> Vec<T> {
    let whole = {
        let mut decoder = new();
        push(&mut decoder, body)
    };
    for (name, ending) in LINE_ENDINGS {
        let body = with_line_endings(body, ending);
        for split in 0..=body.len() {
            let mut decoder = new();
            let mut events = push(&mut decoder, &body[..split]);
            events.extend(push(&mut decoder, &body[split..]));
            assert_eq!(events, whole, "{name} line endings, split at byte {split}");
        }
        let mut decoder = new();
        let bytewise: Vec<T> = body
            .iter()
            .flat_map(|byte| push(&mut decoder, std::slice::from_ref(byte)))
            .collect();
        assert_eq!(bytewise, whole, "{name} line endings, one byte at a time");
    }
    whole
}
