//! What the demo model says about the images in a message: each one's type, size and dimensions,
//! read from its `data:` URL.

use base64::Engine as _;

/// One image of a message, as far as its bytes tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    /// `PNG`, `JPEG`, `GIF`, `WebP`, or the media type as given.
    pub kind: String,
    /// Its decoded size in bytes.
    pub bytes: usize,
    /// Width and height in pixels, when the header says.
    pub size: Option<(u32, u32)>,
}

/// The facts of a `data:image/...;base64,...` URL, or `None` for any other URL.
pub fn facts(url: &str) -> Option<ImageFacts> {
    let rest = url.strip_prefix("data:")?;
    let (media, data) = rest.split_once(',')?;
    let media = media.strip_suffix(";base64")?;
    let kind = match media {
        "image/png" => "PNG",
        "image/jpeg" => "JPEG",
        "image/gif" => "GIF",
        "image/webp" => "WebP",
        other => other,
    }
    .to_owned();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()?;
    Some(ImageFacts {
        kind,
        size: dimensions(&bytes),
        bytes: bytes.len(),
    })
}

/// Width and height from a PNG, GIF or JPEG header.
fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be = |at: usize| {
        Some(u32::from(u16::from_be_bytes([
            *bytes.get(at)?,
            *bytes.get(at + 1)?,
        ])))
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let word = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        return Some((word(16)?, word(20)?));
    }
    if bytes.starts_with(b"GIF8") {
        let le = |at: usize| {
            Some(u32::from(u16::from_le_bytes([
                *bytes.get(at)?,
                *bytes.get(at + 1)?,
            ])))
        };
        return Some((le(6)?, le(8)?));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        // Walk the segments to the first start-of-frame marker.
        let mut at = 2;
        while *bytes.get(at)? == 0xFF {
            let marker = *bytes.get(at + 1)?;
            let length = usize::try_from(be(at + 2)?).ok()?;
            let frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
            if frame {
                return Some((be(at + 7)?, be(at + 5)?));
            }
            at += 2 + length;
        }
    }
    None
}

/// "I see 2 images: a PNG of 800 × 600 pixels (34 KB) and a JPEG of ..." for the images in
/// `urls`, or `None` when there are none.
pub fn describe(urls: &[&str]) -> Option<String> {
    if urls.is_empty() {
        return None;
    }
    let each: Vec<String> = urls
        .iter()
        .map(|url| match facts(url) {
            Some(facts) => {
                let kb = facts.bytes.div_ceil(1024);
                let article = if facts.kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
                    "an"
                } else {
                    "a"
                };
                match facts.size {
                    Some((width, height)) => format!(
                        "{article} {} of {width} × {height} pixels ({kb} KB)",
                        facts.kind
                    ),
                    None => format!("{article} {} ({kb} KB)", facts.kind),
                }
            }
            None => "an image by link, which I do not fetch".to_owned(),
        })
        .collect();
    let list = match each.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        [] => return None,
    };
    let count = match urls.len() {
        1 => "an image".to_owned(),
        n => format!("{n} images"),
    };
    Some(format!("I see {count}: {list}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_url(media: &str, bytes: &[u8]) -> String {
        format!(
            "data:{media};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0]);
        bytes
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        // An APP0 segment, then the frame.
        bytes.extend([0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46]);
        bytes.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
        bytes.extend(height.to_be_bytes());
        bytes.extend(width.to_be_bytes());
        bytes.extend([0x03]);
        bytes
    }

    #[test]
    fn png_gif_and_jpeg_headers_give_their_size() {
        let png = facts(&data_url("image/png", &png(800, 600))).unwrap();
        assert_eq!((png.kind.as_str(), png.size), ("PNG", Some((800, 600))));
        let jpeg = facts(&data_url("image/jpeg", &jpeg(1568, 1176))).unwrap();
        assert_eq!(
            (jpeg.kind.as_str(), jpeg.size),
            ("JPEG", Some((1568, 1176)))
        );
        let gif = [b"GIF89a".as_slice(), &[0x40, 0x01, 0xF0, 0x00]].concat();
        assert_eq!(
            facts(&data_url("image/gif", &gif)).unwrap().size,
            Some((320, 240))
        );
    }

    #[test]
    fn the_description_counts_and_names_each_image() {
        let png = data_url("image/png", &png(800, 600));
        let jpeg = data_url("image/jpeg", &jpeg(1568, 1176));
        assert_eq!(
            describe(&[&png, &jpeg]).unwrap(),
            "I see 2 images: a PNG of 800 × 600 pixels (1 KB) and a JPEG of 1568 × 1176 pixels (1 KB)."
        );
        assert_eq!(
            describe(&["https://example.com/cat.png"]).unwrap(),
            "I see an image: an image by link, which I do not fetch."
        );
        assert_eq!(describe(&[]), None);
        assert_eq!(facts("data:image/png;base64,%%%"), None);
    }
}
