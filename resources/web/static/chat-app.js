// The built-in ChatKit client: the page's layout, and the wiring between its parts — the chat
// list (thread-list.js), the conversation log (conversation.js), the turn that streams an answer
// (turn.js), the message box (composer.js) and the files attached to it (attachments.js) — the
// error banner with its Retry, a card's buttons
// (sent as a turn of their own), and the tokens used (per answer and per chat).
// All text from the server goes into the page through textContent, except assistant replies,
// thoughts and cards' Markdown, which go through the escape-first Markdown renderer.

import { limitsFrom } from "./attachment-rules.js";
import { AttachmentTray } from "./attachments.js";
import { ChatKitClient } from "./chatkit-client.js";
import { Composer } from "./composer.js";
import { Conversation } from "./conversation.js";
import { threadFromHash, usageText } from "./format.js";
import { Sidebar, ThreadList, UNTITLED } from "./thread-list.js";
import { Turn, sendAction, sendMessage } from "./turn.js";

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
    <span class="usage-total" id="usage-total" hidden></span>
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
  <main class="conversation" id="conversation">
    <div class="log" id="log" role="log" aria-label="Conversation" tabindex="-1"></div>
    <div class="error" id="error" role="alert" hidden>
      <p class="error-text" id="error-text"></p>
      <div class="error-actions">
        <button type="button" id="retry" hidden>Retry</button>
        <button type="button" class="quiet" id="dismiss">Dismiss</button>
      </div>
    </div>
    <form class="composer" id="composer">
      <ul class="attachment-tray" id="attachment-tray" aria-label="Files to send" hidden></ul>
      <button type="button" class="icon-button attach" id="attach" title="Attach files (or drop or paste them)">
        <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9"/></svg>
        <span class="sr-only">Attach files</span>
      </button>
      <input type="file" id="file-input" multiple hidden>
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

// What each action of a turn does to the page (the actions are listed at the top of turn.js).
const TURN_ACTIONS = {
  addPending(app, { text, attachments }) {
    app.conversation.addPending(text, attachments);
    app.composer.take(text);
    app.tray.take(attachments);
  },
  confirmPending: (app, { item }) => app.conversation.confirmPending(item),
  settlePending: (app) => app.conversation.settlePending(),
  withdrawPending(app, { text, attachments }) {
    app.conversation.withdrawPending();
    app.composer.giveBack(text);
    app.tray.giveBack(attachments);
  },
  removeAfter: (app, { itemId }) => app.conversation.removeAfter(itemId),
  render: (app, { item, streaming, batch }) => app.conversation.show(item, { streaming, batch }),
  removeItem: (app, { itemId }) => app.conversation.remove(itemId),
  note: (app, { itemId, text }) => app.conversation.note(itemId, text),
  threadCreated(app, { thread }) {
    app.setThread(thread.id, thread.title);
    app.threadList.add(thread);
  },
  threadUpdated(app, { thread }) {
    app.threadList.retitle(thread.id, thread.title);
    if (thread.id === app.threadId) app.setTitle(thread.title);
  },
  notice: (app, notice) => app.conversation.notice(notice),
  showError: (app, { message, retry }) => app.showError(message, retry && (() => app.run(retry))),
};

class ChatApp {
  constructor(element, config, reason) {
    this.el = element;
    this.client = new ChatKitClient(new URL(config.api_url, location.origin).href);
    const $ = (id) => element.querySelector(`#${id}`);
    const d = (this.dom = {
      heading: $("thread-heading"),
      newChat: $("new-chat"),
      log: $("log"),
      error: $("error"),
      errorText: $("error-text"),
      retry: $("retry"),
      dismiss: $("dismiss"),
      usageTotal: $("usage-total"),
    });
    $("model-badge").textContent = [config.provider, config.model].filter(Boolean).join(" · ");
    $("sidebar-note").textContent = `Built-in client (${reason}).`;
    const where = [config.provider, config.model].filter(Boolean).join(", ");
    this.conversation = new Conversation(d.log, where, {
      action: (itemId, action) => this.sendAction(itemId, action),
    });
    const box = { form: $("composer"), input: $("message"), send: $("send"), stop: $("stop") };
    this.composer = new Composer(box, {
      send: (text) => this.send(text),
      stop: () => this.stop(),
      attach: (files) => this.tray.add(files),
    });
    const files = { list: $("attachment-tray"), input: $("file-input"), button: $("attach") };
    this.tray = new AttachmentTray(files, this.client, limitsFrom(config), {
      changed: () => this.composer.setUploading(this.tray?.uploading ?? false),
    });
    this.dropZone = $("conversation");
    const sidebar = {
      toggle: $("threads-toggle"),
      backdrop: $("backdrop"),
      list: $("thread-list"),
      more: $("more-threads"),
      newChat: d.newChat,
    };
    this.threadList = new ThreadList(sidebar, this.client, {
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
        if (id === this.threadId) this.stop();
      },
      deleted: (id) => {
        if (id === this.threadId) this.newChat();
      },
      failed: (message) => this.showError(message),
    });
    this.sidebar = new Sidebar(element, sidebar);
    this.threadId = null;
    this.turn = null; // the turn streaming now
    this.retryAction = null;
    this.loadToken = 0; // the latest openThread: an older one's answer is dropped
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
    this.acceptDrops();
    window.addEventListener("hashchange", () => {
      const id = threadFromHash(location.hash);
      if (id && id !== this.threadId) this.openThread(id);
    });

    this.conversation.showEmpty();
    this.threadList.load();
    const saved = threadFromHash(location.hash) || localStorage.getItem(THREAD_KEY);
    if (saved) this.openThread(saved, { restoring: true });
    this.composer.focus();
  }

  // Threads

  newChat() {
    this.abandonTurn();
    this.loadToken += 1;
    this.setThread(null, null);
    this.hideError();
    this.conversation.showEmpty();
    this.threadList.render();
  }

  /** The tokens of the chat shown: under each answer, and in all in the top bar. */
  async loadUsage() {
    const id = this.threadId;
    if (!id) return;
    let usage;
    try {
      usage = await this.client.usage(id);
    } catch (error) {
      console.info(`No token usage for this chat (${error.message}).`);
      return;
    }
    if (id !== this.threadId) return;
    this.conversation.showUsage(usage?.answers);
    this.showTotal(usage?.total);
  }

  showTotal(total) {
    const text = usageText(total);
    const el = this.dom.usageTotal;
    el.hidden = !text;
    el.textContent = text ? `Chat: ${text}` : "";
    el.title = "Tokens this chat has used: input (of which cached) · output (of which reasoning)";
  }

  async openThread(id, { restoring = false } = {}) {
    this.abandonTurn();
    const token = ++this.loadToken;
    this.hideError();
    this.setThread(id, this.threadList.titleOf(id));
    this.threadList.render();
    this.conversation.showLoading();
    this.dom.log.setAttribute("aria-busy", "true");
    try {
      const [thread, items] = await Promise.all([this.client.getThread(id), this.client.listAllItems(id)]);
      if (token !== this.loadToken) return;
      this.setThread(thread.id, thread.title);
      this.conversation.showItems(items);
      this.threadList.render();
      this.loadUsage();
    } catch (error) {
      if (token !== this.loadToken) return;
      this.setThread(null, null);
      this.conversation.showEmpty();
      this.threadList.render();
      if (!(restoring && error.status === 404)) this.showError(error.message);
    } finally {
      if (token === this.loadToken) this.dom.log.removeAttribute("aria-busy");
    }
  }

  setThread(id, title) {
    if (id !== this.threadId) this.showTotal(null);
    this.threadId = id;
    this.setTitle(title);
    const url = new URL(location.href);
    url.hash = id ? id : "";
    history.replaceState(null, "", id ? url.href : url.pathname + url.search);
    if (id) localStorage.setItem(THREAD_KEY, id);
    else localStorage.removeItem(THREAD_KEY);
  }

  setTitle(title) {
    const text = title || UNTITLED;
    this.dom.heading.textContent = text;
    document.title = `${text} — ChatKit Desk`;
  }

  // Turns

  /** Sends the message and the files uploaded for it; not while files are still uploading. */
  send(text) {
    if (this.turn || this.tray.uploading) return;
    const attachments = this.tray.ready();
    if (!text.trim() && !attachments.length) return;
    this.run(sendMessage(this.threadId, text, attachments));
  }

  /** Files dropped anywhere on the conversation or the message box are attached. A file dropped
   * elsewhere on the page is ignored (not opened in place of the chat). */
  acceptDrops() {
    const zone = this.dropZone;
    const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes("Files");
    let depth = 0;
    const leave = () => {
      depth = 0;
      zone.classList.remove("drop-target");
    };
    zone.addEventListener("dragenter", (event) => {
      if (!hasFiles(event) || !this.tray.enabled) return;
      depth += 1;
      zone.classList.add("drop-target");
    });
    zone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) leave();
    });
    zone.addEventListener("dragover", (event) => {
      if (!hasFiles(event) || !this.tray.enabled) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("drop", (event) => {
      leave();
      const dropped = Array.from(event.dataTransfer?.files ?? []);
      if (!dropped.length) return;
      event.preventDefault();
      this.tray.add(dropped);
      this.composer.focus();
    });
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        if (hasFiles(event)) event.preventDefault();
      });
    }
  }

  /** A card's button: its action goes to the server, which answers as a turn. False when it
   * cannot be sent now (an answer is streaming). */
  sendAction(itemId, action) {
    if (this.turn || !this.threadId) return false;
    return this.run(sendAction(this.threadId, itemId, action), {
      after: (turn) => {
        if (turn.state.outcome === "refused") this.conversation.enableActions(itemId);
        // Decided elsewhere (another tab): the server answered nothing. Show what it has.
        else if (turn.state.outcome === "done" && !turn.state.items[itemId]) {
          this.openThread(this.threadId);
        }
      },
    });
  }

  /** Runs a turn (a spec from turn.js): a new message, a card's action, or what a Retry holds.
   * `after(turn)` runs once it is over, if this chat is still the one shown. */
  run(spec, { after = null } = {}) {
    if (this.turn || spec.threadId !== this.threadId) return false; // a Retry for a chat left since
    this.hideError();
    const turn = new Turn(spec, (action) => {
      if (this.turn === turn) TURN_ACTIONS[action.type](this, action);
    });
    this.turn = turn;
    this.setBusy(true);
    turn.run(this.client).finally(() => {
      const current = this.turn === turn;
      if (current) {
        this.turn = null;
        this.setBusy(false);
        after?.(turn);
        this.loadUsage();
      }
      this.threadList.load();
    });
    return true;
  }

  stop() {
    this.turn?.stop();
  }

  /** Leaving the chat: stop its turn, and let nothing more of it reach the page. */
  abandonTurn() {
    if (!this.turn) return;
    this.turn.stop();
    this.turn = null;
    this.setBusy(false);
  }

  retry() {
    const action = this.retryAction;
    this.hideError();
    if (action) action();
  }

  // Small UI helpers

  setBusy(busy) {
    this.composer.setBusy(busy);
    this.el.classList.toggle("busy", busy);
    this.conversation.following = busy;
    // Screen readers hear the finished answer once, not every token.
    if (busy) this.dom.log.setAttribute("aria-busy", "true");
    else this.dom.log.removeAttribute("aria-busy");
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
