// Boot: read /config.json, then use the official ChatKit.js component when its CDN script
// loads in time, else (offline, blocked, too slow, or "builtin" chosen in settings) the
// built-in client that ships with the app.

import { mountChatKitJs } from "./chatkit-js.js";

const CHATKIT_JS_TIMEOUT_MS = 4000;
const root = document.getElementById("root");

function showFatal(message) {
  root.replaceChildren();
  const box = document.createElement("div");
  box.className = "boot";
  box.setAttribute("role", "alert");
  const title = document.createElement("h1");
  title.textContent = "The chat could not start";
  const text = document.createElement("p");
  text.textContent = message;
  const again = document.createElement("button");
  again.type = "button";
  again.textContent = "Reload";
  again.addEventListener("click", () => location.reload());
  box.append(title, text, again);
  root.append(box);
}

async function loadConfig() {
  const response = await fetch("/config.json", { cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(body?.error?.message || `ChatKit Desk answered ${response.status}.`);
  }
  return body;
}

async function startBuiltin(config, reason) {
  const { startBuiltinClient } = await import("./chat-app.js");
  startBuiltinClient(root, config, reason);
}

async function main() {
  document.documentElement.dataset.started = "1";
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    showFatal(`${error.message} Open the chat again from the tray (or run \`chatkit-desk open\`).`);
    return;
  }
  const wanted = new URLSearchParams(location.search).get("client");
  if (config.web_client === "builtin" || wanted === "builtin") {
    await startBuiltin(config, wanted === "builtin" ? "chosen on this page" : "chosen in settings");
    return;
  }
  try {
    await mountChatKitJs(root, config, CHATKIT_JS_TIMEOUT_MS);
    document.documentElement.dataset.client = "chatkit-js";
  } catch (error) {
    console.info(`ChatKit.js is not available (${error.message}); using the built-in client.`);
    await startBuiltin(config, "ChatKit.js could not be loaded");
  }
}

main().catch((error) => {
  console.error(error);
  showFatal(`Something went wrong while starting the chat: ${error.message}`);
});
