// ChatKit widgets (a card's JSON: Card > Title, Text, Markdown, Row > Button …) drawn as DOM.
// Only the components ChatKit Desk's own cards use, and only what they need of them; a
// component this page does not know is drawn as its children, or not at all. Text goes in
// through textContent, Markdown through the escape-first renderer, and the values that become
// class names (colours, styles, sizes) are taken only from fixed lists: nothing of the widget is
// ever parsed as HTML.

import { renderMarkdown } from "./markdown.js";

const MAX_DEPTH = 24;
const COLORS = new Set(["secondary", "success", "danger", "warning", "info", "discovery", "primary"]);
const STYLES = new Set(["primary", "secondary"]);
const SIZES = new Set(["xs", "sm", "md", "lg", "xl"]);

/**
 * The element for widget `node`. `onAction(action, button)` is called when a button with an
 * action is clicked (the button's `onClickAction`, as the server sent it).
 */
export function renderWidget(node, onAction) {
  return draw(node, onAction, 0) ?? document.createElement("div");
}

const COMPONENTS = {
  Card: (node, onAction, depth) => container("div", "w-card", node, onAction, depth),
  Box: (node, onAction, depth) => container("div", "w-box", node, onAction, depth),
  Col: (node, onAction, depth) => container("div", "w-col", node, onAction, depth),
  Row: (node, onAction, depth) => container("div", "w-row", node, onAction, depth),
  Title: (node) => text("p", "w-title", node.value, node),
  Text: (node) => text("p", "w-text", node.value, node),
  Caption: (node) => text("p", "w-text w-size-sm", node.value, node),
  Label: (node) => text("span", "w-text", node.value, node),
  Markdown(node) {
    const el = document.createElement("div");
    el.className = "w-markdown markdown";
    el.innerHTML = renderMarkdown(typeof node.value === "string" ? node.value : "");
    return el;
  },
  Badge: (node) => text("span", "w-badge", node.label, node),
  Divider: () => document.createElement("hr"),
  Spacer: () => null,
  Button(node, onAction) {
    const el = document.createElement("button");
    el.type = "button";
    el.className = `w-button w-style-${STYLES.has(node.style) ? node.style : "secondary"}`;
    el.textContent = typeof node.label === "string" ? node.label : "";
    const action = node.onClickAction;
    if (action && typeof action === "object" && typeof action.type === "string") {
      el.classList.add("w-action");
      el.addEventListener("click", () => onAction?.(action, el));
    } else {
      el.disabled = true;
    }
    return el;
  },
};

function draw(node, onAction, depth) {
  if (!node || typeof node !== "object" || depth > MAX_DEPTH) return null;
  const component = Object.hasOwn(COMPONENTS, node.type) ? COMPONENTS[node.type] : unknown;
  return component(node, onAction, depth);
}

/** A component this page does not draw: its children if it has any, else nothing. */
function unknown(node, onAction, depth) {
  if (!Array.isArray(node.children)) return null;
  return container("div", "w-box", node, onAction, depth);
}

function container(tag, className, node, onAction, depth) {
  const el = document.createElement(tag);
  el.className = className;
  for (const child of Array.isArray(node.children) ? node.children : []) {
    const drawn = draw(child, onAction, depth + 1);
    if (drawn) el.append(drawn);
  }
  return el;
}

function text(tag, className, value, node) {
  const el = document.createElement(tag);
  const classes = [className];
  if (COLORS.has(node.color)) classes.push(`w-color-${node.color}`);
  if (SIZES.has(node.size)) classes.push(`w-size-${node.size}`);
  el.className = classes.join(" ");
  el.textContent = typeof value === "string" || typeof value === "number" ? String(value) : "";
  return el;
}
