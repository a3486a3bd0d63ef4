//! Small line icons, drawn as SVG elements (no font needed, so they look the same everywhere).
//! Each is hidden from assistive technology: the button that holds it carries the name.

use leptos::prelude::*;

/// An icon of `paths` in a 24-unit square, turned by `degrees`.
fn icon(paths: &'static [&'static str], degrees: u32) -> impl IntoView {
    let transform = format!("rotate({degrees} 12 12)");
    view! {
        <svg
            class="cw-icon"
            viewBox="0 0 24 24"
            width="16"
            height="16"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
            focusable="false"
        >
            <g transform=transform>
                {paths.iter().map(|d| view! { <path d=*d /> }).collect_view()}
            </g>
        </svg>
    }
}

/// A hand with its thumb up.
const THUMB: &[&str] = &[
    "M7 10v11H4a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1z",
    "M7 10l4-8a2 2 0 0 1 3 2l-1 5h6a2 2 0 0 1 2 2.3l-1.4 7.9A2 2 0 0 1 17.6 21H7",
];

/// 👍
pub fn thumb_up() -> impl IntoView {
    icon(THUMB, 0)
}

/// 👎
pub fn thumb_down() -> impl IntoView {
    icon(THUMB, 180)
}

/// A plus: something new.
pub fn plus() -> impl IntoView {
    icon(&["M12 5v14", "M5 12h14"], 0)
}

/// Three dots: more.
pub fn more() -> impl IntoView {
    icon(&["M5 12h.01", "M12 12h.01", "M19 12h.01"], 0)
}

/// Two sheets: copy.
pub fn copy() -> impl IntoView {
    icon(
        &[
            "M9 9h10a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H9a1 1 0 0 1-1-1V10a1 1 0 0 1 1-1z",
            "M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1",
        ],
        0,
    )
}

/// A pencil: edit.
pub fn edit() -> impl IntoView {
    icon(&["M4 20h4L19 9l-4-4L4 16z", "M13 7l4 4"], 0)
}

/// A circling arrow: ask again.
pub fn again() -> impl IntoView {
    icon(&["M20 12a8 8 0 1 1-2.3-5.7", "M20 4v5h-5"], 0)
}

/// A cross: dismiss.
pub fn cross() -> impl IntoView {
    icon(&["M6 6l12 12", "M18 6L6 18"], 0)
}

/// A microphone: dictate.
pub fn microphone() -> impl IntoView {
    icon(
        &[
            "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z",
            "M5 11a7 7 0 0 0 14 0",
            "M12 18v3",
        ],
        0,
    )
}

/// A loudspeaker: read aloud.
pub fn speaker() -> impl IntoView {
    icon(
        &[
            "M4 9h4l5-4v14l-5-4H4z",
            "M16.5 8.5a5 5 0 0 1 0 7",
            "M19 6a8.5 8.5 0 0 1 0 12",
        ],
        0,
    )
}
