// The visitor's language for the widget: loaded by embed.js beside the widget itself, only when
// the widget loads, so a page pays nothing for it before.
//
// `localize(options)` picks the language: the config's `locale`, else the page's `lang`, else the
// browser's languages, each by its primary subtag (`pt-BR` is `pt`); English (built into the
// widget) when none of them has a pack. It fetches that pack (locales/<language>.json beside this
// script) and returns the config with the pack under its own `strings` (which still override any
// key), and right to left for Arabic and Hebrew unless the config sets `dir`. A pack that cannot
// be fetched leaves the widget in English.

const PACKS = ["es", "fr", "de", "pt", "it", "nl", "pl", "tr", "ru", "uk", "ar", "he", "hi", "ja", "ko", "zh"];
const RIGHT_TO_LEFT = ["ar", "he"];

/** The language of the first of `tags` that names English or a pack; `undefined` for English. */
export function language(tags) {
  for (const tag of tags) {
    const primary = String(tag ?? "").trim().toLowerCase().split(/[-_]/)[0];
    if (primary === "en") return undefined;
    if (PACKS.includes(primary)) return primary;
  }
  return undefined;
}

const fetched = new Map();

/** The pack of `chosen`, fetched once per page. */
function pack(chosen) {
  if (!fetched.has(chosen)) {
    fetched.set(
      chosen,
      fetch(new URL(`locales/${chosen}.json`, import.meta.url)).then((response) => {
        if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status}`);
        return response.json();
      }),
    );
  }
  return fetched.get(chosen);
}

const PAGE = () => [document.documentElement.lang, ...(navigator.languages ?? [navigator.language])];

// The page's and the browser's language is known now: its pack comes while the widget's wasm does.
const early = language(PAGE());
if (early) pack(early).catch(() => {}); // reported when it is used

export async function localize(options) {
  const chosen = language([options.locale, ...PAGE()]);
  if (!chosen) return options;
  let words;
  try {
    words = await pack(chosen);
  } catch (error) {
    console.error("chat widget: the words for", chosen, "could not be loaded:", error);
    return options;
  }
  const dir = options.dir ?? (RIGHT_TO_LEFT.includes(chosen) ? "rtl" : undefined);
  return { ...options, strings: { ...words, ...options.strings }, ...(dir && { dir }) };
}
