//! Images: attached through the picker, pasted or dropped; downscaled; sent as image parts.

use chat_protocol::{ApiError, Message};
use chat_widget::{ChatConfig, TransportError};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;

use crate::support::{answer, local_storage, settle, sleep, wait_until, Fixture};

/// A `kind` image of `width` × `height` drawn on a canvas (a gradient, or noise that compresses
/// badly), as a file called `name`.
async fn drawn_file(width: u32, height: u32, kind: &str, name: &str, noise: bool) -> web_sys::File {
    let script = format!(
        "(async () => {{
            const canvas = document.createElement('canvas');
            canvas.width = {width}; canvas.height = {height};
            const g = canvas.getContext('2d');
            if ({noise}) {{
                const data = g.createImageData({width}, {height});
                for (let i = 0; i < data.data.length; i++) data.data[i] = (i * 2654435761 >>> 13) & 255;
                g.putImageData(data, 0, 0);
            }} else {{
                const gradient = g.createLinearGradient(0, 0, {width}, {height});
                gradient.addColorStop(0, '#c0392b'); gradient.addColorStop(1, '#2980b9');
                g.fillStyle = gradient; g.fillRect(0, 0, {width}, {height});
                g.fillStyle = '#ffffff'; g.fillRect({width} / 4, {height} / 4, {width} / 2, {height} / 2);
            }}
            const blob = await new Promise((resolve) => canvas.toBlob(resolve, '{kind}', 0.95));
            return new File([blob], '{name}', {{ type: '{kind}' }});
        }})()"
    );
    let promise: js_sys::Promise = js_sys::eval(&script).expect("runs").unchecked_into();
    JsFuture::from(promise)
        .await
        .expect("drawn")
        .unchecked_into()
}

/// A file of `bytes` that says it is `kind`.
fn raw_file(bytes: &str, kind: &str, name: &str) -> web_sys::File {
    let make = js_sys::Function::new_with_args(
        "bytes, kind, name",
        "return new File([bytes], name, { type: kind });",
    );
    make.call3(&JsValue::NULL, &bytes.into(), &kind.into(), &name.into())
        .expect("a file")
        .unchecked_into()
}

/// `files` in a `DataTransfer`, as the clipboard and a drop carry them.
fn transfer(files: &[&web_sys::File]) -> JsValue {
    let make = js_sys::Function::new_with_args(
        "files",
        "const data = new DataTransfer(); for (const file of files) data.items.add(file); return data;",
    );
    let list: js_sys::Array = files.iter().map(|file| JsValue::from(*file)).collect();
    make.call1(&JsValue::NULL, &list).expect("a transfer")
}

impl Fixture {
    fn choose_files(&self, files: &[&web_sys::File]) {
        let input = self.query("input[type='file']").expect("a file picker");
        let choose = js_sys::Function::new_with_args(
            "input, data",
            "input.files = data.files; input.dispatchEvent(new Event('change', { bubbles: true }));",
        );
        choose
            .call2(&JsValue::NULL, &input, &transfer(files))
            .expect("chosen");
    }

    fn paste_files(&self, files: &[&web_sys::File]) {
        let paste = js_sys::Function::new_with_args(
            "target, data",
            "target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
        );
        paste
            .call2(&JsValue::NULL, &self.textarea(), &transfer(files))
            .expect("pasted");
    }

    fn drop_files(&self, files: &[&web_sys::File]) {
        let drop = js_sys::Function::new_with_args(
            "target, data",
            "for (const type of ['dragover', 'drop']) \
             target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));",
        );
        let log = self.query("[role='log']").expect("the log");
        drop.call2(&JsValue::NULL, &log, &transfer(files))
            .expect("dropped");
    }

    fn thumbnails(&self) -> Vec<HtmlElement> {
        self.query_all(".cw-attachments__image")
    }

    fn composer_notice(&self) -> Option<String> {
        self.query(".cw-composer__notice")
            .and_then(|notice| notice.text_content())
    }

    /// The image parts of the last request's last message: each `data:` URL.
    fn sent_images(&self) -> Vec<String> {
        let requests = self.transport.requests.borrow();
        let Some(Message::User {
            content: chat_protocol::Content::Parts(parts),
            ..
        }) = requests.last().and_then(|request| request.messages.last())
        else {
            return Vec::new();
        };
        parts
            .iter()
            .filter_map(|part| match part {
                chat_protocol::ContentPart::ImageUrl { image_url } => Some(image_url.url.clone()),
                chat_protocol::ContentPart::Text { .. } => None,
            })
            .collect()
    }
}

/// The size of the image in a `data:` URL, as the browser decodes it.
async fn image_size(url: &str) -> (u32, u32) {
    let measure = js_sys::Function::new_with_args(
        "url",
        "return fetch(url).then((r) => r.blob()).then(createImageBitmap).then((b) => [b.width, b.height]);",
    );
    let promise: js_sys::Promise = measure
        .call1(&JsValue::NULL, &url.into())
        .expect("measured")
        .unchecked_into();
    let size: js_sys::Array = JsFuture::from(promise)
        .await
        .expect("decoded")
        .unchecked_into();
    (
        size.get(0).as_f64().unwrap_or(0.0) as u32,
        size.get(1).as_f64().unwrap_or(0.0) as u32,
    )
}

#[wasm_bindgen_test]
async fn a_large_photo_from_the_picker_is_downscaled_and_sent_as_an_image_part() {
    let chat = Fixture::new();
    let photo = drawn_file(3000, 2000, "image/jpeg", "holiday.jpg", false).await;
    chat.choose_files(&[&photo]);
    wait_until(5000, || chat.thumbnails().len() == 1).await;
    assert_eq!(chat.thumbnails().len(), 1, "{:?}", chat.composer_notice());
    chat.send("What is in this picture?").await;
    let images = chat.sent_images();
    assert_eq!(images.len(), 1);
    assert!(
        images[0].starts_with("data:image/jpeg;base64,"),
        "{}",
        &images[0][..40]
    );
    assert_eq!(
        image_size(&images[0]).await,
        (1568, 1045),
        "the longest side is 1,568 px"
    );
    let request = chat.transport.requests.borrow()[0].clone();
    let Some(Message::User {
        content: chat_protocol::Content::Parts(parts),
        ..
    }) = request.messages.last()
    else {
        panic!("a message of parts: {:?}", request.messages.last());
    };
    assert_eq!(
        parts[0],
        chat_protocol::ContentPart::Text {
            text: "What is in this picture?".into()
        }
    );
    // Sent: the composer is empty again, and the message shows the image.
    assert!(chat.thumbnails().is_empty());
    assert_eq!(chat.textarea().value(), "");
    let shown = chat
        .query("[data-role='user'] .cw-message__image")
        .expect("the image in the message");
    assert_eq!(shown.get_attribute("alt").as_deref(), Some("Image 1 of 1"));
}

#[wasm_bindgen_test]
async fn pasted_and_dropped_images_are_attached_removable_and_sent_alone() {
    let chat = Fixture::new();
    let screenshot = drawn_file(200, 100, "image/png", "screenshot.png", false).await;
    let photo = drawn_file(640, 480, "image/jpeg", "photo.jpg", false).await;
    chat.paste_files(&[&screenshot]);
    wait_until(5000, || chat.thumbnails().len() == 1).await;
    chat.drop_files(&[&photo]);
    wait_until(5000, || chat.thumbnails().len() == 2).await;
    assert_eq!(chat.thumbnails().len(), 2, "{:?}", chat.composer_notice());
    let remove = chat
        .query("button[aria-label='Remove photo.jpg']")
        .expect("a remove button per image");
    remove.click();
    settle().await;
    assert_eq!(chat.thumbnails().len(), 1);
    // No text: the image alone is a message.
    let send = chat.button("Send").expect("Send");
    assert!(!send
        .unchecked_ref::<web_sys::HtmlButtonElement>()
        .disabled());
    chat.click("Send");
    settle().await;
    let images = chat.sent_images();
    assert_eq!(images.len(), 1);
    assert!(
        images[0].starts_with("data:image/png;base64,"),
        "a PNG stays PNG"
    );
    assert_eq!(image_size(&images[0]).await, (200, 100), "never enlarged");
}

#[wasm_bindgen_test]
async fn refused_files_each_say_why_and_the_typed_text_stays() {
    let config =
        ChatConfig::from_json(r#"{"max_images": 2, "image_budget": 30000}"#).expect("valid");
    let chat = Fixture::with_config(config);
    chat.type_text("keep me");
    let cases: [(web_sys::File, &str); 2] = [
        (
            raw_file("plain words", "text/plain", "notes.txt"),
            "notes.txt was not attached: only PNG, JPEG, WebP and GIF",
        ),
        (
            raw_file("not really a png", "image/png", "broken.png"),
            "broken.png was not attached: it could not be read",
        ),
    ];
    for (file, why) in cases {
        chat.choose_files(&[&file]);
        wait_until(5000, || {
            chat.composer_notice()
                .is_some_and(|notice| notice.contains(why))
        })
        .await;
        let notice = chat.composer_notice().unwrap_or_default();
        assert!(notice.contains(why), "{notice}");
    }
    let noise = drawn_file(1200, 1200, "image/png", "noise.png", true).await;
    chat.choose_files(&[&noise]);
    wait_until(8000, || {
        chat.composer_notice()
            .is_some_and(|notice| notice.contains("noise.png"))
    })
    .await;
    let notice = chat.composer_notice().unwrap_or_default();
    assert!(notice.contains("even made smaller"), "{notice}");
    let small = drawn_file(40, 40, "image/png", "small.png", false).await;
    chat.choose_files(&[&small, &small, &small]);
    wait_until(5000, || {
        chat.composer_notice()
            .is_some_and(|n| n.contains("At most"))
    })
    .await;
    assert_eq!(chat.thumbnails().len(), 2);
    assert_eq!(
        chat.composer_notice().as_deref(),
        Some("At most 2 images fit in one message.")
    );
    assert_eq!(chat.textarea().value(), "keep me", "the typed text stays");
    assert_eq!(chat.transport.request_count(), 0, "nothing was sent");
}

#[wasm_bindgen_test]
async fn kept_history_holds_small_previews_not_the_images() {
    let config = ChatConfig::from_json(r#"{"id": "pictures"}"#).expect("valid");
    let first = Fixture::with_config(config.clone());
    let photo = drawn_file(1600, 1200, "image/jpeg", "photo.jpg", true).await;
    first.choose_files(&[&photo]);
    wait_until(5000, || first.thumbnails().len() == 1).await;
    first.send("Look").await;
    let sent = first.sent_images()[0].len();
    answer(&first, "A photo.");
    settle().await;
    drop(first);
    let stored = local_storage()
        .get_item("chat-widget.conversations.pictures")
        .expect("readable")
        .expect("kept");
    assert!(
        stored.len() < 20_000 && sent > 100_000,
        "kept {} bytes for an image sent as {sent}",
        stored.len()
    );
    let second = Fixture::with_config(config);
    settle().await;
    assert!(second
        .query("[data-role='user'] .cw-message__image")
        .is_some());
    let note = second
        .query("[data-role='user'] .cw-message__note")
        .and_then(|note| note.text_content());
    assert_eq!(
        note.as_deref(),
        Some("Small previews: the full images were not kept.")
    );
    local_storage()
        .remove_item("chat-widget.conversations.pictures")
        .expect("removed");
}

#[wasm_bindgen_test]
async fn a_413_for_a_message_with_images_says_the_images_are_too_large() {
    let chat = Fixture::new();
    let photo = drawn_file(300, 200, "image/jpeg", "photo.jpg", false).await;
    chat.paste_files(&[&photo]);
    wait_until(5000, || chat.thumbnails().len() == 1).await;
    chat.send("Too big?").await;
    chat.transport.push(Err(TransportError::Http {
        status: 413,
        error: ApiError::new("Payload Too Large"),
        retry_after: None,
    }));
    settle().await;
    let alert = chat.alert().unwrap_or_default();
    assert!(alert.contains("The images are too large"), "{alert}");
}

#[wasm_bindgen_test]
async fn pasted_text_with_a_picture_of_it_stays_text() {
    let chat = Fixture::new();
    let picture = drawn_file(100, 40, "image/png", "cells.png", false).await;
    let paste = js_sys::Function::new_with_args(
        "target, file",
        "const data = new DataTransfer(); data.setData('text/plain', 'A1 B1'); \
         data.setData('text/html', '<table><tr><td>A1</td><td>B1</td></tr></table>'); data.items.add(file); \
         return target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
    );
    paste
        .call2(&JsValue::NULL, &chat.textarea(), &picture)
        .expect("pasted");
    sleep(200).await;
    assert!(chat.thumbnails().is_empty(), "no image attached");
}
