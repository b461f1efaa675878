// Pure helpers of the built-in client: dates, error texts, the thread id in the address, the
// text of a message.
// No DOM, no fetch: the chat-turn tests import them in the page and call them directly.

/** A server time as a Date, or null. The server's times are local, without a zone. */
export function parseDate(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** How the chat list dates a chat: the time if today, else the day (and the year if not this one). */
export function shortDate(date, now = new Date()) {
  if (date.toDateString() === now.toDateString()) {
    return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString(undefined, {
    day: "numeric",
    month: "short",
    ...(sameYear ? {} : { year: "numeric" }),
  });
}

/** What to say for a stream error event that came without a message. */
export function errorText(code) {
  return code === "stream.error"
    ? "The server could not finish the answer. Try again."
    : `Something went wrong (${code || "unknown error"}).`;
}

/** The thread id in an address's hash ("#thr_…"), or null when it does not hold one. */
export function threadFromHash(hash) {
  let id;
  try {
    id = decodeURIComponent(hash.replace(/^#/, ""));
  } catch {
    return null; // a malformed %-escape: not a thread id
  }
  return /^[\w-]{1,200}$/.test(id) ? id : null;
}

/** The text of a message item: its content parts, joined. */
export function textOf(item) {
  return Array.from(item.content ?? [], (part) => part?.text ?? "").join("");
}
