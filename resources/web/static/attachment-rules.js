// What may be attached, as the page can tell before uploading: the limits the server put in
// /config.json (`attachments`: max_bytes, max_count, types), a file's type as the server will
// read it (browsers label files unevenly: "" for .md, application/vnd.ms-excel for a CSV), and
// the sentence for a file refused here. The server checks again and its answer is what counts.
// No DOM, no fetch.

/** The types ChatKit Desk reads, with the file name endings a file picker offers for each. */
export const EXTENSIONS = {
  "image/png": [".png"],
  "image/jpeg": [".jpg", ".jpeg"],
  "image/webp": [".webp"],
  "image/gif": [".gif"],
  "application/pdf": [".pdf"],
  "text/plain": [".txt", ".text", ".log"],
  "text/markdown": [".md", ".markdown"],
  "text/csv": [".csv"],
  "application/json": [".json"],
};

const DEFAULT_LIMITS = { maxBytes: 20 * 1024 * 1024, maxCount: 10, types: Object.keys(EXTENSIONS) };

const ALIASES = {
  "image/jpg": "image/jpeg",
  "text/x-markdown": "text/markdown",
  "text/json": "application/json",
};
const VAGUE = new Set(["", "application/octet-stream", "application/vnd.ms-excel", "text/x-csv"]);

const LABELS = {
  "image/png": "PNG image",
  "image/jpeg": "JPEG image",
  "image/webp": "WebP image",
  "image/gif": "GIF image",
  "application/pdf": "PDF",
  "text/plain": "Text",
  "text/markdown": "Markdown",
  "text/csv": "CSV",
  "application/json": "JSON",
};

/** The limits in the page's config, or ChatKit Desk's defaults where it says nothing. */
export function limitsFrom(config) {
  const given = config?.attachments ?? {};
  return {
    maxBytes: Number.isFinite(given.max_bytes) ? given.max_bytes : DEFAULT_LIMITS.maxBytes,
    maxCount: Number.isFinite(given.max_count) ? given.max_count : DEFAULT_LIMITS.maxCount,
    types: Array.isArray(given.types)
      ? given.types.filter((type) => Object.hasOwn(EXTENSIONS, type))
      : DEFAULT_LIMITS.types,
  };
}

/** A file's type as the server normalises it: canonical, or taken from its name when vague. */
export function fileType(mime, name) {
  let declared = String(mime ?? "").split(";")[0].trim().toLowerCase();
  declared = ALIASES[declared] ?? declared;
  if (VAGUE.has(declared) || !Object.hasOwn(EXTENSIONS, declared)) {
    const byName = typeByName(name);
    if (byName && (VAGUE.has(declared) || declared.startsWith("text/"))) return byName;
  }
  return declared;
}

function typeByName(name) {
  const match = /\.[^./\\]+$/.exec(String(name ?? "").toLowerCase());
  if (!match) return null;
  for (const [type, endings] of Object.entries(EXTENSIONS)) {
    if (endings.includes(match[0])) return type;
  }
  return null;
}

export function isImageType(type) {
  return type.startsWith("image/");
}

/** "PDF", "PNG image", "Markdown", … (the type itself when unknown). */
export function typeLabel(type) {
  return LABELS[type] ?? (type || "File");
}

/** The short tag on a file chip: "PDF", "MD", "CSV", "JSON", "TXT". */
export function typeTag(type) {
  const tags = {
    "application/pdf": "PDF",
    "text/markdown": "MD",
    "text/csv": "CSV",
    "application/json": "JSON",
  };
  return tags[type] ?? (isImageType(type) ? "IMG" : "TXT");
}

/** A size as the server words it (policy.size_text): "20 MB", "1.5 MB", "9.8 KB", "512 B". */
export function sizeText(bytes) {
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1).replace(/\.0$/, "")} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, "")} KB`;
  return `${bytes} B`;
}

/** Why `file` ({name, size, type}) cannot be attached, or null. `count`: files already attached
 * (not counting failed ones). Worded as the server words its own refusals. */
export function refusal(file, limits, count) {
  const type = fileType(file.type, file.name);
  if (!limits.types.includes(type)) {
    const accepted = limits.types.map(typeLabel).join(", ");
    const what = type ? typeLabel(type) : "of an unknown type";
    return `${file.name} is ${what}, which cannot be attached; this server accepts: ${accepted}.`;
  }
  if (!file.size) return `${file.name} is empty; attach a file with content.`;
  if (file.size > limits.maxBytes) {
    return (
      `The file is ${sizeText(file.size)}; the limit is ${sizeText(limits.maxBytes)} per file ` +
      "(CHATKIT_DESK_MAX_ATTACHMENT_BYTES)."
    );
  }
  if (count >= limits.maxCount) {
    return `A message can carry ${limits.maxCount} files (CHATKIT_DESK_MAX_ATTACHMENTS_PER_MESSAGE).`;
  }
  return null;
}

/** The file picker's `accept`: the types and their name endings. */
export function acceptAttribute(limits) {
  return limits.types.flatMap((type) => [type, ...EXTENSIONS[type]]).join(",");
}

/** ChatKit.js's `composer.attachments` for these limits. */
export function chatkitJsAttachments(limits) {
  const accept = Object.fromEntries(limits.types.map((type) => [type, EXTENSIONS[type]]));
  return {
    enabled: limits.types.length > 0,
    maxSize: limits.maxBytes,
    maxCount: limits.maxCount,
    accept,
  };
}
