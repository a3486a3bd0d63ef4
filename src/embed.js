// The chat widget for any page, and its loader:
//
//   <script type="module" src="https://chat.example.com/embed.js"></script>
//   <div data-chat-widget='{"title": "Support"}'></div>
//
// At once, on every element with a `data-chat-widget` attribute (its value is the JSON config),
// this small script draws a stand-in with the widget's look: the launcher's button, or an inline
// chat box of its final size. The widget itself (its script and wasm, the heavy part) loads when it
// is about to be used, by the config's `load`: "interaction" (the launcher's default: a pointer
// over it, the focus, a touch, at the latest a click), "idle" (inline's default: once the page has
// loaded and the main thread is idle) or "eager". A click before then opens the panel in a loading
// state (the launcher's button or Esc closes it); text typed into the stand-in is carried into the
// widget; a failed load offers Retry.
//
// `import { mount } from ".../embed.js"`: `mount(element, config)` does the same for one element
// and returns the widget's handle at once (`open()`, `close()`, `isOpen`, `send(text)`,
// `setDraft(text)`, `onMessage(f)`, `onError(f)`, `onEvent(f)`, `unmount()`, `mounted`, and
// `ready`, a promise of the loaded widget). Calls made before the widget has loaded wait and run
// in order.
// `performance.mark("chat-widget:stand-in")` marks when the stand-in is drawn.
//
// Plain JavaScript with no dependencies. The build writes the widget's hashed file names and the
// stand-in's style sheet (style/base.css) into the three constants below.

const WIDGET_JS = "__WIDGET_JS__";
const WIDGET_WASM = "__WIDGET_WASM__";
const STAND_IN_CSS = "__STAND_IN_CSS__";

// The stand-in's words, unless the config's `strings` overrides them: the same keys and English as
// the widget's own table.
const ENGLISH = {
  open_chat: "Open chat",
  close_chat: "Close chat",
  message_box: "Message",
  send: "Send",
  settings: "Settings",
  retry: "Retry",
  loading: "Loading the chat…",
  load_failed: "The chat could not be loaded.",
};
// The config's `theme` fields, each the custom property `--cw-<field>` (`spacing`: `--cw-space`).
const THEME = ["accent", "background", "text", "radius", "font", "spacing"];
const LOADS = ["interaction", "idle", "eager"];
// What marks the stand-in's nodes: the widget replaces exactly these when it mounts.
const MARK = "data-cw-standin";
const ICON = "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-4.5 3.6A.3.3 0 0 1 4 20.4V5a1 1 0 0 1 1-1z";

let sheet; // the stand-in's style sheet, shared by every stand-in on the page
let loading; // a promise of the widget's own `mount`, once its script and wasm are in
let attempts = 0;

/** Fetches the widget's script and wasm side by side, once; after a failure, anew. Resolves to
 * the widget's module. */
function loadWidget() {
  if (!loading) {
    const again = attempts++ ? `?retry=${attempts}` : "";
    const url = (name) => new URL(name + again, import.meta.url);
    const wasm = fetch(url(WIDGET_WASM)).then((response) => {
      if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status}`);
      return response;
    });
    wasm.catch(() => {}); // reported through `loading`
    loading = import(url(WIDGET_JS)).then(async (module) => {
      await module.default({ module_or_path: wasm });
      // Its `mount`, and locale.js's `localize` (the build has the widget's script hand it on).
      return module;
    });
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

/**
 * Draws the widget's stand-in in `element` and returns the widget's handle; the widget loads
 * behind it. `config` is a JSON string, an object (whose `tools`, `onMessage` and `onError` may
 * carry functions) or nothing. Throws an Error naming the problem for an element that cannot hold
 * the widget or a config this script can tell is bad; the widget checks the rest when it loads,
 * and then rejects `ready`.
 */
export function mount(element, config) {
  return standIn(element, config, false);
}

function standIn(element, config, automatic) {
  const options = readConfig(config);
  if (!(element instanceof HTMLElement)) throw refused(" cannot be mounted there: not an element");
  const shadow = shadowOf(element);
  const word = (key) => (typeof options.strings?.[key] === "string" ? options.strings[key] : ENGLISH[key]);
  const launcher = options.presentation === "launcher";
  const position = options.position ?? "bottom-right";
  const title = options.title ?? "Chat";
  const load = options.load ?? (launcher ? "interaction" : "idle");

  // The theme goes on the element, where the widget puts it too; taken off again before it does.
  const restyled = [];
  const restyle = (property, value) => {
    restyled.push([property, element.style.getPropertyValue(property)]);
    element.style.setProperty(property, value);
  };
  for (const key of THEME) {
    const value = options.theme?.[key];
    // Nothing that would load (the widget refuses such a theme when it loads).
    if (typeof value === "string" && !/url\(|image|\\/i.test(value)) restyle(`--cw-${key.replace("spacing", "space")}`, value);
  }
  if (options.color_scheme === "light" || options.color_scheme === "dark") restyle("color-scheme", options.color_scheme);

  shadow.replaceChildren();
  const unsized = !launcher && element.clientHeight === 0;
  // The page's direction from the nearest `dir` (reading the computed style would force a style
  // pass over the page this early); the widget reads the computed one when it loads.
  const dir = options.dir ?? (element.closest("[dir]")?.dir === "rtl" ? "rtl" : null);

  const status = h("p", { class: "cw-standin__status", role: "status" });
  const input = h("textarea", {
    class: "cw-composer__input",
    dir: "auto",
    rows: "2",
    "aria-label": word("message_box"),
    placeholder: options.placeholder ?? "Type a message…",
  });
  const settings = options.show_settings !== false && h("button", { type: "button", class: "cw-button cw-button--quiet cw-chat__settings-toggle", disabled: "" }, word("settings"));
  const form = h("form", { class: "cw-composer" }, input, h("button", { type: "submit", class: "cw-button cw-button--send", disabled: "" }, word("send")));
  const chat = h(
    "section",
    { class: "cw-chat", "aria-label": title },
    h("header", { class: "cw-chat__header" }, h("h2", { class: "cw-chat__title" }, title), settings || ""),
    h("div", { class: "cw-log" }, status),
    form,
  );
  const button = launcher && h("button", { type: "button", class: `cw-launcher cw-launcher--${position}`, "aria-expanded": "false", "aria-label": word("open_chat") },
    h("svg", { class: "cw-launcher__icon", viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" }, h("path", { d: ICON })),
  );
  const panel = launcher && h("div", { class: `cw-panel cw-panel--${position}`, role: "dialog", "aria-label": title, hidden: "" }, chat);
  const root = h("div", { class: unsized ? "cw-root cw-root--unsized" : "cw-root", [MARK]: "", dir }, ...(launcher ? [button, panel] : [chat]));
  adopt(shadow);
  shadow.append(root);
  performance.mark("chat-widget:stand-in");

  let open = false; // the launcher's panel
  let waiting = false; // the person is waiting for the widget: say so
  let failed = false;
  let started = false;
  let gone = false;
  let widget = null;
  const queue = [];
  let settle;
  const ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
  ready.catch(() => {}); // a page that does not await it is told in the console instead

  const render = () => {
    const retry = failed && h("button", { type: "button", class: "cw-button cw-button--quiet" }, word("retry"));
    if (retry) retry.addEventListener("click", () => start());
    status.replaceChildren(...(failed ? [word("load_failed"), " ", retry] : waiting ? [word("loading")] : []));
    chat.setAttribute("aria-busy", String(waiting && !failed));
  };
  const setOpen = (value) => {
    open = value;
    panel.hidden = !value;
    button.setAttribute("aria-expanded", String(value));
    button.setAttribute("aria-label", word(value ? "close_chat" : "open_chat"));
    if (value) requestAnimationFrame(() => input.focus());
  };
  const closeFromInside = () => {
    setOpen(false);
    button.focus();
  };

  function start() {
    if (gone || widget || started) return;
    started = true;
    failed = false;
    render();
    loadWidget().then(replace, (error) => {
      report(error);
      started = false;
      failed = true;
      render();
    });
  }
  const wait = () => {
    waiting = true;
    start();
    render();
  };

  // The stand-in out, the widget in, in one task: the page never paints in between.
  function clear() {
    shadow.replaceChildren();
    if (shadow.adoptedStyleSheets) shadow.adoptedStyleSheets = [];
    for (const [property, before] of restyled.splice(0).reverse()) {
      if (before) element.style.setProperty(property, before);
      else element.style.removeProperty(property);
    }
  }
  async function replace(module) {
    // The config in the visitor's language (locale.js).
    const localized = await module.localize(options);
    if (gone) return;
    const draft = input.value;
    const focused = shadow.activeElement === input;
    clear();
    try {
      widget = module.mount(element, localized);
    } catch (error) {
      report(error);
      shadow.replaceChildren(h("slot"));
      if (automatic) element.textContent = error.message;
      settle.reject(error);
      return;
    }
    if (draft) widget.setDraft(draft);
    if (open || focused) widget.open();
    for (const [name, args] of queue.splice(0)) {
      try {
        widget[name](...args);
      } catch (error) {
        report(error);
      }
    }
    settle.resolve(handle);
  }

  input.addEventListener("keydown", (event) => {
    // Enter sends in the widget; here the text waits for it.
    if (event.key === "Enter" && !event.shiftKey) event.preventDefault();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  chat.addEventListener("focusin", wait);
  if (launcher) {
    // A touch is a pointer too.
    for (const type of ["pointerenter", "focus"]) button.addEventListener(type, start);
    button.addEventListener("click", () => {
      setOpen(!open);
      if (open) wait();
    });
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        closeFromInside();
      }
    });
  } else {
    chat.addEventListener("pointerenter", start);
  }
  if (load === "eager") start();
  else if (load === "idle") {
    const idle = () => (window.requestIdleCallback ? requestIdleCallback(start, { timeout: 2000 }) : setTimeout(start, 1));
    if (document.readyState === "complete") idle();
    else addEventListener("load", idle, { once: true });
  }

  // Before the widget is in, calls wait in the queue (or act on the stand-in); then they go to it.
  const later = (name) => (...args) => {
    if (widget) return widget[name](...args);
    if (!gone) queue.push([name, args]);
  };
  const handle = {
    ready,
    get mounted() {
      return widget ? widget.mounted : !gone;
    },
    get isOpen() {
      return widget ? widget.isOpen : !gone && (!launcher || open);
    },
    open() {
      if (widget) return widget.open();
      if (gone) return;
      if (launcher) setOpen(true);
      else input.focus();
      wait();
    },
    close() {
      if (widget) return widget.close();
      if (launcher && !gone) setOpen(false);
    },
    send(text) {
      if (widget) return widget.send(text);
      if (gone) throw refused(" is not mounted");
      if (!String(text).trim()) throw refused(": the message is blank");
      // One message at a time, as the widget takes them.
      if (queue.some(([name]) => name == "send")) throw refused(": a message is already waiting");
      queue.push(["send", [text]]);
      start();
    },
    setDraft(text) {
      if (widget) return widget.setDraft(text);
      input.value = text;
    },
    onMessage: later("onMessage"),
    onError: later("onError"),
    onEvent: later("onEvent"),
    unmount() {
      if (widget) return widget.unmount();
      if (gone) return;
      gone = true;
      clear();
      shadow.append(h("slot"));
      settle.reject(refused(" was unmounted"));
    },
  };
  return handle;
}

/** The config as an object: from JSON, an object, or nothing. */
function readConfig(config) {
  let options = config ?? {};
  if (typeof options === "string") {
    try {
      options = options.trim() ? JSON.parse(options) : {};
    } catch (error) {
      throw refused(`'s config is not valid: ${error.message}`);
    }
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw refused("'s config is not valid: it must be a JSON object");
  }
  // The loader's own field; the widget checks the rest when it loads.
  if ("load" in options && !LOADS.includes(options.load)) {
    throw refused(`'s config is not valid: \`load\` must be one of ${LOADS}`);
  }
  return options;
}

/** `element`'s shadow root for the widget: a new one, or the one an unmounted widget left. */
function shadowOf(element) {
  const shadow = element.shadowRoot;
  if (shadow) {
    if ([...shadow.children].every((child) => child.localName === "slot")) return shadow;
    throw refused(" cannot be mounted there: the element already has a shadow root");
  }
  try {
    return element.attachShadow({ mode: "open" });
  } catch {
    throw refused(` cannot be mounted there: a <${element.localName}> cannot hold one: mount it in a <div>`);
  }
}

function report(error) {
  console.error("chat widget:", error);
}

/** An Error that says what is wrong, in the words of the widget's own refusals. */
function refused(why) {
  return new Error(`the chat widget${why}`);
}

/** The stand-in's style sheet, constructed (no `style-src` needed). A browser without
 * constructed style sheets shows the stand-in unstyled until the widget (which has a fallback) is
 * in. */
function adopt(shadow) {
  if (!shadow.adoptedStyleSheets) return;
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STAND_IN_CSS);
  }
  shadow.adoptedStyleSheets = [sheet];
}

function h(tag, attributes, ...children) {
  const node = /^(svg|path)$/.test(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const name in attributes) {
    if (attributes[name] != null) node.setAttribute(name, attributes[name]);
  }
  node.append(...children);
  return node;
}


for (const element of document.querySelectorAll("[data-chat-widget]")) {
  // Already there (the script ran twice): left alone.
  if (element.shadowRoot?.querySelector(`.cw-root, [${MARK}]`)) continue;
  try {
    standIn(element, element.getAttribute("data-chat-widget"), true);
  } catch (error) {
    report(error);
    element.textContent = error.message;
  }
}
