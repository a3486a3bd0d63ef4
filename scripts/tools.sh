# shellcheck shell=bash
# Installs, idempotently, every tool the project's scripts use. Sourced by scripts/demo and scripts/test.
# Each step is skipped when the right version is already on PATH, so a second run costs seconds.
# Versions: see the README's "Toolchain" section (trunk 0.22 needs a newer rustc than 1.95; the
# wasm-bindgen CLI must equal the wasm-bindgen crate pinned in Cargo.toml exactly).

TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
BINARYEN_VERSION=132.0.0
AXE_VERSION=4.14.1
ESBUILD_VERSION=0.28.2

# Tools that are not installed system-wide live here (ignored by git).
TOOLS_DIR="${CHAT_WIDGET_TOOLS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools}"

export PATH="$TOOLS_DIR/node_modules/.bin:$TOOLS_DIR/esbuild/node_modules/.bin:$HOME/.cargo/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }

# The scripts build each crate once: incremental compilation's caches would only fill the disk.
# One setting for all of them also lets scripts/demo reuse what scripts/test built (cargo builds
# again what was built with another).
export CARGO_INCREMENTAL=0

have_version() { # command, expected version substring
    command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -qF "$2"
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() { # package...
    if [ "$apt_updated" = 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_wasm_target() {
    rustup target list --installed | grep -qx wasm32-unknown-unknown && return
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
}

ensure_rust_components() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    [ ${#missing[@]} = 0 ] && return
    log "adding ${missing[*]}"
    rustup component add "${missing[@]}"
}

ensure_cargo_tool() { # binary, crate, version, extra cargo-install flags...
    local bin=$1 crate=$2 version=$3
    shift 3
    have_version "$bin" "$version" && return
    log "installing $crate $version (a few minutes, once)"
    cargo install "$crate" --version "$version" "$@"
}

ensure_browser() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return
    log "installing chromium and chromedriver"
    apt_install chromium chromium-driver
}

# wasm-opt comes from binaryen's npm package, not Debian's: binaryen 108 (Debian 12) rewrites
# wasm-bindgen's externref table export to the function table, and the page then fails with
# "WebAssembly.Table.set(): Argument 1 is invalid for table".
ensure_wasm_opt() {
    have_version "$TOOLS_DIR/node_modules/.bin/wasm-opt" "version ${BINARYEN_VERSION%%.*}" && return
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    log "installing binaryen $BINARYEN_VERSION (wasm-opt) into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION" >/dev/null
}

# An npm package at a version, in a folder of its own under $TOOLS_DIR (a second
# `npm install --no-save` in another package's folder would remove that package).
ensure_npm_package() { # folder, package, version
    local dir="$TOOLS_DIR/$1" package=$2 version=$3
    grep -qs "\"version\": \"$version\"" "$dir/node_modules/$package/package.json" && return
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    log "installing $package $version into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --no-save "$package@$version" >/dev/null
}

# axe-core, the accessibility checker the end-to-end tests inject into the page.
ensure_axe() {
    ensure_npm_package axe axe-core "$AXE_VERSION"
}

# esbuild minifies the loader (embed.js), its style sheet and the wasm's glue in trunk's
# post-build hook.
ensure_esbuild() {
    ensure_npm_package esbuild esbuild "$ESBUILD_VERSION"
}

# zopfli writes the release build's gzip copies (smaller than zlib's, readable by any browser).
ensure_zopfli() {
    command -v zopfli >/dev/null 2>&1 && return
    log "installing zopfli"
    apt_install zopfli
}

# Redis, which the relay's tests start on free loopback ports (relay/tests/redis.rs) to check
# replicas sharing their counts.
ensure_redis() {
    command -v redis-server >/dev/null 2>&1 && return
    log "installing redis-server"
    apt_install redis-server
}

ensure_build_tools() {
    ensure_wasm_target
    ensure_wasm_opt
    ensure_esbuild
    ensure_zopfli
    # No --locked for wasm-bindgen-cli: its lock file pins a webpki-roots release that is not published.
    ensure_cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
    ensure_cargo_tool trunk trunk "$TRUNK_VERSION" --locked
}

ensure_test_tools() {
    ensure_rust_components
    ensure_build_tools
    ensure_browser
    ensure_redis
    ensure_axe
    ensure_cargo_tool wasm-pack wasm-pack "$WASM_PACK_VERSION" --locked
}
