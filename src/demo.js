// The demo page's chat, mounted from a script as a site would, with two example tools that show
// the tool loop working with the relay's demo model or a real one.
import { mount } from "./embed.js";

const tools = [
  {
    name: "get_time",
    description: "The current date and time in a time zone.",
    parameters: {
      type: "object",
      properties: { tz: { type: "string", description: "An IANA time zone, such as Europe/Paris" } },
      required: ["tz"],
    },
    // It only reads: it runs without asking the person.
    confirm: false,
    // An unknown zone throws, and the model is told so.
    handler: ({ tz = "UTC" }) => ({
      tz,
      time: new Intl.DateTimeFormat("en-GB", { timeZone: tz, dateStyle: "full", timeStyle: "long" }).format(new Date()),
    }),
  },
  {
    name: "read_page",
    description: "The title, address and main heading of the page the chat is on.",
    parameters: { type: "object", properties: {} },
    confirm: false,
    handler: () => ({
      title: document.title,
      url: location.href,
      heading: document.querySelector("h1")?.textContent.trim() ?? "",
    }),
  },
];

// The demo shows every request parameter in its settings, those that steer the model too.
const editable = ["model", "system_prompt", "tool_choice"];
const welcome =
  "Hello! I am the **demo model**: I answer offline, in Markdown, and I can call the page's tools. " +
  "Set `CHAT_RELAY_API_KEY` on the relay to talk to the real model instead.";
const suggestions = ["What can you do?", "Show me a table and some code", "What time is it in Tokyo?"];
mount(document.querySelector("#chat"), {
  title: "Assistant",
  placeholder: "Ask anything…",
  welcome,
  suggestions,
  // The demo shows what each reply cost; a site's widget does not unless it asks.
  show_usage: true,
  // Dictation and reading aloud, where the browser offers them.
  voice: true,
  editable,
  tools,
});
