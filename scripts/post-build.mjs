// Trunk's post-build hook (see Trunk.toml), run in the staging folder of every build:
// - writes the widget's hashed file names and the stand-in's style sheet (style/base.css) into
//   embed.js, the loader, whose own name stays stable for the pages that embed it, and minifies
//   both with esbuild (scripts/tools.sh installs it), so the loader stays within its 4 KB;
// - builds chat-rich's module (code highlighting and math, which the widget loads when a reply
//   first needs them) and puts it beside the widget's wasm, as `<widget>_rich.wasm`; the three
//   files are renamed with one hash of all of them, since the widget finds the module by its own
//   name, so that a new module never hides behind a cached widget of the same name;
// - minifies the wasm's JavaScript glue and locale.js (the visitor's language, loaded with the
//   widget);
// - for a release build, writes a brotli and a gzip copy beside every file a page downloads, which
//   the relay serves to browsers that accept them.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

const staging = process.env.TRUNK_STAGING_DIR;
const source = process.env.TRUNK_SOURCE_DIR ?? ".";
if (!staging) throw new Error("post-build.mjs runs as trunk's post_build hook (TRUNK_STAGING_DIR is not set)");

const release = process.env.TRUNK_PROFILE === "release";
const trunkNames = readdirSync(staging);
const trunkWasm = trunkNames.filter((name) => name.endsWith("_bg.wasm"));
if (trunkWasm.length !== 1) throw new Error(`expected one *_bg.wasm in ${staging}, found ${trunkWasm.length}`);
const trunkJs = trunkWasm[0].replace(/_bg\.wasm$/, ".js");
if (!trunkNames.includes(trunkJs)) throw new Error(`${trunkJs} (the wasm's JavaScript) is not in ${staging}`);

// chat-rich's module, built for the page: no imports, no standard library (rich/src/exports.rs).
const richModule = () => {
  const args = ["build", "-p", "chat-rich", "--lib", "--features", "module", "--target", "wasm32-unknown-unknown", "--message-format=json-render-diagnostics"];
  if (release) args.push("--release");
  let output;
  try {
    output = execFileSync("cargo", args, { cwd: source, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 28 });
  } catch (error) {
    throw new Error(`building chat-rich's module failed: ${error.message}`);
  }
  const built = output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .filter((message) => message.reason === "compiler-artifact" && message.target?.name === "chat_rich")
    .flatMap((message) => message.filenames)
    .find((name) => name.endsWith(".wasm"));
  if (!built) throw new Error("cargo built no chat_rich.wasm");
  const optimized = join(staging, "rich.tmp.wasm");
  try {
    execFileSync("wasm-opt", [...(release ? ["-Oz"] : []), "--strip-debug", "--strip-producers", built, "-o", optimized]);
  } catch (error) {
    throw new Error(`wasm-opt failed (scripts/demo and scripts/test install it): ${error.message}`);
  }
  const bytes = readFileSync(optimized);
  execFileSync("rm", [optimized]);
  return bytes;
};
const rich = richModule();
const hash = createHash("sha256");
for (const name of [trunkJs, trunkWasm[0]]) hash.update(readFileSync(join(staging, name)));
hash.update(rich);
const stem = trunkJs.replace(/-[0-9a-f]+\.js$/, "") + "-" + hash.digest("hex").slice(0, 16);
const js = `${stem}.js`;
const wasm = `${stem}_bg.wasm`;
renameSync(join(staging, trunkWasm[0]), join(staging, wasm));
renameSync(join(staging, trunkJs), join(staging, js));
writeFileSync(join(staging, `${stem}_rich.wasm`), rich);

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
for (const [placeholder, value] of [["__WIDGET_JS__", js], ["__WIDGET_WASM__", wasm], ["__STAND_IN_CSS__", css]]) {
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
const ownName = readFileSync(glue, "utf8").split(trunkWasm[0]).join(wasm);
writeFileSync(glue, esbuild(ownName, "--format=esm") + "\n" + handOn + "\n");

// locale.js, which the loader imports beside the widget, minified too.
const locale = join(staging, "locale.js");
writeFileSync(locale, esbuild(readFileSync(locale, "utf8"), "--format=esm", "--target=es2020"));

// The locale packs (locales/*.json), which locale.js fetches.
const packs = readdirSync(join(staging, "locales")).map((name) => `locales/${name}`);

if (release) {
  for (const name of readdirSync(staging).concat(packs).filter((name) => /\.(html|js|mjs|wasm|css|svg|json)$/.test(name))) {
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
