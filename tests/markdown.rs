//! Markdown to nodes, natively: the structure for the CommonMark features the widget supports, the
//! link policy, and incremental rendering equal to one-shot rendering at every token boundary.

#![cfg(not(target_arch = "wasm32"))]

use chat_widget::markdown::{render, IncrementalMarkdown, Node};

#[path = "support/pulldown.rs"]
mod pulldown;

/// A compact serialization of nodes for comparing structure.
fn html(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(
                &text
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;"),
            ),
            Node::Element {
                tag,
                attrs,
                children,
            } => {
                out.push('<');
                out.push_str(tag);
                for (name, value) in attrs {
                    if value.is_empty() {
                        out.push_str(&format!(" {name}"));
                    } else {
                        out.push_str(&format!(" {name}=\"{value}\""));
                    }
                }
                out.push('>');
                out.push_str(&html(children));
                if !matches!(*tag, "br" | "hr" | "input") {
                    out.push_str(&format!("</{tag}>"));
                }
            }
            Node::CodeBlock { language, code } => {
                out.push_str(&format!("<code-block {language}>{code}</code-block>"))
            }
            Node::Image { src, alt } => out.push_str(&format!("<image {src}>{alt}</image>")),
            Node::Math { tex, display, .. } => {
                out.push_str(&format!("<math display={display}>{tex}</math>"))
            }
        }
    }
    out
}

const A: &str = " target=\"_blank\" rel=\"noopener noreferrer nofollow\"";

#[test]
fn commonmark_examples_render_to_the_expected_structure() {
    let cases: Vec<(&str, String)> = vec![
        // Paragraphs, breaks and headings.
        ("aaa\n\nbbb", "<p>aaa</p><p>bbb</p>".into()),
        ("aaa\nbbb", "<p>aaa\nbbb</p>".into()),
        ("foo  \nbar", "<p>foo<br>bar</p>".into()),
        ("foo\\\nbar", "<p>foo<br>bar</p>".into()),
        ("# foo\n## foo\n###### foo", "<h1>foo</h1><h2>foo</h2><h6>foo</h6>".into()),
        ("####### foo", "<p>####### foo</p>".into()),
        ("Foo *bar*\n=========", "<h1>Foo <em>bar</em></h1>".into()),
        ("Foo\n---", "<h2>Foo</h2>".into()),
        ("***\n---\n___", "<hr><hr><hr>".into()),
        // Emphasis, strong, strikethrough, code spans.
        ("*foo bar*", "<p><em>foo bar</em></p>".into()),
        ("**foo bar**", "<p><strong>foo bar</strong></p>".into()),
        ("*foo**bar**baz*", "<p><em>foo<strong>bar</strong>baz</em></p>".into()),
        ("~~Hi~~ Hello", "<p><del>Hi</del> Hello</p>".into()),
        ("`foo`", "<p><code>foo</code></p>".into()),
        ("`` foo ` bar ``", "<p><code>foo ` bar</code></p>".into()),
        // Code blocks.
        ("```rust\nfn main() {}\n```", "<code-block rust>fn main() {}\n</code-block>".into()),
        ("~~~\n<\n >\n~~~", "<code-block ><\n >\n</code-block>".into()),
        ("    a simple\n      indented code block", "<code-block >a simple\n  indented code block</code-block>".into()),
        ("```\nunclosed fence", "<code-block >unclosed fence</code-block>".into()),
        // Block quotes and lists.
        ("> # Foo\n> bar", "<blockquote><h1>Foo</h1><p>bar</p></blockquote>".into()),
        ("- one\n- two", "<ul><li>one</li><li>two</li></ul>".into()),
        ("- a\n\n- b", "<ul><li><p>a</p></li><li><p>b</p></li></ul>".into()),
        ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>".into()),
        ("3. a\n4. b", "<ol start=\"3\"><li>a</li><li>b</li></ol>".into()),
        ("- a\n  - b\n    - c", "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li></ul>".into()),
        ("- [ ] foo\n- [x] bar", "<ul><li><input type=\"checkbox\" disabled>foo</li><li><input type=\"checkbox\" disabled checked>bar</li></ul>".into()),
        // Tables.
        (
            "| a | b |\n|:-|-:|\n| 1 | 2 |",
            "<div class=\"cw-md-table\"><table><thead><tr><th class=\"cw-align-left\">a</th><th class=\"cw-align-right\">b</th></tr></thead><tbody><tr><td class=\"cw-align-left\">1</td><td class=\"cw-align-right\">2</td></tr></tbody></table></div>".into(),
        ),
        ("| a |\n|---|", "<div class=\"cw-md-table\"><table><thead><tr><th>a</th></tr></thead></table></div>".into()),
        // Links and images.
        ("[link](https://example.com \"title\")", format!("<p><a href=\"https://example.com\"{A} title=\"title\">link</a></p>")),
        ("<https://example.com/a>", format!("<p><a href=\"https://example.com/a\"{A}>https://example.com/a</a></p>")),
        ("<foo@bar.example.com>", format!("<p><a href=\"mailto:foo@bar.example.com\"{A}>foo@bar.example.com</a></p>")),
        ("[foo][bar]\n\n[bar]: https://example.com", format!("<p><a href=\"https://example.com\"{A}>foo</a></p>")),
        ("![a *cat*](https://img.example/cat.png)", "<p><image https://img.example/cat.png>a cat</image></p>".into()),
        // Entities are decoded; raw HTML is text.
        ("&amp; &copy; &#35;", "<p>&amp; © #</p>".into()),
        ("<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>".into()),
        ("<div>\n*hi*\n</div>", "<p class=\"cw-md-raw\">&lt;div&gt;\n*hi*\n&lt;/div&gt;</p>".into()),
    ];
    for (markdown, expected) in cases {
        assert_eq!(html(&render(markdown)), expected, "for {markdown:?}");
    }
}

#[test]
fn unsafe_links_keep_only_their_text() {
    for markdown in [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](/relative)",
        "[x](<java\tscript:alert(1)>)",
        "[x](java&#10;script:alert(1))",
        "[x](java&#9;script:alert(1))",
        "<javascript:alert(1)>",
    ] {
        let out = html(&render(markdown));
        assert!(!out.contains("href"), "{markdown:?} gave {out}");
        // Each is read as a link, and refused: its text stays, without a target.
        assert!(
            out.contains("<span class=\"cw-md-link-refused\">x</span>")
                || out.contains("cw-md-link-refused\">javascript"),
            "{markdown:?} gave {out}"
        );
    }
}

/// Tokens as a model streams them: runs of non-space characters with the spaces after them.
fn tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (index, character) in text.char_indices() {
        let space = character.is_whitespace();
        if in_space && !space {
            tokens.push(&text[start..index]);
            start = index;
        }
        in_space = space;
    }
    tokens.push(&text[start..]);
    tokens
}

/// The text one character at a time.
fn characters(text: &str) -> Vec<&str> {
    text.char_indices()
        .map(|(i, c)| &text[i..i + c.len_utf8()])
        .collect()
}

/// A repeatable stream of numbers below a bound (xorshift), from `seed`.
fn random(mut seed: u32) -> impl FnMut(usize) -> usize {
    move |bound| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize % bound
    }
}

/// Streams `text` in `pieces`; returns everything handed out as finished, in order.
fn stream(pieces: &[&str]) -> Vec<Node> {
    let mut markdown = IncrementalMarkdown::new();
    let mut shown: Vec<Node> = Vec::new();
    let mut text = String::new();
    for piece in pieces {
        text.push_str(piece);
        let update = markdown.update(&text, false);
        if update.restart {
            shown.clear();
        }
        shown.extend(update.finished);
        // While streaming, the open block is whatever remains: something shows whenever the text
        // so far renders to something (a text of link definitions alone shows nothing).
        let mut now = shown.clone();
        now.extend(update.open);
        assert!(!now.is_empty() || render(&text).is_empty(), "{text:?}");
    }
    let update = markdown.update(&text, true);
    if update.restart {
        shown.clear();
    }
    shown.extend(update.finished);
    assert!(update.open.is_empty());
    shown
}

const SAMPLES: [&str; 9] = [
    "# Title\n\nSome *text* with `code` and a [link](https://example.com).\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\n> quoted\n> text\n\n---\n\nThe end.",
    "Setext heading\n==============\n\nParagraph\nwith lazy\nlines\n\n- loose\n\n- list\n\n  with paragraphs\n\nAnother\n---\n\n    indented code\n\n~~struck~~ and **bold**",
    "Unclosed fence at the end:\n\n```python\nprint('still streaming')\nmore code",
    "A [ref] link\n\n[ref]: https://example.com/ref\n\nthen more",
    "Tables grow row by row:\n\n| name | value |\n| --- | --- |\n| a | 1 |\n| b | 2 |\n| c | 3 |\nafter the table\n\n1) one\n2) two\n\n* * *\n",
    "And <b>raw html</b> with\n\n<div>\nblock html\n</div>\n\n- [x] done\n- [ ] todo\n\nA paragraph\n| x | y |\n|---|---|\n| 1 | 2 |\n",
    "CRLF lines\r\n\r\n- a\r\n- b\r\n\r\n~~~\r\ntilde fence\r\n~~~\r\n\r\n````\r\n```\r\nnested\r\n````\r\nend",
    "> a quote\nwith a lazy line\n> and more\n\n- [foo]: https://example.com/in-a-list\n\n[foo]\n",
    "# T\n\n[foo\nbar]: https://example.com/two-lines\n\n[foo bar]\n",
];

#[test]
fn incremental_equals_one_shot_at_every_token_boundary() {
    for sample in SAMPLES {
        let pieces = tokens(sample);
        assert_eq!(
            html(&stream(&pieces)),
            html(&render(sample)),
            "token by token: {sample:?}"
        );
    }
}

#[test]
fn incremental_equals_one_shot_at_every_character() {
    for sample in SAMPLES {
        let pieces = characters(sample);
        assert_eq!(
            html(&stream(&pieces)),
            html(&render(sample)),
            "character by character: {sample:?}"
        );
    }
}

#[test]
fn incremental_equals_one_shot_for_every_two_piece_split() {
    for sample in SAMPLES {
        for split in (0..=sample.len()).filter(|&i| sample.is_char_boundary(i)) {
            let pieces = [&sample[..split], &sample[split..]];
            assert_eq!(
                html(&stream(&pieces)),
                html(&render(sample)),
                "split at {split}: {sample:?}"
            );
        }
    }
}

#[test]
fn finished_blocks_are_handed_out_once_and_only_the_open_block_is_reparsed() {
    let mut markdown = IncrementalMarkdown::new();
    let first = markdown.update("# A\n\nparagraph one\n\npara\ngraph\n", false);
    assert_eq!(html(&first.finished), "<h1>A</h1><p>paragraph one</p>");
    assert_eq!(html(&first.open), "<p>para\ngraph</p>");
    let second = markdown.update("# A\n\nparagraph one\n\npara\ngraph two", false);
    assert_eq!(html(&second.finished), "", "nothing new is finished");
    assert_eq!(html(&second.open), "<p>para\ngraph two</p>");
    assert!(!second.restart);
}

#[test]
fn a_block_that_starts_on_a_partial_line_finishes_nothing() {
    // "|" alone is a paragraph, but it may become a table row: the table stays open.
    let mut markdown = IncrementalMarkdown::new();
    let update = markdown.update("| a |\n|---|\n|", false);
    assert_eq!(html(&update.finished), "");
    let update = markdown.update("| a |\n|---|\n| 1 |\n\nnext\nmore\n", false);
    assert_eq!(
        html(&update.finished),
        "<div class=\"cw-md-table\"><table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table></div>"
    );
}

#[test]
fn a_table_that_would_interrupt_a_paragraph_is_not_trusted_before_its_delimiter_row_is_complete() {
    // With "|---|-" the header looks like a two-column table; the full row has three columns.
    let text = "Results:\n| a | b |\n|---|---|---|\n";
    let pieces = characters(text);
    assert_eq!(html(&stream(&pieces)), html(&render(text)));
}

#[test]
fn an_open_code_fence_shows_as_code_while_it_streams() {
    let mut markdown = IncrementalMarkdown::new();
    let update = markdown.update("Look:\n\n```js\nconsole.log(1)", false);
    let open = html(&update.open);
    assert!(
        open.ends_with("<code-block js>console.log(1)</code-block>"),
        "{open}"
    );
}

/// Replies as models write them: every construct the widget renders, in the combinations that
/// come up.
const REPLIES: [&str; 16] = [
    "Here is a plan:\n\n1. **Install** the tools\n2. Run `cargo build`\n3. Check the *output*\n\nThat's all.",
    "## Steps\n\n- First, open the [docs](https://example.com/docs \"Docs\").\n- Then:\n  1. read\n  2. try\n- Done ~~maybe~~.\n",
    "```python\ndef f(x):\n\treturn x * 2\n```\n\nCall it with `f(2)`.",
    "| Name | Age | City |\n|:-----|----:|:----:|\n| Ann | 31 | Paris |\n| Bob | 27 | `Rome` |\n| *Cy* | 40 | \\| pipe |\n\nTable above.",
    "> **Note**\n> Quotes can hold lists:\n> - a\n> - b\n>\n> and code:\n> ```\n> x = 1\n> ```\n",
    "Line one  \nline two\\\nline three\nline four",
    "* a\n* b\n\n  continued\n* c\n\n---\n\n+ x\n+ y",
    "Title\n=====\n\nSub\n---\n\n### Small ###\n\n#### Closing #s #",
    "Mixed *emphasis with **strong** inside* and __under *scores*__ and snake_case_word and 2*3*4.",
    "Escapes: \\*not em\\*, \\`not code\\`, \\[not a link\\], 5 \\< 6, &amp; &lt;tag&gt; &copy; &#x263A; &#9731;.",
    "A [reference link][ref], a [collapsed][] one and a [shortcut].\n\n[ref]: https://example.com/ref\n[collapsed]: <https://example.com/c> 'C'\n[shortcut]: https://example.com/s",
    "- [ ] todo\n- [x] done\n- [X] also done\n- not a task",
    "Autolinks: <https://example.com/a?b=c&d=e> and <user@example.com>, an image ![alt *text*](https://img.example/a.png \"t\").",
    "    indented code\n    more\n\n\tand a tab\n\nparagraph\n    not code",
    "1) one\n2) two\n\n10. ten\n11. eleven\n\n- a\n    - four spaces\n        - eight",
    "Nested `` code with ` backtick `` and ``` triple ``` spans; unmatched ` tick; **unclosed strong; *a **b** c*; ***both***.",
];

/// The same text as the reference parser renders it.
fn same_as_reference(markdown: &str) {
    assert_eq!(
        html(&render(markdown)),
        html(&pulldown::render(markdown)),
        "for {markdown:?}"
    );
}

#[test]
fn model_replies_render_as_the_reference_parser_renders_them() {
    for reply in REPLIES.iter().chain(SAMPLES.iter()) {
        same_as_reference(reply);
    }
}

/// Documents put together from the pieces of the replies above, in many orders and nestings.
#[test]
fn generated_documents_render_as_the_reference_parser_renders_them() {
    const BLOCKS: [&str; 33] = [
        "plain text with *em* and **strong**",
        "a line\nand a lazy one",
        "# heading",
        "Setext\n---",
        "- item\n- item two",
        "1. one\n2. two",
        "- [ ] task",
        "> quoted *text*",
        "```rust\nlet x = 1;\n```",
        "~~~\ncode\n~~~",
        "    indented",
        "| a | b |\n|---|--:|\n| 1 | 2 |",
        "***",
        "[link](https://example.com) and <https://example.com>",
        "`code` and ``co`de``",
        "_under_ and __strong__ and ~~del~~",
        "ends with two spaces  \nthen more",
        "* star item\n\n  second paragraph",
        "text with a [ref] link",
        "[ref]: https://example.com/r",
        "&amp; &gt; &#65; \\* \\_",
        "![image](https://img.example/x.png)",
        "> > nested quote\n> back out",
        "- ```\n  fenced in an item\n  ```",
        "<div>\nhtml *block*\n</div>",
        "**a*b*** and *a **b***",
        "[parens](https://example.com/a_(b)) and [empty]()",
        "1. one\n\n   still one",
        "-\ttab item\n\tcontinued",
        "| x |\n|---|\nrow without pipes",
        "Term  \n**bold** line",
        "+ plus\n+ plus two",
        "2. starts at two\n3. three",
    ];
    const JOINS: [&str; 8] = [
        "\n", "\n\n", "\n\n> ", "\n\n- ", "\n  ", "\n> > ", "\n\n1. ", "\n- ",
    ];
    let mut next = random(0x9e37_79b9);
    for _ in 0..5_000 {
        let mut document = String::new();
        for _ in 0..1 + next(5) {
            if !document.is_empty() {
                document.push_str(JOINS[next(JOINS.len())]);
            }
            document.push_str(BLOCKS[next(BLOCKS.len())]);
        }
        same_as_reference(&document);
    }
}

#[test]
fn model_replies_stream_as_they_render_whole() {
    for reply in REPLIES {
        assert_eq!(
            html(&stream(&characters(reply))),
            html(&render(reply)),
            "{reply:?}"
        );
        assert_eq!(
            html(&stream(&tokens(reply))),
            html(&render(reply)),
            "{reply:?}"
        );
    }
}

/// How deeply the nodes nest.
fn depth(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|node| match node {
            Node::Element { children, .. } => 1 + depth(children),
            _ => 1,
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn deeply_nested_input_stays_shallow_enough_to_walk() {
    // The DOM is built recursively, in a wasm stack of 1 MB: thousands of levels would exhaust it.
    for markdown in [
        ">".repeat(5_000) + " quoted",
        (0..200).map(|n| " ".repeat(n * 2) + "- item\n").collect(),
        "*".repeat(5_000) + "a" + &"*".repeat(5_000),
        "*a ".repeat(3_000) + &" a*".repeat(3_000),
        "[a ".repeat(3_000)
            + "![b](https://example.com/b)"
            + &"](https://example.com)".repeat(3_000),
    ] {
        let nodes = render(&markdown);
        assert!(depth(&nodes) <= 80, "{} levels", depth(&nodes));
        assert!(!nodes.is_empty());
    }
}

#[test]
fn punctuation_beyond_ascii_around_delimiters_reads_as_the_reference_reads_it() {
    for markdown in [
        "a*«b»*c and *«b»*",
        "x_“quoted”_y and _“quoted”_",
        "**—dash—** and a**—dash—**b",
        "*مرحبا،* و*«نص»*ب",
        "*¿qué?* and a*¿qué?*b",
        "*→* and a*→*b and 🙂*x*🙂 and a*🙂*b",
        "*Привет,* мир и a*«слово»*b",
        "*中文。*和a*「引用」*b",
    ] {
        same_as_reference(markdown);
    }
}

/// Random text over the characters Markdown gives meaning to, with tabs, CR and characters of
/// two to four bytes: rendering never panics (a panic would stop the widget), and streaming it
/// gives what rendering it whole gives.
#[test]
fn arbitrary_text_renders_without_panicking_and_streams_as_it_renders_whole() {
    const ALPHABET: [&str; 40] = [
        "*",
        "_",
        "~",
        "`",
        "[",
        "]",
        "(",
        ")",
        "<",
        ">",
        "!",
        "&",
        "#",
        ";",
        "\\",
        "|",
        "-",
        "+",
        ":",
        "=",
        ".",
        "1",
        " ",
        "  ",
        "    ",
        "\t",
        "\n",
        "\n\n",
        "\r\n",
        "a",
        "é",
        "🙂",
        "中",
        "\"",
        "'",
        "&amp;",
        "http://x.y",
        "@",
        "    - ",
        "```",
    ];
    let mut next = random(0x0bad_5eed);
    for _ in 0..3_000 {
        let text: String = (0..next(200))
            .map(|_| ALPHABET[next(ALPHABET.len())])
            .collect();
        let whole = html(&render(&text));
        let split = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .nth(next(text.chars().count() + 1))
            .unwrap_or(0);
        let streamed = html(&stream(&[&text[..split], &text[split..]]));
        assert_eq!(streamed, whole, "split at {split}: {text:?}");
    }
}

#[test]
fn strikethrough_tables_and_headings_read_as_the_reference_reads_them() {
    for markdown in [
        "a~~b~~c and (~~-~~) and ~~ a ~~ and [~~-x *~~y",
        "x~y~z and a ~b~ c and ~~~three~~~",
        "no pipe in the header\n|---|\nrow",
        "a | b\n--|--\n1 | 2",
        "Heading with a trailing space \n---",
        "Heading with a hard break  \n===",
    ] {
        same_as_reference(markdown);
    }
}

#[test]
fn looseness_stays_with_its_own_list_and_lone_underlines_stay() {
    for markdown in [
        // A blank line between the items of a nested list makes that list loose, not its parent.
        "- a\n  - b\n\n  - c\n- d",
        "1. a\n   - x\n\n   - y\n2. b",
        // A quote's empty `>` line is not a blank line between the item's blocks.
        "- > a\n  >\n- b",
        "- > a\n  >\n  b",
        // An underline under a paragraph of definitions alone is a rule, or text.
        "[a]: https://example.com/a\n---\n\n[a]",
        "[a]: https://example.com/a\n===\n[a]",
        // Latin-1 letters and digits are not punctuation.
        "a*µ*b and a*²*b and a*«*b",
    ] {
        same_as_reference(markdown);
    }
}

#[test]
fn an_html_block_ends_at_its_closing_tag_in_any_case() {
    // CommonMark's end condition ignores case (pulldown-cmark's does not).
    assert_eq!(
        html(&render("<PRE>\n*x*\n</PRE>\nrest *y*")),
        "<p class=\"cw-md-raw\">&lt;PRE&gt;\n*x*\n&lt;/PRE&gt;\n</p><p>rest <em>y</em></p>"
    );
    assert_eq!(
        html(&render("<Script>\nx\n</SCRIPT>\n*after*")),
        "<p class=\"cw-md-raw\">&lt;Script&gt;\nx\n&lt;/SCRIPT&gt;\n</p><p><em>after</em></p>"
    );
}

#[test]
fn finished_blocks_never_link_to_a_definition_still_arriving() {
    // Each prefix arriving in one piece: the first paragraph is finished in the same update that
    // carries part of the definition.
    let text = "See [ref].\n\nMore\nlines\n\n[ref]: https://example.com/whole";
    for end in (0..=text.len()).filter(|&end| text.is_char_boundary(end)) {
        let finished = html(
            &IncrementalMarkdown::new()
                .update(&text[..end], false)
                .finished,
        );
        assert!(!finished.contains("href"), "at {end}: {finished}");
    }
    assert_eq!(html(&stream(&[text])), html(&render(text)));
    assert!(html(&render(text)).contains("href=\"https://example.com/whole\""));
}

#[test]
fn a_link_whose_text_reads_as_another_address_shows_where_it_goes() {
    let out = html(&render(
        "[https://your-bank.example/login](https://evil.example/steal) and [the docs](https://docs.example)",
    ));
    assert!(
        out.contains(
            "your-bank.example/login<span class=\"cw-md-link-host\"> (evil.example)</span></a>"
        ),
        "{out}"
    );
    assert!(!out.contains("(docs.example)"), "{out}");
    // An address that is the target's own shows nothing more.
    let same = html(&render(
        "<https://example.com/a> [example.com](https://www.example.com)",
    ));
    assert!(!same.contains("cw-md-link-host"), "{same}");
}

#[test]
fn math_streams_as_it_renders_whole_and_code_keeps_its_dollars() {
    let reply = "Let $x^2$ be, with `$y$` in code and \\$5 escaped.\n\n$$\\frac{a}{b}$$\n\n\
                 - an item with \\(\\alpha\\)\n\n\\[a = b\\]\n\nPrices: $5 and $10.";
    let whole = html(&render(reply));
    assert_eq!(
        whole,
        "<p>Let <math display=false>x^2</math> be, with <code>$y$</code> in code and $5 escaped.</p>\
         <p><math display=true>\\frac{a}{b}</math></p>\
         <ul><li>an item with <math display=false>\\alpha</math></li></ul>\
         <p><math display=true>a = b</math></p><p>Prices: $5 and $10.</p>"
    );
    assert_eq!(html(&stream(&characters(reply))), whole);
    assert_eq!(html(&stream(&tokens(reply))), whole);
    // A dollar that code, a link or a tag took opens nothing: the formula after it is found.
    assert_eq!(
        html(&render(
            "`$HOME` is set; [a](https://e.com/?p=$1) then $x^2$"
        )),
        "<p><code>$HOME</code> is set; <a href=\"https://e.com/?p=$1\" target=\"_blank\" \
         rel=\"noopener noreferrer nofollow\">a</a> then <math display=false>x^2</math></p>"
    );
}
