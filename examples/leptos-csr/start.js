// Starts the app: loads its wasm (trunk names both files after the crate).
import init from "./example-leptos-csr.js";

await init({ module_or_path: new URL("example-leptos-csr_bg.wasm", import.meta.url) });
