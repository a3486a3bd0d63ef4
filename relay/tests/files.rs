//! The `chat-relay` binary serving a built widget, as `scripts/demo` starts it: its own page's
//! scripts and wasm for its own origin, compressed copies by `Accept-Encoding`, caching by name,
//! revalidation, and what a static server must refuse.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, ORIGIN, RANGE, VARY,
};
use reqwest::{Method, StatusCode};
use tokio::process::{Child, Command};

use common::{start, RELAY};
const HASHED_JS: &str = "chat-widget-0123456789abcdef.js";
const HASHED_WASM: &str = "chat-widget-0123456789abcdef_bg.wasm";

/// A built widget's folder, as the release build writes it (the contents stand in for the real
/// files; the compressed copies are told apart by their bytes).
fn built_folder() -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "chat-relay-files-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("assets")).expect("a folder");
    for name in ["index.html", "embed.js", HASHED_JS, HASHED_WASM] {
        std::fs::write(dir.join(name), format!("the file {name}")).expect("written");
        std::fs::write(dir.join(format!("{name}.br")), format!("brotli {name}")).expect("written");
        std::fs::write(dir.join(format!("{name}.gz")), format!("gzip {name}")).expect("written");
    }
    std::fs::write(dir.join("assets/logo.svg"), "<svg/>").expect("written");
    // Links out of the folder: never followed.
    let secret = dir.with_extension("secret");
    std::fs::write(&secret, "outside the folder").expect("written");
    std::os::unix::fs::symlink(&secret, dir.join("leak.txt")).expect("a link");
    std::os::unix::fs::symlink(secret.parent().expect("a parent"), dir.join("up")).expect("a link");
    dir
}

/// The binary on a free port, serving `dir`, as `scripts/demo` starts it; and its URL.
async fn relay(dir: &Path) -> (Child, String) {
    start([OsStr::new("--static-dir"), dir.as_os_str()]).await
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn get(url: &str, headers: &[(reqwest::header::HeaderName, &str)]) -> reqwest::Response {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.expect("answers")
}

/// Every value of the header `name`, joined with `, `.
fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|value| value.to_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

fn varies_by_encoding(response: &reqwest::Response) -> bool {
    header(response, VARY).contains("accept-encoding")
}

#[tokio::test]
async fn the_binary_serves_its_own_pages_scripts_and_wasm_to_its_own_origin() {
    let dir = built_folder();
    let (_relay, url) = relay(&dir).await;
    let port = url.rsplit(':').next().expect("a port");
    // Browsers fetch module scripts and the wasm with an Origin header, even from the same origin.
    for origin in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        for path in [
            "/",
            "/embed.js",
            &format!("/{HASHED_JS}"),
            &format!("/{HASHED_WASM}"),
        ] {
            let response = get(&format!("{url}{path}"), &[(ORIGIN, &origin)]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path} for {origin}");
        }
    }
    let foreign = get(
        &format!("{url}/embed.js"),
        &[(ORIGIN, "http://127.0.0.1:1")],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn files_come_in_the_best_accepted_encoding_with_their_type() {
    let dir = built_folder();
    let (_relay, url) = relay(&dir).await;
    let wasm = format!("{url}/{HASHED_WASM}");
    let brotli = get(&wasm, &[(ACCEPT_ENCODING, "gzip, deflate, br, zstd")]).await;
    assert_eq!(header(&brotli, CONTENT_ENCODING), "br");
    assert_eq!(header(&brotli, CONTENT_TYPE), "application/wasm");
    assert!(varies_by_encoding(&brotli));
    assert_eq!(
        header(&brotli, "x-content-type-options".parse().unwrap()),
        "nosniff"
    );
    assert_eq!(
        brotli.text().await.expect("body"),
        format!("brotli {HASHED_WASM}")
    );

    let gzip = get(&wasm, &[(ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(header(&gzip, CONTENT_ENCODING), "gzip");
    assert_eq!(
        gzip.text().await.expect("body"),
        format!("gzip {HASHED_WASM}")
    );

    let plain = get(&wasm, &[]).await;
    assert_eq!(header(&plain, CONTENT_ENCODING), "");
    assert!(varies_by_encoding(&plain));
    assert_eq!(
        plain.text().await.expect("body"),
        format!("the file {HASHED_WASM}")
    );

    let refused = get(&wasm, &[(ACCEPT_ENCODING, "br;q=0, gzip;q=0")]).await;
    assert_eq!(header(&refused, CONTENT_ENCODING), "");

    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/embed.js", "text/javascript; charset=utf-8"),
        ("/assets/logo.svg", "image/svg+xml"),
    ] {
        let response = get(&format!("{url}{path}"), &[]).await;
        assert_eq!(header(&response, CONTENT_TYPE), content_type, "{path}");
    }
    // A file without compressed copies does not vary.
    let svg = get(
        &format!("{url}/assets/logo.svg"),
        &[(ACCEPT_ENCODING, "br")],
    )
    .await;
    assert_eq!(header(&svg, CONTENT_ENCODING), "");
    assert!(!varies_by_encoding(&svg));
}

#[tokio::test]
async fn hashed_files_are_cached_for_good_and_entry_points_revalidate_with_304() {
    let dir = built_folder();
    let (_relay, url) = relay(&dir).await;
    for name in [HASHED_JS, HASHED_WASM] {
        let response = get(&format!("{url}/{name}"), &[]).await;
        assert_eq!(
            header(&response, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{name}"
        );
    }
    for path in ["/", "/index.html", "/embed.js"] {
        let first = get(&format!("{url}{path}"), &[(ACCEPT_ENCODING, "br")]).await;
        assert_eq!(
            header(&first, CACHE_CONTROL),
            "public, max-age=300",
            "{path}"
        );
        let etag = header(&first, ETAG);
        assert!(
            etag.starts_with('"') && etag.ends_with("-br\""),
            "{path}: {etag}"
        );

        let again = get(
            &format!("{url}{path}"),
            &[(ACCEPT_ENCODING, "br"), (IF_NONE_MATCH, &etag)],
        )
        .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(header(&again, ETAG), etag);
        assert!(varies_by_encoding(&again));
        assert!(again.bytes().await.expect("body").is_empty());

        // The same tag for another encoding is another representation: the whole file.
        let other = get(
            &format!("{url}{path}"),
            &[(ACCEPT_ENCODING, "gzip"), (IF_NONE_MATCH, &etag)],
        )
        .await;
        assert_eq!(other.status(), StatusCode::OK, "{path}");
        assert_ne!(header(&other, ETAG), etag);

        let stale = get(&format!("{url}{path}"), &[(IF_NONE_MATCH, "\"0000\"")]).await;
        assert_eq!(stale.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_paths_links_out_of_the_folder_and_other_methods_are_refused() {
    let dir = built_folder();
    let (_relay, url) = relay(&dir).await;
    for path in [
        "/nope.js",
        "/leak.txt",
        "/up/",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/index.html.br",
        "/assets",
    ] {
        let response = get(&format!("{url}{path}"), &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.expect("body");
        assert!(!body.contains("outside the folder"), "{path}: {body}");
    }
    let post = client()
        .request(Method::DELETE, format!("{url}/embed.js"))
        .send()
        .await
        .expect("answers");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);

    let head = client()
        .head(format!("{url}/embed.js"))
        .send()
        .await
        .expect("answers");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, CONTENT_LENGTH),
        "the file embed.js".len().to_string()
    );
    assert!(head.bytes().await.expect("body").is_empty());

    // A Range, good or bad, is ignored: the whole file, as HTTP allows.
    for range in ["bytes=0-3", "bytes=zzz", "bytes=999-1000"] {
        let response = get(&format!("{url}/embed.js"), &[(RANGE, range)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{range}");
        assert_eq!(header(&response, "accept-ranges".parse().unwrap()), "none");
        assert_eq!(response.text().await.expect("body"), "the file embed.js");
    }
}

#[tokio::test]
async fn a_folder_far_larger_than_a_built_widget_stops_start_up_saying_so() {
    let dir = built_folder();
    for index in 0..2_100 {
        std::fs::write(dir.join(format!("file-{index}.txt")), "x").expect("written");
    }
    let output = Command::new(RELAY)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--static-dir")
        .arg(&dir)
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("--static-dir"), "{message}");
}

#[tokio::test]
async fn every_file_carries_the_pages_policy_and_only_the_relay_may_frame_them() {
    let dir = built_folder();
    let (_relay, url) = relay(&dir).await;
    for path in ["/", "/embed.js", "/nope"] {
        let response = get(&format!("{url}{path}"), &[]).await;
        let policy = header(&response, "content-security-policy".parse().unwrap());
        assert!(
            policy.contains("frame-ancestors 'self'") && policy.contains("default-src 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(
            header(&response, "x-frame-options".parse().unwrap()),
            "SAMEORIGIN"
        );
        assert_eq!(
            header(&response, "referrer-policy".parse().unwrap()),
            "no-referrer"
        );
        assert_eq!(
            header(&response, "x-content-type-options".parse().unwrap()),
            "nosniff"
        );
    }

    // A site that frames the chat on purpose names itself.
    let (_framed, framed_url) = start([
        OsStr::new("--static-dir"),
        dir.as_os_str(),
        OsStr::new("--frame-ancestors"),
        OsStr::new("https://shop.example"),
    ])
    .await;
    let response = get(&format!("{framed_url}/"), &[]).await;
    let policy = header(&response, "content-security-policy".parse().unwrap());
    assert!(
        policy.contains("frame-ancestors https://shop.example"),
        "{policy}"
    );
    assert_eq!(header(&response, "x-frame-options".parse().unwrap()), "");

    let refused = Command::new(RELAY)
        .args(["--frame-ancestors", "javascript:alert(1)"])
        .output()
        .await
        .expect("runs");
    assert!(!refused.status.success());
}
