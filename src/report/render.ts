// The quantization report as one self-contained HTML file (issue 14): inline CSS and SVG, no script, no
// network. A pure function of ReportData: the same data gives the same bytes. Every figure is printed from the
// data as it is (the raw value also sits in the cell's data-v attribute, and the whole ReportData in a JSON
// block at the end), so a reader or a test can compare it with `qwasm eval --json`.
import type { ReportConfig, ReportData, ReportHistogram, ReportLayer, ReportSensitivity } from "./types.ts";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
/** A number as SVG coordinates want it: short, no exponent. */
const n2 = (x: number) => (Math.round(x * 100) / 100).toString();

export const fmt = {
  pct: (x: number) => `${(100 * x).toFixed(2)}%`,
  kib: (b: number) => `${(b / 1024).toFixed(1)} KiB`,
  ratio: (x: number) => `${x.toFixed(2)}x`,
  int: (x: number) => Math.round(x).toLocaleString("en-US"),
  mega: (x: number) => `${(x / 1e6).toFixed(2)} M`,
  giga: (x: number) => `${(x / 1e9).toFixed(3)} G`,
  ms: (x: number) => `${x.toFixed(3)} ms`,
};

const BIT_COLORS: Record<number, string> = { 1: "#7b3294", 2: "#d7301f", 3: "#fc8d59", 4: "#1a9850", 5: "#66bd63", 6: "#41b6c4", 8: "#2c7fb8", 32: "#525252" };
const bitColor = (b: number) => BIT_COLORS[b] ?? "#969696";

/** Configurations that were evaluated. */
const evaluated = (cs: ReportConfig[]) => cs.filter((c): c is ReportConfig & { eval: NonNullable<ReportConfig["eval"]> } => c.status === "ok" && !!c.eval);

/**
 * The Pareto front of (size, accuracy): the points no other point beats, i.e. none has a size <= and an
 * accuracy >= with one of them strictly better. Returns their indices in `points`, by increasing size.
 * Equal points are all on the front.
 */
export function paretoFront(points: { size: number; accuracy: number }[]): number[] {
  const order = points.map((_, i) => i).sort((a, b) => points[a].size - points[b].size || points[b].accuracy - points[a].accuracy);
  const front: number[] = [];
  let best = -Infinity, bestSize = NaN;
  for (const i of order) {
    const p = points[i];
    if (p.accuracy > best || (p.accuracy === best && p.size === bestSize)) {
      front.push(i);
      if (p.accuracy > best) { best = p.accuracy; bestSize = p.size; }
    }
  }
  return front;
}

/** "Nice" tick values covering [lo, hi] (about `n` of them). */
function ticks(lo: number, hi: number, n = 6): number[] {
  const span = hi - lo || 1;
  const raw = span / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** Ticks of a log axis over [lo, hi]: 1, 2, 5 times powers of ten. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const k of [1, 2, 5]) { const v = k * 10 ** e; if (v >= lo && v <= hi) out.push(v); }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Charts

/** Top-1 points within which the zoomed chart shows the configurations nearest the best one. */
const ZOOM_POINTS = 5;

/**
 * Accuracy against size, the Pareto front marked. `zoom`: only the configurations within ZOOM_POINTS of the
 * best top-1 (the front among them is the whole front's part: whatever dominates one of them is as accurate).
 */
function tradeoffChart(cs: ReportConfig[], zoom = false): string {
  let ok = evaluated(cs);
  if (zoom) { const best = Math.max(...ok.map((c) => c.eval.accuracy)); ok = ok.filter((c) => c.eval.accuracy >= best - ZOOM_POINTS / 100); }
  if (ok.length === 0) return `<p class="note">No configuration was evaluated.</p>`;
  const W = 760, H = 430, L = 64, R = 170, T = 20, B = 52;
  const pts = ok.map((c) => ({ size: c.eval.model_bytes / 1024, accuracy: c.eval.accuracy, c }));
  const front = new Set(paretoFront(pts));
  let xlo = Math.min(...pts.map((p) => p.size)) / 1.35, xhi = Math.max(...pts.map((p) => p.size)) * 1.35;
  const accs = pts.map((p) => 100 * p.accuracy);
  let ylo = Math.max(0, Math.floor(Math.min(...accs) - 2)), yhi = Math.min(100, Math.ceil(Math.max(...accs) + 1));
  if (yhi - ylo < 4) { ylo = Math.max(0, yhi - 4); yhi = ylo + 4; }
  if (xhi / xlo < 3) { const m = Math.sqrt(xhi * xlo); xlo = m / 1.8; xhi = m * 1.8; }
  const X = (kib: number) => L + ((Math.log(kib) - Math.log(xlo)) / (Math.log(xhi) - Math.log(xlo))) * (W - L - R);
  const Y = (pct: number) => T + (1 - (pct - ylo) / (yhi - ylo)) * (H - T - B);
  const parts: string[] = [];
  for (const v of logTicks(xlo, xhi)) {
    parts.push(`<line class="grid" x1="${n2(X(v))}" x2="${n2(X(v))}" y1="${T}" y2="${H - B}"/>`,
      `<text class="tick" x="${n2(X(v))}" y="${H - B + 16}" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`);
  }
  for (const v of ticks(ylo, yhi, 6)) {
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${n2(Y(v))}" y2="${n2(Y(v))}"/>`,
      `<text class="tick" x="${L - 6}" y="${n2(Y(v) + 4)}" text-anchor="end">${v}%</text>`);
  }
  parts.push(`<rect class="frame" x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}"/>`,
    `<text class="axis" x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">model size, KiB (log scale)</text>`,
    `<text class="axis" transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">top-1 accuracy</text>`);
  // the front as a staircase: from each front point, right to the next one's size, then up to its accuracy
  const fp = pts.map((p, i) => ({ p, i })).filter(({ i }) => front.has(i)).sort((a, b) => a.p.size - b.p.size);
  let d = "";
  fp.forEach(({ p }, k) => {
    const x = X(p.size), y = Y(100 * p.accuracy);
    d += k === 0 ? `M${n2(x)} ${n2(y)}` : `H${n2(x)}V${n2(y)}`;
  });
  if (fp.length) d += `H${W - R}`;
  parts.push(`<path class="front" d="${d}"/>`);
  // points, labelled (to the left near the right edge); a label that would sit on another moves down
  const boxes: { x0: number; x1: number; y: number }[] = [];
  const order = pts.map((_, i) => i).sort((a, b) => pts[b].accuracy - pts[a].accuracy);
  for (const i of order) {
    const p = pts[i], x = X(p.size), y = Y(100 * p.accuracy), on = front.has(i);
    const text = `${p.c.label} ${fmt.pct(p.c.eval.accuracy)}`, tw = 6.2 * text.length;
    const left = x + 9 + tw > W - R;
    const x0 = left ? x - 9 - tw : x + 9, x1 = x0 + tw;
    let ly = y + 4;
    while (boxes.some((b) => Math.abs(b.y - ly) < 12 && b.x0 < x1 && x0 < b.x1)) ly += 12;
    boxes.push({ x0, x1, y: ly });
    const moved = Math.abs(ly - y - 4) > 0.1;
    parts.push(`<g class="point${on ? " on-front" : ""}" data-config="${esc(p.c.id)}" data-size="${p.c.eval.model_bytes}" data-accuracy="${p.c.eval.accuracy}">` +
      `<title>${esc(p.c.label)}: top-1 ${fmt.pct(p.c.eval.accuracy)}, ${fmt.kib(p.c.eval.model_bytes)}${on ? " (Pareto front)" : ""}</title>` +
      `<circle cx="${n2(x)}" cy="${n2(y)}" r="${on ? 5.5 : 4.5}"/>` +
      (moved ? `<line class="leader" x1="${n2(left ? x - 4 : x + 4)}" y1="${n2(y)}" x2="${n2(left ? x - 8 : x + 8)}" y2="${n2(ly - 4)}"/>` : "") +
      `<text x="${n2(left ? x - 9 : x + 9)}" y="${n2(ly)}"${left ? ' text-anchor="end"' : ""}>${esc(p.c.label)} <tspan class="val">${fmt.pct(p.c.eval.accuracy)}</tspan></text></g>`);
  }
  const lx = W - R + 14;
  parts.push(`<g class="legend"><circle class="on" cx="${lx}" cy="${T + 10}" r="5.5"/><text x="${lx + 10}" y="${T + 14}">on the Pareto front</text>` +
    `<circle class="off" cx="${lx}" cy="${T + 30}" r="4.5"/><text x="${lx + 10}" y="${T + 34}">dominated</text>` +
    `<line class="front" x1="${lx - 6}" x2="${lx + 6}" y1="${T + 50}" y2="${T + 50}"/><text x="${lx + 10}" y="${T + 54}">front</text></g>`);
  return `<svg id="chart-tradeoff${zoom ? "-zoom" : ""}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="top-1 accuracy against model size${zoom ? `, the configurations within ${ZOOM_POINTS} points of the best` : ""}">${parts.join("")}</svg>`;
}

function sensitivityChart(s: ReportSensitivity & { available: true }): string {
  const bits = [...s.bits].sort((a, b) => b - a);
  const W = 760, H = 300, L = 64, R = 20, T = 30, B = 70;
  const vals = s.layers.flatMap((l) => bits.map((b) => l.perBits[b]?.kl ?? 0));
  // KL spans decades between 8 and 1 bits: a log axis when the positive values span more than two of them
  const pos = vals.filter((v) => v > 0);
  const log = pos.length > 0 && Math.max(...pos) / Math.min(...pos) > 100;
  let Y: (v: number) => number, tk: number[];
  if (log) {
    const e0 = Math.floor(Math.log10(Math.min(...pos))), e1 = Math.ceil(Math.log10(Math.max(...pos)));
    tk = Array.from({ length: e1 - e0 + 1 }, (_, i) => 10 ** (e0 + i));
    Y = (v: number) => T + (1 - (Math.log10(Math.max(v, 10 ** e0)) - e0) / Math.max(1, e1 - e0)) * (H - T - B);
  } else {
    const ymax = Math.max(1e-9, ...vals) * 1.1;
    tk = ticks(0, ymax, 5);
    const top = Math.max(ymax, tk[tk.length - 1]);
    Y = (v: number) => T + (1 - v / top) * (H - T - B);
  }
  const gw = (W - L - R) / Math.max(1, s.layers.length), bw = Math.min(22, (gw * 0.8) / bits.length);
  const parts: string[] = [];
  for (const v of tk) parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${n2(Y(v))}" y2="${n2(Y(v))}"/><text class="tick" x="${L - 6}" y="${n2(Y(v) + 4)}" text-anchor="end">${+v.toPrecision(3)}</text>`);
  s.layers.forEach((l, i) => {
    const x0 = L + i * gw + (gw - bw * bits.length) / 2;
    bits.forEach((b, k) => {
      const r = l.perBits[b];
      if (!r) return;
      const y = Y(r.kl);
      parts.push(`<rect class="bar" data-layer="${esc(l.name)}" data-bits="${b}" data-kl="${r.kl}" x="${n2(x0 + k * bw)}" y="${n2(y)}" width="${n2(bw - 1)}" height="${n2(Math.max(0.5, H - B - y))}" fill="${bitColor(b)}">` +
        `<title>${esc(l.name)} at ${b} bits: KL ${r.kl.toPrecision(3)}, top-1 agreement ${fmt.pct(r.top1Agreement)}</title></rect>`);
    });
    const cx = L + (i + 0.5) * gw;
    parts.push(`<text class="tick" transform="translate(${n2(cx)} ${H - B + 12}) rotate(30)" text-anchor="start">${esc(l.name.length > 18 ? l.name.slice(0, 17) + "…" : l.name)}</text>`);
  });
  parts.push(`<line class="axisline" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`,
    `<text class="axis" transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">KL(fp32 ‖ quantized)${log ? ", log scale" : ""}</text>`);
  bits.forEach((b, k) => parts.push(`<rect x="${L + 10 + k * 90}" y="8" width="12" height="12" fill="${bitColor(b)}"/><text x="${L + 26 + k * 90}" y="18">${b}-bit weights</text>`));
  return `<svg id="chart-sensitivity" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="per-layer sensitivity by bit width">${parts.join("")}</svg>`;
}

function histogramChart(h: ReportHistogram, i: number): string {
  const W = 360, H = 170, L = 40, R = 10, T = 10, B = 30;
  const X = (v: number) => L + ((v - h.lo) / (h.hi - h.lo || 1)) * (W - L - R);
  const cmax = Math.max(1, ...h.counts);
  const Y = (c: number) => T + (1 - c / cmax) * (H - T - B);
  const bw = (W - L - R) / Math.max(1, h.counts.length);
  const parts: string[] = [];
  // the clip range: shaded outside, dashed at its edges
  const c0 = X(h.clip[0] - 0.5), c1 = X(h.clip[1] + 0.5);
  if (c0 > L) parts.push(`<rect class="clipped" x="${L}" y="${T}" width="${n2(c0 - L)}" height="${H - T - B}"/>`);
  if (c1 < W - R) parts.push(`<rect class="clipped" x="${n2(c1)}" y="${T}" width="${n2(W - R - c1)}" height="${H - T - B}"/>`);
  h.counts.forEach((c, k) => {
    if (c > 0) parts.push(`<rect class="hbar" x="${n2(L + k * bw)}" y="${n2(Y(c))}" width="${n2(Math.max(0.6, bw - 0.4))}" height="${n2(H - B - Y(c))}"/>`);
  });
  // the grid: a line per level; a rug of ticks along the axis where lines would fill the plot (int8) or where
  // each channel has its own table (per-channel codebooks: the union of the tables)
  const rug = h.levels.length > 64 || !!h.perChannel;
  // (per-channel codebooks: channel 0's table drawn as lines too, to show one channel's real grid)
  for (const v of h.levels) parts.push(rug ? `<line class="level rug" x1="${n2(X(v))}" x2="${n2(X(v))}" y1="${H - B - 6}" y2="${H - B}"/>` : `<line class="level" x1="${n2(X(v))}" x2="${n2(X(v))}" y1="${T}" y2="${H - B}"/>`);
  for (const v of h.perChannel?.channel0 ?? []) parts.push(`<line class="level channel0" x1="${n2(X(v))}" x2="${n2(X(v))}" y1="${T}" y2="${H - B}"/>`);
  parts.push(`<line class="clip" x1="${n2(c0)}" x2="${n2(c0)}" y1="${T}" y2="${H - B}"/><line class="clip" x1="${n2(c1)}" x2="${n2(c1)}" y1="${T}" y2="${H - B}"/>`,
    `<line class="axisline" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`);
  for (const v of ticks(h.lo, h.hi, 6)) parts.push(`<text class="tick" x="${n2(X(v))}" y="${H - B + 13}" text-anchor="middle">${+v.toPrecision(3)}</text>`);
  parts.push(`<text class="tick" x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">weight / channel scale (steps)</text>`,
    `<text class="tick" x="${L - 4}" y="${T + 8}" text-anchor="end">${cmax}</text>`);
  return `<figure class="hist" data-layer="${esc(h.layer)}"><svg id="chart-hist-${i}" class="chart chart-hist" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="weights of ${esc(h.layer)} with the quantization grid">${parts.join("")}</svg>` +
    `<figcaption><b>${esc(h.layer)}</b> ${esc(h.op)}, ${h.bits}-bit ${esc(h.format)}: ${fmt.int(h.weights)} weights, ${h.perChannel ? `per-channel tables of ${h.perChannel.levels} levels (${h.levels.length} distinct over ${h.perChannel.channels} channels; lines: channel 0's)` : `${h.levels.length} levels`}` +
    ` [${h.clip[0]}, ${h.clip[1]}], clipped <span data-v="${h.clipped}">${fmt.pct(h.clipped)}</span>, RMS error <span data-v="${h.rmsError}">${h.rmsError.toFixed(3)}</span> steps</figcaption></figure>`;
}

// ---------------------------------------------------------------------------------------------------------
// Tables

const td = (v: number, text: string, key?: string) => `<td class="num"${key ? ` data-k="${key}"` : ""} data-v="${v}">${esc(text)}</td>`;

function metricsTable(cs: ReportConfig[]): string {
  const ok = evaluated(cs);
  const front = new Set(paretoFront(ok.map((c) => ({ size: c.eval.model_bytes, accuracy: c.eval.accuracy }))).map((i) => ok[i].id));
  const rows = cs.map((c) => {
    const head = `<td>${esc(c.label)}</td><td class="opts">${esc(c.options)}${c.calibration ? `<br><span class="calib">calibration: ${esc(c.calibration)}</span>` : ""}</td>`;
    if (c.status !== "ok" || !c.eval) {
      return `<tr data-config="${esc(c.id)}" data-status="${c.status}" class="${c.status}">${head}<td colspan="11" class="why">failed: ${esc(c.why ?? "")}</td></tr>`;
    }
    const e = c.eval;
    return `<tr data-config="${esc(c.id)}" data-status="ok"${front.has(c.id) ? ' class="front"' : ""}>${head}` +
      td(e.accuracy, fmt.pct(e.accuracy), "accuracy") + td(e.top5, fmt.pct(e.top5), "top5") +
      td(e.model_bytes, fmt.int(e.model_bytes), "model_bytes") + td(e.weight_bytes, fmt.int(e.weight_bytes), "weight_bytes") +
      td(e.compression_ratio, fmt.ratio(e.compression_ratio), "compression_ratio") + td(e.macs, fmt.mega(e.macs), "macs") +
      td(e.bops, fmt.giga(e.bops), "bops") + td(e.peak_arena_bytes, fmt.int(e.peak_arena_bytes), "peak_arena_bytes") +
      td(e.ms_per_image, fmt.ms(e.ms_per_image), "ms_per_image") + td(e.n, fmt.int(e.n), "n") +
      `<td class="mark">${front.has(c.id) ? "●" : ""}</td></tr>`;
  });
  return `<div class="wide"><table id="metrics-table"><thead><tr><th>configuration</th><th>options</th><th>top-1</th><th>top-5</th><th>model bytes</th><th>weight bytes</th>` +
    `<th>compression vs fp32</th><th>MACs</th><th>BOPs</th><th>peak arena bytes</th><th>latency / image</th><th>images</th><th>Pareto</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function layerTable(layers: ReportLayer[], cs: ReportConfig[]): string {
  const ok = evaluated(cs).filter((c) => c.layerBits);
  let w = 0;
  const rows = layers.map((l) => {
    const weighted = l.weightBits > 0 && l.weightBytes > 0;
    const k = weighted ? w++ : -1;
    return `<tr data-layer="${esc(l.name)}"><td class="num">${l.index}</td><td>${l.name === l.op ? "" : esc(l.name)}</td><td>${esc(l.op)}</td><td class="shape">${l.input.join("×")} → ${l.output.join("×")}</td>` +
      `<td>${l.weightBits ? `W${l.weightBits}A${l.actBits}` : `A${l.actBits}`}</td><td class="scheme">${esc(l.scheme)}</td>` +
      td(l.weightBytes, fmt.int(l.weightBytes), "weight_bytes") + td(l.params, fmt.int(l.params), "params") +
      td(l.macs, fmt.int(l.macs), "macs") + td(l.bops, fmt.int(l.bops), "bops") +
      ok.map((c) => `<td class="num bits">${k >= 0 && c.layerBits![k] !== undefined ? (c.layerBits![k] === 32 ? "fp32" : c.layerBits![k]) : ""}</td>`).join("") + `</tr>`;
  });
  const sum = (f: (l: ReportLayer) => number) => layers.reduce((a, l) => a + f(l), 0);
  const total = `<tr class="total"><td></td><td>total</td><td></td><td></td><td></td><td></td>` + td(sum((l) => l.weightBytes), fmt.int(sum((l) => l.weightBytes))) +
    td(sum((l) => l.params), fmt.int(sum((l) => l.params))) + td(sum((l) => l.macs), fmt.int(sum((l) => l.macs)), "macs") + td(sum((l) => l.bops), fmt.int(sum((l) => l.bops)), "bops") +
    ok.map(() => "<td></td>").join("") + `</tr>`;
  return `<div class="wide"><table id="layer-table"><thead><tr><th>#</th><th>layer</th><th>op</th><th>shape (in → out, H×W×C)</th><th>bits</th><th>scheme</th><th>bytes</th><th>params</th><th>MACs</th><th>BOPs</th>` +
    ok.map((c) => `<th class="bits" title="weight bits in ${esc(c.label)}">${esc(c.label)}</th>`).join("") + `</tr></thead><tbody>${rows.join("")}${total}</tbody></table></div>`;
}

function sensitivityTable(s: ReportSensitivity & { available: true }): string {
  const bits = [...s.bits].sort((a, b) => b - a);
  const bytes = s.layers.some((l) => l.bytesAtBits);
  return `<div class="wide"><table id="sensitivity-table"><thead><tr><th>layer</th><th>op</th><th>params</th>${bits.map((b) => `<th>KL at ${b} bits</th><th>top-1 agreement at ${b} bits</th>${bytes ? `<th>bytes at ${b} bits</th>` : ""}`).join("")}</tr></thead><tbody>` +
    s.layers.map((l) => `<tr data-layer="${esc(l.name)}"><td>${esc(l.name)}</td><td>${esc(l.op)}</td>${td(l.params, fmt.int(l.params))}` +
      bits.map((b) => {
        const r = l.perBits[b], by = l.bytesAtBits?.[b];
        return (r ? td(r.kl, r.kl.toPrecision(3)) + td(r.top1Agreement, fmt.pct(r.top1Agreement)) : "<td></td><td></td>") + (bytes ? (by !== undefined ? td(by, fmt.int(by)) : "<td></td>") : "");
      }).join("") + `</tr>`).join("") +
    `</tbody></table></div>`;
}

// ---------------------------------------------------------------------------------------------------------

const CSS = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;background:#fff;margin:0 auto;max-width:1180px;padding:20px 28px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#555;margin:0 0 6px}nav a{margin-right:14px;color:#2c7fb8}
.note{color:#555}p.unavailable{background:#fff8e1;border:1px solid #f0d98c;padding:8px 10px}
.wide{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:12.5px;margin:6px 0}th,td{border-bottom:1px solid #e5e5e5;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.front td:first-child{font-weight:600}tr.failed td{color:#777}td.why{font-style:italic}td.opts{color:#555;font-family:ui-monospace,monospace;font-size:11.5px}.calib{color:#888}
td.shape,td.scheme{white-space:nowrap}th.bits{font-size:11px;font-weight:500;max-width:64px}tr.total td{border-top:1px solid #999;font-weight:600}td.mark{text-align:center;color:#d7301f}
svg.chart{display:block;max-width:100%;height:auto;font-size:11px}
.grid{stroke:#eee}.frame{fill:none;stroke:#bbb}.axisline{stroke:#888}.tick{fill:#555;font-size:10.5px}.axis{fill:#333;font-size:12px}
.front{fill:none;stroke:#d7301f;stroke-width:1.6;stroke-dasharray:5 3}
.point circle{fill:#fff;stroke:#777;stroke-width:1.5}.point.on-front circle{fill:#d7301f;stroke:#8c1d12}.point text{fill:#333;font-size:11px;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}.point .val{fill:#666}
.leader{stroke:#aaa}.legend .on{fill:#d7301f;stroke:#8c1d12}.legend .off{fill:#fff;stroke:#777;stroke-width:1.5}.legend text{fill:#333}
.hists{display:flex;flex-wrap:wrap;gap:10px 18px}figure.hist{margin:0;width:360px}figcaption{font-size:11.5px;color:#444}
.hbar{fill:#6a9fcb}.level{stroke:#d7301f;stroke-width:0.8;opacity:.75}.level.rug{opacity:.9}.clip{stroke:#333;stroke-dasharray:3 2}.clipped{fill:#f3e3e0}
dl.defs dt{font-weight:600;margin-top:6px}dl.defs dd{margin:0 0 0 16px;color:#444}
@media print{body{max-width:none;padding:0}.wide{overflow:visible}nav{display:none}section{break-inside:avoid-page}figure.hist{break-inside:avoid}}
`;

/** The zoomed chart, when some configurations lie more than ZOOM_POINTS below the best and at least two within. */
function zoomed(cs: ReportConfig[]): string {
  const ok = evaluated(cs);
  if (ok.length === 0) return "";
  const best = Math.max(...ok.map((c) => c.eval.accuracy)), near = ok.filter((c) => c.eval.accuracy >= best - ZOOM_POINTS / 100).length;
  if (near < 2 || near === ok.length) return "";
  return `<p class="note">The ${near} configurations within ${ZOOM_POINTS} points of the best top-1, closer:</p>${tradeoffChart(cs, true)}`;
}

/** The report as one HTML document. */
export function renderReport(r: ReportData): string {
  const ok = evaluated(r.configs);
  const failed = r.configs.filter((c) => c.status !== "ok");
  const detailCfg = r.detail ? r.configs.find((c) => c.id === r.detail!.configId) : undefined;
  const sens = r.sensitivity;
  const json = JSON.stringify(r).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(r.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(r.title)}</h1>
<p class="meta">Model <b>${esc(r.model.name)}</b>: ${fmt.int(r.model.bytes)} bytes, ${fmt.int(r.model.params)} parameters, ${fmt.mega(r.model.macs)} MACs per image, input ${r.model.input.join("×")}, ${r.model.classes} classes.
Evaluated on ${fmt.int(r.data.n)} images of ${esc(r.data.source)}; calibrated on ${fmt.int(r.calib.n)} images of ${esc(r.calib.source)}.
${ok.length} of ${r.configs.length} configurations evaluated. Made by ${esc(r.tool)} at ${esc(r.generated)}.</p>
<nav><a href="#tradeoff">accuracy vs size</a><a href="#metrics">metrics</a><a href="#sensitivity">sensitivity</a><a href="#weights">weights</a><a href="#layers">layers</a><a href="#definitions">definitions</a></nav></header>
<section id="tradeoff"><h2>Accuracy against model size</h2>
<p class="note">Every evaluated configuration; filled points are on the Pareto front (no other configuration is at least as small and at least as accurate), joined by the dashed staircase.</p>
${tradeoffChart(r.configs)}
${zoomed(r.configs)}</section>
<section id="metrics"><h2>Evaluation metrics</h2>
<p class="note">The figures <code>qwasm eval --json</code> prints for each configuration's model on the same images (latency is measured in each run, so it differs between runs).</p>
${metricsTable(r.configs)}
${failed.length ? `<p class="note">${failed.length} configuration${failed.length > 1 ? "s" : ""} failed: see the rows marked "failed".</p>` : ""}</section>
<section id="sensitivity"><h2>Layer sensitivity by bit width</h2>
${sens.available ? `<p class="note">Each conv / dense layer quantized alone at each weight width, every other layer at int8 (W8A8): the KL divergence of the outputs from the float model's (bars; at 8 bits it is the all-int8 network's) and the top-1 agreement with it${sens.heldOutImages ? `, on ${fmt.int(sens.heldOutImages)} held-out calibration images` : ""}.</p>${sensitivityChart(sens)}${sensitivityTable(sens)}`
    : `<p class="unavailable" id="sensitivity-unavailable">Sensitivity analysis not available: ${esc(sens.why)}</p>`}</section>
<section id="weights"><h2>Weights and the quantization grid${detailCfg ? `: ${esc(detailCfg.label)}` : ""}</h2>
${r.detail && r.detail.histograms.length ? `<p class="note">Each conv / dense layer's float weights divided by their output channel's step (its scale; binary XNOR: mean |w|), so that the representable levels (red lines; k-means and power-of-two: the table entries) sit at the same places for every channel; where lines would fill the plot (int8) or each channel has its own codebook, the levels are a rug of ticks on the axis (per-channel codebooks: the lines are channel 0's table); outside the dashed lines (shaded) weights are clipped.</p><div class="hists">${r.detail.histograms.map(histogramChart).join("")}</div>`
    : `<p class="note">No quantized configuration to draw.</p>`}</section>
<section id="layers"><h2>Per-layer table${detailCfg ? `: ${esc(detailCfg.label)}` : ""}</h2>
${r.detail ? `<p class="note">The ops of the .qwm (as <code>qwasm inspect</code> lists them); the last columns give each evaluated configuration's weight bits per layer.</p>${layerTable(r.detail.layers, r.configs)}` : `<p class="note">No quantized configuration to tabulate.</p>`}</section>
<section id="definitions"><h2>Definitions</h2><dl class="defs">
<dt>top-1, top-5</dt><dd>Fraction of the evaluation images whose label is the highest-scoring class, or among the five highest.</dd>
<dt>model bytes</dt><dd>The file a host loads: the .qwm, or the ONNX file for fp32.</dd>
<dt>weight bytes, compression vs fp32</dt><dd>Bytes of the packed weights section (weights, biases, requantization multipliers); compression = 4 bytes per float parameter / weight bytes.</dd>
<dt>MACs, BOPs</dt><dd>Multiply-accumulates per image; bit operations BOPs = Σ over layers of MACs × weight bits × activation bits.</dd>
<dt>peak arena bytes</dt><dd>The memory the runtime plans for activations and scratch (peak memory besides the weights).</dd>
<dt>latency / image</dt><dd>Mean time per image of the evaluation run on the SIMD build in batches of 64 (one thread).</dd>
<dt>repairs, mixed, k-means, pow2</dt><dd>CLE: cross-layer equalization; BC: bias correction; MSE clip: weight clipping range by MSE search; AdaRound: learned rounding, with the iterations per channel its options give; mixed: bits per layer chosen by sensitivity for that average weight width; k-means: a codebook per channel; pow2: sign and power-of-two levels.</dd>
<dt>Pareto front</dt><dd>The configurations that no other configuration beats on both model size and top-1 accuracy.</dd>
</dl></section>
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}
