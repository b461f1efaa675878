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

/** A token count as people read it: 1,234. */
export function count(n) {
  return Number(n || 0).toLocaleString("en-US");
}

/** The tokens of an answer or a chat, in one short line:
 * "1,234 in (1,000 cached) · 56 out (7 reasoning) · 2 requests". Empty when there are none. */
export function usageText(usage) {
  if (!usage || !(usage.input_tokens || usage.output_tokens)) return "";
  const cached = usage.cached_tokens ? ` (${count(usage.cached_tokens)} cached)` : "";
  const reasoning = usage.reasoning_tokens ? ` (${count(usage.reasoning_tokens)} reasoning)` : "";
  const requests = usage.requests > 1 ? ` · ${count(usage.requests)} requests` : "";
  return (
    `${count(usage.input_tokens)} in${cached} · ${count(usage.output_tokens)} out${reasoning}` +
    requests
  );
}

export const AWAITING_APPROVAL = "Waiting for your approval";

/** What a tool task's content says: the arguments (its first line), then the result ("→ …"),
 * the error ("✗ …"), or that the call waits for the user's approval. */
export function toolTaskParts(content) {
  const text = String(content ?? "");
  const cut = text.indexOf("\n");
  const args = cut < 0 ? text : text.slice(0, cut);
  const rest = cut < 0 ? "" : text.slice(cut + 1);
  if (rest.startsWith("→ ")) return { args, result: rest.slice(2) };
  if (rest.startsWith("✗ ")) return { args, error: rest.slice(2) };
  if (rest.trim() === AWAITING_APPROVAL) return { args, waiting: true };
  return rest ? { args, result: rest } : { args };
}

/** The line a workflow is headed by, as ChatKit.js words it: "Thinking…", "Thought for 4 s",
 * "Using tools…", "Used 2 tools", or that a call waits for approval. `running`: the workflow is
 * still streaming in this page. */
export function workflowHeading(workflow, running) {
  const tasks = workflow?.tasks ?? [];
  const summary = workflow?.summary ?? null;
  if (workflow?.type === "reasoning") {
    if (summary && Number.isFinite(summary.duration)) return `Thought for ${summary.duration} s`;
    if (summary?.title) return String(summary.title);
    return running ? "Thinking…" : "Thought";
  }
  const waiting = tasks.filter((task) => toolTaskParts(task?.content).waiting).length;
  if (waiting) return waiting > 1 ? `${waiting} tools wait for your approval` : AWAITING_APPROVAL;
  if (running) return "Using tools…";
  if (summary?.title) return String(summary.title);
  if (summary && Number.isFinite(summary.duration)) return `Worked for ${summary.duration} s`;
  return `Used ${tasks.length} tool${tasks.length === 1 ? "" : "s"}`;
}
