//! Replies that try to run script or load something: none may, whatever the spelling.

use chat_protocol::StreamEvent;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{content, settle, Fixture};

/// Replies that try to run script or load something: none may, whatever the spelling.
const XSS_VECTORS: [&str; 63] = [
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=1\">",
    "<svg onload=\"window.__xss=1\">",
    "<svg><script>window.__xss=1</script></svg>",
    "<math><mtext><script>window.__xss=1</script></mtext></math>",
    "<iframe src=\"javascript:window.__xss=1\"></iframe>",
    "<body onload=window.__xss=1>",
    "<a href=\"javascript:window.__xss=1\">x</a>",
    "[x](javascript:window.__xss=1)",
    "[x](JaVaScRiPt:window.__xss=1)",
    "[x](&#106;avascript:window.__xss=1)",
    "[x](&#x6A;avascript:window.__xss=1)",
    "[x](javascript&colon;window.__xss=1)",
    "[x]( javascript:window.__xss=1)",
    "[x](<javascript:window.__xss=1>)",
    "[x](<java\tscript:window.__xss=1>)",
    "[x](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](VBSCRIPT:msgbox(1))",
    "[x](livescript:window.__xss=1)",
    "<javascript:window.__xss=1>",
    "<JAVASCRIPT:window.__xss=1>",
    "![x](javascript:window.__xss=1)",
    "![x](x\" onerror=\"window.__xss=1)",
    "![x](https://example.com/a.png\" onerror=\"window.__xss=1)",
    "![x](https://example.com/a.png)",
    "<img src=\"x\" onerror=window.__xss=1//",
    "[x][ref]\n\n[ref]: javascript:window.__xss=1",
    "<details open ontoggle=window.__xss=1>",
    "<input autofocus onfocus=window.__xss=1>",
    "<video><source onerror=window.__xss=1></video>",
    "<audio src=x onerror=window.__xss=1>",
    "<object data=\"javascript:window.__xss=1\">",
    "<embed src=\"javascript:window.__xss=1\">",
    "<form action=\"javascript:window.__xss=1\"><button>x</button></form>",
    "<marquee onstart=window.__xss=1>",
    "<style>@import 'javascript:window.__xss=1';</style>",
    "<link rel=stylesheet href=\"javascript:window.__xss=1\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=1\">",
    "<base href=\"javascript:window.__xss=1//\">",
    "<svg><a xlink:href=\"javascript:window.__xss=1\"><text>x</text></a></svg>",
    "<svg><animate onbegin=window.__xss=1 attributeName=x dur=1s>",
    "<math href=\"javascript:window.__xss=1\">x</math>",
    "<table background=\"javascript:window.__xss=1\">",
    "<div style=\"background:url(javascript:window.__xss=1)\">",
    "\"><script>window.__xss=1</script>",
    "`<script>window.__xss=1</script>`",
    "```html\n<script>window.__xss=1</script>\n```",
    "[x](https://example.com \"t\\\" onmouseover=\\\"window.__xss=1\")",
    "[<img src=x onerror=window.__xss=1>](https://example.com)",
    "[x](javascript:window.__xss=1 \"t\")",
    "<a href=\"&#x6A;avascript:window.__xss=1\">x</a>",
    "[x](\u{0}javascript:window.__xss=1)",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=1>\">",
    "<template><script>window.__xss=1</script></template>",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\">",
    "[x](https://example.com/\"onmouseover=\"window.__xss=1)",
    "| a |\n|---|\n| <img src=x onerror=window.__xss=1> |",
    "- [ ] <script>window.__xss=1</script>\n> <svg onload=window.__xss=1>",
    "[x](jav&#x09;ascript:window.__xss=1)",
    // Math and highlighted code carry text only.
    "$\\text{<img src=x onerror=window.__xss=1>}$ and $$\\href{javascript:window.__xss=1}{x}$$",
    "\\(\\mathrm{<script>window.__xss=1</script>}\\) $x^{<svg onload=window.__xss=1>}$",
    "```js\n</code><img src=x onerror=window.__xss=1>`${window.__xss=1}`\n```",
];

const ALLOWED_TAGS: [&str; 26] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "ul",
    "ol",
    "li",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "div",
    "span",
    "a",
    "hr",
    "br",
    "input",
    "table",
    "thead",
    "tbody",
    "tr",
];
const MORE_ALLOWED_TAGS: [&str; 18] = [
    "th",
    "td",
    "button", // MathML, which carries no script, no link and no style:
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "mtext",
    "mspace",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
];
const ALLOWED_ATTRIBUTES: [&str; 19] = [
    "class",
    "href",
    "target",
    "rel",
    "title",
    "start",
    "type",
    "disabled",
    "checked",
    "aria-label",
    "tabindex",
    "data-language",
    "data-lit",
    "alttext",
    "display",
    "encoding",
    "mathvariant",
    "stretchy",
    "width",
];

#[wasm_bindgen_test]
async fn no_xss_vector_runs_or_reaches_the_dom() {
    let chat = Fixture::new();
    for (n, vector) in XSS_VECTORS.iter().enumerate() {
        chat.send(&format!("vector {n}")).await;
        let chars: Vec<char> = vector.chars().collect();
        for (n, piece) in chars.chunks(3).enumerate() {
            chat.transport
                .push(content(&piece.iter().collect::<String>()));
            if n % 4 == 3 {
                settle().await;
            }
        }
        chat.transport.push(Ok(StreamEvent::Done));
        settle().await;
    }
    // Give any handler that slipped through the time to run.
    for _ in 0..5 {
        settle().await;
    }
    let window = web_sys::window().expect("a window");
    let flag = js_sys::Reflect::get(&window, &"__xss".into()).expect("readable");
    assert!(flag.is_undefined(), "a vector ran script");
    let replies = chat.query_all("[data-role='assistant'] .cw-markdown");
    assert_eq!(replies.len(), XSS_VECTORS.len());
    for (reply, vector) in replies.iter().zip(XSS_VECTORS) {
        let shown = reply.text_content().unwrap_or_default();
        assert!(!shown.trim().is_empty(), "{vector:?} showed nothing at all");
        let elements = reply.query_selector_all("*").expect("valid");
        for i in 0..elements.length() {
            let element: web_sys::Element = elements.item(i).expect("an element").unchecked_into();
            let tag = element.local_name();
            assert!(
                ALLOWED_TAGS.contains(&tag.as_str()) || MORE_ALLOWED_TAGS.contains(&tag.as_str()),
                "{vector:?} put a <{tag}> in the page"
            );
            let names = element.get_attribute_names();
            for j in 0..names.length() {
                let name = names.get(j).as_string().unwrap_or_default();
                assert!(
                    !name.starts_with("on"),
                    "{vector:?} put an {name} attribute in the page"
                );
                assert!(
                    ALLOWED_ATTRIBUTES.contains(&name.as_str()),
                    "{vector:?} put a {name} attribute in the page"
                );
                if name == "href" {
                    let href = element.get_attribute("href").unwrap_or_default();
                    let url = web_sys::Url::new(&href).expect("an absolute URL");
                    assert!(
                        ["http:", "https:", "mailto:"].contains(&url.protocol().as_str()),
                        "{vector:?} put href={href:?} in the page"
                    );
                }
            }
        }
    }
}
