// How a workflow item is drawn: tool calls and the model's reasoning, as ChatKit.js shows them —
// a line that says what happened ("Used 2 tools", "Thought for 4 s", "Thinking…") and opens to
// the tasks. A tool task shows its title, its arguments (one line), then its result or error,
// or that it runs or waits for approval; a thought shows its text (escape-first Markdown).
// Open while the server says `expanded` (tools while they run, thoughts while they stream),
// closed after — unless the person opened or closed it themselves.

import { toolTaskParts, workflowHeading } from "./format.js";
import { renderMarkdown } from "./markdown.js";

export const workflowView = {
  create() {
    const el = document.createElement("details");
    el.className = "workflow";
    const head = document.createElement("summary");
    head.className = "workflow-head";
    const body = document.createElement("div");
    body.className = "workflow-tasks";
    el.append(head, body);
    // A click (or Enter/Space) on the line is the person's choice, kept from then on.
    head.addEventListener("click", () => (el.dataset.chosen = "1"));
    return { el, body };
  },
  render({ el, body, item, streaming }) {
    const workflow = item.workflow ?? {};
    const running = Boolean(streaming);
    el.dataset.kind = workflow.type === "reasoning" ? "reasoning" : "tools";
    el.classList.toggle("running", running);
    const head = el.querySelector(".workflow-head");
    head.textContent = workflowHeading(workflow, running);
    if (!el.dataset.chosen) el.open = Boolean(workflow.expanded);
    body.replaceChildren(...(workflow.tasks ?? []).map((task) => drawTask(task, running)));
  },
};

function drawTask(task, running) {
  if (task?.type === "thought") return thought(task);
  if (task?.type === "custom") return toolCall(task, running);
  return otherTask(task);
}

function thought(task) {
  const el = document.createElement("div");
  el.className = "task thought";
  if (task.title) el.append(line("p", "task-title", task.title));
  const text = document.createElement("div");
  text.className = "markdown thought-text";
  text.innerHTML = renderMarkdown(task.content ?? "");
  el.append(text);
  return el;
}

function toolCall(task, running) {
  const parts = toolTaskParts(task.content);
  const state = taskState(task, parts, running);
  const el = document.createElement("div");
  el.className = `task tool-call ${state}`;
  const title = line("p", "task-title", "");
  const mark = line("span", "task-mark", MARKS[state]);
  mark.setAttribute("aria-hidden", "true");
  title.append(mark, line("span", "task-name", task.title || "Tool"));
  if (STATES[state]) title.append(line("span", "task-state", STATES[state]));
  el.append(title);
  if (parts.args) {
    const args = line("code", "task-args", parts.args);
    args.title = parts.args; // the whole of it, when the line is cut short on screen
    el.append(args);
  }
  if (parts.result !== undefined) el.append(line("pre", "task-result", parts.result));
  if (parts.error !== undefined) el.append(line("pre", "task-error", parts.error));
  return el;
}

function taskState(task, parts, running) {
  if (parts.waiting) return "waiting";
  if (task.status_indicator === "loading") return running ? "running" : "unfinished";
  if (parts.error !== undefined) return "failed";
  return "done";
}

const MARKS = { running: "", waiting: "⏸", unfinished: "–", failed: "✗", done: "✓" };
const STATES = {
  running: "running…",
  waiting: "waiting for your approval",
  unfinished: "did not finish",
  failed: "failed",
};

function otherTask(task) {
  const el = document.createElement("div");
  el.className = "task";
  if (task?.title) el.append(line("p", "task-title", task.title));
  if (task?.content) el.append(line("pre", "task-result", task.content));
  return el;
}

function line(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  el.textContent = String(text ?? "");
  return el;
}
