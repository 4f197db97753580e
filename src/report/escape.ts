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

/**
 * Markdown text and table cells: pipes and newlines would break the table, emphasis and link marks
 * would restyle it. HTML is neutralised with backslash escapes, not entities: report.md is read raw
 * in terminals as often as rendered, and "-&gt;" or "&#39;" there is noise. A "<" that could open a
 * tag and a "&" that could start an entity are escaped; "->" and quotes stay as written.
 */
export function escapeMarkdown(value: unknown): string {
  return String(value ?? "")
    .replace(/[\r\n]+/g, " ")
    .replace(/([\\|*_`[\]])/g, "\\$1")
    .replace(/<(?=[a-z/!?])/gi, "\\<")
    .replace(/&(?=#?\w+;)/g, "\\&");
}
