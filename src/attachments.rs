//! Images the person attaches to a message: checked, decoded, downscaled and re-encoded in the
//! browser, so a phone photo of several megabytes goes out as a few hundred kilobytes, with a small
//! preview for storage. Only the canvas is used here; nothing is sent.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, File, HtmlCanvasElement, ImageBitmap};

use chat_widget_core::conversation::Image;
use chat_widget_core::strings::{fill, Strings};

/// The image types a person may attach.
pub const ACCEPTED: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];

/// The longest side of a preview, in pixels.
const PREVIEW_SIDE: u32 = 160;

/// Files larger than this are not decoded at all (a decoded 50 MB photo takes far more memory).
pub const MAX_FILE_MB: u32 = 50;

/// An image ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    /// The file's name, for the person.
    pub name: String,
    /// The image as it will be sent, and its preview.
    pub image: Image,
    /// Its width as sent, in pixels.
    pub width: u32,
    /// Its height as sent, in pixels.
    pub height: u32,
}

impl Attachment {
    /// The bytes it takes in the request (its `data:` URL).
    pub fn bytes(&self) -> usize {
        self.image.url.len()
    }
}

/// Why an image was not attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a PNG, JPEG, WebP or GIF.
    NotAnImage(String),
    /// Larger than [`MAX_FILE_MB`].
    FileTooLarge(String),
    /// The browser could not decode it.
    Unreadable(String),
    /// The message already has the most images it may.
    TooMany(usize),
    /// Still larger than what is left of the budget, even downscaled.
    OverBudget {
        /// The file's name.
        name: String,
        /// Its smallest encoding, in bytes of base64.
        bytes: usize,
        /// What was left of the message's budget.
        room: usize,
    },
}

impl Refusal {
    /// The refusal in the table's words.
    pub fn describe(&self, strings: &Strings) -> String {
        let kb = |bytes: &usize| bytes.div_ceil(1024);
        match self {
            Refusal::NotAnImage(name) => fill(strings.not_an_image(), &[name]),
            Refusal::FileTooLarge(name) => fill(strings.file_too_large(), &[name, &MAX_FILE_MB]),
            Refusal::Unreadable(name) => fill(strings.unreadable_image(), &[name]),
            Refusal::TooMany(most) => fill(strings.too_many_images(), &[most]),
            Refusal::OverBudget { name, bytes, room } => {
                fill(strings.image_over_budget(), &[name, &kb(bytes), &kb(room)])
            }
        }
    }
}

/// Prepares `file` to be sent: its longest side at most `max_side` pixels, and its `data:` URL at
/// most `room` bytes. PNGs and GIFs (their first frame) stay PNG, photos become JPEG; when that is
/// too large, it is tried as a JPEG of lower quality, then smaller, before it is refused.
pub async fn prepare(file: &File, max_side: u32, room: usize) -> Result<Attachment, Refusal> {
    let name = file.name();
    let kind = file.type_();
    if !ACCEPTED.contains(&kind.as_str()) {
        return Err(Refusal::NotAnImage(name));
    }
    if file.size() > f64::from(MAX_FILE_MB) * 1024.0 * 1024.0 {
        return Err(Refusal::FileTooLarge(name));
    }
    let bitmap = decode(file)
        .await
        .ok_or_else(|| Refusal::Unreadable(name.clone()))?;
    let (width, height) = (bitmap.width(), bitmap.height());
    if width == 0 || height == 0 {
        bitmap.close();
        return Err(Refusal::Unreadable(name));
    }
    let side = width.max(height).min(max_side);
    let lossless = matches!(kind.as_str(), "image/png" | "image/gif");
    let first = if lossless {
        ("image/png", 1.0)
    } else {
        ("image/jpeg", 0.85)
    };
    let attempts = [
        (side, first),
        (side, ("image/jpeg", 0.7)),
        (side * 3 / 4, ("image/jpeg", 0.6)),
        (side / 2, ("image/jpeg", 0.6)),
    ];
    let mut smallest = usize::MAX;
    for (side, (format, quality)) in attempts {
        let Some((url, sent_width, sent_height)) = encode(&bitmap, side.max(1), format, quality)
        else {
            bitmap.close();
            return Err(Refusal::Unreadable(name));
        };
        if url.len() <= room {
            let preview = encode(&bitmap, PREVIEW_SIDE.min(side), "image/jpeg", 0.6)
                .map(|(preview, _, _)| preview)
                .unwrap_or_default();
            bitmap.close();
            return Ok(Attachment {
                name,
                image: Image { url, preview },
                width: sent_width,
                height: sent_height,
            });
        }
        smallest = smallest.min(url.len());
    }
    bitmap.close();
    Err(Refusal::OverBudget {
        name,
        bytes: smallest,
        room,
    })
}

/// The image in `file`, decoded by the browser (a GIF's first frame), or `None` when it is not one.
async fn decode(file: &File) -> Option<ImageBitmap> {
    let promise = web_sys::window()?
        .create_image_bitmap_with_blob(file)
        .ok()?;
    JsFuture::from(promise).await.ok()?.dyn_into().ok()
}

/// `bitmap` drawn with its longest side `side` pixels (never larger than it is), as a `data:` URL
/// of `format`, with its size.
fn encode(
    bitmap: &ImageBitmap,
    side: u32,
    format: &str,
    quality: f64,
) -> Option<(String, u32, u32)> {
    let (width, height) = (bitmap.width(), bitmap.height());
    let scale = (f64::from(side) / f64::from(width.max(height))).min(1.0);
    let to = |length: u32| ((f64::from(length) * scale).round() as u32).max(1);
    let (out_width, out_height) = (to(width), to(height));
    let canvas: HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    canvas.set_width(out_width);
    canvas.set_height(out_height);
    let context: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    if format == "image/jpeg" {
        // JPEG has no transparency: what was transparent becomes white, not black.
        context.set_fill_style_str("#ffffff");
        context.fill_rect(0.0, 0.0, f64::from(out_width), f64::from(out_height));
    }
    context.set_image_smoothing_enabled(true);
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(
            bitmap,
            0.0,
            0.0,
            f64::from(out_width),
            f64::from(out_height),
        )
        .ok()?;
    let url = canvas
        .to_data_url_with_type_and_encoder_options(format, &JsValue::from(quality))
        .ok();
    // The canvas's pixels are let go now, not whenever the collector runs (browsers cap the
    // memory all canvases may hold).
    canvas.set_width(0);
    canvas.set_height(0);
    let url = url?;
    url.starts_with("data:image/")
        .then_some((url, out_width, out_height))
}
