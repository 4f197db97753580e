/** Everything in a report that came from the stack (names, log lines, errors) is untrusted input. */
const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** JSON safe to embed inside a <script> element (no "</script>" or "<!--" can close or confuse it). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Markdown table cells: pipes and newlines would break the table; HTML is neutralised too. */
export function escapeMarkdown(value: unknown): string {
  return escapeHtml(value)
    .replace(/\|/g, "\\|")
    .replace(/[\r\n]+/g, " ")
    .replace(/([*_`[\]])/g, "\\$1");
}
