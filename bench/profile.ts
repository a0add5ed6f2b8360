// Per-op profile of a .qwm on one wasm build: every op's kernel is called on its own with the arguments the
// interpreter gives it (assembly/runtime/interpreter.ts), on the tensors of a real run, and timed; the sum of
// the ops is set against a whole run, whose difference is the interpreter's own time.
//   node --import tsx bench/profile.ts M.qwm [--build simd|nosimd] [--wasm FILE] [--json]
// (--wasm: another build of the module, e.g. an older one, to compare against)
// (the relaxed build: deno run --allow-read --allow-env bench/profile.ts M.qwm --build relaxed)
import { readFileSync } from "node:fs";
import { DType, Op, Section } from "../assembly/runtime/schema.ts";
import { layers, readQwm, type QwmContents } from "../src/pack/read.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { readBuild, type BuildName } from "../src/wasm/module.ts";

export interface OpTime { index: number; op: string; shape: string; macs: number; ms: number; gmacs: number }

/** CPU-robust timing: the smallest of `rounds` medians-of-batches (ms per call). */
export function timeCall(run: () => void, minMs = 2, rounds = 7): number {
  run();
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) run();
    if (performance.now() - t >= minMs) break;
    n *= 2;
  }
  const s: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) run();
    s.push((performance.now() - t) / n);
  }
  s.sort((a, b) => a - b);
  return s[0];
}

export async function profile(qwm: Uint8Array, build: BuildName, wasm?: Uint8Array): Promise<{ total: number; ops: OpTime[] }> {
  const q: QwmContents = readQwm(qwm);
  const host = await KernelHost.create(wasm ?? readBuild(build));
  const e = host.exports;
  const base = host.put(qwm);
  const rc = e.qwm_load(base, qwm.length, 0);
  if (rc !== 0) throw new Error(`qwm_load failed: ${rc}`);
  const [H, W, C] = q.tensors[q.inputTensor].shape;
  const px = host.put(new Uint8Array(H * W * C).map((_, i) => (i * 2654435761) >>> 24));
  const out = host.alloc(4096);
  const total = timeCall(() => e.qwm_run_pixels(px, 1, out));
  const wsec = q.sections.find((s) => s.id === Section.Weights)!.offset;
  const ptr = (id: number) => e.qwm_tensor_ptr(id) >>> 0;
  const info = layers(q);
  const ops: OpTime[] = q.ops.map((op, index) => {
    const xT = q.tensors[op.inputs[0]], yT = q.tensors[op.output];
    const X = ptr(op.inputs[0]), Y = ptr(op.output), S = op.scratch !== undefined ? ptr(op.scratch) : 0;
    const pw = base + wsec + (op.weights?.offset ?? 0);
    const [h, w, c] = xT.shape, [oh, ow, n] = yT.shape;
    const p = op.params;
    let call: (() => void) | undefined;
    switch (op.op) {
      case Op.Conv2dQs8: {
        const f = host.fn("qs8_conv2d");
        call = () => f(X, h, w, c, xT.zeroPoint, Y, oh, ow, n, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], pw, p[8], yT.zeroPoint, p[9], p[10], S);
        break;
      }
      case Op.DwConv2dQs8: {
        const f = host.fn("qs8_dwconv2d");
        call = () => f(X, h, w, c, xT.zeroPoint, Y, oh, ow, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], pw, p[8], yT.zeroPoint, p[9], p[10]);
        break;
      }
      case Op.DenseQs8: {
        const f = host.fn("qs8_fully_connected");
        call = () => f(1, n, h * w * c, X, xT.zeroPoint, pw, p[0], yT.zeroPoint, p[1], p[2], Y, S);
        break;
      }
      case Op.AddQs8: {
        const f = host.fn("qs8_add"), bT = q.tensors[op.inputs[1]], B = ptr(op.inputs[1]);
        call = () => f(X, xT.zeroPoint, p[0], B, bT.zeroPoint, p[1], Y, oh * ow * n, p[2], yT.zeroPoint, p[3], p[4]);
        break;
      }
      case Op.GlobalAvgPoolQs8: {
        const f = host.fn("qs8_global_avgpool_requant");
        call = () => f(X, h * w, c, xT.zeroPoint, Y, p[0], p[1], yT.zeroPoint, -128, 127);
        break;
      }
      case Op.MaxPoolQs8: {
        const f = host.fn("qs8_maxpool2d");
        call = () => f(X, h, w, c, Y, oh, ow, p[0], p[1], p[2], p[3], p[4], p[5], 1, 1, -128, 127);
        break;
      }
      case Op.Conv2dF32: {
        const f = host.fn("f32_conv2d"), dv = new DataView(new Int32Array([p[8], p[9]]).buffer);
        call = () => f(X, h, w, c, Y, oh, ow, n, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], pw, dv.getFloat32(0, true), dv.getFloat32(4, true), S);
        break;
      }
      case Op.Reshape: {
        call = undefined;
        break;
      }
    }
    const ms = call ? timeCall(call, 0.5) : 0;
    const macs = info[index].macs;
    const shape = `${h}x${w}x${c} -> ${oh}x${ow}x${n}${op.op === Op.Conv2dQs8 || op.op === Op.DwConv2dQs8 ? ` k${p[0]}x${p[1]} s${p[2]}` : ""}`;
    return { index, op: Op[op.op] ?? String(op.op), shape, macs, ms, gmacs: ms > 0 ? macs / ms / 1e6 : 0 };
  });
  return { total, ops };
}

const isMain = typeof process !== "undefined" && process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!);
if (isMain) {
  const args = process.argv.slice(2);
  const file = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  if (!file) { console.error("usage: bench/profile.ts M.qwm [--build simd|nosimd] [--json]"); process.exit(2); }
  const bi = args.indexOf("--build");
  const build = (bi >= 0 ? args[bi + 1] : "simd") as BuildName;
  const wi = args.indexOf("--wasm");
  const r = await profile(readFileSync(file), build, wi >= 0 ? readFileSync(args[wi + 1]) : undefined);
  if (args.includes("--json")) { console.log(JSON.stringify(r)); }
  else {
    const sum = r.ops.reduce((a, o) => a + o.ms, 0), macs = r.ops.reduce((a, o) => a + o.macs, 0);
    console.log(`${file} (${wi >= 0 ? args[wi + 1] : build}): whole run ${r.total.toFixed(4)} ms (${(macs / r.total / 1e6).toFixed(1)} GMAC/s), ops ${sum.toFixed(4)} ms, rest ${(r.total - sum).toFixed(4)} ms`);
    for (const o of r.ops) {
      console.log(`${String(o.index).padStart(3)} ${o.op.padEnd(17)} ${o.shape.padEnd(32)} ${(o.macs / 1e6).toFixed(3).padStart(7)} M ${(o.ms * 1000).toFixed(1).padStart(8)} us ${(100 * o.ms / r.total).toFixed(1).padStart(5)}% ${o.gmacs ? o.gmacs.toFixed(1).padStart(6) : "     -"} GMAC/s`);
    }
  }
}
void DType;
