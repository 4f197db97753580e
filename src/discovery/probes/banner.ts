import type { Probe } from "./types.js";
import { firstLine } from "./types.js";

/** SMTP greets with "220 <host> ESMTP …". */
export const smtpProbe: Probe = {
  name: "smtp",
  portHints: [25, 465, 587, 2525, 1025],
  match(reply) {
    const line = firstLine(reply, 100);
    if (/^220[ -].*\b(E?SMTP|Postfix|Exim|Sendmail|mail ?server|MTA)\b/i.test(line)) {
      return { protocol: "smtp", detail: line };
    }
    return undefined;
  },
  complete: (reply) => reply.includes("\n"),
};

/** Any other server that speaks first with readable text (SSH, FTP, POP3, custom line protocols). */
export const genericBannerProbe: Probe = {
  name: "banner",
  portHints: [],
  match(reply) {
    const head = reply.subarray(0, 256);
    if (head.length < 3) return undefined;
    let readable = 0;
    for (const b of head) if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09) readable++;
    if (readable / head.length < 0.9) return undefined;
    return { protocol: "banner", detail: firstLine(reply, 80) };
  },
  complete: (reply) => reply.includes("\n"),
};
