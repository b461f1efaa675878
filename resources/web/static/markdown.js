// A small Markdown renderer for chat replies. Escape first: every character of the input is
// HTML-escaped before any Markdown syntax is turned into tags, so text such as
// `<img src=x onerror=…>` is shown as text, never parsed as HTML. Links are kept only for
// http(s) and mailto URLs.
//
// Supported: paragraphs (single newlines become line breaks), # headings, fenced code blocks
// (``` or ~~~, with a language), indented lists (- * + and 1.), > quotes, --- rules, GFM
// tables, `code`, **bold**, *italic*, ~~strike~~, [links](https://…) and bare https:// links.
// An unclosed fence runs to the end, so a code block looks right while it is still streaming.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

export function renderMarkdown(source) {
  const text = String(source ?? "")
    .replace(/\r\n?/g, "\n")
    .replace(/\u0000/g, "");
  return renderBlocks(text.split("\n"));
}

function renderBlocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    let match;
    if ((match = line.match(FENCE))) {
      const [, fence, lang] = match;
      const body = [];
      i += 1;
      while (i < lines.length && !isClosingFence(lines[i], fence)) {
        body.push(lines[i]);
        i += 1;
      }
      i += 1; // the closing fence (or the end)
      out.push(codeBlock(body.join("\n"), lang));
      continue;
    }
    if ((match = line.match(HEADING))) {
      const level = match[1].length;
      out.push(`<h${level}>${inline(match[2])}</h${level}>`);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push("<hr>");
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push(lines[i].match(QUOTE)[1]);
        i += 1;
      }
      out.push(`<blockquote>${renderBlocks(quoted)}</blockquote>`);
      continue;
    }
    if (LIST_ITEM.test(line)) {
      i = renderList(lines, i, out);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1])) {
      i = renderTable(lines, i, out);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() && !startsBlock(lines, i)) {
      paragraph.push(lines[i].trim());
      i += 1;
    }
    out.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
  }
  return out.join("\n");
}

function startsBlock(lines, i) {
  const line = lines[i];
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line) ||
    (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1]))
  );
}

function isClosingFence(line, fence) {
  const trimmed = line.trim();
  return trimmed.length >= fence.length && trimmed === fence[0].repeat(trimmed.length);
}

function codeBlock(code, lang) {
  const language = (lang || "").replace(/[^\w+#.-]/g, "").slice(0, 30);
  const label = language ? `<span class="code-lang">${escapeHtml(language)}</span>` : "<span></span>";
  const cls = language ? ` class="language-${escapeHtml(language)}"` : "";
  return (
    `<div class="code-block"><div class="code-head">${label}` +
    `<button type="button" class="copy-code">Copy</button></div>` +
    `<pre><code${cls}>${escapeHtml(code)}</code></pre></div>`
  );
}

function renderList(lines, start, out) {
  const ordered = /\d/.test(lines[start].match(LIST_ITEM)[2]);
  const items = [];
  let i = start;
  while (i < lines.length) {
    const match = lines[i].match(LIST_ITEM);
    if (!match || /\d/.test(match[2]) !== ordered) break;
    const indent = match[1].length + match[2].length + 1;
    const body = [match[3]];
    i += 1;
    // Continuation: indented lines, and blank lines followed by indented lines.
    while (i < lines.length) {
      const next = lines[i];
      if (next.trim() && /^\s{2,}/.test(next)) {
        body.push(next.slice(Math.min(indent, next.length - next.trimStart().length)));
        i += 1;
      } else if (!next.trim() && i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1])) {
        body.push("");
        i += 1;
      } else {
        break;
      }
    }
    items.push(body);
    if (i < lines.length && !lines[i].trim() && i + 1 < lines.length && LIST_ITEM.test(lines[i + 1])) {
      i += 1; // a blank line between items of the same list
    }
  }
  const first = ordered ? parseInt(lines[start].match(LIST_ITEM)[2], 10) : 1;
  const tag = ordered ? "ol" : "ul";
  const startAttr = ordered && first !== 1 ? ` start="${first}"` : "";
  const rendered = items.map((body) => `<li>${renderBlocks(body).replace(/^<p>([\s\S]*?)<\/p>/, "$1")}</li>`);
  out.push(`<${tag}${startAttr}>${rendered.join("")}</${tag}>`);
  return i;
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function renderTable(lines, start, out) {
  const header = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((cell) =>
    cell.startsWith(":") && cell.endsWith(":") ? "center" : cell.endsWith(":") ? "right" : cell.startsWith(":") ? "left" : "",
  );
  const cell = (tag, text, col) =>
    `<${tag}${aligns[col] ? ` style="text-align:${aligns[col]}"` : ""}>${inline(text)}</${tag}>`;
  let i = start + 2;
  const rows = [];
  while (i < lines.length && lines[i].trim() && lines[i].includes("|")) {
    const cells = splitRow(lines[i]);
    rows.push(`<tr>${header.map((_, col) => cell("td", cells[col] ?? "", col)).join("")}</tr>`);
    i += 1;
  }
  out.push(
    `<div class="table-wrap"><table><thead><tr>${header.map((h, col) => cell("th", h, col)).join("")}</tr></thead>` +
      `<tbody>${rows.join("")}</tbody></table></div>`,
  );
  return i;
}

// Inline: code spans are cut out first (their text is only escaped), then the rest is escaped,
// then Markdown syntax in the escaped text becomes tags. Generated tags are stashed so that
// later steps never look inside them.
function inline(text) {
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;

  let s = text.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_, _ticks, code) => keep(`<code>${escapeHtml(code.trim() || code)}</code>`));
  s = escapeHtml(s);
  s = s.replace(/\[([^\]\u0000]+)\]\(\s*([^)\s]+?)(?:\s+&quot;[^)]*?&quot;)?\s*\)/g, (whole, label, url) =>
    safeUrl(url) ? keep(`<a href="${url}" target="_blank" rel="noopener noreferrer">${emphasis(label)}</a>`) : whole,
  );
  s = s.replace(/\bhttps?:\/\/[^\s\u0000]+/g, (url) => {
    let link = url;
    let tail = "";
    const cut = link.match(/((?:&(?:quot|gt|lt|#39);|[.,;:!?)\]'"])+)$/);
    if (cut) {
      tail = cut[1];
      link = link.slice(0, -tail.length);
    }
    const ampTail = link.match(/&(?:quot|gt|lt|#39);.*$/);
    if (ampTail) {
      tail = ampTail[0] + tail;
      link = link.slice(0, -ampTail[0].length);
    }
    return keep(`<a href="${link}" target="_blank" rel="noopener noreferrer">${link}</a>`) + tail;
  });
  s = emphasis(s);
  return s.replace(/\u0000(\d+)\u0000/g, (_, n) => stash[Number(n)]);
}

function emphasis(s) {
  return s
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, "$1<strong>$2</strong>")
    .replace(/(^|[^*\w])\*(?=[^\s*])([^*]*?[^\s*])\*(?!\*)/g, "$1<em>$2</em>")
    .replace(/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "<del>$1</del>");
}

function safeUrl(url) {
  return /^(https?:\/\/|mailto:)/i.test(url);
}
