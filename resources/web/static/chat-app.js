// The built-in ChatKit client: thread list, conversation, streaming, Stop, Retry.
// All text from the server goes into the page through textContent, except assistant replies,
// which go through the escape-first Markdown renderer.

import { ChatKitClient, ChatKitError, userInput } from "./chatkit-client.js";
import { Composer } from "./composer.js";
import { errorText, threadFromHash } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { Sidebar, ThreadList, UNTITLED } from "./thread-list.js";

const THREAD_KEY = "chatkit-desk.thread";

const LAYOUT = `
<div class="app" data-client="builtin">
  <header class="topbar">
    <button type="button" class="icon-button threads-toggle" id="threads-toggle"
            aria-controls="sidebar" aria-expanded="false" title="Chats">
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 6h16M4 12h16M4 18h16"/></svg>
      <span class="sr-only">Chats</span>
    </button>
    <h1 class="thread-heading" id="thread-heading">New chat</h1>
    <span class="model-badge" id="model-badge"></span>
  </header>
  <nav class="sidebar" id="sidebar" aria-label="Chats">
    <div class="sidebar-head">
      <span class="brand">ChatKit Desk</span>
      <button type="button" class="new-chat" id="new-chat">
        <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5v14M5 12h14"/></svg>
        New chat
      </button>
    </div>
    <ul class="thread-list" id="thread-list"></ul>
    <button type="button" class="more-threads" id="more-threads" hidden>Show older chats</button>
    <p class="sidebar-note" id="sidebar-note"></p>
  </nav>
  <div class="backdrop" id="backdrop" hidden></div>
  <main class="conversation">
    <div class="log" id="log" role="log" aria-label="Conversation" tabindex="-1"></div>
    <div class="error" id="error" role="alert" hidden>
      <p class="error-text" id="error-text"></p>
      <div class="error-actions">
        <button type="button" id="retry" hidden>Retry</button>
        <button type="button" class="quiet" id="dismiss">Dismiss</button>
      </div>
    </div>
    <form class="composer" id="composer">
      <label for="message" class="sr-only">Message</label>
      <textarea id="message" rows="1" autocomplete="off"
                placeholder="Message the assistant — Enter sends, Shift+Enter for a new line"></textarea>
      <button type="submit" class="send" id="send">Send</button>
      <button type="button" class="stop" id="stop" hidden>Stop</button>
    </form>
  </main>
</div>`;

export function startBuiltinClient(root, config, reason) {
  root.innerHTML = LAYOUT;
  document.documentElement.dataset.client = "builtin";
  const app = new ChatApp(root.querySelector(".app"), config, reason);
  app.start();
  return app;
}

class ChatApp {
  constructor(element, config, reason) {
    this.el = element;
    this.config = config;
    this.client = new ChatKitClient(new URL(config.api_url, location.origin).href);
    const $ = (id) => element.querySelector(`#${id}`);
    this.dom = {
      heading: $("thread-heading"),
      badge: $("model-badge"),
      toggle: $("threads-toggle"),
      backdrop: $("backdrop"),
      newChat: $("new-chat"),
      list: $("thread-list"),
      more: $("more-threads"),
      note: $("sidebar-note"),
      log: $("log"),
      error: $("error"),
      errorText: $("error-text"),
      retry: $("retry"),
      dismiss: $("dismiss"),
    };
    this.dom.badge.textContent = [config.provider, config.model].filter(Boolean).join(" · ");
    this.dom.note.textContent = `Built-in client (${reason}).`;
    const box = { form: $("composer"), input: $("message"), send: $("send"), stop: $("stop") };
    this.composer = new Composer(box, { send: (text) => this.send(text), stop: () => this.stop() });
    this.threadList = new ThreadList(this.dom, this.client, {
      currentId: () => this.threadId,
      open: (id) => {
        this.sidebar.close();
        if (id !== this.threadId) this.openThread(id);
        this.composer.focus();
      },
      renamed: (id, title) => {
        if (id === this.threadId) this.setTitle(title);
      },
      deleting: (id) => {
        if (id === this.threadId && this.streaming) this.stop();
      },
      deleted: (id) => {
        if (id === this.threadId) this.newChat();
      },
      failed: (message) => this.showError(message),
    });
    this.sidebar = new Sidebar(element, this.dom);
    this.threadId = null;
    this.title = null;
    this.items = new Map(); // item id -> {el, type, parts}
    this.streaming = null;
    this.retryAction = null;
    this.loadToken = 0;
  }

  // Start-up and wiring

  start() {
    const d = this.dom;
    d.newChat.addEventListener("click", () => {
      this.newChat();
      this.sidebar.close();
      this.composer.focus();
    });
    d.retry.addEventListener("click", () => this.retry());
    d.dismiss.addEventListener("click", () => this.hideError());
    d.log.addEventListener("click", (event) => this.onLogClick(event));
    window.addEventListener("hashchange", () => {
      const id = threadFromHash(location.hash);
      if (id && id !== this.threadId) this.openThread(id);
    });

    this.showEmpty();
    this.threadList.load();
    const saved = threadFromHash(location.hash) || localStorage.getItem(THREAD_KEY);
    if (saved) this.openThread(saved, { restoring: true });
    this.composer.focus();
  }

  // Threads

  newChat() {
    if (this.streaming) this.stop();
    this.loadToken += 1;
    this.setThread(null, null);
    this.hideError();
    this.showEmpty();
    this.threadList.render();
  }

  async openThread(id, { restoring = false } = {}) {
    if (this.streaming) this.stop();
    const token = ++this.loadToken;
    this.hideError();
    this.setThread(id, this.threadList.titleOf(id));
    this.threadList.render();
    this.dom.log.replaceChildren(notice("Loading…"));
    this.dom.log.setAttribute("aria-busy", "true");
    try {
      const [thread, items] = await Promise.all([this.client.getThread(id), this.client.listAllItems(id)]);
      if (token !== this.loadToken) return;
      this.setThread(thread.id, thread.title);
      this.renderItems(items);
      this.threadList.render();
    } catch (error) {
      if (token !== this.loadToken) return;
      this.setThread(null, null);
      this.showEmpty();
      this.threadList.render();
      if (!(restoring && error.status === 404)) this.showError(error.message);
    } finally {
      if (token === this.loadToken) this.dom.log.removeAttribute("aria-busy");
    }
  }

  setThread(id, title) {
    this.threadId = id;
    this.setTitle(title);
    const url = new URL(location.href);
    url.hash = id ? id : "";
    history.replaceState(null, "", id ? url.href : url.pathname + url.search);
    if (id) localStorage.setItem(THREAD_KEY, id);
    else localStorage.removeItem(THREAD_KEY);
  }

  setTitle(title) {
    this.title = title;
    const text = title || UNTITLED;
    this.dom.heading.textContent = text;
    document.title = `${text} — ChatKit Desk`;
  }

  // Conversation rendering

  showEmpty() {
    this.items.clear();
    const box = document.createElement("div");
    box.className = "empty";
    const head = document.createElement("h2");
    head.textContent = "Start a conversation";
    const text = document.createElement("p");
    const where = [this.config.provider, this.config.model].filter(Boolean).join(", ");
    text.textContent = `Your messages go through ChatKit Desk on this computer${where ? ` to ${where}` : ""}.`;
    box.append(head, text);
    this.dom.log.replaceChildren(box);
  }

  renderItems(items) {
    this.items.clear();
    this.dom.log.replaceChildren();
    for (const item of items) this.addItem(item);
    if (!this.items.size) this.showEmpty();
    this.scrollToEnd(true);
  }

  addItem(item, { pending = false } = {}) {
    if (item.type !== "user_message" && item.type !== "assistant_message") return null;
    this.dom.log.querySelector(".empty")?.remove();
    const el = document.createElement("article");
    el.className = `message ${item.type === "user_message" ? "user" : "assistant"}`;
    el.setAttribute("aria-label", item.type === "user_message" ? "You" : "Assistant");
    if (item.id) el.dataset.itemId = item.id;
    if (pending) el.classList.add("pending");
    const body = document.createElement("div");
    body.className = item.type === "user_message" ? "bubble" : "bubble markdown";
    el.append(body);
    const entry = { el, body, type: item.type, parts: partsOf(item) };
    this.renderEntry(entry);
    this.dom.log.append(el);
    if (item.id) this.items.set(item.id, entry);
    this.scrollToEnd();
    return entry;
  }

  renderEntry(entry) {
    const text = entry.parts.join("");
    if (entry.type === "user_message") entry.body.textContent = text;
    else entry.body.innerHTML = renderMarkdown(text);
    entry.el.classList.toggle("waiting", entry.type === "assistant_message" && !text);
  }

  scheduleRender(entry) {
    if (entry.scheduled) return;
    entry.scheduled = true;
    setTimeout(() => {
      entry.scheduled = false;
      this.renderEntry(entry);
      this.scrollToEnd();
    }, 16);
  }

  scrollToEnd(force = false) {
    const log = this.dom.log;
    const nearEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    if (force || nearEnd || this.streaming) log.scrollTop = log.scrollHeight;
  }

  onLogClick(event) {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const code = button.closest(".code-block")?.querySelector("code")?.textContent ?? "";
    navigator.clipboard?.writeText(code).then(
      () => flash(button, "Copied"),
      () => flash(button, "Copy failed"),
    );
  }

  // Sending and streaming

  send(text) {
    if (this.streaming || !text.trim()) return;
    this.hideError();
    const pending = this.addItem({ type: "user_message", content: [{ text }] }, { pending: true });
    this.composer.take(text);
    const [type, params] = this.threadId
      ? ["threads.add_user_message", { thread_id: this.threadId, input: userInput(text) }]
      : ["threads.create", { input: userInput(text) }];
    this.runStream(type, params, {
      pending,
      onRefused: () => {
        pending.el.remove();
        this.composer.giveBack(text);
        if (!this.items.size && !this.dom.log.children.length) this.showEmpty();
      },
    });
  }

  retry() {
    const action = this.retryAction;
    this.hideError();
    if (action) action();
  }

  stop() {
    if (!this.streaming) return;
    this.streaming.stopped = true;
    this.streaming.controller.abort();
  }

  async runStream(type, params, { pending = null, onRefused = () => {} } = {}) {
    const run = {
      controller: new AbortController(),
      events: 0,
      pending,
      assistant: null,
      assistantDone: false,
      error: null,
      stopped: false,
      threadAtStart: this.threadId,
    };
    this.streaming = run;
    this.setBusy(true);
    try {
      await this.client.stream(type, params, {
        signal: run.controller.signal,
        onEvent: (event) => {
          run.events += 1;
          if (this.streaming === run) this.onStreamEvent(run, event);
        },
      });
      if (!run.error && run.assistant && !run.assistantDone && !run.stopped) {
        this.failTurn(run, "The answer was cut off before it was complete.", true);
      }
    } catch (error) {
      if (error.name === "AbortError" || run.stopped) {
        this.markStopped(run);
      } else if (run.events === 0) {
        onRefused();
        const again = () => this.runStream(type, params, { pending: this.resend(pending), onRefused });
        this.showError(error.message, error.allowRetry ? again : null);
      } else {
        this.failTurn(run, error.message, error instanceof ChatKitError ? error.allowRetry : true);
      }
    } finally {
      if (this.streaming === run) {
        this.streaming = null;
        this.setBusy(false);
      }
      this.threadList.load();
    }
  }

  resend(pending) {
    if (!pending) return null;
    const text = pending.parts.join("");
    this.composer.take(text);
    return this.addItem({ type: "user_message", content: [{ text }] }, { pending: true });
  }

  onStreamEvent(run, event) {
    switch (event.type) {
      case "thread.created":
        this.setThread(event.thread.id, event.thread.title);
        this.threadList.add(event.thread);
        break;
      case "thread.updated":
        this.threadList.retitle(event.thread.id, event.thread.title);
        if (event.thread.id === this.threadId) this.setTitle(event.thread.title);
        break;
      case "thread.item.added":
      case "thread.item.done":
        this.onItem(run, event.item, event.type === "thread.item.done");
        break;
      case "thread.item.replaced":
        this.onItem(run, event.item, true);
        break;
      case "thread.item.updated":
        this.onItemUpdate(event.item_id, event.update);
        break;
      case "thread.item.removed":
        this.items.get(event.item_id)?.el.remove();
        this.items.delete(event.item_id);
        break;
      case "error":
        run.error = event;
        this.failTurn(run, event.message || errorText(event.code), Boolean(event.allow_retry));
        break;
      default:
        break; // stream_options, progress updates, notices: nothing to show
    }
  }

  onItem(run, item, done) {
    if (item.type === "user_message" && run.pending && !run.pending.el.dataset.itemId) {
      const entry = run.pending;
      entry.el.dataset.itemId = item.id;
      entry.el.classList.remove("pending");
      entry.parts = partsOf(item);
      this.renderEntry(entry);
      this.items.set(item.id, entry);
      run.userItemId = item.id;
      return;
    }
    let entry = this.items.get(item.id);
    if (!entry) entry = this.addItem(item);
    else if (done || item.content?.length) {
      entry.parts = partsOf(item);
      this.renderEntry(entry);
    }
    if (!entry) return;
    if (item.type === "assistant_message") {
      run.assistant = entry;
      if (done) {
        run.assistantDone = true;
        entry.el.classList.remove("streaming");
      } else {
        entry.el.classList.add("streaming");
      }
    } else if (item.type === "user_message") {
      run.userItemId = item.id;
    }
  }

  onItemUpdate(itemId, update) {
    const entry = this.items.get(itemId);
    if (!entry || !update) return;
    const index = update.content_index ?? 0;
    if (update.type === "assistant_message.content_part.text_delta") {
      entry.parts[index] = (entry.parts[index] || "") + update.delta;
      this.scheduleRender(entry);
    } else if (
      update.type === "assistant_message.content_part.added" ||
      update.type === "assistant_message.content_part.done"
    ) {
      entry.parts[index] = update.content?.text ?? entry.parts[index] ?? "";
      this.scheduleRender(entry);
    }
  }

  markStopped(run) {
    const entry = run.assistant;
    if (entry && !run.assistantDone) {
      entry.el.classList.remove("streaming");
      this.renderEntry(entry);
      addNote(entry.el, entry.parts.join("").trim() ? "Stopped — the answer so far is kept." : "Stopped.");
    }
    run.pending?.el.classList.remove("pending");
  }

  failTurn(run, message, allowRetry) {
    if (run.assistant && !run.assistantDone) {
      run.assistant.el.classList.remove("streaming");
      this.renderEntry(run.assistant);
      if (!run.assistant.parts.join("").trim()) {
        run.assistant.el.remove();
        for (const [id, entry] of this.items) if (entry === run.assistant) this.items.delete(id);
      }
    }
    run.pending?.el.classList.remove("pending");
    const threadId = this.threadId;
    const userItemId = run.userItemId || lastUserItemId(this.items);
    const again =
      allowRetry && threadId && userItemId ? () => this.retryAfter(threadId, userItemId) : null;
    this.showError(message, again);
  }

  retryAfter(threadId, userItemId) {
    if (threadId !== this.threadId || this.streaming) return;
    // The server drops everything after the user's message and answers it again.
    const userEntry = this.items.get(userItemId);
    if (userEntry) {
      let next = userEntry.el.nextElementSibling;
      while (next) {
        const after = next.nextElementSibling;
        if (next.dataset.itemId) this.items.delete(next.dataset.itemId);
        next.remove();
        next = after;
      }
    }
    this.runStream("threads.retry_after_item", { thread_id: threadId, item_id: userItemId });
  }

  // Small UI helpers

  setBusy(busy) {
    const d = this.dom;
    this.composer.setBusy(busy);
    this.el.classList.toggle("busy", busy);
    // Screen readers hear the finished answer once, not every token.
    if (busy) d.log.setAttribute("aria-busy", "true");
    else d.log.removeAttribute("aria-busy");
  }

  showError(message, retryAction = null) {
    this.retryAction = retryAction;
    this.dom.errorText.textContent = message;
    this.dom.retry.hidden = !retryAction;
    this.dom.error.hidden = false;
  }

  hideError() {
    this.retryAction = null;
    this.dom.error.hidden = true;
  }
}

function partsOf(item) {
  return (item.content || []).map((part) => part.text ?? "");
}

function lastUserItemId(items) {
  let last = null;
  for (const [id, entry] of items) if (entry.type === "user_message") last = id;
  return last;
}

function notice(text) {
  const p = document.createElement("p");
  p.className = "notice";
  p.textContent = text;
  return p;
}

function addNote(el, text) {
  el.querySelector(".message-note")?.remove();
  const note = document.createElement("p");
  note.className = "message-note";
  note.textContent = text;
  el.append(note);
}

function flash(button, text) {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = before), 1500);
}
