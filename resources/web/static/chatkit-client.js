// The ChatKit protocol as a browser speaks it: one endpoint (POST, JSON body
// {type, params}); some requests answer JSON, the streaming ones answer text/event-stream
// with `data: {json}` frames. Errors before a stream are JSON {"error": {code, message}}.
// Same origin and signed in by the session cookie, so fetch's default credentials suffice.

export class ChatKitError extends Error {
  constructor(message, { code = "error", status = 0, allowRetry = false } = {}) {
    super(message);
    this.name = "ChatKitError";
    this.code = code;
    this.status = status;
    this.allowRetry = allowRetry;
  }
}

export class ChatKitClient {
  constructor(url) {
    this.url = url;
  }

  async #post(type, params, signal) {
    let response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ type, params }),
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ChatKitError(
        "Could not reach ChatKit Desk. Is it still running? Open the chat again from the tray.",
        { code: "network", allowRetry: true },
      );
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /** A JSON request (threads.list, threads.get_by_id, items.list, threads.update, threads.delete). */
  async request(type, params) {
    const response = await this.#post(type, params);
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  /**
   * A streaming request (threads.create, threads.add_user_message, threads.retry_after_item,
   * threads.custom_action).
   * Calls onEvent(event) for every frame; resolves when the stream ends. Aborting `signal`
   * closes the connection, which makes the server stop the model and keep the partial answer.
   */
  async stream(type, params, { signal, onEvent }) {
    const response = await this.#post(type, params, signal);
    if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
      const body = await response.json().catch(() => null);
      throw new ChatKitError(body?.error?.message || "The server did not answer with a stream.");
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseFrame(block);
          if (event) onEvent(event);
        }
      }
      const last = parseFrame(buffer);
      if (last) onEvent(last);
    } catch (error) {
      if (error.name === "AbortError" || signal?.aborted) throw new DOMException("Stopped", "AbortError");
      throw new ChatKitError("The connection to ChatKit Desk was lost during the answer.", {
        code: "network",
        allowRetry: true,
      });
    } finally {
      reader.releaseLock?.();
    }
  }

  listThreads({ limit = 30, after = null } = {}) {
    return this.request("threads.list", { limit, order: "desc", ...(after ? { after } : {}) });
  }

  getThread(threadId) {
    return this.request("threads.get_by_id", { thread_id: threadId });
  }

  /** Every item of a thread, oldest first (follows the `after` cursor). */
  async listAllItems(threadId, pageSize = 100) {
    const items = [];
    let after = null;
    for (let page = 0; page < 50; page += 1) {
      const result = await this.request("items.list", {
        thread_id: threadId,
        limit: pageSize,
        order: "asc",
        ...(after ? { after } : {}),
      });
      items.push(...result.data);
      if (!result.has_more || !result.after) break;
      after = result.after;
    }
    return items;
  }

  renameThread(threadId, title) {
    return this.request("threads.update", { thread_id: threadId, title });
  }

  deleteThread(threadId) {
    return this.request("threads.delete", { thread_id: threadId });
  }

  /** The first phase of an upload: the attachment, with the `upload_descriptor` to send it to. */
  createAttachment({ name, size, type }) {
    return this.request("attachments.create", { name, size, mime_type: type });
  }

  deleteAttachment(attachmentId) {
    return this.request("attachments.delete", { attachment_id: attachmentId });
  }

  /**
   * The second phase: the file as the multipart field `file`, to the descriptor's URL with exactly
   * its headers (they carry a capability for this one attachment; nothing of the page's own is
   * added). XMLHttpRequest, for its upload progress: `onProgress(fraction)`. Resolves with the
   * finished attachment; aborting `signal` rejects with an AbortError.
   */
  upload(descriptor, file, { onProgress, signal } = {}) {
    return new Promise((resolve, reject) => {
      const url = new URL(descriptor.url, this.url);
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        reject(new ChatKitError("The server gave an upload address this page cannot use."));
        return;
      }
      if (signal?.aborted) {
        reject(new DOMException("Removed", "AbortError"));
        return;
      }
      const xhr = new XMLHttpRequest();
      xhr.open(descriptor.method || "POST", url.href);
      for (const [name, value] of Object.entries(descriptor.headers ?? {})) {
        xhr.setRequestHeader(name, value);
      }
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total) onProgress?.(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // not JSON
        }
        if (xhr.status >= 200 && xhr.status < 300 && body?.id) {
          resolve(body);
          return;
        }
        const error = body?.error || {};
        const message = error.message || `ChatKit Desk answered ${xhr.status} ${xhr.statusText || ""}`.trim();
        reject(new ChatKitError(message, { code: error.code || `http_${xhr.status}`, status: xhr.status }));
      });
      xhr.addEventListener("error", () =>
        reject(new ChatKitError("The upload failed: could not reach ChatKit Desk.", { code: "network" })),
      );
      xhr.addEventListener("abort", () => reject(new DOMException("Removed", "AbortError")));
      signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }

  /** A thread's tokens, `{total, answers: {item id: usage}}`: ChatKit Desk's own endpoint
   * beside the ChatKit one (ChatKit has no usage event), signed in the same way. */
  async usage(threadId) {
    const url = new URL(`/api/threads/${encodeURIComponent(threadId)}/usage`, this.url);
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch {
      throw new ChatKitError("Could not reach ChatKit Desk.", { code: "network" });
    }
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }
}

/** A message's input: its text, and the ids of the attachments (uploaded) it carries. */
export function userInput(text, attachmentIds = []) {
  return {
    content: [{ type: "input_text", text }],
    attachments: [...attachmentIds],
    inference_options: {},
  };
}

function parseFrame(block) {
  const data = block
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, ""));
  if (!data.length) return null;
  try {
    return JSON.parse(data.join("\n"));
  } catch {
    return null;
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON
  }
  const error = body?.error || {};
  let message = error.message;
  if (!message) {
    message = `ChatKit Desk answered ${response.status} ${response.statusText || ""}`.trim();
  }
  if (response.status === 401 && !/tray|chatkit-desk open/.test(message)) {
    message += " Open the chat again from the tray (or run `chatkit-desk open`).";
  }
  return new ChatKitError(message, {
    code: error.code || `http_${response.status}`,
    status: response.status,
    allowRetry: response.status === 429 || response.status >= 500,
  });
}
