/** Small inline SVG line charts (no libraries): one metric of one service around one fault. */
import type { ChartSeries } from "../analysis/types.js";
import { escapeHtml } from "./escape.js";

const W = 360;
const H = 140;
const PAD = { left: 44, right: 8, top: 20, bottom: 22 };

export function lineChart(series: ChartSeries): string {
  const xs = series.points.map((p) => p[0]);
  const ys = series.points.map((p) => p[1]);
  const x0 = Math.min(...xs, series.faultStartMs);
  const x1 = Math.max(...xs, series.faultEndMs, x0 + 1);
  const yMax = Math.max(...ys, 0) || 1;
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - (y / yMax) * (H - PAD.top - PAD.bottom);
  const path = series.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
  const faultX = sx(series.faultStartMs);
  const faultW = Math.max(1, sx(series.faultEndMs) - faultX);
  const title = `${series.service} · ${series.label}`;
  const fmtY = (v: number) => (v >= 100 ? Math.round(v).toString() : (Math.round(v * 100) / 100).toString());
  return [
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect x="${faultX.toFixed(1)}" y="${PAD.top}" width="${faultW.toFixed(1)}" height="${H - PAD.top - PAD.bottom}" fill="#fee2e2"/>`,
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#94a3b8"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#94a3b8"/>`,
    `<polyline fill="none" stroke="#1d4ed8" stroke-width="1.5" points="${path}"/>`,
    `<text x="${PAD.left}" y="13" font-size="11" fill="#0f172a">${escapeHtml(title)}${series.unit ? ` (${escapeHtml(series.unit === "ratio" ? "%" : series.unit)})` : ""}</text>`,
    `<text x="${PAD.left - 4}" y="${PAD.top + 8}" font-size="10" text-anchor="end" fill="#475569">${escapeHtml(fmtY(series.unit === "ratio" ? yMax * 100 : yMax))}</text>`,
    `<text x="${PAD.left - 4}" y="${H - PAD.bottom}" font-size="10" text-anchor="end" fill="#475569">0</text>`,
    `<text x="${PAD.left}" y="${H - 6}" font-size="10" fill="#475569">${escapeHtml(secs(x0))}</text>`,
    `<text x="${W - PAD.right}" y="${H - 6}" font-size="10" text-anchor="end" fill="#475569">${escapeHtml(secs(x1))}</text>`,
    `<text x="${(faultX + faultW / 2).toFixed(1)}" y="${H - 6}" font-size="10" text-anchor="middle" fill="#b91c1c">fault</text>`,
    `</svg>`,
  ].join("");
}

function secs(ms: number): string {
  return `${ms >= 0 ? "+" : ""}${Math.round(ms / 100) / 10} s`;
}
