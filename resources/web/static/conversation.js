// The conversation log: one element per item, drawn by the view of its type and kept by id, so
// that a streamed change re-renders the right one. Text goes in through textContent, except
// assistant replies, thoughts and cards' Markdown, which go through the escape-first Markdown
// renderer (markdown.js). Beside the items: notices from the server, and each answer's tokens.

import { messageAttachments } from "./attachments.js";
import { textOf, usageText } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { renderWidget } from "./widget.js";
import { workflowView } from "./workflow-view.js";

// How each type of item is drawn: create() -> {el, body}, render(entry, conversation) from
// entry.item (and entry.streaming). A type without a view is not shown.
const VIEWS = {
  user_message: messageView({ role: "user", label: "You", markdown: false }),
  assistant_message: messageView({ role: "assistant", label: "Assistant", markdown: true }),
  workflow: workflowView,
  widget: {
    create() {
      const el = document.createElement("article");
      el.className = "widget";
      el.setAttribute("aria-label", "Card");
      return { el, body: el };
    },
    render(entry, conversation) {
      const { el, item } = entry;
      el.replaceChildren(
        renderWidget(item.widget, (action, button) => conversation.act(item.id, action, button)),
      );
    },
  },
};

const NOTICE_LEVELS = new Set(["info", "warning", "danger"]);

function messageView({ role, label, markdown }) {
  return {
    create() {
      const el = document.createElement("article");
      el.className = `message ${role}`;
      el.setAttribute("aria-label", label);
      const body = document.createElement("div");
      body.className = markdown ? "bubble markdown" : "bubble";
      el.append(body);
      return { el, body };
    },
    render({ el, body, item }) {
      const text = textOf(item);
      if (markdown) body.innerHTML = renderMarkdown(text);
      else body.textContent = text;
      el.classList.toggle("waiting", role === "assistant" && !text); // a cursor until text comes
      if (role === "user") {
        body.hidden = !text && Boolean(item.attachments?.length); // files sent without words
        el.querySelector(".message-attachments")?.remove();
        if (item.attachments?.length) body.before(messageAttachments(item.attachments));
      }
    },
  };
}

// Streamed changes are drawn at most once per 16 ms. setTimeout, not requestAnimationFrame:
// rAF stops in a background tab, and an answer streaming there should keep being drawn.
const RENDER_DELAY_MS = 16;

export class Conversation {
  /** `where`: the provider and model the empty conversation names ("" when unknown).
   * `hooks.action(itemId, action)`: a card's button was clicked; true if it is being sent. */
  constructor(log, where, hooks = {}) {
    this.log = log;
    this.where = where;
    this.hooks = hooks;
    this.entries = new Map(); // item id -> {el, body, view, item, streaming, scheduled}
    this.pending = null; // the user's message shown before the server has it
    this.following = false; // while an answer streams, its end stays in view
    log.addEventListener("click", (event) => this.#onClick(event));
  }

  showEmpty() {
    this.#clear();
    const box = document.createElement("div");
    box.className = "empty";
    const head = document.createElement("h2");
    head.textContent = "Start a conversation";
    const text = document.createElement("p");
    const where = this.where ? ` to ${this.where}` : "";
    text.textContent = `Your messages go through ChatKit Desk on this computer${where}.`;
    box.append(head, text);
    this.log.replaceChildren(box);
  }

  showLoading() {
    this.#clear();
    const p = document.createElement("p");
    p.className = "notice";
    p.textContent = "Loading…";
    this.log.replaceChildren(p);
  }

  /** A thread's items, oldest first, in place of what is shown. */
  showItems(items) {
    this.#clear();
    this.log.replaceChildren();
    for (const item of items) this.#add(item);
    if (!this.entries.size) this.showEmpty();
    this.scrollToEnd(true);
  }

  /** Shows an item, new or changed. `streaming` sets or clears its streaming mark (undefined:
   * leave it); `batch`: a streamed change, drawn with the next batch. */
  show(item, { streaming, batch = false } = {}) {
    let entry = this.entries.get(item.id);
    if (!entry) {
      entry = this.#add(item, Boolean(streaming));
    } else {
      entry.item = item;
      if (streaming !== undefined) entry.streaming = streaming;
      if (batch) this.#scheduleRender(entry);
      else this.#render(entry);
    }
    if (entry && streaming !== undefined) entry.el.classList.toggle("streaming", streaming);
  }

  /** A card's button was clicked: its buttons wait while the choice is sent (no second click). */
  act(itemId, action, button) {
    const entry = this.entries.get(itemId);
    if (!entry) return;
    for (const each of entry.el.querySelectorAll("button.w-action")) each.disabled = true;
    button.classList.add("chosen");
    if (!this.hooks.action?.(itemId, action)) this.enableActions(itemId);
  }

  /** The card's choice was not sent (refused, or another answer was streaming): offer it again. */
  enableActions(itemId) {
    const el = this.entries.get(itemId)?.el;
    for (const button of el?.querySelectorAll("button.w-action") ?? []) {
      button.classList.remove("chosen");
      button.disabled = false;
    }
  }

  /** A passing word from the server, at the end of the log, until the person dismisses it. */
  notice({ level, title, message }) {
    const box = document.createElement("div");
    box.className = `thread-notice ${NOTICE_LEVELS.has(level) ? level : "info"}`;
    box.setAttribute("role", "status");
    const text = document.createElement("p");
    text.textContent = title ? `${title}: ${message}` : String(message ?? "");
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "notice-dismiss";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.textContent = "×";
    dismiss.addEventListener("click", () => box.remove());
    box.append(text, dismiss);
    this.log.querySelector(".empty")?.remove();
    this.log.append(box);
    this.scrollToEnd();
  }

  /** The tokens of each answer, `answers`: {item id: usage}, as a small line under it. */
  showUsage(answers) {
    for (const [itemId, usage] of Object.entries(answers ?? {})) {
      const entry = this.entries.get(itemId);
      if (entry?.item.type !== "assistant_message") continue;
      const text = usageText(usage);
      let line = entry.el.querySelector(".message-usage");
      if (!text) {
        line?.remove();
        continue;
      }
      if (!line) {
        line = document.createElement("p");
        line.className = "message-usage";
        entry.el.append(line);
      }
      line.textContent = text;
      line.title = "Tokens of this answer: input (of which cached) · output (of which reasoning)";
    }
  }

  addPending(text, attachments = []) {
    const item = { type: "user_message", content: [{ type: "input_text", text }], attachments };
    this.pending = this.#add(item);
    this.pending.el.classList.add("pending");
  }

  /** The pending message is the server's `item` now. */
  confirmPending(item) {
    const entry = this.pending;
    if (!entry) return;
    this.pending = null;
    entry.item = item;
    entry.el.dataset.itemId = item.id;
    entry.el.classList.remove("pending");
    this.entries.set(item.id, entry);
    this.#render(entry);
  }

  settlePending() {
    this.pending?.el.classList.remove("pending");
    this.pending = null;
  }

  withdrawPending() {
    this.pending?.el.remove();
    this.pending = null;
    if (!this.entries.size && !this.log.children.length) this.showEmpty();
  }

  remove(itemId) {
    this.entries.get(itemId)?.el.remove();
    this.entries.delete(itemId);
  }

  /** Removes everything after the item `itemId`. */
  removeAfter(itemId) {
    let next = this.entries.get(itemId)?.el.nextElementSibling;
    while (next) {
      const after = next.nextElementSibling;
      if (next.dataset.itemId) this.entries.delete(next.dataset.itemId);
      next.remove();
      next = after;
    }
  }

  /** A short note under an item, in place of any earlier one. */
  note(itemId, text) {
    const el = this.entries.get(itemId)?.el;
    if (!el) return;
    el.querySelector(".message-note")?.remove();
    const note = document.createElement("p");
    note.className = "message-note";
    note.textContent = text;
    el.append(note);
  }

  scrollToEnd(force = false) {
    const log = this.log;
    const nearEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    if (force || nearEnd || this.following) log.scrollTop = log.scrollHeight;
  }

  #clear() {
    this.entries.clear();
    this.pending = null;
  }

  #add(item, streaming = false) {
    const view = Object.hasOwn(VIEWS, item.type) ? VIEWS[item.type] : null;
    if (!view) return null;
    this.log.querySelector(".empty")?.remove();
    const { el, body } = view.create();
    const entry = { el, body, view, item, streaming, scheduled: false };
    if (item.id) {
      el.dataset.itemId = item.id;
      this.entries.set(item.id, entry);
    }
    this.#render(entry);
    this.log.append(el);
    this.scrollToEnd();
    return entry;
  }

  #render(entry) {
    entry.view.render(entry, this);
  }

  #scheduleRender(entry) {
    if (entry.scheduled) return;
    entry.scheduled = true;
    setTimeout(() => {
      entry.scheduled = false;
      this.#render(entry);
      this.scrollToEnd();
    }, RENDER_DELAY_MS);
  }

  #onClick(event) {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const code = button.closest(".code-block")?.querySelector("code")?.textContent ?? "";
    navigator.clipboard?.writeText(code).then(
      () => flash(button, "Copied"),
      () => flash(button, "Copy failed"),
    );
  }
}

function flash(button, text) {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = before), 1500);
}
