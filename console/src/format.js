// Small pure helpers shared by the views: byte and duration formatting, id shortening, and a JSON
// pretty-printer that re-indents text token by token, so numbers keep their exact digits (a
// JSON.parse round trip would round integers beyond 2^53).

export function formatBytes(n) {
  if (n === null || n === undefined) return "—";
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${(s / 3600).toFixed(1)} h`;
}

export const shortId = (id) => (id && id.length > 14 ? `${id.slice(0, 10)}…` : id || "—");

export function formatTime(d) {
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Pretty-prints JSON text with 2-space indentation, keeping every token's text as it is. */
export function prettyJson(text) {
  let out = "";
  let depth = 0;
  let i = 0;
  const nl = () => "\n" + "  ".repeat(depth);
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === " " || c === "\n" || c === "\r" || c === "\t") {
      i++;
      continue;
    }
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let k = i + 1;
      while (k < text.length && /\s/.test(text[k])) k++;
      if (text[k] === close) {
        out += c + close;
        i = k + 1;
        continue;
      }
      depth++;
      out += c + nl();
    } else if (c === "}" || c === "]") {
      depth--;
      out += nl() + c;
    } else if (c === ",") {
      out += "," + nl();
    } else if (c === ":") {
      out += ": ";
    } else {
      out += c;
    }
    i++;
  }
  return out;
}

/** Checks that text is one JSON object; returns an error message or null. */
export function jsonObjectError(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `Invalid JSON: ${e.message}`;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "A document must be a JSON object ({…}).";
  return null;
}

/** decodeURIComponent that never throws (a hand-typed "%zz" in the address bar stays as typed). */
export function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
