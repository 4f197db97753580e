/* global document, window, sessionStorage, fetch, TextDecoder, AbortController, URL, Blob, mermaid */
/**
 * The live page's script (plain JS, no build step). The page holds no data: it reads snapshots from
 * /api/live/events, a server-sent-event stream read with fetch so the bearer token goes in the
 * Authorization header (never in a URL), and keeps the token in sessionStorage (this tab only).
 * Everything the server sends is shown with textContent; only Mermaid's own SVG is inserted as markup.
 */
"use strict";

(function live() {
  const TOKEN_KEY = "faultline.apiToken";
  const RECONNECT_MS = 1000;
  const $ = (id) => document.getElementById(id);

  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let stream;
  let snapshot;
  let drawnMap = "";
  let drawing = Promise.resolve();
  let mapSeq = 0;

  if (typeof mermaid !== "undefined") {
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "default",
      flowchart: { htmlLabels: true },
    });
  }

  function headers(extra) {
    const h = Object.assign({}, extra);
    if (token) h.authorization = "Bearer " + token;
    return h;
  }

  /** `el("li", { class: "x" }, "text", child)`: text is always text, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      node.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
    }
    return node;
  }

  function setConnection(text, kind) {
    const c = $("connection");
    c.textContent = text;
    c.className = "pill" + (kind ? " " + kind : "");
  }

  function notice(text) {
    const n = $("notice");
    n.textContent = text || "";
    n.hidden = !text;
  }

  /** "in 12 s", "3 min ago": relative to now, for ticks and runs. */
  function relative(iso) {
    if (!iso) return "";
    const ms = Date.parse(iso) - Date.now();
    const abs = Math.abs(ms);
    const text =
      abs < 1000
        ? "now"
        : abs < 90_000
          ? Math.round(abs / 1000) + " s"
          : abs < 5_400_000
            ? Math.round(abs / 60_000) + " min"
            : Math.round(abs / 3_600_000) + " h";
    if (text === "now") return text;
    return ms > 0 ? "in " + text : text + " ago";
  }

  function clock(iso) {
    return iso ? new Date(iso).toLocaleTimeString() : "";
  }

  // --- the token -------------------------------------------------------------------------------

  function askToken(message) {
    if (stream) stream.abort();
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    document.body.dataset.state = "login";
    $("live").hidden = true;
    $("login").hidden = false;
    const err = $("login-error");
    err.textContent = message || "";
    err.hidden = !message;
    setConnection("token needed", "bad");
    setButtons(undefined);
    $("token").focus();
  }

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    token = value;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    connect();
  });

  // --- the stream ------------------------------------------------------------------------------

  async function connect() {
    if (stream) stream.abort();
    const controller = new AbortController();
    stream = controller;
    setConnection("connecting…");
    let res;
    try {
      res = await fetch("/api/live/events", {
        headers: headers({ accept: "text/event-stream" }),
        cache: "no-store",
        signal: controller.signal,
      });
    } catch {
      return retry(controller, "cannot reach faultline");
    }
    if (res.status === 401) {
      return askToken(token ? "That token was not accepted." : "");
    }
    if (!res.ok || !res.body) return retry(controller, "faultline answered " + res.status);
    $("login").hidden = true;
    $("live").hidden = false;
    setConnection("live", "ok");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      // The stream broke (faultline restarted, network): reconnect below.
    }
    retry(controller, "connection lost, reconnecting");
  }

  function retry(controller, text) {
    if (controller.signal.aborted || stream !== controller) return;
    setConnection(text, "bad");
    window.setTimeout(() => {
      if (stream === controller) connect();
    }, RECONNECT_MS);
  }

  function handleEvent(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return;
    const payload = JSON.parse(data.join("\n"));
    if (type === "snapshot") render(payload);
    else if (type === "problem") notice("faultline: " + payload.error);
  }

  // --- rendering -------------------------------------------------------------------------------

  function render(s) {
    snapshot = s;
    document.body.dataset.state = "live";
    document.body.dataset.faulted = s.faulted.join(",");
    drawMap(s.map);
    renderFaults(s.faults);
    renderSignals(s.signals, s.signalsSource);
    renderSchedule(s.schedule);
    renderRuns(s.runs);
    setButtons(s);
  }

  /** Mermaid draws only when the text changed (a fault came or went, the graph changed). */
  function drawMap(map) {
    const box = $("map");
    if (map.pending) {
      if (drawnMap !== "") return;
      box.dataset.rendered = "pending";
      box.textContent = map.pending;
      return;
    }
    $("map-meta").textContent =
      map.nodes.length +
      " services" +
      (map.discoveredAt ? " · discovered " + relative(map.discoveredAt) : "");
    if (map.mermaid === drawnMap) return;
    drawnMap = map.mermaid;
    const text = map.mermaid;
    drawing = drawing.then(async () => {
      if (text !== drawnMap) return;
      if (typeof mermaid === "undefined") {
        box.dataset.rendered = "missing";
        box.textContent = "the Mermaid bundle did not load";
        return;
      }
      try {
        const { svg } = await mermaid.render("live-map-" + ++mapSeq, text);
        if (text !== drawnMap) return;
        box.innerHTML = svg;
        box.dataset.rendered = "svg";
        box.dataset.faulted = snapshot ? snapshot.faulted.join(",") : "";
      } catch (e) {
        box.dataset.rendered = "error";
        box.textContent = "the map could not be drawn: " + (e && e.message ? e.message : String(e));
      }
    });
  }

  function renderFaults(faults) {
    const list = $("faults");
    list.replaceChildren(
      ...(faults.length
        ? faults.map((f) =>
            el(
              "li",
              { "data-fault": f.id, "data-target": f.target },
              el("strong", {}, f.target),
              " · " + f.kind + " · " + f.source,
              f.injectedAt ? el("div", { class: "muted small" }, "since " + clock(f.injectedAt)) : null,
              f.revertDueAt
                ? el("div", { class: "muted small" }, "reverted " + relative(f.revertDueAt))
                : null,
              el("div", { class: "small" }, f.description),
            ),
          )
        : [el("li", { class: "muted" }, "none")]),
    );
  }

  function renderSignals(signals, source) {
    const body = $("signals").querySelector("tbody");
    body.replaceChildren(
      ...(signals.length
        ? signals.map((s) =>
            el(
              "tr",
              { "data-service": s.service },
              el("td", {}, s.service),
              el("td", {}, s.role),
              el("td", {}, s.errorRate === undefined ? "–" : (s.errorRate * 100).toFixed(0) + " %"),
              el("td", {}, s.p95Ms === undefined ? (s.note ?? "–") : Math.round(s.p95Ms) + " ms"),
            ),
          )
        : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "no fault in effect"))]),
    );
    $("signals-source").textContent = source;
  }

  function renderSchedule(s) {
    const dl = $("schedule");
    const rows = [];
    const row = (k, v) => rows.push(el("dt", {}, k), el("dd", {}, v));
    if (!s.configured) {
      row("state", "no schedule (faultline serve --schedule <cron>)");
    } else {
      row("state", s.paused ? "paused" + (s.pausedReason ? " (" + s.pausedReason + ")" : "") : "running");
      row("cron", s.schedule + " · " + (s.kinds || []).join(", "));
      row("next tick", s.nextTick ? clock(s.nextTick) + " (" + relative(s.nextTick) + ")" : "–");
      row("window", s.windowOpen ? "open" : "closed");
      if (s.lastFault)
        row(
          "last fault",
          [s.lastFault.service, s.lastFault.kind].filter(Boolean).join(" · ") +
            " " +
            relative(s.lastFault.at),
        );
    }
    dl.replaceChildren(...rows);
    dl.dataset.paused = s.configured && s.paused ? "true" : "false";
  }

  function renderRuns(runs) {
    const list = $("runs");
    list.replaceChildren(
      ...(runs.length
        ? runs.map((r) => {
            const sev = r.severity || (r.status === "running" ? "running" : "unknown");
            return el(
              "li",
              { "data-run": r.id },
              el("span", { class: "sev sev-" + (r.severity || "unknown") }, sev),
              el("strong", {}, r.title || r.targets.join(", ") || r.id),
              " · " + (r.kinds || []).join(", ") + " · " + r.status,
              r.source ? " · " + r.source : "",
              " · " + clock(r.startedAt),
              r.reason ? el("div", { class: "muted small" }, r.reason) : null,
              r.report ? reportLink(r) : null,
            );
          })
        : [el("li", { class: "muted" }, "no runs yet")]),
    );
  }

  /**
   * A plain link cannot carry the bearer header, so with a token the report is fetched with it and
   * handed over as a download; without one it is an ordinary link.
   */
  function reportLink(run) {
    const a = el(
      "a",
      { href: run.report.html, class: "report", target: "_blank", rel: "noopener" },
      "report",
    );
    if (!token) return el("span", {}, " · ", a);
    a.addEventListener("click", async (event) => {
      event.preventDefault();
      const res = await fetch(run.report.html, { headers: headers({}), cache: "no-store" });
      if (res.status === 401) return askToken("That token was not accepted.");
      if (!res.ok) return notice("the report of " + run.id + " is not available (" + res.status + ")");
      const url = URL.createObjectURL(new Blob([await res.blob()], { type: "text/html" }));
      const save = el("a", { href: url, download: "faultline-" + run.id + ".html" });
      document.body.append(save);
      save.click();
      save.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });
    return el("span", {}, " · ", a);
  }

  function setButtons(s) {
    const scheduled = Boolean(s && s.schedule.configured);
    $("halt").disabled = !s;
    $("pause").disabled = !scheduled || s.schedule.paused;
    $("resume").disabled = !scheduled || !s.schedule.paused;
  }

  // --- the buttons -----------------------------------------------------------------------------

  async function post(path, what) {
    notice(what + "…");
    let res;
    try {
      res = await fetch(path, { method: "POST", headers: headers({ accept: "application/json" }) });
    } catch {
      return notice(what + " failed: faultline cannot be reached");
    }
    if (res.status === 401) return askToken("That token was not accepted.");
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = body.error || {};
      return notice(
        what + " failed: " + (err.message || res.status) + (err.hint ? " (" + err.hint + ")" : ""),
      );
    }
    if (path === "/api/halt") {
      const n = (body.reverted || []).length + (body.revertedFromJournal || []).length;
      const failed = (body.failed || []).length;
      notice(
        "halted: " +
          n +
          " fault(s) reverted in " +
          body.durationMs +
          " ms" +
          (failed ? ", " + failed + " failed" : "") +
          (body.paused ? ", schedule paused" : ""),
      );
    } else notice(what + ": done");
  }

  $("halt").addEventListener("click", () => post("/api/halt", "halt"));
  $("pause").addEventListener("click", () => post("/api/schedule/pause", "pause"));
  $("resume").addEventListener("click", () => post("/api/schedule/resume", "resume"));

  // Relative times ("next tick in 12 s") move on between snapshots.
  window.setInterval(() => {
    if (snapshot) {
      renderSchedule(snapshot.schedule);
      renderFaults(snapshot.faults);
    }
  }, 1000);

  connect();
})();
