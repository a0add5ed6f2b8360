// Min-max calibration: run the float program on calibration images and record each value's range.
// The graph input's range is the exact range of normalized pixels, from the preprocessing metadata.
import type { Graph } from "../ir/graph.ts";
import { lowerFloat } from "../pack/lower.ts";
import { writeQwm } from "../pack/qwm.ts";
import type { Ranges } from "../quantize/graph.ts";
import { Runner } from "../engine/runner.ts";

/** The range of normalized input values over all channels: pixels 0..255 through (v*scale - mean)/std. */
export function inputRange(g: Graph): { min: number; max: number } {
  const p = g.preprocess;
  let min = Infinity, max = -Infinity;
  for (let c = 0; c < g.input.shape[2]; c++) {
    const a = (0 - p.mean[c]) / p.std[c], b = (255 * p.valueScale - p.mean[c]) / p.std[c];
    min = Math.min(min, a, b);
    max = Math.max(max, a, b);
  }
  return { min, max };
}

/** Float program of `g` on `wasm`, every tensor kept (no arena reuse), ready for calibration. */
export async function floatRunner(g: Graph, wasm: BufferSource | WebAssembly.Module) {
  const { program, tensorOf } = lowerFloat(g, { reuse: false });
  return { runner: await Runner.create(wasm, writeQwm(program)), tensorOf };
}

/** Min and max of every value over `images` (normalized NHWC floats, one image each). */
export async function minMaxRanges(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[]): Promise<Ranges> {
  const { runner, tensorOf } = await floatRunner(g, wasm);
  const ranges: Ranges = new Map();
  for (const img of images) {
    runner.runF32(img, 1);
    for (const [v, id] of tensorOf) {
      if (v === g.input.name) continue;
      const t = runner.tensor(id);
      let r = ranges.get(v);
      if (!r) ranges.set(v, (r = { min: Infinity, max: -Infinity }));
      for (let i = 0; i < t.length; i++) {
        const x = t[i];
        if (x < r.min) r.min = x;
        if (x > r.max) r.max = x;
      }
    }
  }
  ranges.set(g.input.name, inputRange(g));
  return ranges;
}
