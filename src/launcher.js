// The launcher demo page's chat: a floating button with a greeting, a welcome and suggestions.
import { mount } from "./embed.js";

mount(document.querySelector("#chat"), {
  id: "demo-launcher",
  title: "Assistant",
  presentation: "launcher",
  // The widget loads when the page is idle, so that it is there to greet.
  load: "idle",
  greeting: { text: "Hello! Questions about the widget? Ask me.", delay_ms: 3000 },
  welcome: "Hello! I am the **demo model**: I answer offline, in Markdown.",
  suggestions: ["What can you do?", "Show me a table and some code"],
});
