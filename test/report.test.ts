// The quantization report (issue 14): the renderer on fixed data (sections, Pareto front against a brute-force
// check, well-formed SVG, escaping, no network), the weight histograms on every representation's grid, the
// collector's plumbing (the configurations, the sensitivity analysis, a failing one), `qwasm report` errors,
// and the end to end run: a report with repairs, mixed, k-means, power-of-two and the sensitivity for the
// bundled model whose every figure equals `qwasm eval --json` on the same .qwm, opened in Debian Chromium
// (playwright-core), checked in the rendered page, and a screenshot saved under test-results/.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import seedrandom from "seedrandom";
import { ROOT, testIf } from "./helpers/tools.ts";
import { haveFashion } from "./helpers/fashion.ts";
import { loadOnnx, quantize, type EvalReport } from "../src/api.ts";
import { readDataset } from "../src/data/index.ts";
import { quantizeWeightsKmeans, quantizeWeightsLowBit, quantizeWeightsPow2 } from "../src/quantize/lowbit.ts";
import {
  collectReport, CONFIGS, fmt, paretoFront, REPORT_ADAROUND_ITERATIONS, renderReport, selectConfigs, weightHistogram,
  type ReportData, type SensitivityFn,
} from "../src/report/index.ts";

const TMP = mkdtempSync(join(tmpdir(), "qwasm-report-"));
test.after(() => rmSync(TMP, { recursive: true, force: true }));

const MODEL = "models/fashion_mnist_dsres.onnx";
const CALIB = "models/data/fashion-train256-images-idx3-ubyte.gz";
const TEST = "models/data/fashion-t10k1000-images-idx3-ubyte.gz";
const LABELS = "models/fashion_mnist_labels.txt";
const PRE = ["--mean", "0.286", "--std", "0.353", "--labels", LABELS];

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

// ---------------------------------------------------------------------------------------------------------
// A fixed ReportData

const ev = (accuracy: number, model_bytes: number, extra: Partial<EvalReport> = {}): EvalReport => ({
  accuracy, top5: Math.min(1, accuracy + 0.05), n: 500, model_bytes, weight_bytes: model_bytes - 1500, compression_ratio: 224104 / (model_bytes - 1500),
  peak_arena_bytes: 69184, macs: 4770816, bops: 4770816 * 64, ms_per_image: 0.25, ...extra,
});

function fixture(): ReportData {
  return {
    title: "Quantization report: tiny <net> & co", generated: "2026-01-01T00:00:00Z", tool: "qwasm test",
    model: { name: "tiny <net> & co", bytes: 226426, params: 56026, macs: 4770816, input: [28, 28, 1], classes: 10 },
    data: { source: "test images", n: 500 }, calib: { source: "calib images", n: 64 },
    configs: [
      { id: "fp32", label: "fp32", group: "baseline", options: "float model", status: "ok", eval: ev(0.91, 226426, { bops: 4770816 * 1024 }), layerBits: [32, 32] },
      { id: "w8a8", label: "W8A8", group: "uniform", options: "weightBits: 8", status: "ok", eval: ev(0.905, 62135), layerBits: [8, 8] },
      { id: "w4a8", label: "W4A8", group: "uniform", options: "weightBits: 4", status: "ok", eval: ev(0.88, 34974), layerBits: [8, 4], calibration: "minmax" },
      { id: "w4x", label: "W4A8 worse", group: "uniform", options: "weightBits: 4", status: "ok", eval: ev(0.80, 40000), layerBits: [8, 4] },
      { id: "w2a8", label: "W2A8 <b>", group: "uniform", options: "weightBits: 2", status: "ok", eval: ev(0.51, 22323), layerBits: [8, 2] },
      { id: "kmeans-w4", label: "W4A8 k-means", group: "k-means", options: "weightBits: 4, weightFormat: kmeans", status: "failed", why: "codebook of <3> entries" },
      { id: "w1a8", label: "W1A8 binary", group: "uniform", options: "weightBits: 1", status: "failed", why: "weights too coarse" },
    ],
    detail: {
      configId: "w4a8",
      layers: [
        { index: 0, name: "/stem/Conv", op: "Conv2dQs8", input: [28, 28, 1], output: [28, 28, 24], weightBits: 8, actBits: 8, scheme: "int8 per-channel symmetric", weightBytes: 1248, params: 240, macs: 169344, bops: 169344 * 64 },
        { index: 1, name: "AddQs8", op: "AddQs8", input: [28, 28, 24], output: [28, 28, 24], weightBits: 0, actBits: 8, scheme: "-", weightBytes: 0, params: 0, macs: 0, bops: 0 },
        { index: 2, name: "/fc/Gemm", op: "DenseQs4", input: [1, 1, 96], output: [1, 1, 10], weightBits: 4, actBits: 8, scheme: "int4 uniform per-channel", weightBytes: 640, params: 970, macs: 960, bops: 960 * 32 },
      ],
      histograms: [
        { layer: "/fc/Gemm", op: "dense", bits: 4, format: "uniform", weights: 960, lo: -8, hi: 8, counts: [0, 5, 40, 200, 430, 210, 60, 15], levels: [-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7], clip: [-7, 7], clipped: 0, rmsError: 0.288 },
      ],
    },
    sensitivity: {
      available: true, bits: [8, 4, 2],
      layers: [
        { name: "/stem/Conv", op: "conv", params: 240, perBits: { 8: { kl: 0.0004, top1Agreement: 0.998 }, 4: { kl: 0.02, top1Agreement: 0.97 }, 2: { kl: 0.9, top1Agreement: 0.55 } } },
        { name: "/fc/Gemm", op: "dense", params: 970, bytesAtBits: { 8: 1344, 4: 704, 2: 384 }, perBits: { 8: { kl: 0.0001, top1Agreement: 1 }, 4: { kl: 0.004, top1Agreement: 0.99 }, 2: { kl: 0.2, top1Agreement: 0.8 } } },
      ],
    },
  };
}

/** A small XML well-formedness check: tags nest and close, attributes are quoted, text has no raw '<' or bare '&'. */
function wellFormedXml(s: string): string | undefined {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?![a-z]+;|#\d+;)/g;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(s))) {
    if (m[0] === "<" || m[0] === "&") return `stray '${m[0]}' at ${m.index}: ${s.slice(m.index, m.index + 40)}`;
    if (m.index < last) return "overlap";
    last = re.lastIndex;
    if (m[1]) { if (stack.pop() !== m[2]) return `</${m[2]}> closes nothing open at ${m.index}`; }
    else if (!m[4]) stack.push(m[2]);
  }
  return stack.length ? `unclosed <${stack.join("> <")}>` : undefined;
}
const svgs = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

test("renderer: every section, every configuration, well-formed SVG, escaped text, no network, deterministic", () => {
  const r = fixture();
  const html = renderReport(r);
  assert.is(renderReport(fixture()), html, "the same data gives the same bytes");
  for (const id of ["tradeoff", "metrics", "sensitivity", "weights", "layers", "definitions"]) assert.ok(html.includes(`<section id="${id}">`), id);
  for (const id of ["chart-tradeoff", "metrics-table", "chart-sensitivity", "sensitivity-table", "chart-hist-0", "layer-table"]) assert.ok(html.includes(`id="${id}"`), id);
  const charts = svgs(html);
  assert.is(charts.length, 4, "trade-off, its zoom, sensitivity, one histogram");
  // the zoom: the configurations within 5 points of the best top-1 (W4A8 worse at 80% and W2A8 are not), the same front
  const zoom = charts.find((c) => c.includes('id="chart-tradeoff-zoom"'))!;
  assert.equal([...zoom.matchAll(/<g class="point[^"]*" data-config="([^"]+)"/g)].map((m) => m[1]).sort(), ["fp32", "w4a8", "w8a8"]);
  assert.equal([...zoom.matchAll(/<g class="point on-front" data-config="([^"]+)"/g)].map((m) => m[1]).sort(), ["fp32", "w4a8", "w8a8"]);
  assert.match(html, /The 3 configurations within 5 points of the best top-1, closer:/);
  for (const s of charts) assert.is(wellFormedXml(s), undefined, s.slice(0, 80));
  // escaping: the names with markup in them appear as text
  assert.ok(html.includes("tiny &lt;net&gt; &amp; co") && !html.includes("tiny <net>"));
  assert.ok(html.includes("W2A8 &lt;b&gt;") && !html.includes("W2A8 <b>"));
  // no network, no script to run: only the JSON data block, links only within the page
  assert.not.match(html, /<link|<img|<iframe|url\(|@import|https?:\/\//i);
  assert.equal(html.match(/<script[^>]*>/g), ['<script type="application/json" id="report-data">']);
  for (const h of html.match(/href="[^"]*"/g) ?? []) assert.match(h, /^href="#/);
  // the embedded data is the ReportData itself
  const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1];
  assert.equal(JSON.parse(json), r);
  assert.not.ok(json.includes("<"), "'<' is escaped in the JSON block");
  // rows: evaluated ones with their figures, the others with the reason
  const row = (id: string) => new RegExp(`<tr data-config="${id}"[^>]*>([\\s\\S]*?)</tr>`).exec(html)![1];
  assert.match(row("kmeans-w4"), /failed: codebook of &lt;3&gt; entries/);
  assert.match(row("w1a8"), /failed: weights too coarse/);
  assert.match(row("w4a8"), /<span class="calib">calibration: minmax<\/span>/);
  for (const c of r.configs.filter((c) => c.eval)) {
    const e = c.eval!;
    const cells = row(c.id);
    for (const [k, text] of [["accuracy", fmt.pct(e.accuracy)], ["top5", fmt.pct(e.top5)], ["model_bytes", fmt.int(e.model_bytes)], ["bops", fmt.giga(e.bops)],
      ["peak_arena_bytes", fmt.int(e.peak_arena_bytes)], ["compression_ratio", fmt.ratio(e.compression_ratio)], ["ms_per_image", fmt.ms(e.ms_per_image)]] as const) {
      assert.ok(cells.includes(`data-k="${k}" data-v="${e[k]}">${text}</td>`), `${c.id} ${k}`);
    }
  }
  // the layer table: per-layer BOPs and the totals
  assert.ok(html.includes(`data-k="bops" data-v="${169344 * 64 + 960 * 32}"`), "total BOPs");
  // sensitivity: one bar per layer and width, the tallest the largest KL
  const bars = [...html.matchAll(/<rect class="bar" data-layer="([^"]+)" data-bits="(\d+)" data-kl="([^"]+)" x="[^"]+" y="([^"]+)"/g)];
  assert.is(bars.length, 6);
  const top = bars.reduce((a, b) => (+b[4] < +a[4] ? b : a));
  assert.equal([top[1], top[2]], ["/stem/Conv", "2"]);
  // KL over more than two decades: a log axis, the bars still ordered as their KL
  assert.match(html, /KL\(fp32 ‖ quantized\), log scale/);
  for (const a of bars) for (const b of bars) if (+a[3] < +b[3]) assert.ok(+a[4] > +b[4], `${a[1]}@${a[2]} below ${b[1]}@${b[2]}`);
  // the sensitivity table: bytes per width where the provider gives them
  assert.match(html, /<th>bytes at 4 bits<\/th>/);
  assert.ok(/<tr data-layer="\/fc\/Gemm">.*data-v="704">704<\/td>/.test(html));
  // histogram: 15 level lines for a 4-bit uniform grid
  assert.is(charts[3].match(/class="level"/g)!.length, 15);
});

test("renderer: Pareto front equals a brute-force check on random and tied points; the chart and table mark the same", () => {
  const rng = seedrandom("pareto");
  const brute = (ps: { size: number; accuracy: number }[]) => ps.map((p, i) => i).filter((i) =>
    !ps.some((q, j) => j !== i && q.size <= ps[i].size && q.accuracy >= ps[i].accuracy && (q.size < ps[i].size || q.accuracy > ps[i].accuracy)));
  for (let t = 0; t < 300; t++) {
    const n = 1 + Math.floor(rng() * 12);
    // few distinct values, so that ties of size, of accuracy and of both happen
    const ps = Array.from({ length: n }, () => ({ size: 1 + Math.floor(rng() * 6), accuracy: Math.floor(rng() * 6) / 5 }));
    assert.equal([...paretoFront(ps)].sort((a, b) => a - b), brute(ps), JSON.stringify(ps));
  }
  const r = fixture();
  const html = renderReport(r);
  const ok = r.configs.filter((c) => c.eval);
  const expected = brute(ok.map((c) => ({ size: c.eval!.model_bytes, accuracy: c.eval!.accuracy }))).map((i) => ok[i].id).sort();
  assert.equal(expected, ["fp32", "w2a8", "w4a8", "w8a8"], "the fixture's front (W4A8 worse is dominated by W4A8)");
  const main = svgs(html).find((c) => c.includes('id="chart-tradeoff"'))!;
  const onChart = [...main.matchAll(/<g class="point on-front" data-config="([^"]+)"/g)].map((m) => m[1]).sort();
  const inTable = [...html.matchAll(/<tr data-config="([^"]+)" data-status="ok" class="front">/g)].map((m) => m[1]).sort();
  assert.equal(onChart, expected);
  assert.equal(inTable, expected);
  assert.is([...main.matchAll(/<g class="point/g)].length, ok.length, "one point per evaluated configuration");
});

test("renderer: without sensitivity, without a detail, without any evaluated configuration, it says so", () => {
  const r = fixture();
  r.sensitivity = { available: false, why: "no sensitivity analysis in this build" };
  let html = renderReport(r);
  assert.match(html, /<p class="unavailable" id="sensitivity-unavailable">Sensitivity analysis not available: no sensitivity analysis in this build<\/p>/);
  assert.not.ok(html.includes("chart-sensitivity"));
  r.detail = undefined;
  r.configs = r.configs.filter((c) => !c.eval);
  html = renderReport(r);
  assert.match(html, /No configuration was evaluated/);
  assert.match(html, /No quantized configuration to tabulate/);
  for (const s of svgs(html)) assert.is(wellFormedXml(s), undefined);
});

test("weight histogram: counts every weight, levels of the representation, clipping and rounding error in steps", () => {
  const w = Float32Array.from({ length: 2 * 50 }, (_, i) => (i < 50 ? (i - 25) / 25 : (i - 75) / 100));
  const n = { op: "dense" as const, name: "fc", input: "x", output: "y", weight: w, bias: new Float32Array(2), outChannels: 2, act: "none" as const };
  // a 4-bit grid whose scale clips: channel 0 at 0.1 per step (|w| up to 1: 10 steps, beyond 7.5 clipped)
  const scales = Float32Array.of(0.1, 0.25 / 7);
  const q = Int8Array.from(w, (v, i) => Math.max(-7, Math.min(7, Math.round(v / scales[i < 50 ? 0 : 1]))));
  const h = weightHistogram(n, { q, scales, bits: 4, format: "uniform" });
  assert.is(h.counts.reduce((a, b) => a + b, 0), 100);
  assert.equal(h.levels, [-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(h.clip, [-7, 7]);
  const outside = Array.from(w.subarray(0, 50)).filter((v) => Math.abs(v / 0.1) > 7.5).length;
  assert.ok(outside > 0);
  assert.is(h.clipped, outside / 100);
  let se = 0;
  w.forEach((v, i) => { se += (v / scales[i < 50 ? 0 : 1] - q[i]) ** 2; });
  assert.ok(Math.abs(h.rmsError - Math.sqrt(se / 100)) < 1e-12);
  assert.ok(h.lo <= -10 && h.hi >= 9.6, "the range covers the clipped weights");
  assert.equal(weightHistogram(n, { q: q.map((v) => Math.sign(v)), scales, bits: 2, format: "ternary" }).levels, [-1, 0, 1]);
  assert.is(weightHistogram(n, { q: Int8Array.from(q), scales }).levels.length, 255, "int8: [-127, 127]");
});

test("weight histogram: every representation on its real grid (uniform 2-bit, ternary, BWN, k-means per channel and per layer, power-of-two, XNOR)", () => {
  const rng = seedrandom("hist");
  const N = 4, per = 72;
  // Laplacian-ish weights, a different spread per channel
  const w = Float32Array.from({ length: N * per }, (_, i) => (0.05 + 0.05 * Math.floor(i / per)) * Math.log(rng() + 1e-9) * (rng() < 0.5 ? -1 : 1));
  const n = { op: "conv" as const, name: "c", input: "x", output: "y", weight: w, bias: new Float32Array(N), outChannels: N, kernel: [3, 3], groups: 1, act: "none" } as any;
  /** The grid in real units of channel c, from the quantizer's own output: every q of the channel is one of them. */
  const check = (label: string, lw: Parameters<typeof weightHistogram>[1], step: (c: number) => number, levels: (c: number) => number[]) => {
    const h = weightHistogram(n, lw);
    assert.is(h.counts.reduce((x, y) => x + y, 0), w.length, label);
    const all = [...new Set(Array.from({ length: N }, (_, c) => levels(c)).flat())].sort((x, y) => x - y);
    assert.equal(h.levels, all, `${label}: levels`);
    assert.equal(h.clip, [all[0], all[all.length - 1]], label);
    let se = 0, out = 0;
    for (let c = 0; c < N; c++) {
      const lv = levels(c);
      for (let i = c * per; i < (c + 1) * per; i++) {
        assert.ok(lv.includes(lw.q[i]), `${label}: q[${i}] = ${lw.q[i]} on channel ${c}'s grid`);
        const x = w[i] / step(c);
        se += (x - lw.q[i]) ** 2;
        if (x < lv[0] - 0.5 || x > lv[lv.length - 1] + 0.5) out++;
      }
    }
    assert.ok(Math.abs(h.rmsError - Math.sqrt(se / w.length)) < 1e-9, `${label}: RMS error ${h.rmsError}`);
    assert.is(h.clipped, out / w.length, `${label}: clipped`);
    return h;
  };
  const u2 = quantizeWeightsLowBit(w, N, 2);
  check("uniform 2-bit", u2, (c) => u2.scales[c], () => [-2, -1, 0, 1]);
  const t = quantizeWeightsLowBit(w, N, 2, "ternary");
  assert.is(check("ternary", t, (c) => t.scales[c], () => [-1, 0, 1]).format, "ternary");
  const bwn = quantizeWeightsLowBit(w, N, 1);
  const hb = check("BWN", bwn, (c) => bwn.scales[c], () => [-1, 1]);
  assert.equal([hb.bits, hb.format], [1, "binary"]);
  // k-means per channel: each channel's own table (q holds the table values, the int8 levels of codebook.tables)
  const km = quantizeWeightsKmeans(w, N, 3);
  const E = km.codebook!.entries;
  const tableOf = (c: number) => [...new Set(km.codebook!.tables.subarray(c * E, (c + 1) * E))].sort((x, y) => x - y);
  assert.ok(new Set(Array.from({ length: N }, (_, c) => tableOf(c).join())).size > 1, "the channels' tables differ");
  const hk = check("k-means per channel", km, (c) => km.scales[c], tableOf);
  assert.equal(hk.perChannel, { channels: N, levels: Math.max(...Array.from({ length: N }, (_, c) => tableOf(c).length)), channel0: tableOf(0) });
  assert.is(hk.format, "kmeans");
  // the real grid of channel 1 is its table times its scale: the weights round to those values
  for (let i = per; i < 2 * per; i++) {
    const real = tableOf(1).map((v) => v * km.scales[1]);
    assert.ok(real.some((r) => Math.abs(r - km.q[i] * km.scales[1]) < 1e-12));
  }
  const kl = quantizeWeightsKmeans(w, N, 3, "per-layer");
  const layerTable = [...new Set(kl.codebook!.tables.subarray(0, kl.codebook!.entries))].sort((x, y) => x - y);
  assert.is(check("k-means per layer", kl, (c) => kl.scales[c], () => layerTable).perChannel, undefined);
  for (const bits of [3, 4]) {
    const p2 = quantizeWeightsPow2(w, N, bits);
    const table = bits === 3 ? [-4, -2, -1, 0, 1, 2, 4] : [-64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32, 64];
    const hp = check(`pow2 ${bits}-bit`, p2, (c) => p2.scales[c], () => table);
    assert.equal([hp.bits, hp.format, hp.clipped], [bits, "pow2", 0], "max-abs power-of-two scales clip nothing");
  }
  // XNOR: the scales are the dot product's (alpha times the input's fit); the step is alpha = mean |w|
  const alpha = (c: number) => Array.from(w.subarray(c * per, (c + 1) * per)).reduce((x, v) => x + Math.abs(v), 0) / per;
  const xq = Int8Array.from(w, (v) => (v < 0 ? -1 : 1));
  const xnor = { q: xq, scales: Float32Array.from({ length: N }, (_, c) => alpha(c) * 0.37), bits: 1, format: "xnor", xnor: { threshold: 0, biasOffset: new Float32Array(N) } };
  const hx = check("XNOR", xnor, alpha, () => [-1, 1]);
  assert.equal([hx.bits, hx.format], [1, "xnor"]);
  // the renderer: a line per level for shared grids, a rug of ticks for per-channel tables
  const html = (h: ReturnType<typeof weightHistogram>) => { const r = fixture(); r.detail!.histograms = [h]; return svgs(renderReport(r)).find((c) => c.includes('id="chart-hist-0"'))!; };
  assert.is(html(hx).match(/class="level"/g)!.length, 2);
  assert.is(html(weightHistogram(n, quantizeWeightsPow2(w, N, 3))).match(/class="level"/g)!.length, 7);
  assert.is(html(hk).match(/class="level rug"/g)!.length, hk.levels.length);
  assert.is(html(hk).match(/class="level channel0"/g)!.length, tableOf(0).length);
  assert.match(renderReport({ ...fixture(), detail: { ...fixture().detail!, histograms: [hk] } }), new RegExp(`per-channel tables of ${hk.perChannel!.levels} levels \\(${hk.levels.length} distinct over ${N} channels; lines: channel 0's\\)`));
});

test("configurations: the list is data, QuantizeOptions as they are, covering what the issue names", () => {
  const ids = CONFIGS.map((c) => c.id);
  assert.is(new Set(ids).size, ids.length, "unique ids");
  for (const id of ["fp32", "w8a8", "w4a8", "w4a8-cle", "w4a8-bc", "w4a8-mse", "w4a8-adaround", "w4a8-repairs", "mixed-avg4.5", "mixed-avg4",
    "kmeans-w4", "kmeans-w3", "pow2-w4", "pow2-w3", "w2a8", "w2a8-ternary", "w1a8", "w1a1"]) assert.ok(ids.includes(id), id);
  // only options quantize() knows (a misspelt one would be ignored silently)
  const known = ["weightBits", "weightFormat", "actBits", "cle", "biasCorrection", "adaround", "weightClip", "avgBits", "sizeBudgetKiB", "bitsPerLayer", "codebook"];
  for (const c of CONFIGS) {
    assert.ok(c.label.length <= 18, `${c.id}: a short label`);
    if (c.options !== "fp32") for (const k of Object.keys(c.options)) assert.ok(known.includes(k), `${c.id}: ${k}`);
  }
  const all = CONFIGS.find((c) => c.id === "w4a8-repairs")!.options as Record<string, unknown>;
  assert.equal([all.cle, all.biasCorrection, all.weightClip, all.adaround], [true, true, "mse", { iterations: REPORT_ADAROUND_ITERATIONS }]);
  assert.ok(REPORT_ADAROUND_ITERATIONS <= 200, "AdaRound kept short in the report");
  assert.equal(selectConfigs(["w4a8", "fp32"]).map((c) => c.id), ["fp32", "w4a8"], "in the list's order");
  assert.throws(() => selectConfigs(["w4a8", "w5a8"]), /unknown configuration 'w5a8' \(known: fp32, w8a8/);
});

testIf(haveFashion(), "collector: the sensitivity analysis's table reaches the report; a failing configuration or analysis is reported, not fatal; codebook histograms",
  "needs the bundled model and models/data", async () => {
    const onnx = new Uint8Array(readFileSync(join(ROOT, MODEL)));
    const calib = readDataset(join(ROOT, CALIB), { limit: 48 }), data = readDataset(join(ROOT, TEST), { limit: 64 });
    const calls: { bits?: number[]; n: number; calibSize?: number; heldOutSize?: number }[] = [];
    const fake: SensitivityFn = async (_onnx, o) => {
      calls.push({ bits: o.bits, n: o.calib.images.length, calibSize: o.calibSize, heldOutSize: o.heldOutSize });
      const bits = [...new Set([8, ...o.bits!])].sort((x, y) => y - x);
      return { bits, heldOutImages: 7, layers: [{ name: "/stem/stem.0/Conv", op: "conv", params: 240, bytesAtBits: { 8: 400, 4: 256 }, storedBitsAtBits: { 8: 8, 4: 4 }, perBits: Object.fromEntries(bits.map((b) => [b, { kl: 1 / b, top1Agreement: 1 - 1 / (4 * b) }])) }] };
    };
    const steps: string[] = [];
    const bad = { id: "w5a8", label: "W5A8", group: "uniform", options: { weightBits: 5 } };
    const r = await collectReport(onnx, {
      calib, data, configs: [...selectConfigs(["w8a8", "w4a8-bc", "kmeans-w4"]), bad], sensitivity: fake, sensitivityBits: [4], sensitivityHeldOut: 16, detail: "kmeans-w4",
      base: { calibration: "minmax", calibSize: 16, preprocess: { mean: [0.286], std: [0.353] } }, onProgress: (d, t, w) => steps.push(`${d}/${t} ${w}`),
    });
    assert.equal(calls, [{ bits: [4], n: 48, calibSize: 16, heldOutSize: 16 }]);
    assert.equal(r.sensitivity, { available: true, bits: [8, 4], heldOutImages: 7, layers: [{ name: "/stem/stem.0/Conv", op: "conv", params: 240,
      bytesAtBits: { 8: 400, 4: 256 }, storedBitsAtBits: { 8: 8, 4: 4 }, perBits: { 8: { kl: 0.125, top1Agreement: 1 - 1 / 32 }, 4: { kl: 0.25, top1Agreement: 0.9375 } } }] });
    assert.equal(r.configs.map((c) => c.status), ["ok", "ok", "ok", "failed"]);
    assert.match(r.configs[3].why!, /--weights 5/);
    assert.ok(steps.some((x) => /^3\/5 W5A8: failed \(/.test(x)), steps.join("; "));
    assert.is(steps[steps.length - 1], "5/5 done");
    assert.match(r.configs[1].options, /biasCorrection: true/);
    // the detail: k-means, its conv / dense ops named after the graph's layers, each layer on its own grid
    assert.is(r.detail?.configId, "kmeans-w4");
    const layers = loadOnnx(onnx).graph.nodes.filter((n) => n.op === "conv" || n.op === "dense");
    const names = layers.map((n) => n.name);
    assert.equal(r.detail!.layers.filter((l) => l.weightBytes > 0).map((l) => l.name), names, "conv / dense ops named after the graph's layers");
    assert.equal(r.detail!.histograms.map((h) => h.layer), names);
    const formats = new Set<string>();
    for (const [i, h] of r.detail!.histograms.entries()) {
      assert.is(h.counts.reduce((a, b) => a + b, 0), h.weights);
      formats.add(`${h.format} ${h.bits}`);
      if (h.format === "kmeans") {
        const L = layers[i] as { op: string; groups?: number; outChannels: number };
        // per-channel tables, except depthwise layers, which share one (9 weights a channel)
        if (L.op === "conv" && L.groups !== 1) assert.is(h.perChannel, undefined, `${h.layer}: one shared table`);
        else assert.equal(h.perChannel?.channels, L.outChannels, h.layer);
        assert.ok(h.levels.every((v) => Number.isInteger(v) && Math.abs(v) <= 127), `${h.layer}: int8 table entries`);
        assert.ok(h.rmsError < 16, `${h.layer}: rounding to the nearest centroid (${h.rmsError} int8 steps)`);
      } else {
        assert.ok(h.rmsError > 0 && h.rmsError <= 0.5 + 1e-9, `${h.layer}: ${h.format} rounding without clipping is at most half a step (${h.rmsError})`);
      }
    }
    assert.ok(formats.has("kmeans 4") && formats.has("uniform 8"), [...formats].join(", "));
    const html = renderReport(r);
    assert.is((html.match(/<rect class="bar"/g) ?? []).length, 2);
    assert.match(html, /<tr data-config="w5a8" data-status="failed" class="failed">/);
    // binary XNOR layers from quantize(): the grid is +-alpha (mean |w| of the channel), not the dot product's scales
    const x = await quantize(onnx, { calib, weightBits: 1, actBits: 1, calibration: "minmax", calibSize: 16, preprocess: { mean: [0.286], std: [0.353] } });
    let xnors = 0;
    for (const n of x.graph.nodes) {
      if (n.op !== "conv" && n.op !== "dense") continue;
      const lw = x.quantized.weights.get(n.name)!, h = weightHistogram(n, lw);
      if (!lw.xnor) { assert.equal([h.format, h.bits], ["uniform", 8], n.name); continue; }
      xnors++;
      assert.equal([h.format, h.bits, h.levels, h.clip], ["xnor", 1, [-1, 1], [-1, 1]], n.name);
      const per = n.weight.length / n.outChannels;
      let se = 0;
      for (let c = 0; c < n.outChannels; c++) {
        const row = Array.from(n.weight.subarray(c * per, (c + 1) * per)), alpha = row.reduce((a, v) => a + Math.abs(v), 0) / per;
        assert.ok(Math.abs(alpha - lw.scales[c]) > 1e-6 * alpha || alpha === 0, `${n.name}: the scales are not alpha`);
        row.forEach((v, i) => { se += (v / alpha - lw.q[c * per + i]) ** 2; });
      }
      assert.ok(Math.abs(h.rmsError - Math.sqrt(se / n.weight.length)) < 1e-9, `${n.name}: RMS error in steps of alpha`);
    }
    assert.ok(xnors >= 3, `${xnors} XNOR layers`);
    const failing: SensitivityFn = async () => { throw new Error("out of calibration images"); };
    const r2 = await collectReport(onnx, { calib, data, configs: [], sensitivity: failing, base: { preprocess: { mean: [0.286], std: [0.353] } } });
    assert.equal(r2.sensitivity, { available: false, why: "the analysis failed: out of calibration images" });
  });

test("qwasm report: user mistakes give one clear line and exit 2", () => {
  const out = join(TMP, "x.html");
  const cases: [string[], RegExp][] = [
    [["report", MODEL, "--calib", CALIB, "--data", TEST], /report needs --out/],
    [["report", MODEL, "--data", TEST, "--out", out], /report needs --calib/],
    [["report", MODEL, "--calib", CALIB, "--out", out], /report needs --data/],
    [["report", "m.qwm", "--calib", CALIB, "--data", TEST, "--out", out], /should be a \.onnx file/],
    [["report", MODEL, "--calib", CALIB, "--data", TEST, "--out", out, "--configs", "w4a8,w9a9"], /unknown configuration 'w9a9'/],
    [["report", MODEL, "--calib", CALIB, "--data", TEST, "--out", out, "--configs", "w4a8", "--detail", "w8a8"], /--detail 'w8a8' is not among the configurations/],
    [["report", MODEL, "--calib", CALIB, "--data", TEST, "--out", out, "--sensitivity-bits", "8,3"], /--sensitivity-bits: use 8, 4, 2 or 1/],
    [["report", MODEL, "--calib", CALIB, "--data", TEST, "--out", out, "--held-out", "3"], /--held-out/],
    [["report", MODEL, "--calib", CALIB, "--data", TEST, "--out", TEST], /is the input .* never writes over its inputs/],
    [["report", MODEL, "--calib", CALIB, "--data", TEST, "--out", out, "--weights", "4"], /report: unknown option --weights/],
  ];
  for (const [args, re] of cases) {
    const r = qwasm(...args);
    assert.is(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split("\n").length, 1, r.err);
  }
  assert.not.ok(existsSync(out));
  assert.ok(qwasm("--help").out.includes("qwasm report MODEL.onnx --calib DATA --data DATA --out report.html"));
});

// ---------------------------------------------------------------------------------------------------------
// End to end: the bundled model, the CLI, `qwasm eval --json`, Chromium

const CHROMIUM = "/usr/bin/chromium";
const hasPlaywright = existsSync(`${ROOT}node_modules/playwright-core/package.json`);
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// in CONFIGS order: a repair, a mixed-precision search, k-means and power-of-two among them (the cheap ones)
const E2E_CONFIGS = ["fp32", "w8a8", "w4a8", "w4a8-bc", "mixed-avg4.5", "kmeans-w4", "pow2-w3"];
const HELD_OUT = "128";
const LIMIT = "300";

testIf(haveFashion() && existsSync(CHROMIUM) && hasPlaywright,
  "qwasm report on the bundled model: every figure equals qwasm eval --json on the same model; sections, charts and numbers in Chromium; screenshot",
  `needs the bundled model, Debian chromium (${CHROMIUM}) and npm playwright-core`, async () => {
    const html = join(TMP, "report.html"), models = join(TMP, "models");
    const r = qwasm("report", MODEL, "--calib", CALIB, "--data", TEST, ...PRE, "--limit", LIMIT, "--calib-size", "64", "--held-out", HELD_OUT, "--calibration", "minmax",
      "--configs", E2E_CONFIGS.join(","), "--save-models", models, "--out", html, "--json");
    assert.is(r.code, 0, r.err);
    assert.match(r.err, /report \[1\/8\] fp32: evaluating/, "progress on stderr");
    const summary = JSON.parse(r.out);
    const source = readFileSync(html, "utf8");
    const data: ReportData = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(source)![1]);
    assert.equal(data.configs.map((c) => c.id), E2E_CONFIGS);
    const ok = data.configs.filter((c) => c.status === "ok");
    assert.equal(ok.map((c) => c.id), E2E_CONFIGS, "every configuration ran");
    for (const c of ok) assert.is(c.calibration, c.id === "fp32" ? undefined : "minmax", c.id);

    // every figure against qwasm eval --json on the same model (latency is measured anew in each run)
    const evals = new Map<string, EvalReport>();
    for (const c of ok) {
      const e = qwasm("eval", c.id === "fp32" ? MODEL : join(models, `${c.id}.qwm`), "--data", TEST, "--limit", LIMIT, "--json", ...(c.id === "fp32" ? PRE : []));
      assert.is(e.code, 0, e.err);
      const want = JSON.parse(e.out) as EvalReport;
      evals.set(c.id, want);
      const { ms_per_image: m1, ...got } = c.eval!, { ms_per_image: m2, ...exp } = want;
      assert.equal(got, exp, `${c.id}: the report's figures`);
      assert.ok(m1 > 0 && m2 > 0);
      const s = summary.configs.find((x: { id: string }) => x.id === c.id);
      assert.equal({ ...s, ms_per_image: 0 }, { id: c.id, label: c.label, status: "ok", ...(c.id === "fp32" ? {} : { model: join(models, `${c.id}.qwm`) }), ...exp, ms_per_image: 0 }, `${c.id}: --json summary`);
    }
    assert.ok(evals.get("w8a8")!.accuracy > 0.85 && evals.get("w4a8")!.model_bytes < evals.get("w8a8")!.model_bytes);
    const front = paretoFront(ok.map((c) => ({ size: c.eval!.model_bytes, accuracy: c.eval!.accuracy }))).map((i) => ok[i].id);
    assert.equal(summary.pareto, front);

    const { chromium } = await import("playwright-core");
    const profile = mkdtempSync(join(TMP, "chromium-"));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1240, height: 900 } });
    const errors: string[] = [], requests: string[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      page.on("request", (q) => requests.push(q.url()));
      await page.goto(`file://${html}`);
      const dom = await page.evaluate(() => {
        // (no named helper functions in here: tsx would wrap them in a __name() the page does not have)
        return {
          sections: Array.from(document.querySelectorAll("section"), (s) => ({ id: s.id, h2: s.querySelector("h2")!.textContent, w: s.getBoundingClientRect().width, h: s.getBoundingClientRect().height })),
          charts: Array.from(document.querySelectorAll("svg.chart"), (s) => ({ id: s.id, w: s.getBoundingClientRect().width, h: s.getBoundingClientRect().height, shapes: s.querySelectorAll("rect,circle,path,line").length })),
          points: Array.from(document.querySelectorAll("#chart-tradeoff g.point"), (g) => ({
            id: (g as HTMLElement).dataset.config!, front: g.classList.contains("on-front"), label: g.querySelector("text")!.textContent,
            w: g.querySelector("circle")!.getBoundingClientRect().width, h: g.querySelector("circle")!.getBoundingClientRect().height,
          })),
          cells: Array.from(document.querySelectorAll("#metrics-table tr[data-status=ok] td[data-k]"), (td) => ({
            id: (td.closest("tr") as HTMLElement).dataset.config!, k: (td as HTMLElement).dataset.k!, v: (td as HTMLElement).dataset.v!, text: td.textContent,
          })),
          failed: document.querySelectorAll("#metrics-table tr[data-status=failed]").length,
          sensitivityCells: Array.from(document.querySelectorAll("#sensitivity-table td[data-v]"), (td) => (td as HTMLElement).dataset.v!),
          sensitivityBars: document.querySelectorAll("#chart-sensitivity rect.bar").length,
          layerRows: document.querySelectorAll("#layer-table tbody tr").length,
          histograms: document.querySelectorAll("figure.hist").length,
          sensitivity: document.querySelector("#chart-sensitivity") ? "chart" : document.querySelector("#sensitivity-unavailable")?.textContent,
          // the SVG sources as written, parsed as XML
          xmlErrors: Array.from(document.querySelectorAll("svg"), (s) => new DOMParser().parseFromString(
            s.outerHTML.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" '), "image/svg+xml").querySelector("parsererror")?.textContent ?? ""),
        };
      });
      assert.equal(dom.sections.map((s) => s.id), ["tradeoff", "metrics", "sensitivity", "weights", "layers", "definitions"]);
      for (const s of dom.sections) assert.ok(s.w > 0 && s.h > 0, s.id);
      const chartIds = dom.charts.map((c) => c.id);
      assert.ok(chartIds.includes("chart-tradeoff"));
      for (const c of dom.charts) assert.ok(c.w > 100 && c.h > 100 && c.shapes > 5, `${c.id}: ${c.w}x${c.h}, ${c.shapes} shapes`);
      assert.equal(dom.xmlErrors, dom.xmlErrors.map(() => ""), "SVG is well-formed XML");
      assert.equal(dom.points.map((p) => p.id).sort(), ok.map((c) => c.id).sort());
      assert.equal(dom.points.filter((p) => p.front).map((p) => p.id).sort(), [...front].sort());
      for (const p of dom.points) {
        const c = ok.find((c) => c.id === p.id)!;
        assert.ok(p.w > 0 && p.h > 0, p.id);
        assert.is(p.label, `${c.label} ${fmt.pct(evals.get(c.id)!.accuracy)}`, "each point says its accuracy");
      }
      // the numbers on the page
      for (const c of ok) {
        const e = evals.get(c.id)!;
        const cell = (k: string) => dom.cells.find((x) => x.id === c.id && x.k === k)!;
        for (const [k, text] of [["accuracy", fmt.pct(e.accuracy)], ["top5", fmt.pct(e.top5)], ["model_bytes", fmt.int(e.model_bytes)], ["weight_bytes", fmt.int(e.weight_bytes)],
          ["compression_ratio", fmt.ratio(e.compression_ratio)], ["macs", fmt.mega(e.macs)], ["bops", fmt.giga(e.bops)], ["peak_arena_bytes", fmt.int(e.peak_arena_bytes)], ["n", fmt.int(e.n)]] as const) {
          assert.is(cell(k).v, String(e[k]), `${c.id} ${k}`);
          assert.is(cell(k).text, text, `${c.id} ${k}`);
        }
        assert.ok(Number(cell("ms_per_image").v) > 0);
      }
      assert.is(dom.failed, 0);
      // the per-layer table and histograms of W4A8: every op of its .qwm, one histogram per conv / dense
      const inspect = JSON.parse(qwasm("inspect", join(models, "w4a8.qwm"), "--json").out);
      assert.is(dom.layerRows, inspect.layers.length + 1, "one row per op and the total");
      const weighted = inspect.layers.filter((l: { weightBits: number }) => l.weightBits > 0);
      assert.is(dom.histograms, weighted.length);
      assert.equal(data.detail!.layers.map((l) => [l.op, l.weightBytes, l.macs, l.bops]),
        inspect.layers.map((l: { op: string; weightBytes: number; macs: number; weightBits: number; actBits: number }) => [l.op, l.weightBytes, l.macs, l.macs * l.weightBits * l.actBits]));
      assert.is(data.detail!.layers.reduce((a, l) => a + l.bops, 0), evals.get("w4a8")!.bops, "the layers' BOPs add up to eval's");
      // the sensitivity section: the figures `qwasm sensitivity --json` prints for the same calibration and held-out images
      assert.is(dom.sensitivity, "chart");
      const st = qwasm("sensitivity", MODEL, "--calib", CALIB, "--calib-size", "64", "--held-out", HELD_OUT, "--calibration", "minmax", "--bits", "8,4,2,1", "--mean", "0.286", "--std", "0.353", "--json");
      assert.is(st.code, 0, st.err);
      const table = JSON.parse(st.out) as { bits: number[]; heldOutImages: number; layers: { name: string; op: string; params: number; bytesAtBits: Record<string, number>; perBits: Record<string, { kl: number; top1Agreement: number }> }[] };
      assert.ok(data.sensitivity.available);
      if (data.sensitivity.available) {
        assert.equal(data.sensitivity.bits, [8, 4, 2, 1]);
        assert.is(data.sensitivity.heldOutImages, table.heldOutImages);
        assert.equal(data.sensitivity.layers.map((l) => [l.name, l.op, l.params, l.bytesAtBits, l.perBits]), table.layers.map((l) => [l.name, l.op, l.params, l.bytesAtBits, l.perBits]));
        assert.is(dom.sensitivityBars, table.layers.length * 4, "one bar per layer and width");
        const cells = table.layers.flatMap((l) => [String(l.params), ...[8, 4, 2, 1].flatMap((b) => [String(l.perBits[b].kl), String(l.perBits[b].top1Agreement), String(l.bytesAtBits[b])])]);
        assert.equal(dom.sensitivityCells, cells, "the page's sensitivity table");
      }

      // print: the navigation goes, the charts stay
      await page.emulateMedia({ media: "print" });
      assert.equal(await page.evaluate(() => [getComputedStyle(document.querySelector("nav")!).display, document.querySelector("#chart-tradeoff")!.getBoundingClientRect().width > 100]), ["none", true]);
      await page.emulateMedia({ media: "screen" });

      mkdirSync(`${ROOT}test-results`, { recursive: true });
      const shot = `${ROOT}test-results/report.png`;
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`  screenshot: ${shot}`);
      assert.equal(errors, [], "errors in the page");
      assert.equal(requests.filter((u) => u !== `file://${html}`), [], "the page loads nothing");
    } finally {
      await context.close();
    }
  });

test.run();
