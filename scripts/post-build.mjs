// Trunk's post-build hook (see Trunk.toml), run in the staging folder of every build:
// - writes the widget's hashed file names and the stand-in's style sheet (style/base.css) into
//   embed.js, the loader, whose own name stays stable for the pages that embed it, and minifies
//   both with esbuild (scripts/tools.sh installs it), so the loader stays within its 4 KB;
// - minifies the wasm's JavaScript glue and locale.js (the visitor's language, loaded with the
//   widget);
// - for a release build, writes a brotli and a gzip copy beside every file a page downloads, which
//   the relay serves to browsers that accept them.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

const staging = process.env.TRUNK_STAGING_DIR;
const source = process.env.TRUNK_SOURCE_DIR ?? ".";
if (!staging) throw new Error("post-build.mjs runs as trunk's post_build hook (TRUNK_STAGING_DIR is not set)");

const names = readdirSync(staging);
const wasm = names.filter((name) => name.endsWith("_bg.wasm"));
if (wasm.length !== 1) throw new Error(`expected one *_bg.wasm in ${staging}, found ${wasm.length}`);
const js = wasm[0].replace(/_bg\.wasm$/, ".js");
if (!names.includes(js)) throw new Error(`${js} (the wasm's JavaScript) is not in ${staging}`);

const esbuild = (input, ...options) => {
  try {
    return execFileSync("esbuild", ["--minify", "--log-level=warning", ...options], { input, encoding: "utf8" }).trim();
  } catch (error) {
    throw new Error(`esbuild failed (scripts/demo and scripts/test install it): ${error.message}`);
  }
};
const zopfli = (path) => {
  try {
    return execFileSync("zopfli", ["-c", "--i15", path], { maxBuffer: 1 << 30 });
  } catch (error) {
    throw new Error(`zopfli failed (scripts/demo and scripts/test install it): ${error.message}`);
  }
};
// esbuild keeps custom properties' values as written; the space after their colon and after a
// comma in them (colours, font names) means nothing there, and the loader's budget counts every
// byte. (The sheet has no string with ", " in it.)
const css = esbuild(readFileSync(join(source, "style/base.css"), "utf8"), "--loader=css")
  .replace(/(--[\w-]+): /g, "$1:")
  .replace(/, /g, ",");

const loader = join(staging, "embed.js");
let text = readFileSync(loader, "utf8");
for (const [placeholder, value] of [["__WIDGET_JS__", js], ["__WIDGET_WASM__", wasm[0]], ["__STAND_IN_CSS__", css]]) {
  const quoted = JSON.stringify(placeholder);
  if (text.split(quoted).length !== 2) throw new Error(`embed.js must hold ${quoted} once`);
  text = text.replace(quoted, () => JSON.stringify(value));
}
writeFileSync(loader, esbuild(text, "--format=esm", "--target=es2020"));

// The wasm's JavaScript (wasm-bindgen's glue), minified the same way: a third smaller on the wire.
// It also hands on locale.js's `localize`, so the loader gets it with the widget at no cost to
// its own size. locale.js is imported (with the widget's hash, so that it and the packs it fetches
// match this widget) as soon as the script is in, and starts fetching the page's language pack;
// if it cannot be loaded, `localize` leaves the config as it is and the widget speaks English.
const glue = join(staging, js);
const version = js.match(/-([0-9a-f]+)\.js$/)?.[1] ?? "";
const handOn =
  `const locale=import("./locale.js?v=${version}");locale.catch(()=>{});` +
  "export const localize=(options)=>locale.then((module)=>module.localize(options)).catch(()=>options);";
writeFileSync(glue, esbuild(readFileSync(glue, "utf8"), "--format=esm") + "\n" + handOn + "\n");

// locale.js, which the loader imports beside the widget, minified too.
const locale = join(staging, "locale.js");
writeFileSync(locale, esbuild(readFileSync(locale, "utf8"), "--format=esm", "--target=es2020"));

// The locale packs (locales/*.json), which locale.js fetches.
const packs = readdirSync(join(staging, "locales")).map((name) => `locales/${name}`);

if (process.env.TRUNK_PROFILE === "release") {
  for (const name of names.concat(packs).filter((name) => /\.(html|js|mjs|wasm|css|svg|json)$/.test(name))) {
    const path = join(staging, name);
    const bytes = readFileSync(path);
    const brotli = brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    });
    // zopfli writes gzip that any browser reads, 4 to 5 % smaller than zlib's best.
    const gzip = zopfli(path);
    // A copy no smaller than the file is not worth a decoding step.
    if (brotli.length < bytes.length) writeFileSync(`${path}.br`, brotli);
    if (gzip.length < bytes.length) writeFileSync(`${path}.gz`, gzip);
  }
}
