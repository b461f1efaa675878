// The official ChatKit.js web component, loaded from OpenAI's CDN and pointed at this server,
// with attachments on as this server takes them (two-phase upload, its limits and types).

import { chatkitJsAttachments, limitsFrom } from "./attachment-rules.js";

export const CHATKIT_JS_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js";
const THREAD_KEY = "chatkit-desk.thread";

function loadScript(src, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.addEventListener("load", () => {
      customElements.whenDefined("openai-chatkit").then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    script.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error("the script failed to load"));
    });
    document.head.append(script);
  });
}

export async function mountChatKitJs(root, config, timeoutMs) {
  await loadScript(CHATKIT_JS_URL, timeoutMs);
  const dark = matchMedia("(prefers-color-scheme: dark)");
  const chatkit = document.createElement("openai-chatkit");
  chatkit.className = "chatkit-js";
  const attachments = chatkitJsAttachments(limitsFrom(config));
  const options = (scheme) => ({
    // Absolute: the component may resolve relative URLs against its own frame.
    api: {
      url: new URL(config.api_url, location.origin).href,
      domainKey: config.domain_key,
      // attachments.create answers where to upload, with a credential for that one file.
      uploadStrategy: { type: "two_phase" },
    },
    theme: { colorScheme: scheme },
    initialThread: localStorage.getItem(THREAD_KEY) || null,
    history: { enabled: true, showDelete: true, showRename: true },
    composer: { placeholder: "Message the assistant", attachments },
    frameTitle: "ChatKit Desk chat",
  });
  chatkit.setOptions(options(dark.matches ? "dark" : "light"));
  chatkit.addEventListener("chatkit.thread.change", (event) => {
    const id = event.detail?.threadId;
    if (id) localStorage.setItem(THREAD_KEY, id);
    else localStorage.removeItem(THREAD_KEY);
  });
  chatkit.addEventListener("chatkit.error", (event) => console.error("ChatKit:", event.detail?.error));
  dark.addEventListener("change", () => chatkit.setOptions(options(dark.matches ? "dark" : "light")));

  const shell = document.createElement("div");
  shell.className = "chatkit-js-shell";
  const bar = document.createElement("p");
  bar.className = "chatkit-js-bar";
  const link = document.createElement("a");
  link.href = "/?client=builtin";
  link.textContent = "Use the built-in client";
  bar.append(`ChatKit.js · ${config.provider} · ${config.model} · `, link);
  shell.append(chatkit, bar);
  root.replaceChildren(shell);
  return chatkit;
}
