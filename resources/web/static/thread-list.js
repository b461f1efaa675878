// The sidebar: the list of chats (newest first, "Show older chats" for the next page), rename
// and delete on each row, and opening and closing the sidebar in a narrow window.

import { parseDate, shortDate } from "./format.js";

export const UNTITLED = "New chat";
const PAGE_SIZE = 30;

const ICON_RENAME =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4"/></svg>';
const ICON_DELETE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13"/></svg>';

export class ThreadList {
  /**
   * `hooks` tell the page what happened: currentId() (the open chat), open(id), renamed(id,
   * title), deleting(id) (just before the request), deleted(id), failed(message).
   */
  constructor({ list, more, newChat }, client, hooks) {
    this.list = list;
    this.more = more;
    this.newChat = newChat;
    this.client = client;
    this.hooks = hooks;
    this.threads = [];
    this.after = null;
    list.addEventListener("click", (event) => this.#onClick(event));
    more.addEventListener("click", () => this.load({ more: true }));
  }

  async load({ more = false } = {}) {
    try {
      const page = await this.client.listThreads({ limit: PAGE_SIZE, after: more ? this.after : null });
      const fresh = page.data || [];
      if (more) {
        const known = new Set(this.threads.map((t) => t.id));
        this.threads.push(...fresh.filter((t) => !known.has(t.id)));
      } else {
        // Keep a thread created by a stream that the list does not have yet.
        const ids = new Set(fresh.map((t) => t.id));
        const current = this.hooks.currentId();
        const local = this.threads.filter((t) => t.id === current && !ids.has(t.id));
        this.threads = [...local, ...fresh];
      }
      this.after = page.has_more ? page.after : null;
      this.more.hidden = !page.has_more;
      this.render();
    } catch (error) {
      this.hooks.failed(`Could not load the chats: ${error.message}`);
    }
  }

  /** The title the list knows for a thread (null when untitled or not listed). */
  titleOf(id) {
    return this.threads.find((t) => t.id === id)?.title ?? null;
  }

  /** A thread just created: first in the list. */
  add(thread) {
    this.threads = [thread, ...this.threads.filter((t) => t.id !== thread.id)];
    this.render();
  }

  retitle(id, title) {
    const known = this.threads.find((t) => t.id === id);
    if (known) known.title = title;
    this.render();
  }

  render() {
    const rows = this.threads.map((thread) => this.#row(thread));
    if (!rows.length) {
      const empty = document.createElement("li");
      empty.className = "thread-empty";
      empty.textContent = "No chats yet.";
      rows.push(empty);
    }
    this.list.replaceChildren(...rows);
  }

  #row(thread) {
    const li = document.createElement("li");
    li.className = "thread";
    li.dataset.threadId = thread.id;
    const title = thread.title || UNTITLED;

    const open = document.createElement("button");
    open.type = "button";
    open.className = "thread-open";
    open.dataset.action = "open";
    if (thread.id === this.hooks.currentId()) open.setAttribute("aria-current", "page");
    const name = document.createElement("span");
    name.className = "thread-title";
    name.textContent = title;
    const time = document.createElement("time");
    time.className = "thread-date";
    const date = parseDate(thread.created_at);
    if (date) {
      time.dateTime = date.toISOString();
      time.textContent = shortDate(date);
      time.title = date.toLocaleString();
    }
    open.append(name, time);

    const rename = iconButton("rename", `Rename “${title}”`, ICON_RENAME);
    const remove = iconButton("delete", `Delete “${title}”`, ICON_DELETE);
    const actions = document.createElement("span");
    actions.className = "thread-actions";
    actions.append(rename, remove);
    li.append(open, actions);
    return li;
  }

  #onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = button.closest("li").dataset.threadId;
    const action = button.dataset.action;
    if (action === "open") this.hooks.open(id);
    else if (action === "rename") this.#startRename(id);
    else if (action === "delete") this.#delete(id);
  }

  #rowOf(id) {
    return this.list.querySelector(`li[data-thread-id="${CSS.escape(id)}"]`);
  }

  #startRename(id) {
    const li = this.#rowOf(id);
    const thread = this.threads.find((t) => t.id === id);
    if (!li || !thread) return;
    const form = document.createElement("form");
    form.className = "rename-form";
    const input = document.createElement("input");
    input.type = "text";
    input.value = thread.title || "";
    input.maxLength = 200;
    input.setAttribute("aria-label", "New name for the chat");
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "quiet";
    cancel.textContent = "Cancel";
    form.append(input, save, cancel);
    li.replaceChildren(form);
    input.focus();
    input.select();

    const restore = () => {
      this.render();
      this.#rowOf(id)?.querySelector('[data-action="rename"]')?.focus();
    };
    cancel.addEventListener("click", restore);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        restore();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      if (!title || title === thread.title) return restore();
      save.disabled = true;
      try {
        await this.client.renameThread(id, title);
        thread.title = title;
        this.hooks.renamed(id, title);
      } catch (error) {
        this.hooks.failed(`Could not rename the chat: ${error.message}`);
      }
      restore();
    });
  }

  async #delete(id) {
    const title = this.titleOf(id) || UNTITLED;
    if (!confirm(`Delete “${title}”? This cannot be undone.`)) return;
    try {
      this.hooks.deleting(id);
      await this.client.deleteThread(id);
    } catch (error) {
      if (error.status !== 404) {
        this.hooks.failed(`Could not delete the chat: ${error.message}`);
        return;
      }
    }
    this.threads = this.threads.filter((t) => t.id !== id);
    this.render();
    this.hooks.deleted(id);
    (this.list.querySelector(".thread-open") || this.newChat).focus();
  }
}

/** The sidebar as a drawer (narrow windows): the toggle button, the backdrop, Escape. */
export class Sidebar {
  constructor(app, { toggle, backdrop, list, newChat }) {
    this.app = app;
    this.toggle = toggle;
    this.backdrop = backdrop;
    this.list = list;
    this.newChat = newChat;
    toggle.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    backdrop.addEventListener("click", () => this.close());
    app.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) {
        this.close();
        toggle.focus();
      }
    });
  }

  isOpen() {
    return this.app.classList.contains("sidebar-open");
  }

  open() {
    this.app.classList.add("sidebar-open");
    this.toggle.setAttribute("aria-expanded", "true");
    this.backdrop.hidden = false;
    (this.list.querySelector('[aria-current="page"]') || this.newChat).focus();
  }

  close() {
    this.app.classList.remove("sidebar-open");
    this.toggle.setAttribute("aria-expanded", "false");
    this.backdrop.hidden = true;
  }
}

function iconButton(action, label, svg) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "icon-button";
  button.dataset.action = action;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.innerHTML = svg; // a constant
  return button;
}
