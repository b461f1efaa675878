// Files in the built-in client: the tray above the message box (what will go with the next
// message, each file uploading, done or failed, with its ×), and the attachments a message in
// the conversation carries (image previews, file chips).
//
// A file goes up in ChatKit's two phases as soon as it is added (attachments.create, then the
// upload to its descriptor, with progress); removing one deletes it on the server
// (attachments.delete). A file the page can tell is refused (type, size, count; see
// attachment-rules.js) is shown as failed without being sent; the server checks everything again,
// and its message is what a failed file shows. File names only ever go in through textContent
// and attributes.

import {
  acceptAttribute,
  fileType,
  isImageType,
  refusal,
  sizeText,
  typeLabel,
  typeTag,
} from "./attachment-rules.js";

let nextKey = 0;

export class AttachmentTray {
  /** `dom`: {list, input, button}; `hooks.changed()` after every change (uploading or not). */
  constructor({ list, input, button }, client, limits, hooks = {}) {
    this.list = list;
    this.client = client;
    this.limits = limits;
    this.hooks = hooks;
    this.entries = [];
    input.accept = acceptAttribute(limits);
    button.hidden = !this.enabled;
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      this.add(Array.from(input.files ?? []));
      input.value = ""; // the same file can be picked again
    });
    this.#render();
  }

  get enabled() {
    return this.limits.types.length > 0;
  }

  /** Whether a file is still on its way up (Send waits for it). */
  get uploading() {
    return this.entries.some((entry) => entry.status === "uploading");
  }

  /** The uploaded attachments, in the order they were added. */
  ready() {
    return this.entries.filter((entry) => entry.status === "done").map((entry) => entry.attachment);
  }

  /** Files picked, dropped or pasted: each is checked here, then uploaded. */
  add(files) {
    if (!this.enabled) return;
    for (const file of files) {
      const name = file.name || (isImageType(file.type) ? "pasted image.png" : "file");
      const type = fileType(file.type, name);
      const counted = this.entries.filter((entry) => entry.status !== "failed").length;
      const why = refusal({ name, size: file.size, type: file.type }, this.limits, counted);
      const entry = {
        key: ++nextKey,
        name,
        size: file.size,
        type,
        status: why ? "failed" : "uploading",
        progress: 0,
        error: why,
        attachment: null,
        thumb: !why && isImageType(type) ? URL.createObjectURL(file) : null,
        controller: new AbortController(),
        removed: false,
        el: null,
      };
      this.entries.push(entry);
      if (!why) this.#upload(entry, file);
    }
    this.#render();
  }

  /** The × of a file: stop its upload, delete it on the server, take it off the tray. */
  remove(entry) {
    entry.removed = true;
    entry.controller.abort();
    if (entry.attachment?.id) this.#forget(entry.attachment.id);
    this.#drop(entry);
    this.#render();
  }

  /** The message went with `attachments`: they leave the tray, and so do the failed files. */
  take(attachments) {
    const sent = new Set(attachments.map((attachment) => attachment.id));
    for (const entry of [...this.entries]) {
      if (entry.status === "failed" || sent.has(entry.attachment?.id)) this.#drop(entry);
    }
    this.#render();
  }

  /** The message was refused before the server kept it: its files come back to the tray. */
  giveBack(attachments) {
    const present = new Set(this.entries.map((entry) => entry.attachment?.id));
    for (const attachment of attachments) {
      if (present.has(attachment.id)) continue;
      this.entries.push({
        key: ++nextKey,
        name: attachment.name,
        size: null,
        type: attachment.mime_type,
        status: "done",
        progress: 1,
        error: null,
        attachment,
        thumb: safeUrl(attachment.preview_url),
        controller: new AbortController(),
        removed: false,
        el: null,
      });
    }
    this.#render();
  }

  async #upload(entry, file) {
    try {
      const created = await this.client.createAttachment({
        name: entry.name,
        size: file.size,
        type: entry.type,
      });
      entry.attachment = created;
      if (entry.removed) {
        this.#forget(created.id); // removed while it was being created
        return;
      }
      const finished = await this.client.upload(created.upload_descriptor, file, {
        signal: entry.controller.signal,
        onProgress: (fraction) => {
          entry.progress = fraction;
          this.#update(entry);
        },
      });
      if (entry.removed) return;
      entry.attachment = finished;
      entry.type = finished.mime_type || entry.type;
      entry.status = "done";
      entry.progress = 1;
    } catch (error) {
      if (entry.removed) return; // its removal deleted it
      entry.status = "failed";
      entry.error = error.message || "The upload failed.";
      // Nothing of it is worth keeping on the server; the tray keeps showing why it failed.
      if (entry.attachment?.id) this.#forget(entry.attachment.id);
      entry.attachment = null;
    }
    this.#render();
  }

  #forget(attachmentId) {
    this.client.deleteAttachment(attachmentId).catch((error) => {
      console.info(`Could not delete attachment ${attachmentId} (${error.message}).`);
    });
  }

  #drop(entry) {
    if (entry.thumb?.startsWith("blob:")) URL.revokeObjectURL(entry.thumb);
    this.entries = this.entries.filter((each) => each !== entry);
  }

  #render() {
    for (const entry of this.entries) {
      entry.el ??= this.#create(entry);
      this.#update(entry);
    }
    this.list.replaceChildren(...this.entries.map((entry) => entry.el));
    this.list.hidden = !this.entries.length;
    this.hooks.changed?.();
  }

  #create(entry) {
    const el = document.createElement("li");
    el.className = `attachment-chip ${isImageType(entry.type) ? "image" : "file"}`;
    el.append(visual(entry.type, entry.thumb));
    const meta = document.createElement("span");
    meta.className = "attachment-meta";
    const name = document.createElement("span");
    name.className = "attachment-name";
    name.textContent = entry.name;
    name.title = entry.name;
    const detail = document.createElement("span");
    detail.className = "attachment-detail";
    meta.append(name, detail);
    const progress = document.createElement("progress");
    progress.max = 1;
    progress.setAttribute("aria-label", `Uploading ${entry.name}`);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "attachment-remove";
    remove.setAttribute("aria-label", `Remove ${entry.name}`);
    remove.title = "Remove";
    remove.textContent = "×";
    remove.addEventListener("click", () => this.remove(entry));
    el.append(meta, progress, remove);
    entry.parts = { detail, progress };
    return el;
  }

  #update(entry) {
    const { el, parts } = entry;
    if (!el) return;
    for (const status of ["uploading", "done", "failed"]) {
      el.classList.toggle(status, entry.status === status);
    }
    parts.progress.hidden = entry.status !== "uploading";
    parts.progress.value = entry.progress;
    const detail = parts.detail;
    detail.classList.toggle("attachment-error", entry.status === "failed");
    if (entry.status === "failed") {
      detail.setAttribute("role", "alert");
      detail.textContent = entry.error;
    } else {
      detail.removeAttribute("role");
      detail.textContent =
        entry.status === "uploading"
          ? `Uploading… ${Math.round(entry.progress * 100)}%`
          : [typeLabel(entry.type), entry.size ? sizeText(entry.size) : ""].filter(Boolean).join(" · ");
    }
  }
}

/** What a message carries, under its text: image previews and file chips. */
export function messageAttachments(attachments) {
  const box = document.createElement("div");
  box.className = "message-attachments";
  for (const attachment of attachments) {
    const preview = isImageType(String(attachment.mime_type ?? "")) && safeUrl(attachment.preview_url);
    box.append(preview ? imagePreview(attachment, preview) : fileChip(attachment));
  }
  return box;
}

function imagePreview(attachment, url) {
  const img = document.createElement("img");
  img.className = "attachment-preview";
  img.alt = attachment.name;
  img.title = attachment.name;
  img.decoding = "async";
  img.addEventListener(
    "error",
    () => img.replaceWith(fileChip(attachment, "The preview could not be loaded; reload the chat.")),
    { once: true },
  );
  img.src = url;
  return img;
}

function fileChip(attachment, note = null) {
  const type = String(attachment.mime_type ?? "");
  const chip = document.createElement("a");
  chip.className = `attachment-chip done ${isImageType(type) ? "image" : "file"}`;
  if (attachment.id) {
    chip.href = `/chatkit/attachments/${encodeURIComponent(attachment.id)}/content`;
    chip.download = attachment.name;
    chip.title = `Download ${attachment.name}`;
  }
  const meta = document.createElement("span");
  meta.className = "attachment-meta";
  const name = document.createElement("span");
  name.className = "attachment-name";
  name.textContent = attachment.name;
  const detail = document.createElement("span");
  detail.className = "attachment-detail";
  detail.textContent = note ?? typeLabel(type);
  meta.append(name, detail);
  chip.append(visual(type, null), meta);
  return chip;
}

function visual(type, thumb) {
  if (thumb) {
    const img = document.createElement("img");
    img.className = "attachment-thumb";
    img.alt = "";
    img.src = thumb;
    return img;
  }
  const tag = document.createElement("span");
  tag.className = "attachment-tag";
  tag.setAttribute("aria-hidden", "true");
  tag.textContent = typeTag(type);
  return tag;
}

/** A preview link an <img> may load: the server's http(s) link or the page's own blob. */
function safeUrl(value) {
  if (!value) return null;
  try {
    const url = new URL(String(value), location.href);
    return ["http:", "https:", "blob:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}
