//! The built widget (trunk's `dist/`), read once at start and served from memory: each file in the
//! best encoding the browser accepts (the build writes `.br` and `.gz` copies beside it), with an
//! `ETag` per encoding so a revalidation is a `304`, and cached for a year when its name carries a
//! content hash.
//!
//! Written here rather than with `tower_http::services::ServeDir`, which serves precompressed
//! files but has no `ETag` and no caching policy, reads the disk on every request, and follows
//! symbolic links out of its folder. A built folder does not change while it is served: restart the
//! relay after building again.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;
use std::{fs, io};

use axum::body::{Body, Bytes};
use axum::http::header::{
    ACCEPT_ENCODING, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// At most this many files are read from the folder...
const MAX_FILES: usize = 2_000;
/// ...holding at most this many bytes in all, compressed copies included.
const MAX_BYTES: u64 = 128 * 1024 * 1024;
/// Folders below the static folder are read this deep.
const MAX_DEPTH: usize = 8;

/// Files whose names carry a content hash never change: a new build gives them new names.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (the pages, `embed.js`) is fresh for five minutes, then revalidated.
const SHORT: &str = "public, max-age=300";

/// Lets a host page's own measurements see what the widget's files cost it (Resource Timing
/// hides a cross-origin file's sizes and timings without it).
const TIMING_ALLOW_ORIGIN: HeaderName = HeaderName::from_static("timing-allow-origin");

/// A content coding the build may have written a copy in, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    const COMPRESSED: [Coding; 2] = [Coding::Brotli, Coding::Gzip];

    fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gz",
            Coding::Identity => "",
        }
    }

    fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        }
    }
}

/// One encoding of a file.
#[derive(Debug)]
struct Variant {
    coding: Coding,
    body: Bytes,
    etag: HeaderValue,
}

/// One file, in every encoding the build wrote (identity first).
#[derive(Debug)]
struct Asset {
    content_type: &'static str,
    cache_control: &'static str,
    variants: Vec<Variant>,
}

/// The static folder, in memory.
#[derive(Debug, Default)]
pub struct StaticFiles {
    /// By URL path without the leading slash (`index.html`, `embed.js`).
    assets: HashMap<String, Asset>,
    /// Sent with every file: the pages' content security policy, framing and referrer rules.
    security: Vec<(HeaderName, HeaderValue)>,
}

/// The policy of the relay's pages: their own scripts and the wasm compiled from them, their own
/// style sheets (the widget's is built by script), connections and images to their own origin (and
/// `data:` images), no plugins, no `<base>`, no form posts, and framed only by `frame_ancestors`.
fn content_security_policy(frame_ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; \
         frame-ancestors {frame_ancestors}"
    )
}

impl StaticFiles {
    /// Reads `dir`. A missing folder serves nothing (the relay still answers chat requests);
    /// symbolic links are skipped, never followed; a folder larger than the limits is refused.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let mut files = StaticFiles::default();
        if !dir.is_dir() {
            return Ok(files);
        }
        let mut found = Vec::new();
        list(dir, "", 0, &mut found)?;
        let bytes: u64 = found.iter().map(|(_, metadata)| metadata.len()).sum();
        if found.len() > MAX_FILES || bytes > MAX_BYTES {
            return Err(io::Error::other(format!(
                "{} holds more than {MAX_FILES} files or {} MB: point --static-dir at the built widget",
                dir.display(),
                MAX_BYTES / (1024 * 1024)
            )));
        }
        let by_path: HashMap<&str, &fs::Metadata> = found
            .iter()
            .map(|(path, metadata)| (path.as_str(), metadata))
            .collect();
        for (path, metadata) in &found {
            let is_copy = Coding::COMPRESSED.iter().any(|coding| {
                path.strip_suffix(coding.extension())
                    .and_then(|rest| rest.strip_suffix('.'))
                    .is_some_and(|original| by_path.contains_key(original))
            });
            if is_copy {
                continue;
            }
            let identity = Bytes::from(fs::read(dir.join(path))?);
            let hash = format!("{:016x}", fnv1a(&identity));
            let mut variants = vec![Variant {
                coding: Coding::Identity,
                etag: etag(&hash, Coding::Identity),
                body: identity,
            }];
            for coding in Coding::COMPRESSED {
                let copy = format!("{path}.{}", coding.extension());
                // A copy older than its file is left over from another build.
                let current = by_path
                    .get(copy.as_str())
                    .is_some_and(|copy| modified(copy) >= modified(metadata));
                if current {
                    variants.push(Variant {
                        coding,
                        etag: etag(&hash, coding),
                        body: Bytes::from(fs::read(dir.join(&copy))?),
                    });
                }
            }
            files.assets.insert(
                path.clone(),
                Asset {
                    content_type: content_type(path),
                    cache_control: if has_content_hash(path) {
                        IMMUTABLE
                    } else {
                        SHORT
                    },
                    variants,
                },
            );
        }
        Ok(files)
    }

    /// Sends the security headers with every file: a content security policy whose
    /// `frame-ancestors` is `frame_ancestors` (with `X-Frame-Options` for older browsers when that
    /// is `'self'` or `'none'`), and no referrer.
    pub fn with_security(mut self, frame_ancestors: &str) -> Self {
        let policy = content_security_policy(frame_ancestors);
        self.security = vec![
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&policy)
                    .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            ),
            (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ];
        let legacy = match frame_ancestors {
            "'self'" => Some("SAMEORIGIN"),
            "'none'" => Some("DENY"),
            _ => None,
        };
        if let Some(legacy) = legacy {
            self.security
                .push((X_FRAME_OPTIONS, HeaderValue::from_static(legacy)));
        }
        self
    }

    /// Whether the folder had an `index.html`.
    pub fn has_index(&self) -> bool {
        self.assets.contains_key("index.html")
    }

    /// The answer to a request for `uri`: the file in the best encoding `headers` accept, a `304`
    /// when the browser's copy is current, a `404` for a path that is not a file, a `405` for
    /// methods other than GET and HEAD. A `Range` is ignored: the whole file is sent, as HTTP
    /// allows (`Accept-Ranges: none` says so).
    pub fn respond(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
        let mut response = self.answer(method, uri, headers);
        let headers = response.headers_mut();
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        for (name, value) in &self.security {
            headers.insert(name, value.clone());
        }
        response
    }

    fn answer(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
        if method != Method::GET && method != Method::HEAD {
            let mut response =
                (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n").into_response();
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let path = uri.path().trim_start_matches('/');
        let asset = if path.is_empty() || path.ends_with('/') {
            self.assets.get(&format!("{path}index.html"))
        } else {
            self.assets.get(path)
        };
        let Some(asset) = asset else {
            return (StatusCode::NOT_FOUND, "Not found\n").into_response();
        };
        let coding = best_coding(headers.get(ACCEPT_ENCODING), &asset.variants);
        let Some(variant) = asset
            .variants
            .iter()
            .find(|variant| variant.coding == coding)
        else {
            return (StatusCode::NOT_FOUND, "Not found\n").into_response();
        };
        let current = headers
            .get_all(IF_NONE_MATCH)
            .iter()
            .any(|value| matches_etag(value, &variant.etag));
        let mut response = if current {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let body = if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(variant.body.clone())
            };
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
            headers.insert(CONTENT_LENGTH, HeaderValue::from(variant.body.len()));
            if coding != Coding::Identity {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
            }
            headers.insert("accept-ranges", HeaderValue::from_static("none"));
            response
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, variant.etag.clone());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(asset.cache_control));
        if asset.variants.len() > 1 {
            headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        }
        headers.insert(TIMING_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        response
    }
}

/// The regular files under `dir`, as paths relative to the top with `/` between names.
fn list(
    dir: &Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<(String, fs::Metadata)>,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // `DirEntry::metadata` does not follow a symbolic link: a link is neither file nor folder.
        let metadata = entry.metadata()?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = format!("{prefix}{name}");
        if metadata.is_dir() {
            list(&entry.path(), &format!("{path}/"), depth + 1, found)?;
        } else if metadata.is_file() {
            found.push((path, metadata));
        }
        if found.len() > MAX_FILES {
            return Ok(());
        }
    }
    Ok(())
}

fn modified(metadata: &fs::Metadata) -> SystemTime {
    metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A strong validator per encoding: the bytes differ, so the tags must.
fn etag(hash: &str, coding: Coding) -> HeaderValue {
    let tag = match coding {
        Coding::Identity => format!("\"{hash}\""),
        _ => format!("\"{hash}-{}\"", coding.extension()),
    };
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// FNV-1a, 64 bits: a stable content hash for the tags (not a defence against anything).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether `If-None-Match` names `etag` (or is `*`). Weak tags compare by their opaque part, as
/// the header's weak comparison says.
fn matches_etag(header: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(header) = header.to_str() else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

/// The best coding of `variants` that `Accept-Encoding` allows: brotli, then gzip, then the file
/// as it is. A coding with `q=0` is refused, and `*` stands for any coding not named.
fn best_coding(accept: Option<&HeaderValue>, variants: &[Variant]) -> Coding {
    let accept = accept.and_then(|value| value.to_str().ok()).unwrap_or("");
    let quality = |wanted: &str| -> Option<f32> {
        accept.split(',').find_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            if !name.eq_ignore_ascii_case(wanted) {
                return None;
            }
            let q = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .next()
                .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
            Some(q)
        })
    };
    let star = quality("*");
    Coding::COMPRESSED
        .into_iter()
        .find(|coding| {
            variants.iter().any(|variant| variant.coding == *coding)
                && quality(coding.token()).or(star).is_some_and(|q| q > 0.0)
        })
        .unwrap_or(Coding::Identity)
}

/// What a built widget holds, by extension; anything else is sent as bytes.
fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Whether the file's name carries trunk's content hash: `-` and 8 to 16 hex digits before the
/// extension (`chat-widget-0123456789abcdef.js`) or before `_bg.wasm` and `_rich.wasm`.
fn has_content_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name
        .strip_suffix("_bg.wasm")
        .or_else(|| name.strip_suffix("_rich.wasm"))
        .or_else(|| name.rsplit_once('.').map(|(stem, _)| stem))
        .unwrap_or(name);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len()) && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(codings: &[Coding]) -> Vec<Variant> {
        codings
            .iter()
            .map(|&coding| Variant {
                coding,
                body: Bytes::new(),
                etag: etag("0", coding),
            })
            .collect()
    }

    #[test]
    fn the_best_accepted_coding_is_chosen() {
        let all = variants(&[Coding::Identity, Coding::Gzip, Coding::Brotli]);
        let pick = |accept: &str| best_coding(Some(&HeaderValue::from_str(accept).unwrap()), &all);
        assert_eq!(pick("gzip, deflate, br, zstd"), Coding::Brotli);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0.5"), Coding::Gzip);
        assert_eq!(pick("BR"), Coding::Brotli);
        assert_eq!(pick("*"), Coding::Brotli);
        assert_eq!(pick("*;q=0"), Coding::Identity);
        assert_eq!(pick("br;q=0.000, *"), Coding::Gzip);
        assert_eq!(pick("identity"), Coding::Identity);
        assert_eq!(pick(""), Coding::Identity);
        assert_eq!(best_coding(None, &all), Coding::Identity);
        let gzip_only = variants(&[Coding::Identity, Coding::Gzip]);
        assert_eq!(
            best_coding(Some(&HeaderValue::from_static("br, gzip")), &gzip_only),
            Coding::Gzip
        );
    }

    #[test]
    fn hashed_names_are_told_from_stable_ones() {
        assert!(has_content_hash("chat-widget-0123456789abcdef.js"));
        assert!(has_content_hash("chat-widget-0123456789abcdef_bg.wasm"));
        assert!(has_content_hash("chat-widget-0123456789abcdef_rich.wasm"));
        assert!(has_content_hash("assets/demo-fedcba9876543210.css"));
        assert!(!has_content_hash("embed.js"));
        assert!(!has_content_hash("index.html"));
        assert!(!has_content_hash("chat-widget.js"));
        assert!(!has_content_hash("chat-widget-notahexnumber000.js"));
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        let ours = HeaderValue::from_static("\"abc-br\"");
        let check = |header: &str| matches_etag(&HeaderValue::from_str(header).unwrap(), &ours);
        assert!(check("\"abc-br\""));
        assert!(check("W/\"abc-br\""));
        assert!(check("\"x\", \"abc-br\""));
        assert!(check("*"));
        assert!(!check("\"abc\""));
        assert!(!check("\"abc-gz\""));
    }
}
