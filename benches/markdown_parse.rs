//! The Markdown parser's time on replies and on adversarial text, and the code highlighter's on
//! code and adversarial text, each at two sizes: a ratio near 4 between the larger and the
//! smaller means time linear in the length. Prints its numbers; it
//! is not a test and has no pass/fail.
//!
//!     cargo bench --bench markdown-parse

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::time::{Duration, Instant};

    use chat_widget::markdown::render;

    /// The best of a few runs of `work`, to keep a noisy machine's pauses out.
    fn best_of<T>(work: impl Fn() -> T) -> Duration {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(work());
                start.elapsed()
            })
            .min()
            .expect("five runs")
    }
    let time = |text: &str| best_of(|| render(std::hint::black_box(text)));

    let reply = "## Step\n\nSome **bold** and *em* text with `code` and a [link](https://example.com).\n\n- one\n- two\n  - nested\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n\n";
    let repeat = |piece: &'static str| move |bytes: usize| piece.repeat(bytes / piece.len());
    type Text = Box<dyn Fn(usize) -> String>;
    let cases: Vec<(&str, Text)> = vec![
        ("model reply", Box::new(repeat(reply))),
        (
            "mixed emphasis",
            Box::new(repeat("**a *b _c_ d* e** [l](https://e.com) `c` ")),
        ),
        ("unmatched closers", Box::new(repeat("a* "))),
        ("unmatched openers", Box::new(repeat("*a "))),
        ("open brackets", Box::new(repeat("["))),
        (
            "brackets, then links",
            Box::new(repeat("[a](https://e.com) [")),
        ),
        ("unclosed destinations", Box::new(repeat("[a](b"))),
        ("ampersands", Box::new(repeat("a&b "))),
        ("less-than signs", Box::new(repeat("a < b "))),
        ("unclosed comments", Box::new(repeat("x <!--"))),
        (
            "math, inline",
            Box::new(repeat("Let $x_i^2$ and \\(\\frac{a}{b}\\) be. ")),
        ),
        ("dollars that open and never close", Box::new(repeat("$a "))),
        ("unclosed \\( and $$", Box::new(repeat("\\( $$ x "))),
        (
            "\\[ lines, \\] never at a line's end",
            Box::new(|bytes| format!("{}\\]x", "\\[\n".repeat(bytes / 3))),
        ),
        (
            "one long list",
            Box::new(repeat("- item with *emphasis*\n")),
        ),
        (
            "nested brackets, a label defined",
            Box::new(|bytes| {
                let half = bytes / 2;
                format!(
                    "[x]: https://e.com\n\n{}{}",
                    "[".repeat(half),
                    "]".repeat(half)
                )
            }),
        ),
        (
            "backtick runs of every length",
            Box::new(|bytes| {
                let mut text = String::new();
                let mut length = 1;
                while text.len() < bytes {
                    text.push_str(&"`".repeat(length));
                    text.push_str(" x ");
                    length += 1;
                }
                text
            }),
        ),
    ];
    println!("| input | bytes | time | bytes ×4 | time | ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, text) in cases {
        let (small, large) = (text(50_000), text(200_000));
        let (a, b) = (time(&small), time(&large));
        println!(
            "| {name} | {} | {:.1} ms | {} | {:.1} ms | {:.1} |",
            small.len(),
            a.as_secs_f64() * 1e3,
            large.len(),
            b.as_secs_f64() * 1e3,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }

    // Highlighting a code block, once it is final: the same ratio.
    use chat_rich::highlight::highlight;
    let highlight_time =
        |language: &str, code: &str| best_of(|| highlight(language, std::hint::black_box(code)));
    let code: &[(&str, &str, &str)] = &[
        ("rust code", "rust", "#[inline]\nfn longest<'a>(words: &[&'a str]) -> Option<&'a str> {\n    words.iter().copied().max_by_key(|w| w.len()) // ties\n}\n"),
        ("python code", "python", "@cache\ndef f(x: int) -> str:\n    \"\"\"Doc.\"\"\"\n    return f\"{x}\" if x else None  # zero\n"),
        ("javascript code", "js", "const f = async (x) => { if (x === null) return `a ${x}`; /* c */ };\n"),
        ("html", "html", "<div class=\"a\" data-x='1'><!-- c --><p>Text &amp; more</p></div>\n"),
        ("unclosed strings", "js", "\"a"),
        ("quotes, one long line", "rust", "'a "),
        ("unclosed block comments", "c", "/*"),
        ("hashes", "c", "#"),
        ("shell variables", "bash", "${a"),
    ];
    println!();
    println!("| highlighting | bytes | time | bytes ×4 | time | ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, language, piece) in code {
        let (small, large) = (
            piece.repeat(50_000 / piece.len()),
            piece.repeat(200_000 / piece.len()),
        );
        let (a, b) = (
            highlight_time(language, &small),
            highlight_time(language, &large),
        );
        println!(
            "| {name} | {} | {:.1} ms | {} | {:.1} ms | {:.1} |",
            small.len(),
            a.as_secs_f64() * 1e3,
            large.len(),
            b.as_secs_f64() * 1e3,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
