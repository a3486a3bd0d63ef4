// The visitor's language for the widget: loaded with the widget's own script (the build has that
// script import it), only when the widget loads, so a page pays nothing for it before.
//
// `localize(options)` picks the language: the config's `locale`, else the page's `lang` (an
// explicit choice either way: a language without a pack means English), else the first of the
// browser's languages that has a pack, each by its primary subtag (`pt-BR` is `pt`; Chinese in
// traditional script has no pack). It fetches that pack (locales/<language>.json beside this
// script, with this script's version query, so a pack always matches the widget that asks for it)
// and returns the config with the pack under its own `strings` (which still override any key),
// and right to left for Arabic and Hebrew unless the config sets `dir`. Whatever fails (no pack,
// a slow or broken network) leaves the widget in English: it never stops it from loading.

const PACKS = ["es", "fr", "de", "pt", "it", "nl", "pl", "tr", "ru", "uk", "ar", "he", "hi", "ja", "ko", "zh"];
const RIGHT_TO_LEFT = ["ar", "he"];
/** How long a pack may take before the widget goes on in English. */
const PATIENCE_MS = 3000;

/** The pack for a language tag: its primary subtag if there is a pack, else `undefined`. */
function packFor(tag) {
  const lower = tag.trim().toLowerCase();
  const primary = lower.split(/[-_]/)[0];
  if (primary === "zh" && /[-_](tw|hk|mo|hant)\b/.test(lower)) return undefined;
  return PACKS.includes(primary) ? primary : undefined;
}

/** The pack to use: the first explicit choice that is set decides; else the browser's. */
export function language(explicit, browser) {
  const chosen = explicit.find((tag) => typeof tag === "string" && tag.trim());
  if (chosen) return packFor(chosen);
  for (const tag of browser) {
    if (typeof tag !== "string") continue;
    if (/^en\b/i.test(tag)) return undefined;
    const pack = packFor(tag);
    if (pack) return pack;
  }
  return undefined;
}

const fetched = new Map();

/** The words of `chosen`, fetched once per page (a failure may be tried again). */
function pack(chosen) {
  if (!fetched.has(chosen)) {
    const url = new URL(`locales/${chosen}.json${new URL(import.meta.url).search}`, import.meta.url);
    const words = fetch(url).then((response) => {
      if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status}`);
      return response.json();
    });
    words.catch(() => fetched.delete(chosen));
    fetched.set(chosen, words);
  }
  return fetched.get(chosen);
}

const browserLanguages = () => navigator.languages ?? [navigator.language];

// The page's language is known now: its pack comes while the widget's wasm does.
const early = language([document.documentElement.lang], browserLanguages());
if (early) pack(early).catch(() => {}); // reported when it is used

export async function localize(options) {
  try {
    const chosen = language([options.locale, document.documentElement.lang], browserLanguages());
    if (!chosen) return options;
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${PATIENCE_MS} ms`)), PATIENCE_MS));
    const words = await Promise.race([pack(chosen), late]);
    const dir = options.dir ?? (RIGHT_TO_LEFT.includes(chosen) ? "rtl" : undefined);
    return { ...options, strings: { ...words, ...options.strings }, ...(dir && { dir }) };
  } catch (error) {
    console.error("chat widget: the visitor's language could not be loaded; English it is:", error);
    return options;
  }
}
