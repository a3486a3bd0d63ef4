// The chat widget for any page: `<script type="module" src=".../embed.js"></script>` mounts a
// widget on every element with a `data-chat-widget` attribute (its value is the JSON config).
// Scripts that mount their own: `import { mount } from ".../embed.js"`; `mount(element, config)`
// returns a handle with `unmount()`, `open()`, `close()`, `send(text)`, `onMessage(f)` and
// `onError(f)`.
import init, { mount } from "./chat-widget.js";

await init();

export { mount };
